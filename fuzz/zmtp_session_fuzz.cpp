// Fuzz target: a ZMTP 3.1 server session (ROUTER) fed hostile bytes, in pieces whose sizes the
// input chooses, so split points are explored too. Must never crash, hang or grow unbounded.
// The same bytes go to a second session that splits each envelope off as it decodes: its
// envelope and body together must be the first session's message, cut after the first empty
// frame (or all body when there is none). A third, connecting session with a staged greeting
// reads the same bytes as its server's: it must send the rest of its greeting only after a
// peer greeting that names NULL, never become ready after another, and explain a hang-up
// without fault.
#include <cstring>
#include <vector>

#include "feed_session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx::wire;
  std::vector<ipcx::Message> whole;
  ZmtpSession session({SocketType::router, "", 1 << 16});
  ipcx::fuzz::feed_session(session, data, size, [&](ipcx::Message& m) {
    (void)session.send(m, {});  // echo, as a server would
    whole.push_back(m);
    return true;
  });
  ZmtpSession splitting({SocketType::router, "", 1 << 16});
  ipcx::Message envelope;
  std::size_t n = 0;
  ipcx::fuzz::feed_session(
      splitting, data, size,
      [&](ipcx::Message& body) {
        if (n >= whole.size()) __builtin_trap();  // a message the plain decode did not give
        ipcx::Message joined = envelope;
        joined.add_frames(body);
        bool cut_right = envelope.empty() || envelope.frame(envelope.size() - 1).empty();
        for (std::size_t i = 0; i + 1 < envelope.size(); ++i)
          cut_right &= !envelope.frame(i).empty();
        if (!(joined == whole[n++]) || !cut_right) __builtin_trap();
        return true;
      },
      &envelope);
  if (n != whole.size()) __builtin_trap();

  ZmtpSession staged({SocketType::dealer, "", 1 << 16, false, true});
  if (staged.output().size() != 11) __builtin_trap();  // signature and major version only
  ipcx::fuzz::feed_session(staged, data, size, [](ipcx::Message&) { return true; });
  (void)staged.hangup_reason();
  // Established only after a greeting that named NULL (the bytes after the step byte).
  static constexpr char kNull[20] = {'N', 'U', 'L', 'L'};
  if (staged.ready() && (size < 1 + 32 || std::memcmp(data + 1 + 12, kNull, 20) != 0)) {
    __builtin_trap();
  }
  return 0;
}
