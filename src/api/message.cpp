// Message (API layer): frames stored back to back in one small-buffer-optimised byte array.
#include "ipcx/message.hpp"

#include <cstring>

namespace ipcx {

Message::Message(std::initializer_list<std::string_view> frames) {
  for (std::string_view f : frames) add(f);
}

Message& Message::add_frames(const Message& other, std::size_t first) {
  for (std::size_t i = first; i < other.size(); ++i) add(other.frame(i));
  return *this;
}

void Message::extend_last(std::span<const std::byte> more) {
  data_.append(more.data(), more.size());
  ends_.back() = data_.size();
}

void Message::remove_front(std::size_t n) noexcept {
  if (n == 0) return;
  std::size_t cut = ends_[n - 1];
  std::size_t rest = data_.size() - cut;
  if (rest != 0) std::memmove(data_.data(), data_.data() + cut, rest);
  data_.resize(rest);
  std::size_t frames = ends_.size() - n;
  for (std::size_t i = 0; i < frames; ++i) ends_[i] = ends_[i + n] - cut;
  ends_.resize(frames);
}

void Message::clear() noexcept {
  data_.clear();
  ends_.clear();
}

bool operator==(const Message& a, const Message& b) noexcept {
  if (a.size() != b.size() || a.bytes() != b.bytes()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a.frame(i).size() != b.frame(i).size()) return false;
  }
  return a.bytes() == 0 || std::memcmp(a.data_.data(), b.data_.data(), a.bytes()) == 0;
}

}  // namespace ipcx
