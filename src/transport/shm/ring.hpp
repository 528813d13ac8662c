// The shared-memory ring (transport layer): single producer, single consumer, variable-size
// records, for shm://. Layout and rules are in docs/PROTOCOL.md. The peer is untrusted: each side
// keeps its own index privately, reads the peer's index and every record length once into a
// local, and checks it against the ring before using it; a violation is reported, never followed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "core/write_prefetch.hpp"

namespace ipcx::transport {

// One cache line each, so producer and consumer never write the same line.
struct RingControl {
  alignas(64) std::atomic<std::uint64_t> head;  // consumer's position, written by the consumer
  // On a subscriber's incoming ring: its position in the publisher's broadcast ring (shm pub/
  // sub), written by the subscriber, read by a publisher that must not lap it. Beside `head`
  // because it is used the same way.
  std::atomic<std::uint64_t> broadcast_cursor;
  // Set by the consumer while it gives pages back (RingReader::give_back); a producer about to
  // write past writer_reach waits for it to clear. Read with `head`, on the same line.
  std::atomic<std::uint32_t> reclaiming;
  alignas(64) std::atomic<std::uint64_t> tail;  // producer's position, written by the producer
  // The position up to which the producer may write without looking at `reclaiming` again: the
  // end of the chunk its last record reached. The consumer gives back nothing before it.
  std::atomic<std::uint64_t> writer_reach;
  alignas(64) std::atomic<std::uint32_t> consumer_sleeping;  // set by the consumer, cleared by both
  alignas(64) std::atomic<std::uint32_t> producer_waiting;   // set by the producer, cleared by both
  // With producer_waiting, on a subscriber's incoming ring: the broadcast position past which
  // the waiting publisher wants its doorbell rung (so it wakes to room, not to one record).
  std::atomic<std::uint64_t> wake_at;
};
static_assert(sizeof(RingControl) == 256);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

inline constexpr std::uint32_t kRingWrap = 0xffffffffu;  // "continue at the ring's start"
inline constexpr std::size_t kRecordAlign = 8;

// The memory of one link: both controls on the first page, then each ring's data, page
// aligned, so that data pages can be given back without touching a control.
inline constexpr std::size_t kRingControlPage = 4096;
inline constexpr std::size_t ring_pair_bytes(std::size_t capacity) {
  return kRingControlPage + 2 * capacity;
}
inline RingControl* ring_control(void* base, int ring) noexcept {
  return static_cast<RingControl*>(base) + ring;
}
inline std::byte* ring_data(void* base, std::size_t capacity, int ring) noexcept {
  return static_cast<std::byte*>(base) + kRingControlPage +
         static_cast<std::size_t>(ring) * capacity;
}

// The producer moves into the ring a chunk at a time (see RingWriter::reserve_slow): the unit
// in which it looks at the consumer, starts again at the ring's start, and pages are given back.
inline constexpr std::size_t kRingChunk = 16 * 1024;

inline std::size_t record_size(std::size_t body) {
  return (4 + body + kRecordAlign - 1) & ~(kRecordAlign - 1);
}

// The largest record body a ring of this capacity carries; larger messages are fragmented.
inline std::size_t max_record_body(std::size_t capacity) { return capacity / 4 - 8; }

// Gives back to the kernel the whole pages of ring `data` that positions [from, to) cover
// (to - from <= capacity): both processes then hold them no more, and a later write faults a
// fresh zeroed page in.
void give_back_pages(const std::byte* data, std::size_t capacity, std::uint64_t from,
                     std::uint64_t to) noexcept;

class RingWriter {
 public:
  RingWriter() = default;
  RingWriter(RingControl* control, std::byte* data, std::size_t capacity) noexcept
      : control_(control), data_(data), capacity_(capacity), prefetch_(kWritePrefetchAvailable) {}

  // Room for a record of `body` bytes (<= max_record_body), or nullptr when the ring is full
  // now. *corrupt is set when the consumer's index is impossible.
  std::byte* reserve(std::size_t body, bool* corrupt) noexcept {
    std::size_t need = record_size(body);
    // limit_ is the nearer of the room the consumer's last known index leaves and the end of
    // the chunk we announced: everything else (reading the consumer's index, which is its
    // cache line; wrapping; entering a new chunk) is reserve_slow()'s.
    if (tail_ + need > limit_) return reserve_slow(body, corrupt);
    std::size_t at = tail_ & (capacity_ - 1);
    std::uint32_t len = static_cast<std::uint32_t>(body);
    std::memcpy(data_ + at, &len, 4);
    pending_ = need;
    // Not limited to room the consumer has freed: the index we know may be a lap old, and
    // skipping while it was stale kept some runs at the unprefetched rate.
    if (prefetch_) prefetch_ring_ahead(data_, capacity_, at, need);
    return data_ + at + 4;
  }

  // Gives back the pages of our ring outside what is unread and the chunk we write in.
  void give_back() noexcept;
  std::uint64_t position() const noexcept { return tail_; }

  // Only when the consumer promised remote fences before it sleeps and this process is
  // registered to receive them (join_remote_fences()).
  void rely_on_consumer_fences() noexcept { consumer_fences_for_us_ = true; }
  // Tests compare both ways.
  void set_write_prefetch(bool on) noexcept { prefetch_ = on && kWritePrefetchAvailable; }

  // Publishes the record reserve() returned.
  void commit() noexcept {
    tail_ += pending_;
    pending_ = 0;
    control_->tail.store(tail_, std::memory_order_release);
  }

  // After commit: whether the consumer said it sleeps, in which case the caller rings its
  // doorbell. The fence orders our tail store before this load; the consumer does the mirror
  // image (store sleeping, fence, load tail), so one of the two always sees the other. With
  // remote fences, the consumer's fence before it sleeps runs on our CPU too, and ours can go:
  // it is what limits a streaming producer (docs/PROTOCOL.md, doorbells).
  bool consumer_needs_wake() noexcept {
    if (consumer_fences_for_us_) {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    if (control_->consumer_sleeping.load(std::memory_order_relaxed) == 0) return false;
    return control_->consumer_sleeping.exchange(0, std::memory_order_relaxed) != 0;
  }

  // The producer is about to sleep waiting for room; false if room appeared meanwhile. Room
  // the consumer is giving pages back from is none yet: it rings when it is done (give_back()),
  // so a producer kept out of a new chunk sleeps instead of spinning, however long that takes.
  bool prepare_wait(std::size_t body) noexcept {
    control_->producer_waiting.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::uint64_t head = control_->head.load(std::memory_order_relaxed);
    bool room = head <= tail_ && capacity_ - (tail_ - head) >= 2 * record_size(body) &&
                control_->reclaiming.load(std::memory_order_relaxed) == 0;
    if (room) control_->producer_waiting.store(0, std::memory_order_relaxed);
    return !room;
  }

 private:
  // Everything reserve() does not: see ring.cpp.
  [[gnu::noinline]] std::byte* reserve_slow(std::size_t body, bool* corrupt) noexcept;

  RingControl* control_ = nullptr;
  std::byte* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::uint64_t tail_ = 0;        // ours; the shared copy is only for the consumer
  std::uint64_t known_head_ = 0;  // the consumer's index when we last read it
  std::uint64_t reach_ = 0;       // what we last announced in writer_reach
  std::uint64_t limit_ = 0;       // reserve() goes to reserve_slow() past this
  std::size_t pending_ = 0;
  bool consumer_fences_for_us_ = false;
  bool prefetch_ = false;
};

class RingReader {
 public:
  RingReader() = default;
  RingReader(RingControl* control, const std::byte* data, std::size_t capacity) noexcept
      : control_(control), data_(data), capacity_(capacity) {}

  // True when nothing was published past our head. An impossible tail counts as something, so
  // that peek() judges it.
  bool empty() noexcept { return refreshed_tail() == head_; }

  // The next record's body as a view into shared memory (the peer may still scribble on it:
  // copy before decoding anything structured), empty when there is none, and *corrupt set when
  // the producer's index or the record's length is impossible.
  std::span<const std::byte> peek(bool* corrupt) noexcept {
    for (;;) {
      std::uint64_t tail = refreshed_tail();
      if (tail < head_ || tail - head_ > capacity_) {
        *corrupt = true;
        return {};
      }
      if (tail == head_) return {};
      std::size_t at = head_ & (capacity_ - 1);
      std::size_t available = tail - head_;
      std::uint32_t len;
      std::memcpy(&len, data_ + at, 4);  // read once; judged below
      if (len == kRingWrap) {
        std::size_t to_end = capacity_ - at;
        if (to_end > available) {
          *corrupt = true;
          return {};
        }
        head_ += to_end;
        continue;
      }
      std::size_t size = record_size(len);
      if (len > max_record_body(capacity_) || size > available || size > capacity_ - at) {
        *corrupt = true;
        return {};
      }
      current_ = size;
      return {data_ + at + 4, len};
    }
  }

  // Frees the record peek() returned.
  void release() noexcept {
    head_ += current_;
    current_ = 0;
    control_->head.store(head_, std::memory_order_release);
  }

  // Gives back the pages of the ring that hold nothing unread and that the producer cannot
  // be writing (it announces each chunk before it enters it, and waits while we work). True
  // when the producer sleeps waiting for us: ring its doorbell.
  bool give_back() noexcept;
  std::uint64_t position() const noexcept { return head_; }

  // After release: whether the producer waits for room (then ring its doorbell).
  bool producer_needs_wake() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (control_->producer_waiting.load(std::memory_order_relaxed) == 0) return false;
    return control_->producer_waiting.exchange(0, std::memory_order_relaxed) != 0;
  }

  // The consumer is about to sleep; false if a record arrived meanwhile (then do not sleep).
  // `remote_fence`, when the producer relies on it instead of fencing itself: a fence that
  // also runs on the producer's CPU, false if it failed (then we must not sleep).
  bool prepare_sleep(bool (*remote_fence)() noexcept = nullptr) noexcept {
    control_->consumer_sleeping.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (remote_fence != nullptr && !remote_fence()) {
      control_->consumer_sleeping.store(0, std::memory_order_relaxed);
      return false;
    }
    if (control_->tail.load(std::memory_order_relaxed) != head_) {
      control_->consumer_sleeping.store(0, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  void end_sleep() noexcept { control_->consumer_sleeping.store(0, std::memory_order_relaxed); }

 private:
  // The producer's index, loaded again only once we have read up to where it was: its line
  // changes with every record, so each load may cost a cache miss.
  std::uint64_t refreshed_tail() noexcept {
    if (head_ == known_tail_) {
      known_tail_ = control_->tail.load(std::memory_order_acquire);
      if (known_tail_ != head_) prefetch_published();
    }
    return known_tail_;
  }
  // The lines just published are in the producer's cache: ask for them all at once, instead
  // of one miss after another as the decoder reaches each.
  void prefetch_published() const noexcept {
    std::uint64_t bytes = known_tail_ - head_;
    if (bytes > kPrefetchBytes) bytes = kPrefetchBytes;
    for (std::uint64_t at = head_ & ~std::uint64_t{63}; at < head_ + bytes; at += 64) {
      __builtin_prefetch(data_ + (at & (capacity_ - 1)));
    }
  }
  static constexpr std::uint64_t kPrefetchBytes = 256;

  RingControl* control_ = nullptr;
  const std::byte* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::uint64_t head_ = 0;        // ours; the shared copy is only for the producer
  std::uint64_t known_tail_ = 0;  // the producer's index when we last loaded it
  std::size_t current_ = 0;
};

}  // namespace ipcx::transport
