// ByteQueue (wire layer): a FIFO of bytes for encoded output and buffered input. Appends at the
// back, consumes from the front. Storage is left uninitialised (a read buffer is grown by 64 KiB
// before every read, and zero-filling that cost more than the syscall), and a large buffer is
// released when the queue drains, so an idle peer holds little.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>

namespace ipcx::wire {

class ByteQueue {
 public:
  ByteQueue() noexcept = default;
  ByteQueue(ByteQueue&&) noexcept = default;
  ByteQueue& operator=(ByteQueue&&) noexcept = default;

  std::size_t size() const noexcept { return tail_ - head_; }
  bool empty() const noexcept { return tail_ == head_; }
  std::span<const std::byte> readable() const noexcept { return {data_.get() + head_, size()}; }
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
    std::byte* at = data_.get() + tail_;
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
    if (capacity_ > kKeepCapacity) {
      data_.reset();
      capacity_ = 0;
    }
  }

 private:
  static constexpr std::size_t kKeepCapacity = 256 * 1024;

  void make_room(std::size_t n) {
    std::size_t used = size();
    if (head_ != 0 && capacity_ - used >= n && used <= capacity_ / 2) {
      std::memmove(data_.get(), data_.get() + head_, used);  // slide down: room enough
    } else {
      std::size_t wanted = used + n;
      std::size_t fresh = capacity_ * 2 > wanted ? capacity_ * 2 : wanted;
      std::unique_ptr<std::byte[]> bigger(new std::byte[fresh]);  // not value-initialised
      if (used != 0) std::memcpy(bigger.get(), data_.get() + head_, used);
      data_ = std::move(bigger);
      capacity_ = fresh;
    }
    head_ = 0;
    tail_ = used;
  }

  std::unique_ptr<std::byte[]> data_;
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

}  // namespace ipcx::wire
