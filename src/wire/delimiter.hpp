// The request/reply envelope boundary (wire layer), 28/REQREP: a message's envelope is its
// frames up to and including the first empty one (the delimiter); the body is the rest. A
// message without an empty frame is all body.
#pragma once

#include <cstddef>
#include <span>

#include "core/copy_bytes.hpp"
#include "ipcx/message.hpp"

namespace ipcx::wire {

// Moves the envelope frames of `message` into `envelope` (replaced; left empty when there is
// no delimiter), leaving the body in `message`.
inline void split_at_delimiter(Message& message, Message& envelope) {
  envelope.clear();
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (!message.frame(i).empty()) continue;
    for (std::size_t j = 0; j <= i; ++j) envelope.add(message.frame(j));
    message.remove_front(i + 1);
    return;
  }
}

// Replaces `envelope` with [route][""] and `body` with one frame of `body_bytes`: the request/
// reply shape both wire formats recognise before their frame walks. The spans were checked by
// the caller and may point into memory the peer still writes: they are read once.
inline void set_routed(std::span<const std::byte> route, std::span<const std::byte> body_bytes,
                       Message& envelope, Message& body) {
  auto [route_data, route_ends] = envelope.reset_layout(route.size(), 2);
  copy_bytes(route_data, route.data(), route.size());
  route_ends[0] = route_ends[1] = route.size();
  auto [body_data, body_ends] = body.reset_layout(body_bytes.size(), 1);
  copy_bytes(body_data, body_bytes.data(), body_bytes.size());
  body_ends[0] = body_bytes.size();
}

}  // namespace ipcx::wire
