// Message (API layer): one or more frames, as in ZeroMQ. All frame bodies live in one buffer that
// keeps up to 96 bytes inline, so a small message (a 64-byte body plus the request id and
// delimiter that ride with it) costs no allocation; the frame boundaries keep four entries
// inline. Copyable and movable; not thread-safe (one owner at a time).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "ipcx/detail/small_vector.hpp"

namespace ipcx {

class Message {
 public:
  static constexpr std::size_t kInlineBytes = 96;

  // User-provided, so a value-initialised Message does not zero its inline buffer.
  Message() noexcept {}
  // One frame per string: Message{"put", "key", "value"}.
  Message(std::initializer_list<std::string_view> frames);

  // Number of frames.
  std::size_t size() const noexcept { return ends_.size(); }
  bool empty() const noexcept { return ends_.size() == 0; }
  // Sum of all frame bodies, the figure max_message_size limits.
  std::size_t bytes() const noexcept { return data_.size(); }

  // Frame i's bytes; i < size(). Valid until the message is changed.
  std::span<const std::byte> frame(std::size_t i) const noexcept {
    std::size_t begin = i == 0 ? 0 : ends_[i - 1];
    return {data_.data() + begin, ends_[i] - begin};
  }
  std::string_view text(std::size_t i) const noexcept {
    auto f = frame(i);
    return {reinterpret_cast<const char*>(f.data()), f.size()};
  }
  std::string str(std::size_t i) const { return std::string(text(i)); }
  // Frame i's bytes, writable in place. Valid until the message is changed.
  std::span<std::byte> mutable_frame(std::size_t i) noexcept {
    std::size_t begin = i == 0 ? 0 : ends_[i - 1];
    return {data_.data() + begin, ends_[i] - begin};
  }

  Message& add(std::span<const std::byte> body) {
    data_.append(body.data(), body.size());
    ends_.push_back(data_.size());
    return *this;
  }
  Message& add(std::string_view body) {
    return add(std::as_bytes(std::span<const char>(body.data(), body.size())));
  }
  // Appends frames [first, size) of another message.
  Message& add_frames(const Message& other, std::size_t first = 0);
  // Starts a new empty frame; extend_last() then appends to it as bytes arrive.
  void add_empty_frame() { ends_.push_back(data_.size()); }
  void extend_last(std::span<const std::byte> more);
  // Makes room for this many body bytes in all, so appending up to it does not reallocate.
  void reserve(std::size_t bytes) { data_.reserve(bytes); }
  // Removes the first n frames (n <= size()), keeping the rest in place.
  void remove_front(std::size_t n) noexcept;
  void clear() noexcept {
    data_.clear();
    ends_.clear();
  }
  // For decoders: replaces the contents with `frames` frames of `bytes` body bytes in all,
  // uninitialised. The caller writes the bodies back to back from `data` and each frame's end
  // offset to ends[i], ascending, the last equal to `bytes`.
  struct Layout {
    std::byte* data;
    std::size_t* ends;
  };
  Layout reset_layout(std::size_t bytes, std::size_t frames) {
    data_.resize(bytes);
    ends_.resize(frames);
    return {data_.data(), ends_.data()};
  }
  // True when no byte of the message lives on the heap.
  bool is_inline() const noexcept { return !data_.on_heap() && !ends_.on_heap(); }

  friend bool operator==(const Message& a, const Message& b) noexcept;

 private:
  detail::SmallVector<std::byte, kInlineBytes> data_;
  detail::SmallVector<std::size_t, 4> ends_;
};

}  // namespace ipcx
