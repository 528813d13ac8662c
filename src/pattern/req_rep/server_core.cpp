// ServerCore (pattern layer): requests in, replies out. Runs handlers on the loop thread (or the
// pool), orders replies per peer, and queues them so that a turn's replies to one peer leave in
// one write (server_loop.cpp runs the turns).
#include "pattern/req_rep/server_core.hpp"

#include "pattern/req_rep/envelope.hpp"
#include "pattern/socket_options.hpp"

namespace ipcx::detail {
namespace {

engine::EngineOptions server_engine_options(const ServerOptions& o) {
  auto e =
      pattern::engine_options(o, wire::SocketType::router, pattern::Use::Kind::request_reply, true);
  e.cross_thread = true;  // Responders reply from other threads; stop() comes from one
  e.announce_request_ids = true;
  e.max_message_size += pattern::kEnvelopeAllowance;  // the body is what the limit counts
  e.hwm = 0;  // replies are bounded by bytes: max_queued_bytes
  e.max_peers = o.max_connections;
  return e;
}

Connection& connection_of(engine::Peer& peer) { return static_cast<Connection&>(*peer.state); }

}  // namespace

ServerCore::ServerCore(ServerOptions opts)
    : options(std::move(opts)), engine(server_engine_options(options), this) {
  if (options.workers > 0) pool = std::make_unique<pattern::WorkerPool>(options.workers);
}

ServerCore::~ServerCore() {
  if (pool) pool->stop();
}

void ServerCore::log(const std::string& line) const {
  if (options.log) options.log(line);
}

void ServerCore::on_ready(engine::Peer& peer) {
  auto conn = std::make_unique<Connection>();
  conn->serial = ++connections_made;
  conn->peer = std::make_shared<const PeerInfo>(peer.link->peer());
  peer.state = std::move(conn);
}

// Inlined into dispatch(): a call less per request.
[[gnu::always_inline]] inline void ServerCore::run_handler(Request& request) {
  try {
    if (!handler) throw std::runtime_error("no handler is set");
    handler(request);
  } catch (const std::exception& e) {
    counters.handler_errors++;  // from pool threads too
    if (!request.answered()) request.reply(Message{std::string("ERR ") + e.what()});
  } catch (...) {
    counters.handler_errors++;  // from pool threads too
    if (!request.answered()) request.reply(Message{"ERR handler failed"});
  }
}

void ServerCore::dispatch(engine::Peer& peer) {
  Connection& conn = connection_of(peer);
  Request& req = inbox;
  if (req.body_.bytes() > options.max_message_size) {
    return engine.close(peer, true, "request body exceeds max_message_size");
  }
  // turn() read the envelope into the inbox's own PendingReply.
  PendingReply& pending = *req.pending_;
  pending.core = this;
  pending.peer_id = peer.id;
  pending.peer = &peer;
  pending.slot = pattern::has_request_id(pending.envelope) ? 0 : conn.next_slot++;
  pending.connection = conn.serial;
  pending.info = conn.peer.get();
  bump(counters.requests);
  if (pool) {
    pending.escape();
    pending.info_keep = conn.peer;
    auto shared = std::make_shared<Request>(std::move(req));  // the inbox gets a new one
    pool->submit([this, shared] { run_handler(*shared); });
    return;
  }
  run_handler(req);
  if (req.pending_ && req.pending_->answered) {
    // Answered inline and never escaped: it stays for the next request.
    req.pending_->answered = false;
    req.pending_->envelope.clear();
    req.pending_->info = nullptr;
    return;
  }
  // Neither answered nor kept for later (respond_later): "ERR no reply" goes now, as when a
  // Request is destroyed unanswered.
  req.pending_.reset();
}

Result<void> ServerCore::post_reply(std::uint64_t peer_id, std::uint64_t connection,
                                    std::uint64_t slot, Message&& envelope, Message&& body) {
  if (closed) return unexpected(Errc::cancelled);
  if (loop_thread.load() == std::this_thread::get_id()) {
    deliver(peer_id, connection, slot, std::move(envelope), std::move(body));
    return {};
  }
  auto self = shared_from_this();
  engine.post(
      [self, peer_id, connection, slot, env = std::move(envelope), b = std::move(body)]() mutable {
        self->deliver(peer_id, connection, slot, std::move(env), std::move(b));
      });
  return {};
}

[[gnu::always_inline]] inline void ServerCore::enqueue(engine::Peer& peer, const Message& envelope,
                                                       const Message& body) {
  // A peer that may hold more requests this turn has its replies gathered into one write at
  // the turn's end; one whose input ran dry gets its reply written now, which spares the
  // dirty-list round (the turn has nothing else for it).
  bool defer = peer.readable;
  // The usual reply goes straight into the link's medium, unless the turn gathers this peer's
  // replies into one write.
  if ((!defer || !peer.link->extensions().gathers_writes) &&
      engine.send_whole(peer, envelope, body)) {
    bump(counters.replies);
    return;
  }
  auto r = engine.send(peer, envelope, body, defer);
  if (r.status == transport::Io::error && r.error == Errc::message_too_large) {
    counters.handler_errors++;  // from pool threads too
    r = engine.send(peer, envelope, Message{"ERR reply exceeds max_message_size"}, defer);
  }
  if (r.status == transport::Io::ok) {
    bump(counters.replies);
    return;
  }
  bump(counters.dropped_replies);
  if (peer.link) {
    engine.close(peer, true,
                 r.status == transport::Io::would_block
                     ? "peer does not read its replies (queue full)"
                     : "reply failed");
  }
}

// Inlined into answer(), where an inline handler's reply comes from.
[[gnu::always_inline]] inline void ServerCore::deliver_to(engine::Peer& peer, std::uint64_t slot,
                                                          const Message& envelope,
                                                          const Message& body) {
  if (peer.closed || !peer.link) {
    bump(counters.dropped_replies);
    return;
  }
  Connection& conn = connection_of(peer);
  if (slot != 0 && slot != conn.next_to_send) {
    conn.parked.emplace(slot, std::make_pair(envelope, body));
    return;
  }
  enqueue(peer, envelope, body);
  if (slot == 0) return;
  // Release replies parked behind this one, in request order.
  while (!peer.closed && peer.link) {
    conn.next_to_send++;
    auto next = conn.parked.find(conn.next_to_send);
    if (next == conn.parked.end()) return;
    auto [env, b] = std::move(next->second);
    conn.parked.erase(next);
    enqueue(peer, env, b);
  }
}

void ServerCore::deliver(std::uint64_t peer_id, std::uint64_t connection, std::uint64_t slot,
                         Message&& envelope, Message&& body) {
  engine::Peer* peer = engine.find(peer_id);
  if (peer == nullptr || !peer->link || !peer->state || connection_of(*peer).serial != connection) {
    bump(counters.dropped_replies);
    return;
  }
  deliver_to(*peer, slot, std::move(envelope), std::move(body));
}

ServerStats ServerCore::stats() const noexcept {
  const auto& e = engine.counters();
  ServerStats s;
  s.accepted = e.accepted;
  s.open = static_cast<std::uint64_t>(std::max<std::int64_t>(e.open.load(), 0));
  s.rejected = e.rejected;
  s.requests = counters.requests;
  s.replies = counters.replies;
  s.handler_errors = counters.handler_errors;
  s.peer_faults = e.peer_faults;
  s.dropped_replies = counters.dropped_replies;
  s.dropped_input = e.dropped_input;
  return s;
}

PendingReply::~PendingReply() {
  if (!core) return;
  core->counters.handler_errors++;
  (void)answer(Message{"ERR no reply"});
}

void PendingReply::escape() {
  if (keep || !core) return;
  keep = core->shared_from_this();
  core->outstanding++;
}

Result<void> PendingReply::answer(const Message& body, Message* owned) {
  if (answered || !core) return unexpected(Errc::cancelled);
  answered = true;
  Result<void> result;
  if (!keep && !core->closed) {
    // Never escaped: this is the handler on the loop thread, inside dispatch(), and the peer
    // is still where dispatch() found it.
    core->deliver_to(*peer, slot, envelope, body);
  } else {
    result = core->post_reply(peer_id, connection, slot, std::move(envelope),
                              owned != nullptr ? std::move(*owned) : Message(body));
  }
  core = nullptr;
  if (keep) {
    // Answered: let go of the server, so a Responder kept by user code (perhaps inside the
    // handler's own captures) does not keep the server alive in a cycle.
    keep->outstanding--;
    keep.reset();
  }
  return result;
}

}  // namespace ipcx::detail
