// What a Publisher is, as a part the proxy reuses (pattern layer): PUB over an engine. It keeps
// each subscriber's counted subscriptions (read as they arrive) and filters there for
// subscribers fed through their own link; subscribers that read a broadcast group (shm's ring,
// written once for all of them) filter for themselves. With an upstream callback it is an
// XPUB as well: it reports when the subscriptions of all its subscribers together gain a topic
// or lose the last of one, so that a proxy can subscribe to just that upstream.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "engine/engine.hpp"
#include "ipcx/result.hpp"
#include "pattern/one_way.hpp"
#include "wire/subscriptions.hpp"

namespace ipcx::pattern {

class Publishing : public engine::PeerEvents {
 public:
  // `subscribe` true: some subscriber now wants `topic` and none did; false: the last one
  // that wanted it cancelled or left.
  using Upstream = std::function<void(bool subscribe, std::string_view topic)>;

  Publishing(engine::EngineOptions options, std::chrono::milliseconds linger,
             Upstream upstream = {});
  // Writes what is still queued for at most `linger`.
  ~Publishing();
  Publishing(const Publishing&) = delete;
  Publishing& operator=(const Publishing&) = delete;

  // Sends the message (its first frame is the topic) to every matching subscriber below its
  // high-water mark: see Publisher::publish.
  Result<std::size_t> publish(const Message& message);
  // Subscribers with at least one subscription.
  std::size_t subscribers() const noexcept;

  engine::Engine engine;
  Traffic traffic;

 private:
  bool on_inbound(engine::Peer& peer, Message& m) override;
  void on_lost(engine::Peer& peer) override;
  void wait_for_group(transport::BroadcastGroup& group, const Message& message);
  std::size_t offer_waiting(const Message& message, std::string_view topic);

  std::chrono::milliseconds linger_;
  Upstream upstream_;
  wire::Subscriptions all_;                         // every subscriber's, counted together
  std::vector<std::uint64_t> ids_;                  // scratch for offer_waiting()
  std::vector<transport::BroadcastGroup*> groups_;  // scratch for publish()
};

}  // namespace ipcx::pattern
