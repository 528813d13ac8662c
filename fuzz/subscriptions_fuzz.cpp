// Fuzz target: a publisher's view of a hostile subscriber. The bytes go to a ZMTP PUB session
// (in pieces whose sizes the input's first byte chooses); every message it hands up, SUBSCRIBE
// and CANCEL commands included, is applied to a Subscriptions set, which is then matched
// against topics cut from the input. Must never crash, hang or grow past its bound.
#include <string_view>

#include "feed_session.hpp"
#include "wire/subscriptions.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx::wire;
  ZmtpSession session({SocketType::pub, "", 1 << 16});
  Subscriptions subscriptions;
  ipcx::fuzz::feed_session(session, data, size,
                           [&](ipcx::Message& m) { return subscriptions.apply(m); });
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::size_t at = 0; at < text.size(); at += 7) (void)subscriptions.matches(text.substr(at));
  return 0;
}
