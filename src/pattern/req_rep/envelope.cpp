// Request/reply envelopes (pattern layer).
#include "pattern/req_rep/envelope.hpp"

namespace ipcx::pattern {
namespace {
constexpr std::byte kIdTag{0x01};
constexpr std::size_t kIdFrameSize = 5;
}  // namespace

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

std::optional<RequestId> reply_id(const Message& envelope) noexcept {
  if (envelope.size() != 2) return std::nullopt;
  return reply_id(envelope.frame(0), envelope.frame(1));
}

std::optional<RequestId> reply_id(std::span<const std::byte> f,
                                  std::span<const std::byte> second) noexcept {
  if (!second.empty()) return std::nullopt;
  if (f.size() != kIdFrameSize || f[0] != kIdTag) return std::nullopt;
  RequestId id = 0;
  for (std::size_t i = 1; i < kIdFrameSize; ++i) id = (id << 8) | static_cast<std::uint8_t>(f[i]);
  return id;
}

}  // namespace ipcx::pattern
