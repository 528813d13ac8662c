// Address cookies for udp:// (transport layer): a keyed hash (libsodium's BLAKE2b) of a peer's
// socket address under a key made when the socket is bound, so that a server validates an
// address from the cookie alone and keeps nothing per client until then. A cookie proves that
// whoever sent it received what was sent to that address: wire/datagram_cookie.hpp.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>

#include "wire/datagram_cookie.hpp"

namespace ipcx::transport::udp {

class AddressCookies {
 public:
  AddressCookies() noexcept;
  wire::Cookie cookie_for(const void* address, std::size_t length) const noexcept;
  bool valid(const void* address, std::size_t length, const wire::Cookie& cookie) const noexcept;

 private:
  std::array<unsigned char, crypto_generichash_KEYBYTES> key_{};
};

}  // namespace ipcx::transport::udp
