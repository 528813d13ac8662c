// ipcx::Subscriber (pattern layer): SUB over the engine. It sends its subscriptions to every
// peer once its link is established (again after a reconnect), as messages in the 3.0 form
// that each mechanism puts on the wire as its peer understands, and always filters, for
// messages already on their way when it unsubscribed (and, on shm, the broadcast ring's other
// topics).
#include "ipcx/pubsub.hpp"
#include "pattern/one_way.hpp"
#include "wire/subscriptions.hpp"

namespace ipcx {

using Clock = std::chrono::steady_clock;

struct Subscriber::Impl final : engine::PeerEvents {
  explicit Impl(SocketOptions o)
      : engine(pattern::one_way_options(o, wire::SocketType::sub,
                                        pattern::Use::Kind::publish_subscribe, true),
               this) {}

  // Every subscription, as counted, to a peer whose link is new.
  void on_ready(engine::Peer& peer) override {
    for (const auto& [topic, count] : topics.topics()) {
      for (int i = 0; i < count; ++i) {
        (void)engine.send(peer, wire::subscription_message(true, topic));
      }
    }
  }

  // A change to every peer established now; the others get the whole set when they are.
  void tell_all(bool subscribe, std::string_view topic) {
    Message change = wire::subscription_message(subscribe, topic);
    for (auto& p : engine.peers()) {
      if (!p->closed && p->announced) (void)engine.send(*p, change);
    }
  }

  // The next message from a peer, counting what its publisher says we lost before it.
  bool next(Message& m) {
    engine::Peer* p = engine.next_message(m);
    if (p == nullptr) return false;
    auto* lossy = p->link ? p->link->extensions().lossy : nullptr;
    last_gap = lossy != nullptr ? lossy->take_gap() : 0;
    traffic.lost += last_gap;
    traffic.messages++;
    traffic.bytes += m.bytes();
    return true;
  }

  // The next message that matches our subscriptions.
  bool next_matching(Message& m) {
    while (next(m)) {
      if (!m.empty() && topics.matches(m.text(0))) return true;
      traffic.filtered++;  // arrived after its unsubscribe, or a topic of a broadcast ring
    }
    return false;
  }

  engine::Engine engine;
  wire::Subscriptions topics;  // counted, as sent to every publisher
  pattern::Traffic traffic;
  std::uint64_t last_gap = 0;
};

Subscriber::Subscriber(SocketOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Subscriber::~Subscriber() = default;
Subscriber::Subscriber(Subscriber&&) noexcept = default;
Subscriber& Subscriber::operator=(Subscriber&&) noexcept = default;

Endpoint Subscriber::bind(std::string_view url) { return impl_->engine.bind(url); }
void Subscriber::connect(std::string_view url) { impl_->engine.connect(url); }

void Subscriber::subscribe(std::string_view topic) {
  impl_->topics.subscribe(topic);
  impl_->tell_all(true, topic);
}

void Subscriber::unsubscribe(std::string_view topic) {
  if (!impl_->topics.cancel(topic)) return;
  impl_->tell_all(false, topic);
}

Result<void> Subscriber::receive(Message& m, std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  engine::Engine& e = s.engine;
  Clock::time_point deadline{};  // read lazily
  for (;;) {
    if (s.next_matching(m)) return {};
    e.progress();  // accepts, redials, writes: only when nothing was waiting
    e.reap();
    if (s.next_matching(m)) return {};
    if (deadline == Clock::time_point{}) deadline = pattern::deadline_after(timeout);
    if (Clock::now() >= deadline) return unexpected(Errc::timeout);
    if (e.spin(deadline, true, [&] { return s.next_matching(m); })) return {};
    e.sleep(deadline);
  }
}

Result<Message> Subscriber::receive(std::chrono::milliseconds timeout) {
  Message m;
  if (auto r = receive(m, timeout); !r) return unexpected(r.error());
  return m;
}

SocketStats Subscriber::stats() const noexcept {
  return pattern::stats_of(impl_->engine, impl_->traffic);
}
std::uint64_t Subscriber::gap() const noexcept { return impl_->last_gap; }
int Subscriber::fd() const noexcept { return impl_->engine.fd(); }

}  // namespace ipcx
