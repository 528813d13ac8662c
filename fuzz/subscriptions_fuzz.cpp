// Fuzz target: a publisher's view of a hostile subscriber. The bytes go to a ZMTP PUB session
// (in pieces whose sizes the input's first byte chooses); every message it hands up, SUBSCRIBE
// and CANCEL commands included, is applied to a Subscriptions set, which is then matched
// against topics cut from the input. Must never crash, hang or grow past its bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wire/subscriptions.hpp"
#include "wire/zmtp_session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx::wire;
  if (size == 0) return 0;
  ZmtpSession session({SocketType::pub, "", 1 << 16});
  Subscriptions subscriptions;
  std::size_t step = 1 + data[0] % 64;
  std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    auto piece = rest.first(std::min(step, rest.size()));
    while (!piece.empty()) {
      std::size_t used = 0;
      auto e = session.feed(piece, used);
      if (e == ZmtpSession::Event::error) return 0;
      piece = piece.subspan(used);
      if (e == ZmtpSession::Event::message && !subscriptions.apply(session.message())) return 0;
    }
    rest = rest.subspan(std::min(step, rest.size()));
    session.output().clear();
  }
  for (std::size_t at = 0; at < text.size(); at += 7) (void)subscriptions.matches(text.substr(at));
  return 0;
}
