// Fuzz target: a udp:// datagram as a client or server reads it. As a client: a challenge, or
// else a message. As a server: its cookie trailer split off (the rest must be exactly the
// datagram less the trailer), then decoded as a message. A
// challenge written back from what was read must read the same.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wire/compact_header.hpp"
#include "wire/datagram_cookie.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx::wire;
  std::span<const std::byte> datagram{reinterpret_cast<const std::byte*>(data), size};
  if (auto challenge = read_challenge(datagram)) {
    std::byte again[kChallengeBytes];
    write_challenge(again, *challenge);
    if (std::memcmp(again, data, kChallengeBytes) != 0) __builtin_trap();
  }
  auto [rest, cookie] = split_cookie_trailer(datagram);
  if (cookie) {
    if (rest.size() + kCookieTrailerBytes != size || rest.data() != datagram.data()) {
      __builtin_trap();
    }
  } else if (rest.size() != size) {
    __builtin_trap();
  }
  CompactAssembler assembler(1 << 16);
  ipcx::Message out;
  (void)assembler.feed(rest, out);
  return 0;
}
