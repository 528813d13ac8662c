// Socket types and pairings (wire layer), from 37/ZMTP section "The Socket Type".
#include "wire/socket_type.hpp"

#include <array>

namespace ipcx::wire {
namespace {

constexpr std::array<std::string_view, 11> kNames{"PAIR",   "PUB",  "SUB",  "REQ",  "REP", "DEALER",
                                                  "ROUTER", "PULL", "PUSH", "XPUB", "XSUB"};

bool any_of(SocketType peer, std::initializer_list<SocketType> allowed) {
  for (SocketType t : allowed) {
    if (t == peer) return true;
  }
  return false;
}

}  // namespace

std::string_view socket_type_name(SocketType type) noexcept {
  return kNames[static_cast<std::size_t>(type)];
}

std::optional<SocketType> parse_socket_type(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<SocketType>(i);
  }
  return std::nullopt;
}

bool compatible(SocketType ours, SocketType peer) noexcept {
  using enum SocketType;
  switch (ours) {
    case pair:
      return peer == pair;
    case req:
      return any_of(peer, {rep, router});
    case rep:
      return any_of(peer, {req, dealer});
    case dealer:
      return any_of(peer, {rep, dealer, router});
    case router:
      return any_of(peer, {req, dealer, router});
    case pub:
    case xpub:
      return any_of(peer, {sub, xsub});
    case sub:
    case xsub:
      return any_of(peer, {pub, xpub});
    case push:
      return peer == pull;
    case pull:
      return peer == push;
  }
  return false;
}

}  // namespace ipcx::wire
