// The parts every Proxy shares (pattern layer): see forwarder.hpp.
#include "pattern/proxy/forwarder.hpp"
#include "pattern/req_rep/envelope.hpp"

namespace ipcx::pattern::proxy {

engine::EngineOptions side_options(const ProxyOptions& o, wire::SocketType type, Use::Kind use,
                                   bool reader, const Security& security) {
  engine::EngineOptions e;
  e.type = type;
  e.use = use;
  e.reader = reader;
  e.cross_thread = true;  // stop() wakes it; the loop waits on every side's descriptor
  e.max_message_size = o.max_message_size;
  if (use == Use::Kind::request_reply) {
    e.max_message_size += kEnvelopeAllowance;
    e.hwm = 0;  // requests wait in the proxy's own queue, bounded by max_held
  } else {
    e.hwm = o.hwm;
  }
  e.spin = std::chrono::microseconds(0);
  e.handshake_timeout = o.handshake_timeout;
  e.heartbeat = o.heartbeat;
  e.server_uids = o.server_uids;
  e.security = security;
  e.log = o.log;
  e.on_event = o.on_event;
  return e;
}

Capture::Capture(const ProxyOptions& options, Counters& counters)
    : options_(options), counters_(counters) {}

Publishing& Capture::socket() {
  if (!socket_) {
    auto e = side_options(options_, wire::SocketType::pub, Use::Kind::publish_subscribe, false,
                          options_.frontend_security);
    // A copy that cannot go out at once is not worth holding the proxy for.
    socket_ = std::make_unique<Publishing>(std::move(e), std::chrono::milliseconds(0));
  }
  return *socket_;
}

void Capture::publish(const Message& head, const Message& tail) {
  scratch_.clear();
  scratch_.add_frames(head);
  scratch_.add_frames(tail);
  if (auto r = socket_->publish(scratch_); r && *r > 0) {
    counters_.captured.fetch_add(1, std::memory_order_relaxed);
  }
}

void Dealing::deal_or_hold(Message& head, Message& tail) {
  if (held_.empty() && deal(head, tail)) return;
  held_.emplace_back(std::move(head), std::move(tail));
  head = Message{};
  tail = Message{};
}

void Dealing::deal_held() {
  while (!held_.empty() && deal(held_.front().first, held_.front().second)) held_.pop_front();
}

void Dealing::drop_past(std::size_t limit) {
  while (held_.size() > limit) {
    held_.pop_front();
    context_.counters.dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

// The next backend peer that can take a message now, round robin; false when none can.
bool Dealing::deal(const Message& head, const Message& tail) {
  auto& peers = backend_.peers();
  for (std::size_t tried = 0; tried < peers.size(); ++tried) {
    engine::Peer& p = *peers[next_++ % peers.size()];
    if (p.closed || !p.established() || !backend_.has_room(p)) continue;
    if (backend_.send(p, head, tail).status == transport::Io::ok) {
      context_.counters.to_backend.fetch_add(1, std::memory_order_relaxed);
      context_.capture.copy(head, tail);
      return true;
    }
  }
  return false;
}

}  // namespace ipcx::pattern::proxy
