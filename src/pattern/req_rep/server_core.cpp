// ServerCore (pattern layer): connections of the request/reply server. Reads requests,
// runs handlers on the loop thread (or the pool), orders replies per connection, and flushes each
// link once per loop turn so pipelined replies leave in one write.
#include "pattern/req_rep/server_core.hpp"

#include <sys/epoll.h>

#include <algorithm>

#include "pattern/req_rep/envelope.hpp"
#include "pattern/setup.hpp"

namespace ipcx::detail {

using transport::Io;
using Clock = std::chrono::steady_clock;

ServerCore::ServerCore(ServerOptions opts) : options(std::move(opts)) {
  if (options.workers > 0) pool = std::make_unique<pattern::WorkerPool>(options.workers);
}

ServerCore::~ServerCore() {
  if (pool) pool->stop();
}

void ServerCore::log(const std::string& line) const {
  if (options.log) options.log(line);
}

Endpoint ServerCore::bind(std::string_view url) {
  Endpoint ep = Endpoint::parse(url);
  transport::ListenOptions lo;
  lo.link.socket_type = wire::SocketType::router;
  lo.link.max_message_size = options.max_message_size + pattern::kEnvelopeAllowance;
  lo.link.max_queued_bytes = options.max_queued_bytes;
  lo.link.handshake_timeout = options.handshake_timeout;
  lo.link.heartbeat = options.heartbeat;
  lo.link.shm_ring_bytes = options.shm_ring_bytes;
  lo.file_mode = options.file_mode;
  lo.allow_uids = options.allow_uids;
  const auto& mechanism = pattern::mechanism_for(ep, {pattern::Use::Kind::request_reply});
  auto listener = pattern::listen_or_throw(mechanism, ep, lo);
  transport::Listener* raw = listener.get();
  auto added = reactor.add(raw->fd(), EPOLLIN, [this, raw](std::uint32_t) { on_listener(*raw); });
  if (!added) throw Error(added.error(), ep.url(), "cannot watch the listening socket");
  Endpoint bound = raw->bound();
  listeners.push_back(std::move(listener));
  return bound;
}

void ServerCore::on_listener(transport::Listener& listener) {
  for (int i = 0; i < 64; ++i) {
    auto link = listener.accept();
    if (!link) {
      Errc e = link.error();
      if (e == Errc::would_block) return;
      if (e == Errc::permission_denied) {
        counters.rejected++;
        log("ipcx: refused a connection on " + listener.bound().url() + ": uid not allowed");
        continue;
      }
      if (e == Errc::protocol_violation || e == Errc::refused) {
        // Garbage in a rendezvous FIFO or queue, or a client gone before it was reached.
        if (e == Errc::protocol_violation) counters.peer_faults++;
        log("ipcx: " + listener.bound().url() + ": " +
            (e == Errc::refused ? "a client left before its connection was opened"
                                : "bad rendezvous record skipped"));
        continue;
      }
      // Out of descriptors or memory: stop accepting for a moment instead of spinning.
      log("ipcx: accept on " + listener.bound().url() + " failed: " + std::string(to_string(e)));
      int fd = listener.fd();
      reactor.remove(fd);
      reactor.add_timer(Clock::now() + std::chrono::milliseconds(100), [this, &listener] {
        if (closed || listener.fd() < 0) return;
        (void)reactor.add(listener.fd(), EPOLLIN,
                          [this, &listener](std::uint32_t) { on_listener(listener); });
      });
      return;
    }
    if (connections.size() - graveyard.size() >= options.max_connections) {
      counters.rejected++;
      continue;  // the link closes as it goes out of scope
    }
    std::uint64_t id = next_connection++;
    Connection& added = connections[id];
    added.peer = std::make_shared<const PeerInfo>((*link)->peer());
    added.link = std::move(*link);
    // The node stays put until reap(), which runs only after close_connection() removed this
    // registration: the callback can hold the connection itself instead of looking it up.
    Connection* conn = &added;
    if (!reactor.add(added.link->fd(), EPOLLIN,
                     [this, id, conn](std::uint32_t ev) { serve(id, *conn, ev); })) {
      counters.rejected++;
      connections.erase(id);
      continue;
    }
    if (added.link->has_sleep_hooks()) hooked.emplace_back(id, &added);
    counters.accepted++;
    counters.open++;
    mark_dirty(id, added);  // our greeting and READY
    schedule_tick();
  }
}

void ServerCore::serve(std::uint64_t id, Connection& conn, std::uint32_t events) {
  if (conn.closed) return;
  if (events & EPOLLOUT) {
    auto r = conn.link->flush();
    if (r.status == Io::closed || r.status == Io::error) {
      return close_connection(id, false, conn.link->fault());
    }
    conn.writing = r.status == Io::would_block;
    if (!conn.reading && conn.link->queued_bytes() < options.max_queued_bytes / 2) {
      conn.reading = true;
    }
    update_interest(conn);
  }
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  while (!conn.closed) {
    if (!conn.reading) {
      // Paused for backpressure; a hang-up still ends the connection.
      if (events & (EPOLLHUP | EPOLLERR)) close_connection(id, false, "peer hung up");
      return;
    }
    Message request;
    auto r = conn.link->recv(request);
    if (r.status == Io::would_block) break;
    if (r.status == Io::closed) return close_connection(id, false, conn.link->fault());
    if (r.status == Io::error) {
      conn.link->flush();  // a refused handshake owes the peer an ERROR command
      return close_connection(id, true, conn.link->fault());
    }
    dispatch(id, conn, std::move(request));
    if (!conn.closed && conn.link->queued_bytes() >= options.max_queued_bytes) {
      conn.reading = false;  // the peer is not reading its replies: stop reading it
      update_interest(conn);
      break;
    }
  }
  if (auto dropped = conn.link->take_dropped(); dropped.malformed + dropped.overflow > 0) {
    counters.peer_faults += dropped.malformed;
    counters.dropped_input += dropped.overflow;
    log("ipcx: " + conn.peer->address + ": skipped " + std::to_string(dropped.malformed) +
        " malformed and lost " + std::to_string(dropped.overflow) + " datagrams");
  }
  // Replies mark themselves; this catches protocol output (greeting, READY, PONG). Only when
  // there is some: the spin loop calls this for every shm link on every poll.
  if (conn.link->wants_write()) mark_dirty(id, conn);
}

namespace {
std::size_t env_bytes(const Message& m, std::size_t body_start) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < body_start; ++i) n += m.frame(i).size();
  return n;
}
}  // namespace

void ServerCore::dispatch(std::uint64_t id, Connection& conn, Message&& request) {
  auto env = pattern::split_envelope(request);
  if (request.bytes() > options.max_message_size &&
      request.bytes() - env_bytes(request, env.body_start) > options.max_message_size) {
    return close_connection(id, true, "request body exceeds max_message_size");
  }
  std::unique_ptr<PendingReply> pending =
      spare_pending ? std::move(spare_pending) : std::make_unique<PendingReply>();
  pending->core = this;
  pending->conn_id = id;
  pending->conn = &conn;
  pending->slot = env.has_request_id ? 0 : conn.next_slot++;
  pending->peer = conn.peer.get();
  for (std::size_t i = 0; i < env.body_start; ++i) pending->envelope.add(request.frame(i));
  request.remove_front(env.body_start);  // the body stays where it is
  bump(counters.requests);
  Request req(std::move(pending), Message{});
  req.body_ = std::move(request);
  if (pool) {
    req.pending_->escape();
    req.pending_->peer_keep = conn.peer;
    auto shared = std::make_shared<Request>(std::move(req));
    pool->submit([this, shared] { run_handler(*shared); });
    return;
  }
  run_handler(req);
  if (req.pending_ && req.pending_->answered) {
    // Answered inline and never escaped: keep it for the next request.
    req.pending_->answered = false;
    req.pending_->envelope.clear();
    req.pending_->peer = nullptr;
    spare_pending = std::move(req.pending_);
  }
}

void ServerCore::run_handler(Request& request) {
  try {
    if (!handler) throw std::runtime_error("no handler is set");
    handler(request);
  } catch (const std::exception& e) {
    counters.handler_errors++;
    if (!request.answered()) request.reply(Message{std::string("ERR ") + e.what()});
  } catch (...) {
    counters.handler_errors++;
    if (!request.answered()) request.reply(Message{"ERR handler failed"});
  }
}

Result<void> ServerCore::post_reply(std::uint64_t conn_id, std::uint64_t slot, Message&& envelope,
                                    Message&& body) {
  if (closed) return unexpected(Errc::cancelled);
  if (loop_thread.load() == std::this_thread::get_id()) {
    deliver(conn_id, slot, std::move(envelope), std::move(body));
    return {};
  }
  auto self = shared_from_this();
  reactor.post([self, conn_id, slot, env = std::move(envelope), b = std::move(body)]() mutable {
    self->deliver(conn_id, slot, std::move(env), std::move(b));
  });
  return {};
}

void ServerCore::deliver(std::uint64_t conn_id, std::uint64_t slot, Message&& envelope,
                         Message&& body) {
  auto it = connections.find(conn_id);
  if (it == connections.end() || it->second.closed) {
    counters.dropped_replies++;
    return;
  }
  deliver_to(conn_id, it->second, slot, std::move(envelope), std::move(body));
}

void ServerCore::deliver_to(std::uint64_t conn_id, Connection& conn, std::uint64_t slot,
                            Message&& envelope, Message&& body) {
  if (conn.closed) {
    counters.dropped_replies++;
    return;
  }
  if (slot != 0 && slot != conn.next_to_send) {
    conn.parked.emplace(slot, std::make_pair(std::move(envelope), std::move(body)));
    return;
  }
  enqueue(conn_id, conn, envelope, body);
  if (slot == 0) return;
  // Release replies parked behind this one, in request order.
  while (!conn.closed) {
    conn.next_to_send++;
    auto next = conn.parked.find(conn.next_to_send);
    if (next == conn.parked.end()) return;
    auto [env, b] = std::move(next->second);
    conn.parked.erase(next);
    enqueue(conn_id, conn, env, b);
  }
}

void ServerCore::enqueue(std::uint64_t conn_id, Connection& conn, const Message& envelope,
                         const Message& body) {
  auto r = conn.link->send(envelope, body);
  if (r.status == Io::error && r.error == Errc::message_too_large) {
    counters.handler_errors++;
    r = conn.link->send(envelope, Message{"ERR reply exceeds max_message_size"});
  }
  if (r.status == Io::ok) {
    bump(counters.replies);
    mark_dirty(conn_id, conn);
    return;
  }
  counters.dropped_replies++;
  close_connection(conn_id, true,
                   r.status == Io::would_block ? "peer does not read its replies (queue full)"
                                               : conn.link->fault());
}

void ServerCore::flush_dirty() {
  if (dirty.empty()) return;
  flushing.swap(dirty);
  for (auto [id, conn] : flushing) {
    if (conn->closed) continue;  // closed this turn; reap() has not run yet
    conn->dirty = false;
    auto r = conn->link->flush();
    if (r.status == Io::closed || r.status == Io::error) {
      close_connection(id, false, conn->link->fault());
      continue;
    }
    bool want = r.status == Io::would_block;
    if (want != conn->writing) {
      conn->writing = want;
      update_interest(*conn);
    }
  }
  flushing.clear();
}

void ServerCore::mark_dirty(std::uint64_t id, Connection& conn) {
  if (conn.dirty || conn.closed) return;
  conn.dirty = true;
  dirty.emplace_back(id, &conn);
}

void ServerCore::reap() {
  for (std::uint64_t id : graveyard) connections.erase(id);
  graveyard.clear();
}

void ServerCore::update_interest(Connection& conn) {
  std::uint32_t events = (conn.reading ? EPOLLIN : 0u) | (conn.writing ? EPOLLOUT : 0u);
  // Only on change: shm links are served from the spin loop every poll, and an epoll_ctl per
  // poll cost more than the ring round trip.
  if (events == conn.interest) return;
  conn.interest = events;
  (void)reactor.modify(conn.link->fd(), events);
}

void ServerCore::close_connection(std::uint64_t id, bool fault, std::string_view why) {
  auto it = connections.find(id);
  if (it == connections.end() || it->second.closed) return;
  Connection& conn = it->second;
  if (fault) {
    counters.peer_faults++;
    std::string who = conn.peer->address;
    if (conn.peer->pid > 0) who += " pid " + std::to_string(conn.peer->pid);
    log("ipcx: closed faulty peer " + who + ": " + std::string(why));
  }
  reactor.remove(conn.link->fd());
  for (auto& entry : hooked) {
    if (entry.first == id) {
      entry = hooked.back();
      hooked.pop_back();
      break;
    }
  }
  conn.link->close();
  conn.parked.clear();
  conn.closed = true;
  graveyard.push_back(id);
  counters.open--;
}

ServerStats ServerCore::stats() const noexcept {
  ServerStats s;
  s.accepted = counters.accepted;
  s.open = counters.open;
  s.rejected = counters.rejected;
  s.requests = counters.requests;
  s.replies = counters.replies;
  s.handler_errors = counters.handler_errors;
  s.peer_faults = counters.peer_faults;
  s.dropped_replies = counters.dropped_replies;
  s.dropped_input = counters.dropped_input;
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

Result<void> PendingReply::answer(Message&& body) {
  if (answered || !core) return unexpected(Errc::cancelled);
  answered = true;
  Result<void> result;
  if (!keep && !core->closed) {
    // Never escaped: this is the handler on the loop thread, inside dispatch(), and the
    // connection is still where dispatch() found it.
    core->deliver_to(conn_id, *conn, slot, std::move(envelope), std::move(body));
  } else {
    result = core->post_reply(conn_id, slot, std::move(envelope), std::move(body));
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
