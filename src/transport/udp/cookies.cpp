// Address cookies for udp:// (transport layer): see cookies.hpp.
#include "transport/udp/cookies.hpp"

namespace ipcx::transport::udp {

AddressCookies::AddressCookies() noexcept {
  // Idempotent and thread-safe; it fails only where no entropy source exists at all, and then
  // randombytes_buf aborts rather than hand out a guessable key.
  [[maybe_unused]] int ready = sodium_init();
  randombytes_buf(key_.data(), key_.size());
}

wire::Cookie AddressCookies::cookie_for(const void* address, std::size_t length) const noexcept {
  wire::Cookie cookie;
  crypto_generichash(reinterpret_cast<unsigned char*>(cookie.data()), cookie.size(),
                     static_cast<const unsigned char*>(address), length, key_.data(), key_.size());
  return cookie;
}

bool AddressCookies::valid(const void* address, std::size_t length,
                           const wire::Cookie& cookie) const noexcept {
  wire::Cookie expected = cookie_for(address, length);
  return sodium_memcmp(expected.data(), cookie.data(), cookie.size()) == 0;
}

}  // namespace ipcx::transport::udp
