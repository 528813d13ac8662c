// The request/reply envelope boundary (wire layer), 28/REQREP: a message's envelope is its
// frames up to and including the first empty one (the delimiter); the body is the rest. A
// message without an empty frame is all body.
#pragma once

#include <cstddef>

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

}  // namespace ipcx::wire
