// The pipe:// and mq:// rendezvous record (wire layer): see rendezvous.hpp.
#include "wire/rendezvous.hpp"

#include <cstring>

namespace ipcx::wire {
namespace {

constexpr std::uint32_t kCheckSalt = 0x9e3779b9;
constexpr std::uint8_t kMaxSocketType = 10;  // wire::SocketType::xsub

void put32(std::byte* out, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::byte>(v >> (8 * i));
}
std::uint32_t get32(const std::byte* in) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(in[i]) << (8 * i);
  return v;
}

std::uint32_t check_of(const Rendezvous& r) noexcept {
  return kRendezvousMagic ^ r.pid ^ r.serial ^ kCheckSalt ^ (std::uint32_t{r.socket_type} << 24);
}

}  // namespace

void write_rendezvous(std::byte* out, const Rendezvous& hello) noexcept {
  put32(out, kRendezvousMagic);
  out[4] = std::byte{kRendezvousVersion};
  out[5] = std::byte{hello.socket_type};
  out[6] = std::byte{kRendezvousSize};
  out[7] = std::byte{0};
  put32(out + 8, hello.pid);
  put32(out + 12, hello.serial);
  put32(out + 16, check_of(hello));
}

PrivateNames private_names(std::string_view server, const Rendezvous& record) {
  // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on "." + std::to_string(...).
  std::string stem(server);
  stem.append(".").append(std::to_string(record.pid));
  stem.append(".").append(std::to_string(record.serial));
  return {stem + ".c2s", stem + ".s2c"};
}

std::optional<Rendezvous> read_rendezvous(std::span<const std::byte> in) noexcept {
  if (in.size() < kRendezvousSize) return std::nullopt;
  if (get32(in.data()) != kRendezvousMagic) return std::nullopt;
  if (in[4] != std::byte{kRendezvousVersion} || in[5] > std::byte{kMaxSocketType} ||
      in[6] != std::byte{kRendezvousSize} || in[7] != std::byte{0})
    return std::nullopt;
  Rendezvous h{get32(in.data() + 8), get32(in.data() + 12), static_cast<std::uint8_t>(in[5])};
  if (get32(in.data() + 16) != check_of(h)) return std::nullopt;
  if (h.pid == 0) return std::nullopt;
  return h;
}

void RendezvousScanner::feed(std::span<const std::byte> bytes, std::vector<Rendezvous>& found) {
  held_.insert(held_.end(), bytes.begin(), bytes.end());
  std::size_t at = 0;
  while (held_.size() - at >= kRendezvousSize) {
    if (auto h = read_rendezvous({held_.data() + at, kRendezvousSize})) {
      found.push_back(*h);
      at += kRendezvousSize;
    } else {
      ++garbage_;
      ++at;
    }
  }
  held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(at));
}

}  // namespace ipcx::wire
