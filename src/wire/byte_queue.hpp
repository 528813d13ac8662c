// ByteQueue (wire layer): a FIFO of bytes for encoded output and buffered input. Appends at the
// back, consumes from the front; memory is reclaimed when it drains, so an idle peer holds little.
#pragma once

#include <cstddef>
#include <cstring>
#include <span>
#include <vector>

namespace ipcx::wire {

class ByteQueue {
 public:
  std::size_t size() const noexcept { return buf_.size() - head_; }
  bool empty() const noexcept { return size() == 0; }
  std::span<const std::byte> readable() const noexcept {
    return {buf_.data() + head_, buf_.size() - head_};
  }
  void consume(std::size_t n) noexcept {
    head_ += n;
    if (head_ == buf_.size()) clear();
  }
  void append(std::span<const std::byte> bytes) {
    if (!bytes.empty()) std::memcpy(grow(bytes.size()), bytes.data(), bytes.size());
  }
  void append_byte(std::byte b) { *grow(1) = b; }
  // Appends n bytes to be filled in by the caller.
  std::byte* grow(std::size_t n) {
    if (head_ != 0 && head_ >= buf_.size() / 2) compact();
    std::size_t old = buf_.size();
    buf_.resize(old + n);
    return buf_.data() + old;
  }
  // Gives back the unused tail of a grow().
  void shrink_back(std::size_t unused) noexcept { buf_.resize(buf_.size() - unused); }
  void clear() noexcept {
    buf_.clear();
    head_ = 0;
    // A one-off large message must not pin its buffer for the life of the link.
    if (buf_.capacity() > kKeepCapacity) std::vector<std::byte>().swap(buf_);
  }

 private:
  static constexpr std::size_t kKeepCapacity = 256 * 1024;
  void compact() {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  std::vector<std::byte> buf_;
  std::size_t head_ = 0;
};

}  // namespace ipcx::wire
