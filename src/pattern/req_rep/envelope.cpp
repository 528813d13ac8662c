// Request/reply envelopes (pattern layer).
#include "pattern/req_rep/envelope.hpp"

namespace ipcx::pattern {

Message request_head(RequestId id) {
  std::byte frame[kIdFrameSize] = {kIdTag, static_cast<std::byte>(id >> 24),
                                   static_cast<std::byte>(id >> 16),
                                   static_cast<std::byte>(id >> 8), static_cast<std::byte>(id)};
  Message head;
  head.add(frame);
  head.add(std::span<const std::byte>{});
  return head;
}

Message plain_request_head() {
  Message head;
  head.add_empty_frame();
  return head;
}

void set_request_id(Message& head, RequestId id) noexcept {
  auto f = head.mutable_frame(0);
  for (std::size_t i = 1; i < kIdFrameSize; ++i) {
    f[i] = static_cast<std::byte>(id >> (8 * (kIdFrameSize - 1 - i)));
  }
}

}  // namespace ipcx::pattern
