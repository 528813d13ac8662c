// Fuzz target: a ZMTP 3.1 server session (ROUTER) fed hostile bytes, in pieces whose sizes the
// input chooses, so split points are explored too. Must never crash, hang or grow unbounded.
#include <cstddef>
#include <cstdint>

#include "wire/zmtp_session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx::wire;
  if (size == 0) return 0;
  ZmtpSession session({SocketType::router, "", 1 << 16});
  std::size_t step = 1 + data[0] % 64;
  std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  while (!rest.empty()) {
    auto piece = rest.first(std::min(step, rest.size()));
    while (!piece.empty()) {
      std::size_t used = 0;
      auto e = session.feed(piece, used);
      if (e == ZmtpSession::Event::error) return 0;
      piece = piece.subspan(used);
      if (e == ZmtpSession::Event::message) (void)session.send(session.message(), {});
    }
    rest = rest.subspan(std::min(step, rest.size()));
    session.output().clear();
  }
  return 0;
}
