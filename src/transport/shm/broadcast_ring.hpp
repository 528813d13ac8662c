// The shm broadcast ring (transport layer): one writer, any number of readers, one copy of
// each message for all of them, for shm:// publish/subscribe (shm_broadcast_source.hpp is the
// publisher's side of it, shm_link.cpp the subscriber's). The writer never waits for a reader: it
// overwrites the oldest records, and a reader that fell behind notices, skips ahead and counts what
// it lost by the records' sequence numbers. Readers map the ring read-only and trust nothing in it:
// every length is checked before use, and a record is accepted only if, after it was copied out,
// the writer had not started overwriting it (a seqlock on the writer's `claimed` position).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "core/write_prefetch.hpp"

namespace ipcx::transport {

// Shared by the writer (read-write) and every reader (read-only).
// `tail` and `claimed` share a line: the writer stores both for every record and readers load
// both, so one line crosses between CPUs instead of two.
struct BroadcastControl {
  // Bytes the writer has published: records below it are complete.
  alignas(64) std::atomic<std::uint64_t> tail;
  // Bytes the writer has claimed, stored before it writes them: a reader's copy is good only
  // if its record lies within the ring's capacity below this after the copy.
  std::atomic<std::uint64_t> claimed;
  // Where the first record starting in each quarter of the ring began (by quarter number mod
  // 4): a lapped reader resumes at the oldest one still intact, losing at most a quarter of
  // the ring beyond what was overwritten.
  alignas(64) std::atomic<std::uint64_t> checkpoint[4];
};
static_assert(sizeof(BroadcastControl) == 128);

// A record: [u32 body length][u32 zero][u64 sequence][body], padded to 8 bytes. A length of
// kBroadcastWrap means "continue at the ring's start".
inline constexpr std::uint32_t kBroadcastWrap = 0xffffffffu;
inline constexpr std::size_t kBroadcastHeader = 16;

inline std::size_t broadcast_record_size(std::size_t body) {
  return (kBroadcastHeader + body + 7) & ~std::size_t{7};
}
// The largest body a ring of this capacity carries (a quarter of it).
inline std::size_t broadcast_max_body(std::size_t capacity) {
  return capacity / 4 - kBroadcastHeader;
}

class BroadcastWriter {
 public:
  BroadcastWriter() = default;
  BroadcastWriter(BroadcastControl* control, std::byte* data, std::size_t capacity) noexcept
      : control_(control), data_(data), capacity_(capacity) {}

  // Publishes one record; false when the body is larger than broadcast_max_body().
  bool publish(std::span<const std::byte> body) noexcept {
    std::byte* at = reserve(body.size());
    if (at == nullptr) return false;
    if (!body.empty()) std::memcpy(at, body.data(), body.size());
    commit();
    return true;
  }

  // Claims room for a record of `body` bytes and returns where its body goes, for the caller
  // to fill before commit(); nullptr when the body is larger than broadcast_max_body().
  // Overwrites the oldest records: a writer that must not lap a reader checks room() first.
  std::byte* reserve(std::size_t body) noexcept {
    if (body > broadcast_max_body(capacity_)) return nullptr;
    std::size_t need = broadcast_record_size(body);
    std::size_t at = tail_ & (capacity_ - 1);
    std::size_t to_end = capacity_ - at;
    std::size_t skip = need > to_end ? to_end : 0;
    // Claim first, then write: a reader copying anything we overwrite sees the claim.
    control_->claimed.store(tail_ + skip + need, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    if (skip != 0) {
      put32(at, kBroadcastWrap);
      at = 0;
    }
    std::uint64_t start = tail_ + skip;
    std::uint64_t quarter = start / (capacity_ / 4);
    if (quarter != last_quarter_) {
      last_quarter_ = quarter;
      control_->checkpoint[quarter % 4].store(start, std::memory_order_relaxed);
    }
    put32(at, static_cast<std::uint32_t>(body));
    put32(at + 4, 0);
    std::memcpy(data_ + at + 8, &sequence_, 8);
    pending_ = skip + need;
    // Readers copied these lines out a lap ago; take them back before we write them.
    if (kWritePrefetchAvailable) prefetch_ring_ahead(data_, capacity_, at, need);
    return data_ + at + kBroadcastHeader;
  }

  // Publishes the record reserve() returned.
  void commit() noexcept {
    tail_ += pending_;
    pending_ = 0;
    ++sequence_;
    control_->tail.store(tail_, std::memory_order_release);
  }

  // Where the writer is: a reader starting here sees what is published next.
  std::uint64_t tail() const noexcept { return tail_; }
  std::size_t capacity() const noexcept { return capacity_; }
  // The position every reader must have passed before a `body`-byte record can be written
  // without overwriting anything they have not read (0 when nothing need be passed).
  std::uint64_t must_pass(std::size_t body) const noexcept {
    std::size_t need = broadcast_record_size(body);
    std::size_t to_end = capacity_ - (tail_ & (capacity_ - 1));
    std::uint64_t end = tail_ + (need > to_end ? to_end : 0) + need;
    return end > capacity_ ? end - capacity_ : 0;
  }

 private:
  void put32(std::size_t at, std::uint32_t v) noexcept { std::memcpy(data_ + at, &v, 4); }

  BroadcastControl* control_ = nullptr;
  std::byte* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::uint64_t tail_ = 0;
  std::uint64_t sequence_ = 0;
  std::uint64_t last_quarter_ = ~std::uint64_t{0};
  std::size_t pending_ = 0;
};

class BroadcastReader {
 public:
  enum class Read : std::uint8_t { record, empty, corrupt };

  BroadcastReader() = default;
  // Starts at the writer's current position: a new reader sees what is published after it.
  BroadcastReader(const BroadcastControl* control, const std::byte* data,
                  std::size_t capacity) noexcept
      : control_(control), data_(data), capacity_(capacity) {
    cursor_ = control_->tail.load(std::memory_order_acquire);
    known_tail_ = scan_ = cursor_;
  }
  // Starts at `start`, a position the writer announced (checked like everything it writes).
  BroadcastReader(const BroadcastControl* control, const std::byte* data, std::size_t capacity,
                  std::uint64_t start) noexcept
      : control_(control),
        data_(data),
        capacity_(capacity),
        cursor_(start),
        scan_(start),
        known_tail_(start) {}

  // The next record's body copied into `out`. Records the writer overwrote before we read
  // them are skipped and added to gap(). corrupt: the ring holds something the writer never
  // writes (the caller closes the link).
  Read next(std::vector<std::byte>& out) noexcept {
    std::span<const std::byte> body;
    for (;;) {
      Read r = peek(body);
      if (r != Read::record) return r;
      out.resize(body.size());
      if (!body.empty()) std::memcpy(out.data(), body.data(), body.size());
      if (confirm()) return Read::record;
      if (corrupt_) return Read::corrupt;
    }
  }

  // The next record's body as a view into the shared ring, to be copied out and then judged by
  // confirm(): until then its bytes may be torn, so decode them only into something the caller
  // can throw away. Several records may be peeked before one confirm() judges them all (one
  // load of the writer's line for the lot). Skips what was overwritten before we got to it;
  // with records peeked and unjudged it answers empty instead, for confirm() to say.
  Read peek(std::span<const std::byte>& body) noexcept {
    corrupt_ = false;
    for (int attempt = 0; attempt < 4; ++attempt) {
      // The writer's position is loaded again only once we have read up to where it was:
      // its line changes with every record, and each load of it may cost a cache miss.
      if (scan_ == known_tail_ || attempt > 0) {
        known_tail_ = control_->tail.load(std::memory_order_acquire);
      }
      std::uint64_t tail = known_tail_;
      // Records are 8-byte aligned; and the writer's position never runs backwards.
      if ((tail & 7) != 0 || (scan_ & 7) != 0 || tail < scan_) return Read::corrupt;
      if (tail == scan_) return Read::empty;
      if (tail - cursor_ > capacity_) {  // lapped: resume at the oldest record still there
        if (peeked_ > 0) return Read::empty;
        resync(tail);
        continue;
      }
      std::size_t at = scan_ & (capacity_ - 1);
      std::uint32_t len = get32(at);  // read once; judged below
      if (len == kBroadcastWrap) {
        if (!intact(scan_)) {
          if (peeked_ > 0) return Read::empty;
          resync(tail);
          continue;
        }
        if (at == 0) return Read::corrupt;  // a wrap to where we are would never end
        scan_ += capacity_ - at;
        continue;
      }
      std::size_t size = broadcast_record_size(len);
      bool fits =
          len <= broadcast_max_body(capacity_) && size <= capacity_ - at && size <= tail - scan_;
      if (!fits) {
        if (!intact(scan_)) {  // a length torn by the writer lapping us
          if (peeked_ > 0) return Read::empty;
          resync(tail);
          continue;
        }
        return Read::corrupt;
      }
      std::uint64_t sequence;
      std::memcpy(&sequence, data_ + at + 8, 8);
      if (peeked_ == 0) {
        first_sequence_ = sequence;
      } else if (sequence != last_sequence_ + 1) {
        broken_ = true;  // records side by side always follow each other: unless torn, corrupt
      }
      last_sequence_ = sequence;
      ++peeked_;
      scan_ += size;
      body = {data_ + at + kBroadcastHeader, len};
      return Read::record;
    }
    return Read::empty;  // the writer laps us faster than we can read: try again later
  }

  // After peek()s and copying their bodies: true when the copies are good (then the reader
  // moves past them), false when the writer overwrote them meanwhile (discard the copies; the
  // reader has skipped ahead and counts the loss) or the ring is corrupt (corrupt() says which).
  bool confirm() noexcept {
    if (peeked_ == 0) return true;
    peeked_ = 0;
    if (!intact(cursor_)) {  // the oldest of them; the rest lie after it
      scan_ = cursor_;
      broken_ = false;
      resync(control_->tail.load(std::memory_order_acquire));
      return false;
    }
    if (broken_ || (known_ && first_sequence_ < expected_)) {  // sequences only grow, by one
      scan_ = cursor_;
      corrupt_ = true;
      return false;
    }
    if (known_) gap_ += first_sequence_ - expected_;
    known_ = true;
    expected_ = last_sequence_ + 1;
    cursor_ = scan_;
    return true;
  }
  bool corrupt() const noexcept { return corrupt_; }
  // After a peek(): whether its record directly follows the one before it (the last peeked,
  // or the last confirmed); unconfirmed itself until confirm().
  bool follows() const noexcept {
    if (peeked_ > 1) return !broken_;
    return !known_ || first_sequence_ == expected_;
  }
  std::size_t capacity() const noexcept { return capacity_; }
  // Our position (what a writer that must not lap us waits for).
  std::uint64_t cursor() const noexcept { return cursor_; }
  // Whether the writer has published beyond what we have looked at.
  bool has_more() const noexcept { return control_->tail.load(std::memory_order_acquire) != scan_; }

  // Records lost so far: published after this reader started, overwritten before it read them
  // (known once a later record arrives).
  std::uint64_t gap() const noexcept { return gap_; }

 private:
  // Whether a record at absolute position `pos` still holds what we read: the writer has not
  // claimed anything a lap beyond it. The acquire fence pairs with the writer's release fence
  // between its claim and its writes (a seqlock).
  bool intact(std::uint64_t pos) const noexcept {
    std::atomic_thread_fence(std::memory_order_acquire);
    return control_->claimed.load(std::memory_order_relaxed) <= pos + capacity_;
  }

  std::uint32_t get32(std::size_t at) const noexcept {
    std::uint32_t v;
    std::memcpy(&v, data_ + at, 4);
    return v;
  }

  // After being lapped: the oldest checkpoint still intact and published, or the tail.
  void resync(std::uint64_t tail) noexcept {
    if (tail > known_tail_) known_tail_ = tail;
    std::uint64_t best = tail;
    for (const auto& c : control_->checkpoint) {
      std::uint64_t at = c.load(std::memory_order_relaxed);
      if ((at & 7) == 0 && at > cursor_ && at < best && at <= tail && intact(at)) best = at;
    }
    cursor_ = best;
    scan_ = best;
  }

  const BroadcastControl* control_ = nullptr;
  const std::byte* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::uint64_t cursor_ = 0;      // past the records confirmed
  std::uint64_t scan_ = 0;        // past the records peeked
  std::uint64_t known_tail_ = 0;  // the writer's position when we last loaded it
  std::uint64_t expected_ = 0;    // the sequence the next record should carry
  bool known_ = false;            // expected_ is meaningful (a record has been read)
  bool corrupt_ = false;
  std::size_t peeked_ = 0;            // records peeked since the last confirm()
  std::uint64_t first_sequence_ = 0;  // the first of them's sequence
  std::uint64_t last_sequence_ = 0;   // the last's
  bool broken_ = false;               // two of them did not follow each other
  std::uint64_t gap_ = 0;
};

}  // namespace ipcx::transport
