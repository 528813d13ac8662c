// Address validation on udp:// (wire layer): the two datagram forms that prove a client can
// receive at the address it sends from, so that a forged source address cannot turn a server
// into an amplifier (the rule of QUIC's RFC 9000 §8.1: until an address is validated, send it
// at most three times what came from it). A server that may not answer yet sends a
// challenge: "IXCK", the request id it answers (little endian), and a cookie for the address.
// The client then sends its request again, and every datagram after, with a trailer: the
// compact fragment, then "IXCK" and the cookie. Parsing only; the cookie's keyed hash is the
// transport's. No syscalls. docs/PROTOCOL.md is the specification.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace ipcx::wire {

inline constexpr std::size_t kCookieBytes = 16;
inline constexpr std::size_t kCookieTrailerBytes = 4 + kCookieBytes;
inline constexpr std::size_t kChallengeBytes = 4 + 8 + kCookieBytes;
// What a server may send an address it has not validated, per byte it received from there.
inline constexpr std::size_t kUnvalidatedFactor = 3;

using Cookie = std::array<std::byte, kCookieBytes>;

struct Challenge {
  std::uint64_t request_id = 0;
  Cookie cookie{};
};

// kChallengeBytes at `out`.
void write_challenge(std::byte* out, const Challenge& challenge) noexcept;
// A challenge, or nullopt for any other datagram.
std::optional<Challenge> read_challenge(std::span<const std::byte> datagram) noexcept;

// kCookieTrailerBytes at `out`.
void write_cookie_trailer(std::byte* out, const Cookie& cookie) noexcept;

struct Trailed {
  std::span<const std::byte> datagram;  // without the trailer
  std::optional<Cookie> cookie;         // the trailer's, when there was one
};
// Splits the trailer off a datagram that carries one: one whose compact header's chunk length
// ends exactly kCookieTrailerBytes before the datagram does, where "IXCK" follows. Any other
// datagram comes back whole, without a cookie.
Trailed split_cookie_trailer(std::span<const std::byte> datagram) noexcept;

}  // namespace ipcx::wire
