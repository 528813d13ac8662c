// ByteQueue (wire layer): a FIFO of bytes for encoded output and buffered input. Appends at the
// back, consumes from the front. Storage is left uninitialised (a read buffer is grown by 64 KiB
// before every read, and zero-filling that cost more than the syscall), and a large buffer is
// released when the queue drains, so an idle peer holds little: into the thread's small cache
// of large blocks (ipcx/detail/small_vector.hpp), so the next large message need not fault in
// fresh pages.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <utility>

#include "ipcx/detail/small_vector.hpp"

namespace ipcx::wire {

class ByteQueue {
 public:
  ByteQueue() noexcept = default;
  ByteQueue(ByteQueue&& other) noexcept { take(other); }
  ByteQueue& operator=(ByteQueue&& other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  ~ByteQueue() { release(); }

  std::size_t size() const noexcept { return tail_ - head_; }
  bool empty() const noexcept { return tail_ == head_; }
  std::span<const std::byte> readable() const noexcept { return {data_ + head_, size()}; }
  void consume(std::size_t n) noexcept {
    head_ += n;
    if (head_ == tail_) clear();
  }
  void append(std::span<const std::byte> bytes) {
    if (!bytes.empty()) std::memcpy(grow(bytes.size()), bytes.data(), bytes.size());
  }
  void append_byte(std::byte b) { *grow(1) = b; }
  // Appends n uninitialised bytes for the caller to fill; throws std::bad_alloc.
  std::byte* grow(std::size_t n) {
    if (capacity_ - tail_ < n) make_room(n);
    std::byte* at = data_ + tail_;
    tail_ += n;
    return at;
  }
  // Gives back the unused tail of a grow().
  void shrink_back(std::size_t unused) noexcept {
    tail_ -= unused;
    if (head_ == tail_) clear();
  }
  void clear() noexcept {
    head_ = tail_ = 0;
    // A one-off large message must not pin its buffer for the life of the link.
    if (capacity_ > kKeepCapacity) release();
  }

 private:
  static constexpr std::size_t kKeepCapacity = 256 * 1024;

  void make_room(std::size_t n) {
    std::size_t used = size();
    if (head_ != 0 && capacity_ - used >= n && used <= capacity_ / 2) {
      std::memmove(data_, data_ + head_, used);  // slide down: room enough
    } else {
      std::size_t wanted = used + n;
      std::size_t fresh = capacity_ * 2 > wanted ? capacity_ * 2 : wanted;
      std::byte* bigger = nullptr;  // not initialised
      if (fresh >= detail::kKeptBlockBytes) {
        std::size_t kept = 0;
        bigger = static_cast<std::byte*>(detail::take_kept_block(fresh, &kept));
        if (bigger != nullptr) fresh = kept;
      }
      if (bigger == nullptr) bigger = static_cast<std::byte*>(std::malloc(fresh));
      if (bigger == nullptr) throw std::bad_alloc();
      if (used != 0) std::memcpy(bigger, data_ + head_, used);
      free_block();
      data_ = bigger;
      capacity_ = fresh;
    }
    head_ = 0;
    tail_ = used;
  }

  void free_block() noexcept {
    if (data_ == nullptr) return;
    if (capacity_ >= detail::kKeptBlockBytes) {
      detail::keep_block(data_, capacity_);
    } else {
      std::free(data_);
    }
  }
  void release() noexcept {
    free_block();
    data_ = nullptr;
    capacity_ = head_ = tail_ = 0;
  }
  void take(ByteQueue& other) noexcept {
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    head_ = std::exchange(other.head_, 0);
    tail_ = std::exchange(other.tail_, 0);
  }

  std::byte* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

}  // namespace ipcx::wire
