// ipcx::Publisher (pattern layer): pattern::Publishing behind the public class.
#include <algorithm>

#include "core/spin.hpp"
#include "ipcx/pubsub.hpp"
#include "pattern/publishing.hpp"

namespace ipcx {
namespace pattern {
namespace {

using Clock = std::chrono::steady_clock;

struct PeerSubscriptions final : engine::PeerState {
  wire::Subscriptions set;
};

PeerSubscriptions* subscriptions_of(const engine::Peer& p) noexcept {
  return static_cast<PeerSubscriptions*>(p.state.get());
}

std::string_view topic_of(std::span<const std::byte> bytes) noexcept {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

Publishing::Publishing(engine::EngineOptions options, std::chrono::milliseconds linger,
                       Upstream upstream)
    : engine(std::move(options), this), linger_(linger), upstream_(std::move(upstream)) {}

Publishing::~Publishing() {
  if (linger_.count() > 0) (void)engine.flush(Clock::now() + linger_);
}

// A subscriber's subscription; false (too many subscriptions) closes it.
bool Publishing::on_inbound(engine::Peer& peer, Message& m) {
  if (!peer.state) peer.state = std::make_unique<PeerSubscriptions>();
  auto& set = subscriptions_of(peer)->set;
  if (!upstream_) return set.apply(m);
  auto change = wire::subscription_of(m);
  std::string_view topic = topic_of(change.topic);
  bool had = change.valid && set.topics().contains(topic);
  if (!set.apply(m)) return false;
  if (!change.valid) return true;
  if (change.subscribe) {
    all_.subscribe(topic);
    if (all_.topics().find(topic)->second == 1) upstream_(true, topic);
  } else if (had && all_.cancel(topic) && !all_.topics().contains(topic)) {
    upstream_(false, topic);
  }
  return true;
}

// Its subscriptions go with the link: a reconnecting subscriber sends them again.
void Publishing::on_lost(engine::Peer& peer) {
  if (upstream_ && peer.state) {
    for (const auto& [topic, count] : subscriptions_of(peer)->set.topics()) {
      for (int i = 0; i < count; ++i) (void)all_.cancel(topic);
      if (!all_.topics().contains(topic)) upstream_(false, topic);
    }
  }
  peer.state.reset();
}

// Lossless: writes the message into the group, waiting (spinning first, then asleep) for the
// slowest subscriber to make room, while serving the links: a subscriber that dies leaves its
// seat and stops holding us up.
void Publishing::wait_for_group(transport::BroadcastGroup& group, const Message& message) {
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
std::size_t Publishing::offer_waiting(const Message& message, std::string_view topic) {
  ids_.clear();
  for (auto& p : engine.peers()) {
    auto* subs = subscriptions_of(*p);
    if (p->established() && p->link->extensions().broadcasting == nullptr && subs != nullptr &&
        subs->set.matches(topic)) {
      ids_.push_back(p->id);
    }
  }
  std::size_t delivered = 0;
  for (std::uint64_t id : ids_) {
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

Result<std::size_t> Publishing::publish(const Message& message) {
  engine::Engine& e = engine;
  if (message.bytes() > e.options().max_message_size) return unexpected(Errc::message_too_large);
  e.progress_fresh();
  e.reap();
  std::string_view topic = message.empty() ? std::string_view{} : message.text(0);
  bool lossless = e.options().lossless;
  std::size_t delivered = 0;
  bool held_back = false;  // lossless: a subscriber of our own to offer to, waiting if need be
  groups_.clear();
  for (std::size_t i = 0; i < e.peers().size(); ++i) {
    engine::Peer& p = *e.peers()[i];
    auto* subs = subscriptions_of(p);
    if (p.closed || !p.established() || subs == nullptr || !subs->set.matches(topic)) continue;
    auto* broadcasting = p.link->extensions().broadcasting;
    if (auto* group = broadcasting ? broadcasting->group() : nullptr; group != nullptr) {
      if (std::find(groups_.begin(), groups_.end(), group) == groups_.end()) {
        groups_.push_back(group);
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
  if (held_back) delivered += offer_waiting(message, topic);
  for (transport::BroadcastGroup* group : groups_) {
    if (!group->write(message)) wait_for_group(*group, message);
  }
  traffic.messages++;
  traffic.bytes += message.bytes();
  return delivered;
}

std::size_t Publishing::subscribers() const noexcept {
  std::size_t n = 0;
  for (const auto& p : engine.peers()) {
    auto* subs = subscriptions_of(*p);
    if (!p->closed && subs != nullptr && !subs->set.empty()) ++n;
  }
  return n;
}

}  // namespace pattern

struct Publisher::Impl final : pattern::Publishing {
  explicit Impl(const SocketOptions& o)
      : Publishing(pattern::one_way_options(o, wire::SocketType::pub,
                                            pattern::Use::Kind::publish_subscribe, false),
                   o.linger) {}
};

Publisher::Publisher(SocketOptions options) : impl_(std::make_unique<Impl>(options)) {}
Publisher::~Publisher() = default;
Publisher::Publisher(Publisher&&) noexcept = default;
Publisher& Publisher::operator=(Publisher&&) noexcept = default;

Endpoint Publisher::bind(std::string_view url) { return impl_->engine.bind(url); }
void Publisher::connect(std::string_view url) { impl_->engine.connect(url); }

Result<std::size_t> Publisher::publish(const Message& message) { return impl_->publish(message); }

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

std::size_t Publisher::subscribers() const noexcept { return impl_->subscribers(); }

int Publisher::fd() const noexcept { return impl_->engine.fd(); }

}  // namespace ipcx
