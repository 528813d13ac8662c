// Socket types (wire layer): the roles of ZeroMQ's patterns and their legal pairings (37/ZMTP,
// 28/REQREP, 29/PUBSUB), which every mechanism's handshake checks, and the ZMTP frame flags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ipcx::wire {

enum class SocketType : std::uint8_t {
  pair,
  pub,
  sub,
  req,
  rep,
  dealer,
  router,
  pull,
  push,
  xpub,
  xsub
};

// The exact upper-case names libzmq sends and compares byte for byte.
std::string_view socket_type_name(SocketType type) noexcept;
// The ERROR reason ipcx sends a peer its credentials do not admit; a session receiving it
// reports Errc::permission_denied rather than refused.
inline constexpr std::string_view kPermissionDeniedReason = "permission denied";
std::optional<SocketType> parse_socket_type(std::string_view name) noexcept;
// Whether a socket of type `ours` may talk to a peer announcing `peer`.
bool compatible(SocketType ours, SocketType peer) noexcept;

inline constexpr std::size_t kGreetingSize = 64;
inline constexpr std::uint8_t kFlagMore = 0x01;
inline constexpr std::uint8_t kFlagLong = 0x02;
inline constexpr std::uint8_t kFlagCommand = 0x04;
// Commands (READY, PING, SUBSCRIBE...) are small; a larger one is a protocol violation.
inline constexpr std::size_t kMaxCommandSize = 64 * 1024;

}  // namespace ipcx::wire
