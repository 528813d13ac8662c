// Message (API layer): frames stored back to back in one small-buffer-optimised byte array.
#include "ipcx/message.hpp"

#include <cstdlib>
#include <cstring>

namespace ipcx {

namespace detail {
namespace {

// Per thread: a few large blocks, freed by Messages, for the next ones to reuse.
constexpr int kKeptSlots = 8;
constexpr std::size_t kMaxKeptTotal = 32u << 20;

// Plain data, so it stays usable while other thread-local objects are destroyed at thread
// exit; `Release` below frees the blocks and marks it closed.
struct KeptBlocks {
  void* block[kKeptSlots];
  std::size_t bytes[kKeptSlots];
  std::size_t total;
  bool closed;
};
thread_local KeptBlocks t_kept{};

struct Release {
  ~Release() {
    for (int i = 0; i < kKeptSlots; ++i) std::free(t_kept.block[i]);
    t_kept = KeptBlocks{};
    t_kept.closed = true;
  }
};
thread_local Release t_release;

}  // namespace

void* take_kept_block(std::size_t bytes, std::size_t* capacity) noexcept {
  KeptBlocks& k = t_kept;
  int best = -1;
  for (int i = 0; i < kKeptSlots; ++i) {
    // Large enough, and not so large that a small message would sit on a huge block.
    if (k.block[i] == nullptr || k.bytes[i] < bytes || k.bytes[i] / 4 > bytes) continue;
    if (best < 0 || k.bytes[i] < k.bytes[best]) best = i;
  }
  if (best < 0) return nullptr;
  void* block = k.block[best];
  *capacity = k.bytes[best];
  k.total -= k.bytes[best];
  k.block[best] = nullptr;
  k.bytes[best] = 0;
  return block;
}

void keep_block(void* block, std::size_t bytes) noexcept {
  KeptBlocks& k = t_kept;
  (void)&t_release;  // make sure this thread frees what it keeps when it ends
  if (k.closed || bytes > kMaxKeptTotal) return std::free(block);
  // An empty slot, else the smallest block when this one is larger: the steps a buffer grows
  // through on its way to a large size must not crowd out the large blocks themselves.
  int slot = -1;
  for (int i = 0; i < kKeptSlots; ++i) {
    if (k.block[i] == nullptr) {
      slot = i;
      break;
    }
    if (slot < 0 || k.bytes[i] < k.bytes[slot]) slot = i;
  }
  if (k.block[slot] != nullptr) {
    if (k.bytes[slot] >= bytes) return std::free(block);
    std::free(k.block[slot]);
    k.total -= k.bytes[slot];
    k.block[slot] = nullptr;
  }
  // Over the total: give back the largest others until it fits.
  while (k.total + bytes > kMaxKeptTotal) {
    int largest = -1;
    for (int i = 0; i < kKeptSlots; ++i) {
      if (k.block[i] != nullptr && (largest < 0 || k.bytes[i] > k.bytes[largest])) largest = i;
    }
    std::free(k.block[largest]);
    k.total -= k.bytes[largest];
    k.block[largest] = nullptr;
  }
  k.block[slot] = block;
  k.bytes[slot] = bytes;
  k.total += bytes;
}

}  // namespace detail

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
  if (rest != 0 && cut != 0) std::memmove(data_.data(), data_.data() + cut, rest);
  data_.clear();  // shrinking: no reallocation, so this cannot throw
  data_.grow_by(rest);
  std::size_t frames = ends_.size() - n;
  std::size_t* ends = ends_.data();
  for (std::size_t i = 0; i < frames; ++i) ends[i] = ends[i + n] - cut;
  ends_.clear();
  ends_.grow_by(frames);
}

bool operator==(const Message& a, const Message& b) noexcept {
  if (a.size() != b.size() || a.bytes() != b.bytes()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a.frame(i).size() != b.frame(i).size()) return false;
  }
  return a.bytes() == 0 || std::memcmp(a.data_.data(), b.data_.data(), a.bytes()) == 0;
}

}  // namespace ipcx
