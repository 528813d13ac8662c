// ipcx::Publisher (pattern layer): PUB over the engine. It keeps each subscriber's counted
// subscriptions (what they send is read as they publish) and filters there for subscribers fed
// through their own link; subscribers that read a broadcast group (shm's ring, written once for
// all of them) filter for themselves.
#include <algorithm>

#include "core/spin.hpp"
#include "ipcx/pubsub.hpp"
#include "pattern/one_way.hpp"
#include "wire/subscriptions.hpp"

namespace ipcx {
namespace {

using Clock = std::chrono::steady_clock;

struct PeerSubscriptions final : engine::PeerState {
  wire::Subscriptions set;
};

PeerSubscriptions* subscriptions_of(const engine::Peer& p) noexcept {
  return static_cast<PeerSubscriptions*>(p.state.get());
}

}  // namespace

struct Publisher::Impl final : engine::PeerEvents {
  explicit Impl(SocketOptions o)
      : linger(o.linger),
        engine(pattern::one_way_options(o, wire::SocketType::pub,
                                        pattern::Use::Kind::publish_subscribe, false),
               this) {}
  ~Impl() {
    if (linger.count() > 0) (void)engine.flush(Clock::now() + linger);
  }

  // A subscriber's subscription; false (too many subscriptions) closes it.
  bool on_inbound(engine::Peer& peer, Message& m) override {
    if (!peer.state) peer.state = std::make_unique<PeerSubscriptions>();
    return subscriptions_of(peer)->set.apply(m);
  }
  // Its subscriptions go with the link: a reconnecting subscriber sends them again.
  void on_lost(engine::Peer& peer) override { peer.state.reset(); }

  void wait_for_group(transport::BroadcastGroup& group, const Message& message);
  std::size_t offer_waiting(const Message& message, std::string_view topic);

  std::chrono::milliseconds linger;
  engine::Engine engine;
  pattern::Traffic traffic;
  std::vector<std::uint64_t> ids;                  // scratch for offer_waiting()
  std::vector<transport::BroadcastGroup*> groups;  // scratch for publish()
};

// Lossless: writes the message into the group, waiting (spinning first, then asleep) for the
// slowest subscriber to make room, while serving the links: a subscriber that dies leaves its
// seat and stops holding us up.
void Publisher::Impl::wait_for_group(transport::BroadcastGroup& group, const Message& message) {
  auto spin_until = Clock::now() + engine.options().spin;
  SpinPause pause(kShmYieldEvery);
  for (unsigned polls = 1; !group.write(message); ++polls) {
    if ((polls & 15) == 0) engine.progress();
    if ((polls & 15) != 0 || Clock::now() < spin_until) {
      pause();
      if ((polls & 63) == 0) engine.look();
      continue;
    }
    engine.sleep(Clock::time_point::max());
    engine.progress();
  }
}

// Lossless, own links: offers to each matching subscriber in turn; one at its high-water mark
// has everyone's queue written out first (the flush waits), then takes the message. Peers are
// found again by id, as waiting may close any of them.
std::size_t Publisher::Impl::offer_waiting(const Message& message, std::string_view topic) {
  ids.clear();
  for (auto& p : engine.peers()) {
    auto* subs = subscriptions_of(*p);
    if (p->established() && p->link->extensions().broadcasting == nullptr && subs != nullptr &&
        subs->set.matches(topic)) {
      ids.push_back(p->id);
    }
  }
  std::size_t delivered = 0;
  for (std::uint64_t id : ids) {
    engine::Peer* p = engine.find(id);
    if (p != nullptr && !engine.offer(*p, message)) {
      (void)engine.flush(Clock::time_point::max());
      p = engine.find(id);
      if (p != nullptr && !engine.offer(*p, message)) p = nullptr;
    }
    if (p != nullptr) ++delivered;  // else it died meanwhile
  }
  return delivered;
}

Publisher::Publisher(SocketOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Publisher::~Publisher() = default;
Publisher::Publisher(Publisher&&) noexcept = default;
Publisher& Publisher::operator=(Publisher&&) noexcept = default;

Endpoint Publisher::bind(std::string_view url) { return impl_->engine.bind(url); }
void Publisher::connect(std::string_view url) { impl_->engine.connect(url); }

Result<std::size_t> Publisher::publish(const Message& message) {
  Impl& s = *impl_;
  engine::Engine& e = s.engine;
  if (message.bytes() > e.options().max_message_size) return unexpected(Errc::message_too_large);
  e.progress_fresh();
  e.reap();
  std::string_view topic = message.empty() ? std::string_view{} : message.text(0);
  bool lossless = e.options().lossless;
  std::size_t delivered = 0;
  bool held_back = false;  // lossless: a subscriber of our own to offer to, waiting if need be
  s.groups.clear();
  for (std::size_t i = 0; i < e.peers().size(); ++i) {
    engine::Peer& p = *e.peers()[i];
    auto* subs = subscriptions_of(p);
    if (p.closed || !p.established() || subs == nullptr || !subs->set.matches(topic)) continue;
    auto* broadcasting = p.link->extensions().broadcasting;
    if (auto* group = broadcasting ? broadcasting->group() : nullptr; group != nullptr) {
      if (std::find(s.groups.begin(), s.groups.end(), group) == s.groups.end()) {
        s.groups.push_back(group);
      }
      ++delivered;  // one copy in the group serves it
    } else if (lossless) {
      held_back = true;
    } else if (e.offer(p, message)) {
      ++delivered;
    } else {
      engine::EngineCounters::bump(e.counters().dropped);
    }
  }
  if (held_back) delivered += s.offer_waiting(message, topic);
  for (transport::BroadcastGroup* group : s.groups) {
    if (!group->write(message)) s.wait_for_group(*group, message);
  }
  s.traffic.messages++;
  s.traffic.bytes += message.bytes();
  return delivered;
}

void Publisher::poll() {
  impl_->engine.look();
  impl_->engine.progress();
  impl_->engine.reap();
}

bool Publisher::flush(std::chrono::milliseconds timeout) {
  return impl_->engine.flush(pattern::deadline_after(timeout));
}

SocketStats Publisher::stats() const noexcept {
  return pattern::stats_of(impl_->engine, impl_->traffic);
}

std::size_t Publisher::subscribers() const noexcept {
  std::size_t n = 0;
  for (const auto& p : impl_->engine.peers()) {
    auto* subs = subscriptions_of(*p);
    if (!p->closed && subs != nullptr && !subs->set.empty()) ++n;
  }
  return n;
}

int Publisher::fd() const noexcept { return impl_->engine.fd(); }

}  // namespace ipcx
