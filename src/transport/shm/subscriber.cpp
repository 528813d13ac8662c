// ShmLink's publish/subscribe (transport layer, shm://): a publisher's link offers its
// subscriber the broadcast ring (a sealed memfd the subscriber maps read-only) and seats it
// there; a subscriber's link maps it and reads messages from it in checked batches, its
// position kept in its own ring's control where the publisher reads it.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>

#include "core/errno_map.hpp"
#include "transport/faults.hpp"
#include "transport/shm/rendezvous.hpp"
#include "transport/shm/shm_link.hpp"

namespace ipcx::transport {
namespace {

constexpr unsigned kWakeCheckEvery = 64;
constexpr std::size_t kWakeCheckBytesShift = 3;

}  // namespace

IoResult ShmLink::offer_broadcast() noexcept {
  BroadcastSource* source = broadcast_.get();
  if (source == nullptr) return {Io::ok};
  std::byte bytes[wire::kShmOfferSize];
  wire::write_shm_offer(bytes, {source->capacity(), source->tail()});
  int memfd = source->memfd();
  if (!send_rendezvous(bytes, &memfd, 1)) {
    return fail(Errc::peer_closed, describe_errno("offering the broadcast ring", errno));
  }
  seat_.control = tx_control_;
  seat_.bell = socket_.get();
  try {
    source->join(&seat_);
  } catch (const std::bad_alloc&) {
    return fail(Errc::resource_exhausted, "out of memory seating a subscriber");
  }
  seated_ = true;
  return {Io::ok};
}

IoResult ShmLink::take_offer() noexcept {
  std::byte bytes[wire::kShmOfferSize + 1];
  Fd memfd[1];
  Received got = receive_rendezvous(socket_.get(), bytes, memfd);
  if (got.bytes < 0 && errno == EAGAIN) return {Io::ok};  // not yet
  if (got.bytes <= 0) {
    peer_gone_ = true;
    return {Io::ok};
  }
  auto offer = wire::read_shm_offer({bytes, static_cast<std::size_t>(got.bytes)});
  if (!offer || got.descriptors != 1 || got.truncated) {
    return fail(Errc::protocol_violation, "not a broadcast offer with its memory");
  }
  std::size_t capacity = static_cast<std::size_t>(offer->ring_bytes);
  if (shm_ring_capacity(capacity) != capacity || (offer->start & 7) != 0) {
    return fail(Errc::protocol_violation, "broadcast ring of an unsupported size or position");
  }
  // As for the link's own memory: a publisher must not be able to shrink it under us.
  constexpr unsigned kSizeSeals = F_SEAL_SHRINK | F_SEAL_GROW;
  int seals = sys::fcntl(memfd[0].get(), F_GET_SEALS, 0);
  struct stat st {};
  if (seals < 0 || (static_cast<unsigned>(seals) & kSizeSeals) != kSizeSeals ||
      ::fstat(memfd[0].get(), &st) != 0 ||
      static_cast<std::size_t>(st.st_size) != sizeof(BroadcastControl) + capacity) {
    return fail(Errc::protocol_violation, "broadcast memory unsealed or of the wrong size");
  }
  std::size_t size = sizeof(BroadcastControl) + capacity;
  void* map = sys::mmap(size, PROT_READ, memfd[0].get());
  if (map == MAP_FAILED) return fail(errc_from_errno(errno), describe_errno("mmap", errno));
  bc_map_ = map;
  bc_map_size_ = size;
  auto* base = static_cast<const std::byte*>(map);
  bc_ = BroadcastReader(reinterpret_cast<const BroadcastControl*>(base),
                        base + sizeof(BroadcastControl), capacity, offer->start);
  rx_control_->broadcast_cursor.store(offer->start, std::memory_order_release);
  return {Io::ok};
}

void ShmLink::unmap_broadcast() noexcept {
  if (bc_map_ != nullptr) sys::munmap(bc_map_, bc_map_size_);
  bc_map_ = nullptr;
  bc_ = BroadcastReader();
}

IoResult ShmLink::read_broadcast(Message& out) {
  for (;;) {
    // Decode up to a batch of messages, then judge them all at once: each judgement loads
    // the publisher's line, which it rewrites with every message.
    batch_size_ = batch_next_ = 0;
    std::size_t records = 0, bytes = 0, messages = 0;
    bool failed = false;
    while (messages < kBatchMessages && bytes < kBatchBytes) {
      std::span<const std::byte> record;
      auto got = bc_.peek(record);
      if (got == BroadcastReader::Read::corrupt) {
        return fail(Errc::protocol_violation, "publisher corrupted the broadcast ring");
      }
      if (got == BroadcastReader::Read::empty) break;
      ++records;
      bytes += record.size();
      // After lost records, whatever was half assembled is gone, and so is the start of the
      // message the next fragments belong to: skip to one that starts a message.
      bool skip = false;
      if (bc_resync_ || !bc_.follows()) {
        bc_assembler_.reset();
        const char* why = nullptr;
        auto h = wire::read_compact_header(record, &why);
        skip = h && (h->flags & wire::kFragmentFirst) == 0;
      }
      bc_resync_ = skip;
      if (skip) continue;
      Message& into = messages == 0 ? out : batch_[messages - 1];
      auto e = bc_assembler_.feed(record, into);
      if (e == wire::CompactAssembler::Event::error) {
        failed = true;  // real only if the ring held it: judged below
        break;
      }
      if (e == wire::CompactAssembler::Event::message) ++messages;
    }
    if (!bc_.confirm()) {  // the publisher overwrote them while we copied: what we built is void
      if (bc_.corrupt()) return fail(Errc::protocol_violation, "broadcast sequence broke");
      bc_assembler_.reset();
      bc_resync_ = true;
      continue;
    }
    if (records == 0) return {Io::would_block};
    rx_control_->broadcast_cursor.store(bc_.cursor(), std::memory_order_release);
    bc_unchecked_ += static_cast<unsigned>(records);
    bc_bytes_unchecked_ += bytes;
    if (bc_unchecked_ >= kWakeCheckEvery ||
        bc_bytes_unchecked_ >= (bc_.capacity() >> kWakeCheckBytesShift)) {
      wake_waiting_producer();  // a lossless publisher may wait for us to pass
    }
    if (failed) return fail(bc_assembler_.error(), bc_assembler_.error_detail());
    if (messages == 0) continue;  // fragments of a message still arriving
    batch_size_ = messages - 1;
    empty_polls_ = 0;
    return {Io::ok, out.bytes()};
  }
}

}  // namespace ipcx::transport
