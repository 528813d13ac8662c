// Subscriptions (wire layer): see subscriptions.hpp.
#include "wire/subscriptions.hpp"

#include <algorithm>
#include <cstring>

namespace ipcx::wire {

void Subscriptions::subscribe(std::string_view topic) {
  auto it = topics_.find(topic);
  if (it != topics_.end()) {
    it->second++;
    return;
  }
  topics_.emplace(std::string(topic), 1);
  bytes_ += topic.size() + 1;
  longest_ = std::max(longest_, topic.size());
}

bool Subscriptions::cancel(std::string_view topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return false;
  if (--it->second == 0) {
    bool was_longest = it->first.size() == longest_;
    bytes_ -= it->first.size() + 1;
    topics_.erase(it);
    if (was_longest) {
      longest_ = 0;
      for (const auto& [prefix, count] : topics_) longest_ = std::max(longest_, prefix.size());
    }
  }
  return true;
}

SubscriptionChange subscription_of(const Message& message) noexcept {
  if (message.size() != 1 || message.frame(0).empty()) return {};
  auto frame = message.frame(0);
  auto flag = static_cast<unsigned char>(frame[0]);
  if (flag > 1) return {};
  return {true, flag == 1, frame.subspan(1)};
}

Message subscription_message(bool subscribe, std::string_view topic) {
  Message m;
  m.add_empty_frame();
  std::byte flag{static_cast<unsigned char>(subscribe ? 1 : 0)};
  m.extend_last({&flag, 1});
  m.extend_last(std::as_bytes(std::span<const char>(topic.data(), topic.size())));
  return m;
}

bool Subscriptions::apply(const Message& message) {
  auto change = subscription_of(message);
  if (!change.valid) return true;  // not a subscription
  std::string_view topic(reinterpret_cast<const char*>(change.topic.data()), change.topic.size());
  if (change.subscribe) {
    if (topics_.find(topic) == topics_.end() && bytes_ + topic.size() + 1 > kMaxBytes) {
      return false;
    }
    subscribe(topic);
  } else {
    (void)cancel(topic);
  }
  return true;
}

bool Subscriptions::matches(std::string_view topic) const noexcept {
  // "" (everything) sorts first: the common subscription costs one comparison.
  if (!topics_.empty() && topics_.begin()->first.empty()) return true;
  if (topics_.size() <= 8) {  // a few subscriptions: compare each
    for (const auto& [prefix, count] : topics_) {
      if (topic.size() >= prefix.size() &&
          std::memcmp(topic.data(), prefix.data(), prefix.size()) == 0) {
        return true;
      }
    }
    return false;
  }
  // Many: look up each prefix of the topic no longer than the longest subscription.
  std::size_t longest = std::min(topic.size(), longest_);
  for (std::size_t n = 0; n <= longest; ++n) {
    if (topics_.find(topic.substr(0, n)) != topics_.end()) return true;
  }
  return false;
}

}  // namespace ipcx::wire
