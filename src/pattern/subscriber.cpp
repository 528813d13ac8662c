// ipcx::Subscriber (pattern layer): pattern::Subscribing behind the public class.
#include "ipcx/pubsub.hpp"
#include "pattern/subscribing.hpp"

namespace ipcx {
namespace pattern {

using Clock = std::chrono::steady_clock;

// Every subscription, as counted, to a peer whose link is new.
void Subscribing::on_ready(engine::Peer& peer) {
  for (const auto& [topic, count] : topics_.topics()) {
    for (int i = 0; i < count; ++i) {
      (void)engine.send(peer, wire::subscription_message(true, topic));
    }
  }
}

// A change to every peer established now; the others get the whole set when they are.
void Subscribing::tell_all(bool subscribe, std::string_view topic) {
  Message change = wire::subscription_message(subscribe, topic);
  for (auto& p : engine.peers()) {
    if (!p->closed && p->announced) (void)engine.send(*p, change);
  }
}

void Subscribing::subscribe(std::string_view topic) {
  topics_.subscribe(topic);
  tell_all(true, topic);
}

void Subscribing::unsubscribe(std::string_view topic) {
  if (topics_.cancel(topic)) tell_all(false, topic);
}

// The next message from a peer, counting what its publisher says we lost before it.
bool Subscribing::next(Message& m) {
  engine::Peer* p = engine.next_message(m);
  if (p == nullptr) return false;
  auto* lossy = p->link ? p->link->extensions().lossy : nullptr;
  last_gap = lossy != nullptr ? lossy->take_gap() : 0;
  traffic.lost += last_gap;
  traffic.messages++;
  traffic.bytes += m.bytes();
  return true;
}

bool Subscribing::next_matching(Message& m) {
  while (next(m)) {
    if (!m.empty() && topics_.matches(m.text(0))) return true;
    traffic.filtered++;  // arrived after its unsubscribe, or a topic of a broadcast ring
  }
  return false;
}

Result<void> Subscribing::receive(Message& m, std::chrono::milliseconds timeout) {
  engine::Engine& e = engine;
  e.end_caller_wait();
  Clock::time_point deadline{};  // read lazily
  for (bool looked = false;; looked = true) {
    if (next_matching(m)) return {};
    e.progress();  // accepts, redials, writes: only when nothing was waiting
    e.reap();
    if (next_matching(m)) return {};
    if (deadline == Clock::time_point{}) deadline = pattern::deadline_after(timeout);
    if (Clock::now() >= deadline && e.caller_timed_out(looked)) {
      return unexpected(Errc::timeout);
    }
    if (e.spin(deadline, true, [&] { return next_matching(m); })) return {};
    e.sleep(deadline);
  }
}

}  // namespace pattern

struct Subscriber::Impl final : pattern::Subscribing {
  explicit Impl(const SocketOptions& o)
      : Subscribing(pattern::one_way_options(o, wire::SocketType::sub,
                                             pattern::Use::Kind::publish_subscribe, true)) {}
};

Subscriber::Subscriber(SocketOptions options) : impl_(std::make_unique<Impl>(options)) {}
Subscriber::~Subscriber() = default;
Subscriber::Subscriber(Subscriber&&) noexcept = default;
Subscriber& Subscriber::operator=(Subscriber&&) noexcept = default;

Endpoint Subscriber::bind(std::string_view url) { return impl_->engine.bind(url); }
void Subscriber::connect(std::string_view url) { impl_->engine.connect(url); }

void Subscriber::subscribe(std::string_view topic) { impl_->subscribe(topic); }
void Subscriber::unsubscribe(std::string_view topic) { impl_->unsubscribe(topic); }

Result<void> Subscriber::receive(Message& m, std::chrono::milliseconds timeout) {
  return impl_->receive(m, timeout);
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
