// ipcx::Proxy (pattern layer): two engines, a ROUTER frontend and a DEALER backend, driven by
// one thread. A request from frontend peer P goes to the next backend peer, round robin, behind
// a routing frame naming P; a reply's first frame names the frontend peer it goes back to.
#include "ipcx/proxy.hpp"

#include <poll.h>

#include <atomic>
#include <deque>
#include <optional>
#include <thread>

#include "engine/engine.hpp"
#include "pattern/req_rep/envelope.hpp"

namespace ipcx {

namespace {

using Clock = std::chrono::steady_clock;

// The proxy's routing frame: 0x00 (never an ipcx request id, as libzmq's ROUTER ids), then the
// frontend peer's id big-endian.
constexpr std::size_t kRouteSize = 9;

void put_route(Message& head, std::uint64_t id) {
  std::byte frame[kRouteSize] = {std::byte{0}};
  for (std::size_t i = 1; i < kRouteSize; ++i) {
    frame[i] = static_cast<std::byte>(id >> (8 * (kRouteSize - 1 - i)));
  }
  head.add(frame);
}

std::optional<std::uint64_t> route_of(std::span<const std::byte> frame) {
  if (frame.size() != kRouteSize || frame[0] != std::byte{0}) return std::nullopt;
  std::uint64_t id = 0;
  for (std::size_t i = 1; i < kRouteSize; ++i) id = (id << 8) | static_cast<std::uint8_t>(frame[i]);
  return id;
}

engine::EngineOptions side_options(const ProxyOptions& o, wire::SocketType type) {
  engine::EngineOptions e;
  e.type = type;
  e.use = pattern::Use::Kind::request_reply;
  e.reader = true;
  e.cross_thread = true;  // stop() wakes it; the loop waits on both sides' descriptors
  e.max_message_size = o.max_message_size + pattern::kEnvelopeAllowance;
  e.hwm = 0;
  e.spin = std::chrono::microseconds(0);
  e.handshake_timeout = o.handshake_timeout;
  e.heartbeat = o.heartbeat;
  // Clients behind the proxy keep their request ids: the workers (ipcx Servers, or REP sockets
  // echoing every envelope frame) answer them, so the frontend may announce that it takes them.
  e.announce_request_ids = type == wire::SocketType::router;
  e.log = o.log;
  e.on_event = o.on_event;
  return e;
}

}  // namespace

struct Proxy::Impl {
  explicit Impl(ProxyOptions o)
      : options(std::move(o)),
        front(side_options(options, wire::SocketType::router), nullptr),
        back(side_options(options, wire::SocketType::dealer), nullptr) {}

  // Reads every request the frontend has and hands each to a backend peer.
  bool forward_requests() {
    bool moved = false;
    while (engine::Peer* from = front.next_message(body, &envelope)) {
      Message head;
      put_route(head, from->id);
      for (std::size_t i = 0; i < envelope.size(); ++i) head.add(envelope.frame(i));
      moved = true;
      // Straight to a worker when nothing waits before it; otherwise behind the rest.
      if (held.empty() && deal(head, body)) continue;
      held.emplace_back(std::move(head), std::move(body));
      body = Message{};
    }
    while (!held.empty() && deal(held.front().first, held.front().second)) held.pop_front();
    while (held.size() > options.max_held) {
      held.pop_front();
      stats.dropped.fetch_add(1, std::memory_order_relaxed);
    }
    return moved;
  }

  // The next backend peer that can take a message now, round robin; false when none can.
  bool deal(const Message& head, const Message& tail) {
    auto& peers = back.peers();
    for (std::size_t tried = 0; tried < peers.size(); ++tried) {
      engine::Peer& p = *peers[next_worker++ % peers.size()];
      if (p.closed || !p.established() || !back.has_room(p)) continue;
      auto r = back.send(p, head, tail);
      if (r.status == transport::Io::ok) {
        stats.requests.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
    }
    return false;
  }

  // Reads every reply the backend has and routes each to the frontend peer its frame names.
  bool route_replies() {
    bool moved = false;
    while (back.next_message(body, &envelope) != nullptr) {
      moved = true;
      auto id = envelope.empty() ? std::nullopt : route_of(envelope.frame(0));
      engine::Peer* to = id ? front.find(*id) : nullptr;
      if (to == nullptr || !to->link) {
        stats.dropped.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      Message rest;
      for (std::size_t i = 1; i < envelope.size(); ++i) rest.add(envelope.frame(i));
      auto r = front.send(*to, rest, body);
      if (r.status == transport::Io::ok) {
        stats.replies.fetch_add(1, std::memory_order_relaxed);
      } else {
        stats.dropped.fetch_add(1, std::memory_order_relaxed);
      }
    }
    return moved;
  }

  void run() {
    while (!stop_requested.load()) {
      // Each side takes its events (accepts, handshakes, hang-ups, ticks) without waiting.
      front.sleep(Clock::time_point{});
      back.sleep(Clock::time_point{});
      front.progress();
      back.progress();
      bool moved = forward_requests();
      moved |= route_replies();
      front.flush_dirty();
      back.flush_dirty();
      front.reap();
      back.reap();
      if (moved) continue;
      // Nothing moved: wait on both sides (rings armed to ring their doorbells) for at most a
      // tick, so that timers on either side run.
      front.arm_for_outside_wait();
      back.arm_for_outside_wait();
      pollfd fds[2] = {{front.fd(), POLLIN, 0}, {back.fd(), POLLIN, 0}};
      ::poll(fds, 2, 100);
      front.disarm();
      back.disarm();
    }
  }

  ProxyOptions options;
  engine::Engine front;
  engine::Engine back;
  Message body;
  Message envelope;
  std::deque<std::pair<Message, Message>> held;  // requests waiting for a backend peer
  std::size_t next_worker = 0;
  std::atomic<bool> stop_requested{false};
  std::thread runner;
  struct {
    std::atomic<std::uint64_t> requests{0}, replies{0}, dropped{0};
  } stats;
};

Proxy::Proxy(ProxyOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

Proxy::~Proxy() { stop(); }

Endpoint Proxy::bind_frontend(std::string_view url) { return impl_->front.bind(url); }
void Proxy::connect_frontend(std::string_view url) { impl_->front.connect(url); }
Endpoint Proxy::bind_backend(std::string_view url) { return impl_->back.bind(url); }
void Proxy::connect_backend(std::string_view url) { impl_->back.connect(url); }

void Proxy::run() { impl_->run(); }

void Proxy::start() {
  if (impl_->runner.joinable()) return;
  impl_->runner = std::thread([impl = impl_] { impl->run(); });
}

void Proxy::stop() {
  impl_->stop_requested.store(true);
  impl_->front.wake();
  if (impl_->runner.joinable() && impl_->runner.get_id() != std::this_thread::get_id()) {
    impl_->runner.join();
  }
}

ProxyStats Proxy::stats() const noexcept {
  return {impl_->stats.requests.load(), impl_->stats.replies.load(), impl_->stats.dropped.load()};
}

}  // namespace ipcx
