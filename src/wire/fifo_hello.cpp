// The pipe:// rendezvous record (wire layer): see fifo_hello.hpp.
#include "wire/fifo_hello.hpp"

#include <cstring>

namespace ipcx::wire {
namespace {

constexpr std::uint32_t kCheckSalt = 0x9e3779b9;

void put32(std::byte* out, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::byte>(v >> (8 * i));
}
std::uint32_t get32(const std::byte* in) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(in[i]) << (8 * i);
  return v;
}

}  // namespace

void write_fifo_hello(std::byte* out, const FifoHello& hello) noexcept {
  put32(out, kFifoHelloMagic);
  out[4] = std::byte{kFifoHelloVersion};
  out[5] = std::byte{0};
  out[6] = std::byte{kFifoHelloSize};
  out[7] = std::byte{0};
  put32(out + 8, hello.pid);
  put32(out + 12, hello.serial);
  put32(out + 16, kFifoHelloMagic ^ hello.pid ^ hello.serial ^ kCheckSalt);
}

std::optional<FifoHello> read_fifo_hello(std::span<const std::byte> in) noexcept {
  if (in.size() < kFifoHelloSize) return std::nullopt;
  if (get32(in.data()) != kFifoHelloMagic) return std::nullopt;
  if (in[4] != std::byte{kFifoHelloVersion} || in[5] != std::byte{0} ||
      in[6] != std::byte{kFifoHelloSize} || in[7] != std::byte{0})
    return std::nullopt;
  FifoHello h{get32(in.data() + 8), get32(in.data() + 12)};
  if (get32(in.data() + 16) != (kFifoHelloMagic ^ h.pid ^ h.serial ^ kCheckSalt))
    return std::nullopt;
  if (h.pid == 0) return std::nullopt;
  return h;
}

void FifoHelloScanner::feed(std::span<const std::byte> bytes, std::vector<FifoHello>& found) {
  held_.insert(held_.end(), bytes.begin(), bytes.end());
  std::size_t at = 0;
  while (held_.size() - at >= kFifoHelloSize) {
    if (auto h = read_fifo_hello({held_.data() + at, kFifoHelloSize})) {
      found.push_back(*h);
      at += kFifoHelloSize;
    } else {
      ++garbage_;
      ++at;
    }
  }
  held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(at));
}

}  // namespace ipcx::wire
