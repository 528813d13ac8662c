// The shared-memory ring's slow paths (transport layer): what the producer does when it reaches
// the end of the room it knows of or of the chunk it announced, and giving pages back. The rules
// are in docs/PROTOCOL.md ("shm:// memory layout").
#include "transport/shm/ring.hpp"

#include <sys/mman.h>
#include <unistd.h>

namespace ipcx::transport {
namespace {

std::uintptr_t page_size() noexcept {
  static const auto size = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

// MADV_REMOVE frees the pages from the memfd itself, not only from our page tables: the peer's
// mapping loses them too, and reading one afterwards gives zeroes.
void remove_span(const std::byte* from, const std::byte* to) noexcept {
  std::uintptr_t page = page_size();
  std::uintptr_t first = (reinterpret_cast<std::uintptr_t>(from) + page - 1) & ~(page - 1);
  std::uintptr_t last = reinterpret_cast<std::uintptr_t>(to) & ~(page - 1);
  if (last > first) {
    (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_REMOVE);
  }
}

}  // namespace

void give_back_pages(const std::byte* data, std::size_t capacity, std::uint64_t from,
                     std::uint64_t to) noexcept {
  if (to <= from) return;
  std::size_t at = from & (capacity - 1);
  std::size_t bytes = to - from;
  std::size_t first = bytes < capacity - at ? bytes : capacity - at;
  remove_span(data + at, data + at + first);
  if (first < bytes) remove_span(data, data + (bytes - first));
}

std::byte* RingWriter::reserve_slow(std::size_t body, bool* corrupt) noexcept {
  std::size_t need = record_size(body);
  std::uint64_t head = control_->head.load(std::memory_order_acquire);
  if (head > tail_ || tail_ - head > capacity_ || head < known_head_) {
    *corrupt = true;
    return nullptr;
  }
  known_head_ = head;
  std::size_t at = tail_ & (capacity_ - 1);
  std::size_t to_end = capacity_ - at;
  // A record that does not fit before the end wraps, wasting the rest. So does one at a chunk's
  // end when the consumer has read everything: a link carrying small messages then keeps to the
  // ring's first pages instead of walking all of them. (What the wrap wastes counts as unread
  // until the consumer's next release, so the record must fit in what is left: `at`.)
  bool wrap = need > to_end || (head == tail_ && at != 0 && need <= at);
  std::size_t want = wrap ? to_end + need : need;
  if (capacity_ - (tail_ - head) < want) return nullptr;
  std::uint64_t end = tail_ + want;
  if (end > reach_) {
    // Entering pages the consumer may be giving back: announce how far we go, then look. The
    // consumer sets `reclaiming`, fences, then reads writer_reach, so one of us sees the other.
    std::uint64_t reach = (end + kRingChunk - 1) & ~std::uint64_t{kRingChunk - 1};
    control_->writer_reach.store(reach, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (control_->reclaiming.load(std::memory_order_acquire) != 0) {
      limit_ = tail_;  // nothing fits until we look again
      return nullptr;
    }
    reach_ = reach;
  }
  if (wrap) {
    std::uint32_t marker = kRingWrap;
    std::memcpy(data_ + at, &marker, 4);
    tail_ += to_end;
    at = 0;
  }
  limit_ = head + capacity_ < reach_ ? head + capacity_ : reach_;
  std::uint32_t len = static_cast<std::uint32_t>(body);
  std::memcpy(data_ + at, &len, 4);
  pending_ = need;
  if (prefetch_) prefetch_ring_ahead(data_, capacity_, at, need);
  return data_ + at + 4;
}

void RingWriter::give_back() noexcept {
  if (control_ == nullptr || pending_ != 0) return;
  std::uint64_t head = control_->head.load(std::memory_order_acquire);
  if (head > tail_ || tail_ - head > capacity_ || reach_ < tail_) return;
  // Unread: [head, tail). Ours to write without asking: [tail, reach_). The rest is free.
  if (reach_ - head < capacity_) give_back_pages(data_, capacity_, reach_, head + capacity_);
}

bool RingReader::give_back() noexcept {
  if (control_ == nullptr) return false;
  control_->reclaiming.store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  std::uint64_t reach = control_->writer_reach.load(std::memory_order_relaxed);
  std::uint64_t tail = control_->tail.load(std::memory_order_acquire);
  // Unread: [head_, tail). The producer's without asking: [tail, reach). A producer that says
  // otherwise gets nothing given back.
  if (tail >= head_ && reach >= tail && reach - head_ < capacity_) {
    give_back_pages(data_, capacity_, reach, head_ + capacity_);
  }
  control_->reclaiming.store(0, std::memory_order_release);
  // A producer that found `reclaiming` set went to sleep on it (prepare_wait()).
  return producer_needs_wake();
}

}  // namespace ipcx::transport
