// Subscriptions (wire layer): a counted set of topic prefixes, as a ZeroMQ publisher keeps per
// subscriber and a subscriber keeps for itself (29/PUBSUB). Applies subscription messages in
// the 3.0 form, [0x01 topic] to subscribe and [0x00 topic] to cancel, from an untrusted peer:
// what they may hold is bounded. No syscalls.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "ipcx/message.hpp"

namespace ipcx::wire {

// One subscription or cancellation in the 3.0 message form: one frame, [0x01 or 0x00][topic].
struct SubscriptionChange {
  bool valid = false;  // the message is one
  bool subscribe = false;
  std::span<const std::byte> topic;
};
SubscriptionChange subscription_of(const Message& message) noexcept;
// The message form of one change.
Message subscription_message(bool subscribe, std::string_view topic);

class Subscriptions {
 public:
  // Distinct topics' bytes (plus one each) the set may hold; past it apply() refuses.
  static constexpr std::size_t kMaxBytes = 1u << 20;

  void subscribe(std::string_view topic);
  // Removes one count; false when the topic was not subscribed.
  bool cancel(std::string_view topic);
  // A subscription message: true when it was one and was applied, or was not a subscription at
  // all (other inbound data is ignored, as 29/PUBSUB says); false when it would exceed kMaxBytes.
  bool apply(const Message& message);

  // Whether some subscribed prefix starts `topic`.
  bool matches(std::string_view topic) const noexcept;
  bool empty() const noexcept { return topics_.empty(); }
  const std::map<std::string, int, std::less<>>& topics() const noexcept { return topics_; }

 private:
  std::map<std::string, int, std::less<>> topics_;  // prefix -> count
  std::size_t bytes_ = 0;
  std::size_t longest_ = 0;  // the longest subscribed prefix
};

}  // namespace ipcx::wire
