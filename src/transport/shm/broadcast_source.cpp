// BroadcastSource (transport layer): see shm_broadcast_source.hpp; the layout is in
// docs/PROTOCOL.md.
#include "transport/shm/broadcast_source.hpp"

#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <new>

#include "core/errno_map.hpp"
#include "core/sys.hpp"
#include "transport/faults.hpp"
#include "transport/shm/rendezvous.hpp"
#include "transport/shm/shm_link.hpp"
#include "wire/compact_header.hpp"

namespace ipcx::transport {

std::shared_ptr<BroadcastSource> BroadcastSource::create(std::size_t ring_bytes, bool lossless,
                                                         std::string& why) noexcept {
  try {
    std::shared_ptr<BroadcastSource> source(new BroadcastSource());
    std::size_t capacity = shm_ring_capacity(ring_bytes);
    source->map_size_ = sizeof(BroadcastControl) + capacity;
    source->memfd_.reset(sys::memfd_create("ipcx-broadcast", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!source->memfd_ ||
        sys::ftruncate(source->memfd_.get(), static_cast<off_t>(source->map_size_)) != 0) {
      why = describe_errno("broadcast memfd", errno);
      return nullptr;
    }
    void* map = sys::mmap(source->map_size_, PROT_READ | PROT_WRITE, source->memfd_.get());
    if (map == MAP_FAILED) {
      why = describe_errno("mmap of the broadcast ring", errno);
      return nullptr;
    }
    source->map_ = map;
    // Subscribers get the memfd itself: the seals keep them from resizing it under the others
    // (SIGBUS) and from mapping it writable; our own mapping stays writable.
    constexpr unsigned kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL;
    if (sys::fcntl(source->memfd_.get(), F_ADD_SEALS, static_cast<int>(kSeals)) != 0) {
      why = describe_errno("sealing the broadcast memfd", errno);
      return nullptr;
    }
    auto* control = new (map) BroadcastControl{};
    source->writer_ =
        BroadcastWriter(control, static_cast<std::byte*>(map) + sizeof(BroadcastControl), capacity);
    source->lossless_ = lossless;
    return source;
  } catch (const std::bad_alloc&) {
    why = "out of memory";
    return nullptr;
  }
}

BroadcastSource::~BroadcastSource() {
  if (map_ != nullptr) sys::munmap(map_, map_size_);
}

void BroadcastSource::join(Seat* seat) {
  seat->control->broadcast_cursor.store(writer_.tail(), std::memory_order_relaxed);
  seats_.push_back(seat);
}

void BroadcastSource::leave(Seat* seat) noexcept {
  seats_.erase(std::remove(seats_.begin(), seats_.end(), seat), seats_.end());
  // The one we waited for may have gone: look again before stopping.
  known_slowest_ = 0;
}

std::uint64_t BroadcastSource::slowest() noexcept {
  std::uint64_t tail = writer_.tail();
  std::uint64_t low = tail;
  for (Seat* seat : seats_) {
    if (seat->faulty) continue;
    std::uint64_t at = seat->control->broadcast_cursor.load(std::memory_order_acquire);
    // Read once; a reader never gets ahead of us and moves in whole records.
    if (at > tail || (at & 7) != 0) {
      seat->faulty = true;
      continue;
    }
    low = std::min(low, at);
  }
  return low;
}

bool BroadcastSource::holds_up(Seat& seat) noexcept {
  if (wanted_ == 0 || seat.faulty) return false;
  std::uint64_t at = seat.control->broadcast_cursor.load(std::memory_order_acquire);
  if (at > writer_.tail() || (at & 7) != 0) {
    seat.faulty = true;
    return false;
  }
  return at < wanted_;
}

void BroadcastSource::wake_sleepers() noexcept {
  // Orders our tail store before the loads of the sleep flags; a subscriber stores its flag,
  // fences, then loads our tail, so one of the two sees the other (as in RingWriter).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (Seat* seat : seats_) {
    auto& sleeping = seat->control->consumer_sleeping;
    if (sleeping.load(std::memory_order_relaxed) == 0) continue;
    if (sleeping.exchange(0, std::memory_order_relaxed) == 0) continue;
    ring_shm_doorbell(seat->bell);
  }
}

bool BroadcastSource::write(const Message& message) noexcept {
  static const Message kNothing;
  std::size_t payload = wire::payload_size(message, kNothing);
  std::size_t max_chunk = broadcast_max_body(writer_.capacity()) - wire::kCompactHeaderSize;
  do {
    std::size_t chunk = std::min(payload - sent_, max_chunk);
    std::size_t body = wire::kCompactHeaderSize + chunk;
    if (lossless_) {
      std::uint64_t need = writer_.must_pass(body);
      if (need > known_slowest_) known_slowest_ = slowest();
      if (need > known_slowest_) {
        // Woken when a quarter of the ring is free, not at the first record: every wake-up
        // costs both sides a context switch.
        wanted_ = need + writer_.capacity() / 4;
        wake_sleepers();  // a sleeping seat must read for us to go on
        return false;
      }
    }
    std::byte* at = writer_.reserve(body);
    wire::write_fragment_header(at, payload, sent_, chunk);
    if (chunk == payload) {
      wire::write_payload(at + wire::kCompactHeaderSize, message, kNothing);
    } else {
      wire::write_payload_range(at + wire::kCompactHeaderSize, message, kNothing, sent_, chunk);
    }
    writer_.commit();
    sent_ += chunk;
  } while (sent_ < payload);
  sent_ = 0;
  wanted_ = 0;
  wake_sleepers();
  return true;
}

}  // namespace ipcx::transport
