// ipcx::Publisher and ipcx::Subscriber (pattern layer): PUB and SUB over a LinkSet. The
// publisher keeps each subscriber's counted subscriptions and filters there; the subscriber
// re-sends its subscriptions to every link once it is established (again after a reconnect),
// and filters too, for messages already on their way when it unsubscribed.
#include "ipcx/pubsub.hpp"

#include <cstring>

#include "pattern/link_set.hpp"
#include "wire/subscriptions.hpp"

namespace ipcx {
namespace {

using Clock = std::chrono::steady_clock;
using pattern::LinkSet;

struct PeerSubscriptions final : pattern::PeerState {
  wire::Subscriptions set;
};

// A subscriber's inbound message at its publisher; false (too many subscriptions) closes it.
bool on_subscription(LinkSet::Member& from, Message& m) {
  if (!from.state) from.state = std::make_unique<PeerSubscriptions>();
  return static_cast<PeerSubscriptions&>(*from.state).set.apply(m);
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
    auto* subs = static_cast<PeerSubscriptions*>(m.state.get());
    if (m.link->established() && subs != nullptr && subs->set.matches(topic)) {
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

SocketStats Publisher::stats() const noexcept { return links_->snapshot(); }

std::size_t Publisher::subscribers() const noexcept {
  std::size_t n = 0;
  for (const auto& m : links_->members()) {
    auto* subs = static_cast<const PeerSubscriptions*>(m.state.get());
    if (subs != nullptr && !subs->set.empty()) ++n;
  }
  return n;
}

Subscriber::Subscriber(SocketOptions options)
    : links_(std::make_unique<LinkSet>(wire::SocketType::sub, std::move(options), true)),
      topics_(std::make_unique<wire::Subscriptions>()) {}
Subscriber::~Subscriber() = default;
Subscriber::Subscriber(Subscriber&&) noexcept = default;
Subscriber& Subscriber::operator=(Subscriber&&) noexcept = default;

Endpoint Subscriber::bind(std::string_view url) { return links_->bind(url); }
void Subscriber::connect(std::string_view url) { links_->connect(url); }

void Subscriber::subscribe(std::string_view topic) {
  topics_->subscribe(topic);
  links_->for_each_announced([&](transport::Link& link) {
    (void)link.send_subscription(true, std::as_bytes(std::span(topic.data(), topic.size())));
  });
}

void Subscriber::unsubscribe(std::string_view topic) {
  if (!topics_->cancel(topic)) return;
  links_->for_each_announced([&](transport::Link& link) {
    (void)link.send_subscription(false, std::as_bytes(std::span(topic.data(), topic.size())));
  });
}

void Subscriber::announce() {
  bool sent = false;
  for (auto& m : links_->members()) {
    if (m.state || !m.link->established()) continue;
    sent = true;
    m.state = std::make_unique<Announced>();
    for (const auto& [topic, count] : topics_->topics()) {
      for (int i = 0; i < count; ++i) {
        (void)m.link->send_subscription(true, std::as_bytes(std::span(topic.data(), topic.size())));
      }
    }
  }
  if (sent) links_->progress();  // writes what was queued; receive() does the rest
}

Result<Message> Subscriber::receive(std::chrono::milliseconds timeout) {
  LinkSet& set = *links_;
  Clock::time_point deadline{};  // read lazily
  Message m;
  for (;;) {
    announce();
    while (set.next_message(m)) {
      if (!m.empty() && topics_->matches(m.text(0))) return m;
      set.stats().dropped++;  // arrived after its unsubscribe
    }
    set.progress();  // accepts, redials, writes: only when nothing was waiting
    if (deadline == Clock::time_point{}) deadline = pattern::deadline_after(timeout);
    if (Clock::now() >= deadline) return unexpected(Errc::timeout);
    if (set.spin_for(deadline, m)) {
      if (!m.empty() && topics_->matches(m.text(0))) return m;
      continue;
    }
    set.wait(deadline);
  }
}

SocketStats Subscriber::stats() const noexcept { return links_->snapshot(); }
int Subscriber::fd() const noexcept { return links_->fd(); }

}  // namespace ipcx
