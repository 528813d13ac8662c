// ipcx::Publisher and ipcx::Subscriber (pattern layer): PUB and SUB over a LinkSet. The
// publisher keeps each subscriber's counted subscriptions and filters there for socket
// subscribers; shm subscribers all read one broadcast ring and filter for themselves. The
// subscriber re-sends its subscriptions to every link once it is established (again after a
// reconnect), and always filters, for messages already on their way when it unsubscribed.
#include "ipcx/pubsub.hpp"

#include "core/spin.hpp"
#include "pattern/link_set.hpp"
#include "transport/shm_broadcast_source.hpp"
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

Endpoint Publisher::bind(std::string_view url) {
  ensure_broadcast(url);
  return links_->bind(url);
}
void Publisher::connect(std::string_view url) {
  ensure_broadcast(url);
  links_->connect(url);
}

void Publisher::ensure_broadcast(std::string_view url) {
  if (broadcast_) return;
  auto ep = Endpoint::try_parse(url);
  if (!ep || ep->scheme != "shm") return;  // bind() and connect() judge the URL
  std::string why;
  broadcast_ = transport::BroadcastSource::create(links_->options().shm_ring_bytes,
                                                  links_->options().lossless, why);
  if (!broadcast_) throw Error(Errc::resource_exhausted, std::string(url), why);
  links_->set_broadcast(broadcast_);
}

// Lossless: writes the message into the broadcast ring, waiting (spinning first, then asleep)
// for the slowest subscriber to make room, while serving the links: a subscriber that dies
// leaves its seat and stops holding us up.
void Publisher::wait_for_ring(const Message& message) {
  LinkSet& set = *links_;
  auto spin_until = Clock::now() + set.options().spin;
  SpinPause pause(kShmYieldEvery);
  for (unsigned polls = 1; !broadcast_->write(message); ++polls) {
    if ((polls & 15) == 0) set.progress();
    if ((polls & 15) != 0 || Clock::now() < spin_until) {
      pause();
      if ((polls & 63) == 0) set.poll_signals();
      continue;
    }
    set.wait(Clock::time_point::max());
  }
}

// Lossless, sockets: offers to each matching subscriber in turn; one at its high-water mark
// has everyone's queue written out first (the flush waits), then takes the message. Members
// are found again by key, as waiting may drop any of them.
std::size_t Publisher::offer_waiting(const Message& message, std::string_view topic) {
  LinkSet& set = *links_;
  keys_.clear();
  for (auto& m : set.members()) {
    auto* subs = static_cast<PeerSubscriptions*>(m.state.get());
    if (m.link->established() && !m.link->broadcasting() && subs != nullptr &&
        subs->set.matches(topic)) {
      keys_.push_back(m.key);
    }
  }
  std::size_t delivered = 0;
  for (std::uint64_t key : keys_) {
    std::size_t i = set.find(key);
    if (i != LinkSet::kNone && !set.offer(i, message)) {
      (void)set.flush(Clock::time_point::max());
      i = set.find(key);
      if (i != LinkSet::kNone && !set.offer(i, message)) i = LinkSet::kNone;
    }
    if (i != LinkSet::kNone) ++delivered;  // else it died meanwhile
  }
  return delivered;
}

Result<std::size_t> Publisher::publish(const Message& message) {
  LinkSet& set = *links_;
  if (message.bytes() > set.options().max_message_size) return unexpected(Errc::message_too_large);
  set.progress_fresh();
  std::string_view topic = message.empty() ? std::string_view{} : message.text(0);
  auto& members = set.members();
  bool lossless = set.options().lossless;
  std::size_t delivered = 0;
  std::size_t via_ring = 0;
  bool held_back = false;  // lossless: a socket subscriber to offer to, waiting if need be
  for (std::size_t i = 0; i < members.size();) {
    std::size_t before = members.size();
    auto& m = members[i];
    auto* subs = static_cast<PeerSubscriptions*>(m.state.get());
    if (m.link->established() && subs != nullptr && subs->set.matches(topic)) {
      if (m.link->broadcasting()) {
        ++via_ring;
      } else if (lossless) {
        held_back = true;
      } else if (set.offer(i, message)) {
        ++delivered;
      } else {
        set.stats().dropped++;
      }
    }
    if (members.size() == before) ++i;  // else the last member moved into i: look at it
  }
  if (held_back) delivered += offer_waiting(message, topic);
  if (via_ring > 0) {
    // One copy for every shm subscriber; each filters for itself.
    if (!broadcast_->write(message)) wait_for_ring(message);
    delivered += via_ring;
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

Result<void> Subscriber::receive(Message& m, std::chrono::milliseconds timeout) {
  LinkSet& set = *links_;
  Clock::time_point deadline{};  // read lazily
  for (;;) {
    announce();
    while (set.next_message(m)) {
      if (!m.empty() && topics_->matches(m.text(0))) return {};
      set.stats().dropped++;  // arrived after its unsubscribe, or a topic of the shm broadcast
    }
    set.progress();  // accepts, redials, writes: only when nothing was waiting
    if (deadline == Clock::time_point{}) deadline = pattern::deadline_after(timeout);
    if (Clock::now() >= deadline) return unexpected(Errc::timeout);
    if (set.spin_for(deadline, m)) {
      if (!m.empty() && topics_->matches(m.text(0))) return {};
      set.stats().dropped++;
      continue;
    }
    set.wait(deadline);
  }
}

Result<Message> Subscriber::receive(std::chrono::milliseconds timeout) {
  Message m;
  if (auto r = receive(m, timeout); !r) return unexpected(r.error());
  return m;
}

SocketStats Subscriber::stats() const noexcept { return links_->snapshot(); }
std::uint64_t Subscriber::gap() const noexcept { return links_->last_gap(); }
int Subscriber::fd() const noexcept { return links_->fd(); }

}  // namespace ipcx
