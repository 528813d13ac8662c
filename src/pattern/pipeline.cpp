// ipcx::Pusher and ipcx::Puller (pattern layer): PUSH and PULL over the engine. The pusher deals
// round robin over every peer it has (a dialled one included while it connects: its messages
// wait in its backlog), skipping those at their high-water mark; the puller reads fairly.
// A pusher called back to back coalesces: see Pusher::Impl::kBackToBack.
#include "ipcx/pipeline.hpp"

#include <mutex>

#include "pattern/one_way.hpp"
#include "pattern/tail_writer.hpp"

namespace ipcx {

using Clock = std::chrono::steady_clock;
using transport::Io;

struct Pusher::Impl final : engine::PeerEvents {
  explicit Impl(SocketOptions o)
      : linger(o.linger),
        engine(pattern::one_way_options(o, wire::SocketType::push, pattern::Use::Kind::push_pull,
                                        false),
               this) {}
  ~Impl() {
    std::lock_guard hold(gate);
    engine.hold_up_to(0);
    if (linger.count() > 0) (void)engine.flush(Clock::now() + linger);
  }

  // A send that comes this soon after the last one returned belongs to a burst: its message may
  // wait in the link, up to kHoldBytes, and leave with the next ones in one write (the caller's
  // own when the batch fills, the tail writer's once the caller stops). A message sent after a
  // pause, the first of a burst included, is written at once, so a lone message is never held.
  // The gap is far below any round trip, so request/response over push/pull never holds.
  static constexpr std::chrono::nanoseconds kBackToBack{2000};
  static constexpr std::size_t kHoldBytes = 16 * 1024;

  // The usual send of a pusher with one peer over a link that writes whole messages (shm):
  // straight into the medium, past the round robin and the bookkeeping of messages that wait.
  // False, with nothing sent, for anything else. A pusher that may coalesce (a byte stream's)
  // decides per message whether to hold it, so it takes the full path.
  bool send_at_once(const Message& message) {
    if (coalesces() || tail.started()) return false;
    engine.progress();
    auto& peers = engine.peers();
    if (peers.size() != 1 || !engine.send_whole(*peers[0], message)) return false;
    traffic.messages++;
    traffic.bytes += message.bytes();
    return true;
  }

  // Whether the peer takes the next message: a ready one when it holds nothing unwritten (its
  // kernel buffer, or ring, is its queue); one without a link yet, or in its handshake, while
  // its backlog is below the high-water mark.
  bool takes(const engine::Peer& p) const noexcept {
    if (p.closed) return false;
    return p.link && p.announced ? engine.idle(p) : engine.has_room(p);
  }

  // Writes what peers hold and says whether any takes a message now.
  bool room() {
    bool any = false;
    for (auto& p : engine.peers()) {
      if (p->link && p->link->wants_write() && engine.due(*p)) engine.write(*p);
      any |= takes(*p);
    }
    return any;
  }

  // After a message was dealt to the peer: returns once its transport holds all of it, or it
  // waits for a link the peer does not have yet, or the deadline passed (the rest goes out on
  // later calls). A peer in its handshake is seen through it first (at most its handshake
  // timeout): a caller-driven socket has nobody to finish the job after send returns.
  void finish(engine::Peer& sent_to, std::chrono::milliseconds timeout) {
    // The usual case, before any look-up: the link took all of it, or batching holds it.
    if (sent_to.announced && !engine.due(sent_to)) return;
    std::uint64_t id = sent_to.id;
    Clock::time_point deadline{};
    Clock::time_point handshake_deadline{};
    for (;;) {
      engine::Peer* p = engine.find(id);
      if (p == nullptr || !p->link) return;
      bool handshake = !p->announced;
      if (!handshake && !engine.due(*p)) return;  // written, or batching holds it
      if (!handshake && !engine.write(*p)) return;
      if (!handshake && !engine.due(*p)) return;
      if (deadline == Clock::time_point{}) {
        deadline = pattern::deadline_after(timeout);
        handshake_deadline = pattern::deadline_after(engine.options().handshake_timeout);
      }
      auto until = handshake ? std::min(deadline, handshake_deadline) : deadline;
      if (Clock::now() >= until) return;
      bool done = engine.spin(until, true, [&] {
        engine.progress();
        engine::Peer* q = engine.find(id);
        if (q == nullptr || !q->link || !q->announced) return q == nullptr || !q->link;
        if (engine.due(*q)) engine.write(*q);
        return engine.find(id) == nullptr || !engine.due(*q);
      });
      if (!done) engine.sleep(until);
      engine.progress();
    }
  }

  // Whether back-to-back sends are coalesced (decisions/0011): two clock reads a message.
  bool coalesces() const noexcept {
    return engine.any_gathering() && engine.options().batch_bytes == 0;
  }

  // After a message went to the peer: what it holds back is left for the tail writer.
  void after_send(std::uint64_t id, pattern::GateHold& hold) {
    if (!coalesces()) return;
    returned = Clock::now();
    if (!engine.holding()) return;
    engine::Peer* p = engine.find(id);
    if (p == nullptr || !p->link || !p->link->wants_write()) return;
    hold.take(gate);  // from the first hold on, the thread exists: every send takes the gate
    if (!tail.arm()) engine.write(*p);
  }

  std::chrono::milliseconds linger;
  pattern::Gate gate;  // taken by every call, and by the tail writer
  engine::Engine engine;
  std::size_t next = 0;  // round robin
  pattern::Traffic traffic;
  Clock::time_point returned{};  // when the last send returned
  // Declared last: its thread stops before the engine it writes through goes.
  pattern::TailWriter tail{gate, [this] { return engine.write_held(); }};
};

Pusher::Pusher(SocketOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Pusher::~Pusher() = default;
Pusher::Pusher(Pusher&&) noexcept = default;
Pusher& Pusher::operator=(Pusher&&) noexcept = default;

Endpoint Pusher::bind(std::string_view url) {
  std::lock_guard hold(impl_->gate);
  return impl_->engine.bind(url);
}
void Pusher::connect(std::string_view url) {
  std::lock_guard hold(impl_->gate);
  impl_->engine.connect(url);
}

Result<void> Pusher::send(const Message& message, std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  if (s.send_at_once(message)) return {};
  engine::Engine& e = s.engine;
  if (message.bytes() > e.options().max_message_size) return unexpected(Errc::message_too_large);
  pattern::GateHold hold;
  if (s.tail.started()) hold.take(s.gate);
  // Only byte streams gain from holding, and only without batch_bytes (which batches anyway):
  // any other pusher reads no clock.
  bool burst = s.coalesces() && Clock::now() - s.returned < Impl::kBackToBack;
  // A burst that ended writes what it held first: a peer holding something takes its turn
  // only once that is written, and the round robin must not skip it for that.
  if (!burst && e.holding()) (void)e.write_held();
  e.hold_up_to(burst ? Impl::kHoldBytes : 0);
  Clock::time_point deadline{};  // read only if it has to wait
  for (;;) {
    e.progress();
    e.reap();
    auto& peers = e.peers();
    // Round robin over every peer, skipping those that cannot take it now.
    for (std::size_t tried = 0; tried < peers.size(); ++tried) {
      if (s.next >= peers.size()) s.next = 0;
      engine::Peer& p = *peers[s.next++];
      if (!s.takes(p)) continue;
      auto r = e.send(p, message);
      if (r.status == Io::ok) {
        s.traffic.messages++;
        s.traffic.bytes += message.bytes();
        std::uint64_t id = p.id;
        s.finish(p, timeout);
        s.after_send(id, hold);
        return {};
      }
      if (r.error == Errc::message_too_large) return unexpected(r.error);
      // Full after all, or it died under the message: try the next.
    }
    if (deadline == Clock::time_point{}) deadline = pattern::deadline_after(timeout);
    if (Clock::now() >= deadline) {
      s.returned = Clock::time_point{};
      return unexpected(Errc::timeout);
    }
    // Waiting: nothing is held back meanwhile (the tail writer cannot get in).
    e.hold_up_to(0);
    // A ring frees room within microseconds of a busy consumer: poll for it before sleeping.
    if (!e.spin(deadline, true, [&] { return s.room(); })) e.sleep(deadline);
  }
}

bool Pusher::flush(std::chrono::milliseconds timeout) {
  std::lock_guard hold(impl_->gate);
  impl_->engine.hold_up_to(0);
  return impl_->engine.flush(pattern::deadline_after(timeout));
}

SocketStats Pusher::stats() const noexcept {
  std::lock_guard hold(impl_->gate);
  return pattern::stats_of(impl_->engine, impl_->traffic);
}
int Pusher::fd() const noexcept { return impl_->engine.fd(); }

struct Puller::Impl final : detail::ViewLender, engine::PeerEvents {
  explicit Impl(SocketOptions o)
      : engine(pattern::one_way_options(o, wire::SocketType::pull, pattern::Use::Kind::push_pull,
                                        true),
               this) {}

  // One message into `out`, or (with `frames`) lent in place.
  bool next(Message& out, engine::Engine::Frames* frames, bool* viewed) {
    engine::Peer* p = nullptr;
    // One peer over a link that reads whole messages in its memory (shm): straight from there,
    // past the ready queue. Only polled links do: a socket's puller pays one test for this.
    if (auto& peers = engine.peers(); engine.any_polled() && peers.size() == 1) {
      engine::Peer& only = *peers[0];
      if (frames == nullptr ? engine.receive_whole(only, out) : engine.view_whole(only, *frames)) {
        p = &only;
        if (frames != nullptr) *viewed = true;
      }
    }
    if (p == nullptr) p = engine.next_message(out, frames, viewed);
    if (p == nullptr) return false;
    traffic.messages++;
    if (viewed != nullptr && *viewed) {
      viewing = p->link.get();
      viewing_peer = p->id;
      for (auto f : *frames) traffic.bytes += f.size();
    } else {
      traffic.bytes += out.bytes();
    }
    return true;
  }

  Result<void> take(Message& out, engine::Engine::Frames* frames, bool* viewed,
                    std::chrono::milliseconds timeout) {
    engine.end_caller_wait();
    if (next(out, frames, viewed)) return {};
    auto deadline = pattern::deadline_after(timeout);
    for (bool looked = false;; looked = true) {
      engine.progress();
      engine.reap();
      if (next(out, frames, viewed)) return {};
      if (engine.spin(deadline, true, [&] { return next(out, frames, viewed); })) return {};
      if (Clock::now() >= deadline && engine.caller_timed_out(looked)) {
        return unexpected(Errc::timeout);
      }
      engine.sleep(deadline);
    }
  }

  void end_view(std::vector<std::span<const std::byte>>& frames) noexcept override {
    if (viewing != nullptr) {
      engine::Peer* p = engine.find(viewing_peer);
      if (p != nullptr && p->link.get() == viewing) viewing->extensions().zero_copy->release_view();
      engine.end_lending(viewing);
      viewing = nullptr;
    }
    frames.clear();
    if (view_frames.capacity() < frames.capacity()) view_frames.swap(frames);
  }

  engine::Engine engine;
  pattern::Traffic traffic;
  transport::Link* viewing = nullptr;  // the link a zero-copy MessageView is out on
  std::uint64_t viewing_peer = 0;
  engine::Engine::Frames view_frames;  // lent to each view and handed back, for its capacity
};

Puller::Puller(SocketOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Puller::~Puller() = default;
Puller::Puller(Puller&&) noexcept = default;
Puller& Puller::operator=(Puller&&) noexcept = default;

Endpoint Puller::bind(std::string_view url) { return impl_->engine.bind(url); }
void Puller::connect(std::string_view url) { impl_->engine.connect(url); }

Result<void> Puller::receive(Message& out, std::chrono::milliseconds timeout) {
  return impl_->take(out, nullptr, nullptr, timeout);
}

Result<MessageView> Puller::receive_view(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  if (s.viewing != nullptr) return unexpected(Errc::would_block);
  Message own;
  bool viewed = false;
  if (auto r = s.take(own, &s.view_frames, &viewed, timeout); !r) return unexpected(r.error());
  if (viewed) return MessageView::lent(s, s.view_frames);
  return MessageView::owning(std::move(own));
}

Result<Message> Puller::receive(std::chrono::milliseconds timeout) {
  Message m;
  if (auto r = receive(m, timeout); !r) return unexpected(r.error());
  return m;
}

SocketStats Puller::stats() const noexcept {
  return pattern::stats_of(impl_->engine, impl_->traffic);
}
int Puller::fd() const noexcept { return impl_->engine.fd(); }

}  // namespace ipcx
