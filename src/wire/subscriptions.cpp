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

bool Subscriptions::apply(const Message& message) {
  if (message.size() != 1 || message.frame(0).empty()) return true;  // not a subscription
  std::string_view frame = message.text(0);
  std::string_view topic = frame.substr(1);
  if (frame[0] == 1) {
    if (topics_.find(topic) == topics_.end() && bytes_ + topic.size() + 1 > kMaxBytes) {
      return false;
    }
    subscribe(topic);
  } else if (frame[0] == 0) {
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
