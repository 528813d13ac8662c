// Request/reply envelopes (pattern layer).
#include "pattern/req_rep/envelope.hpp"

namespace ipcx::pattern {

Envelope split_envelope(const Message& request) noexcept {
  for (std::size_t i = 0; i < request.size(); ++i) {
    if (request.frame(i).empty()) {
      Envelope e;
      e.body_start = i + 1;
      if (i > 0) {
        auto last_route = request.frame(i - 1);
        e.has_request_id = !last_route.empty() && last_route[0] != std::byte{0};
      }
      return e;
    }
  }
  return {};
}

Message request_head(RequestId id) {
  std::byte frame[kIdFrameSize] = {kIdTag, static_cast<std::byte>(id >> 24),
                                   static_cast<std::byte>(id >> 16),
                                   static_cast<std::byte>(id >> 8), static_cast<std::byte>(id)};
  Message head;
  head.add(frame);
  head.add(std::span<const std::byte>{});
  return head;
}

void set_request_id(Message& head, RequestId id) noexcept {
  auto f = head.mutable_frame(0);
  for (std::size_t i = 1; i < kIdFrameSize; ++i) {
    f[i] = static_cast<std::byte>(id >> (8 * (kIdFrameSize - 1 - i)));
  }
}

}  // namespace ipcx::pattern
