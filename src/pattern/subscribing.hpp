// What a Subscriber is, as a part the proxy reuses (pattern layer): SUB over an engine. It
// sends its subscriptions to every peer once its link is established (again after a
// reconnect), as messages in the 3.0 form that each mechanism puts on the wire as its peer
// understands, and always filters, for messages already on their way when it unsubscribed
// (and, on shm, the broadcast ring's other topics).
#pragma once

#include <string_view>

#include "engine/engine.hpp"
#include "ipcx/result.hpp"
#include "pattern/one_way.hpp"
#include "wire/subscriptions.hpp"

namespace ipcx::pattern {

class Subscribing : public engine::PeerEvents {
 public:
  explicit Subscribing(engine::EngineOptions options) : engine(std::move(options), this) {}

  // Counted; each change goes to every established peer at once, the whole set to later ones.
  void subscribe(std::string_view topic);
  void unsubscribe(std::string_view topic);
  // The next message that matches the subscriptions, without waiting.
  bool next_matching(Message& m);
  // The same, waiting up to `timeout`. Errors: timeout.
  Result<void> receive(Message& m, std::chrono::milliseconds timeout);

  engine::Engine engine;
  Traffic traffic;
  std::uint64_t last_gap = 0;  // what the publisher says was lost before the last message

 private:
  void on_ready(engine::Peer& peer) override;
  void tell_all(bool subscribe, std::string_view topic);
  bool next(Message& m);

  wire::Subscriptions topics_;  // counted, as sent to every publisher
};

}  // namespace ipcx::pattern
