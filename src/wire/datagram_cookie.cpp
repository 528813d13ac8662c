// Address validation on udp:// (wire layer): see datagram_cookie.hpp.
#include "wire/datagram_cookie.hpp"

#include <cstring>

#include "wire/compact_header.hpp"

namespace ipcx::wire {
namespace {

constexpr std::byte kMagic[4] = {std::byte{'I'}, std::byte{'X'}, std::byte{'C'}, std::byte{'K'}};

bool has_magic(const std::byte* at) noexcept { return std::memcmp(at, kMagic, 4) == 0; }

}  // namespace

void write_challenge(std::byte* out, const Challenge& c) noexcept {
  std::memcpy(out, kMagic, 4);
  for (std::size_t i = 0; i < 8; ++i) out[4 + i] = static_cast<std::byte>(c.request_id >> (8 * i));
  std::memcpy(out + 12, c.cookie.data(), kCookieBytes);
}

std::optional<Challenge> read_challenge(std::span<const std::byte> d) noexcept {
  if (d.size() != kChallengeBytes || !has_magic(d.data())) return std::nullopt;
  Challenge c;
  for (std::size_t i = 0; i < 8; ++i) {
    c.request_id |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(d[4 + i])) << (8 * i);
  }
  std::memcpy(c.cookie.data(), d.data() + 12, kCookieBytes);
  return c;
}

void write_cookie_trailer(std::byte* out, const Cookie& cookie) noexcept {
  std::memcpy(out, kMagic, 4);
  std::memcpy(out + 4, cookie.data(), kCookieBytes);
}

Trailed split_cookie_trailer(std::span<const std::byte> d) noexcept {
  const char* why = nullptr;
  if (d.size() < kCompactHeaderSize + kCookieTrailerBytes) return {d, std::nullopt};
  auto h = read_compact_header(d, &why);
  if (!h || h->chunk_bytes != d.size() - kCompactHeaderSize - kCookieTrailerBytes) {
    return {d, std::nullopt};
  }
  const std::byte* trailer = d.data() + d.size() - kCookieTrailerBytes;
  if (!has_magic(trailer)) return {d, std::nullopt};
  Cookie cookie;
  std::memcpy(cookie.data(), trailer + 4, kCookieBytes);
  return {d.first(d.size() - kCookieTrailerBytes), cookie};
}

}  // namespace ipcx::wire
