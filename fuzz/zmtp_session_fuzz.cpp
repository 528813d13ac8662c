// Fuzz target: a ZMTP 3.1 server session (ROUTER) fed hostile bytes, in pieces whose sizes the
// input chooses, so split points are explored too. Must never crash, hang or grow unbounded.
#include "feed_session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx::wire;
  ZmtpSession session({SocketType::router, "", 1 << 16});
  ipcx::fuzz::feed_session(session, data, size, [&](ipcx::Message& m) {
    (void)session.send(m, {});  // echo, as a server would
    return true;
  });
  return 0;
}
