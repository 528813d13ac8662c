// Request/reply envelopes (pattern layer), 28/REQREP: routing frames, an empty delimiter, then
// the body. An ipcx Client puts one routing frame before the delimiter: its request id, 5 bytes,
// 0x01 then the id big-endian (the first byte is never 0, unlike libzmq ROUTER peer ids).
#pragma once

#include <cstddef>
#include <optional>

#include "ipcx/client.hpp"
#include "ipcx/message.hpp"

namespace ipcx::pattern {

// Routing frames ride on top of the user's body; links allow this much more than
// max_message_size so that a body of exactly the limit passes, and the pattern then checks the
// body alone.
inline constexpr std::size_t kEnvelopeAllowance = 1024;

// The request id frame: this tag, then the id big-endian.
inline constexpr std::byte kIdTag{0x01};
inline constexpr std::size_t kIdFrameSize = 5;

// Whether an envelope (as wire::split_at_delimiter() cuts it: up to and including the first
// empty frame) ends with an ipcx request id: replies to it may leave in any order.
inline bool has_request_id(const Message& envelope) noexcept {
  if (envelope.size() < 2) return false;
  auto last_route = envelope.frame(envelope.size() - 2);
  return !last_route.empty() && last_route[0] != std::byte{0};
}

// [id frame][empty delimiter], what a Client puts before each request body.
Message request_head(RequestId id);
// [empty delimiter], what a libzmq REQ puts before each request body.
Message plain_request_head();
// Whether an envelope is that plain head alone: a reply to a libzmq-style request.
inline bool is_plain_envelope(const Message& envelope) noexcept {
  return envelope.size() == 1 && envelope.frame(0).empty();
}
// Rewrites the id in a head request_head() built, without building a new one.
void set_request_id(Message& head, RequestId id) noexcept;
// The request id of a reply whose first two frames are one of ours: an id frame and the empty
// delimiter.
inline std::optional<RequestId> reply_id(std::span<const std::byte> first,
                                         std::span<const std::byte> second) noexcept {
  if (!second.empty() || first.size() != kIdFrameSize || first[0] != kIdTag) return std::nullopt;
  RequestId id = 0;
  for (std::size_t i = 1; i < kIdFrameSize; ++i)
    id = (id << 8) | static_cast<std::uint8_t>(first[i]);
  return id;
}
// The same from a reply's envelope, as split off at the delimiter.
inline std::optional<RequestId> reply_id(const Message& envelope) noexcept {
  if (envelope.size() != 2) return std::nullopt;
  return reply_id(envelope.frame(0), envelope.frame(1));
}

}  // namespace ipcx::pattern
