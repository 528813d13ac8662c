// ipcx::Publisher and ipcx::Subscriber (pattern layer): PUB and SUB over a LinkSet. The
// publisher keeps each subscriber's counted subscriptions and filters there; the subscriber
// re-sends its subscriptions to every link once it is established (again after a reconnect),
// and filters too, for messages already on their way when it unsubscribed.
#include "ipcx/pubsub.hpp"

#include <cstring>

#include "pattern/link_set.hpp"

namespace ipcx {
namespace {

using Clock = std::chrono::steady_clock;
using pattern::LinkSet;

// A subscriber may not make its publisher hold more than this of subscriptions.
constexpr std::size_t kMaxSubscriptionBytes = 1u << 20;

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool starts_with(std::string_view topic, std::string_view prefix) {
  return topic.size() >= prefix.size() &&
         std::memcmp(topic.data(), prefix.data(), prefix.size()) == 0;
}

bool any_prefix(const std::map<std::string, int, std::less<>>& topics, std::string_view topic) {
  for (const auto& [prefix, count] : topics) {
    if (prefix.size() > topic.size()) continue;
    if (starts_with(topic, prefix)) return true;
  }
  return false;
}

struct Subscriptions final : pattern::PeerState {
  std::map<std::string, int, std::less<>> topics;
  std::size_t bytes = 0;
};

// A subscriber's inbound message at its publisher: [0x01 topic] subscribes, [0x00 topic]
// cancels; anything else is ignored (29/PUBSUB). False closes the peer.
bool on_subscription(LinkSet::Member& from, Message& m) {
  if (m.size() != 1 || m.frame(0).empty()) return true;
  auto frame = m.frame(0);
  auto flag = static_cast<std::uint8_t>(frame[0]);
  std::string_view topic = as_text(frame.subspan(1));
  if (!from.state) from.state = std::make_unique<Subscriptions>();
  auto& subs = static_cast<Subscriptions&>(*from.state);
  if (flag == 1) {
    auto it = subs.topics.find(topic);
    if (it == subs.topics.end()) {
      if (subs.bytes + topic.size() + 1 > kMaxSubscriptionBytes) return false;
      subs.bytes += topic.size() + 1;
      subs.topics.emplace(std::string(topic), 1);
    } else {
      it->second++;
    }
  } else if (flag == 0) {
    auto it = subs.topics.find(topic);
    if (it != subs.topics.end() && --it->second == 0) {
      subs.bytes -= it->first.size() + 1;
      subs.topics.erase(it);
    }
  }
  return true;
}

struct Announced final : pattern::PeerState {};

}  // namespace

Publisher::Publisher(SocketOptions options)
    : links_(std::make_unique<LinkSet>(wire::SocketType::pub, std::move(options), false,
                                       &on_subscription)) {}
Publisher::~Publisher() = default;
Publisher::Publisher(Publisher&&) noexcept = default;
Publisher& Publisher::operator=(Publisher&&) noexcept = default;

Endpoint Publisher::bind(std::string_view url) { return links_->bind(url); }
void Publisher::connect(std::string_view url) { links_->connect(url); }

Result<std::size_t> Publisher::publish(const Message& message) {
  LinkSet& set = *links_;
  if (message.bytes() > set.options().max_message_size) return unexpected(Errc::message_too_large);
  set.progress_fresh();
  std::string_view topic = message.empty() ? std::string_view{} : message.text(0);
  auto& members = set.members();
  std::size_t delivered = 0;
  for (std::size_t i = 0; i < members.size();) {
    std::size_t before = members.size();
    auto& m = members[i];
    auto* subs = static_cast<Subscriptions*>(m.state.get());
    if (m.link->established() && subs != nullptr && any_prefix(subs->topics, topic)) {
      if (set.offer(i, message)) {
        ++delivered;
      } else {
        set.stats().dropped++;
      }
    }
    if (members.size() == before) ++i;  // else the last member moved into i: look at it
  }
  set.stats().messages++;
  set.stats().bytes += message.bytes();
  return delivered;
}

void Publisher::poll() { links_->refresh(); }

bool Publisher::flush(std::chrono::milliseconds timeout) {
  return links_->flush(pattern::deadline_after(timeout));
}

SocketStats Publisher::stats() const noexcept { return links_->stats(); }

std::size_t Publisher::subscribers() const noexcept {
  std::size_t n = 0;
  for (const auto& m : links_->members()) {
    auto* subs = static_cast<const Subscriptions*>(m.state.get());
    if (subs != nullptr && !subs->topics.empty()) ++n;
  }
  return n;
}

Subscriber::Subscriber(SocketOptions options)
    : links_(std::make_unique<LinkSet>(wire::SocketType::sub, std::move(options), true)) {}
Subscriber::~Subscriber() = default;
Subscriber::Subscriber(Subscriber&&) noexcept = default;
Subscriber& Subscriber::operator=(Subscriber&&) noexcept = default;

Endpoint Subscriber::bind(std::string_view url) { return links_->bind(url); }
void Subscriber::connect(std::string_view url) { links_->connect(url); }

void Subscriber::subscribe(std::string_view topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) {
    topics_.emplace(std::string(topic), 1);
  } else {
    it->second++;
  }
  links_->for_each_announced([&](transport::Link& link) {
    (void)link.send_subscription(true, std::as_bytes(std::span(topic.data(), topic.size())));
  });
}

void Subscriber::unsubscribe(std::string_view topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  if (--it->second == 0) topics_.erase(it);
  links_->for_each_announced([&](transport::Link& link) {
    (void)link.send_subscription(false, std::as_bytes(std::span(topic.data(), topic.size())));
  });
}

void Subscriber::announce() {
  auto& members = links_->members();
  for (auto& m : members) {
    if (m.state || !m.link->established()) continue;
    m.state = std::make_unique<Announced>();
    for (const auto& [topic, count] : topics_) {
      for (int i = 0; i < count; ++i) {
        (void)m.link->send_subscription(true, std::as_bytes(std::span(topic.data(), topic.size())));
      }
    }
  }
  links_->progress();  // writes what was queued
}

Result<Message> Subscriber::receive(std::chrono::milliseconds timeout) {
  LinkSet& set = *links_;
  Clock::time_point deadline{};  // read lazily
  Message m;
  for (;;) {
    announce();
    while (set.next_message(m)) {
      if (!m.empty() && any_prefix(topics_, m.text(0))) return m;
      set.stats().dropped++;  // arrived after its unsubscribe
    }
    if (deadline == Clock::time_point{}) deadline = pattern::deadline_after(timeout);
    if (Clock::now() >= deadline) return unexpected(Errc::timeout);
    if (set.spin_for(deadline, m)) {
      if (!m.empty() && any_prefix(topics_, m.text(0))) return m;
      continue;
    }
    set.wait(deadline);
  }
}

SocketStats Subscriber::stats() const noexcept { return links_->stats(); }
int Subscriber::fd() const noexcept { return links_->fd(); }

}  // namespace ipcx
