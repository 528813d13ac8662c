// Client::Impl (pattern layer): sending, reading, spinning and sleeping. See client_impl.hpp.
#include <algorithm>

#include "pattern/req_rep/client_impl.hpp"
#include "pattern/socket_options.hpp"

namespace ipcx {

using transport::Io;
using View = transport::ZeroCopy::View;

engine::EngineOptions Client::Impl::engine_options(const ClientOptions& o) {
  auto e =
      pattern::engine_options(o, wire::SocketType::dealer, pattern::Use::Kind::request_reply, true);
  e.max_message_size += pattern::kEnvelopeAllowance;  // the body is what the limit counts
  e.hwm = 0;                                          // requests are bounded by bytes
  return e;
}

Client::Impl::Impl(std::string_view url, ClientOptions opts)
    : endpoint(Endpoint::parse(url)),
      options(std::move(opts)),
      engine(engine_options(options), this) {
  peer = &engine.connect(url, true);  // connects lazily: at the first call
}

Client::Impl::Impl(ClientOptions opts, transport::SpawnedServer spawned)
    : endpoint(Endpoint::parse("stdio://")),
      options(std::move(opts)),
      engine(engine_options(options), this),
      child(std::move(spawned.child)) {
  peer = &engine.adopt(std::move(spawned.link), endpoint);
}

bool Client::Impl::take(std::vector<RequestId>& ids, RequestId id) {
  for (auto& x : ids) {
    if (x == id) {
      x = ids.back();
      ids.pop_back();
      return true;
    }
  }
  return false;
}

void Client::Impl::on_ready(engine::Peer&) {
  using E = RequestEnvelope;
  plain = options.envelope == E::plain ||
          (options.envelope == E::automatic && !link()->takes_request_ids());
}

std::optional<RequestId> Client::Impl::match_plain(const Message& envelope) const noexcept {
  // [""]: the answer to the one request in flight.
  if (!pattern::is_plain_envelope(envelope) || in_flight.empty()) return std::nullopt;
  return in_flight.front();
}

void Client::Impl::note_unmatched(const Message& envelope) {
  ++unmatched;
  if (!options.log) return;
  bool our_shape =
      plain ? pattern::is_plain_envelope(envelope) : pattern::reply_id(envelope).has_value();
  options.log(our_shape ? "ipcx: dropped a reply that matches no request in flight (its call ended)"
                        : "ipcx: dropped a reply in an envelope this client did not send");
}

void Client::Impl::on_lost(engine::Peer&) {
  lost.insert(lost.end(), in_flight.begin(), in_flight.end());
  in_flight.clear();
  if (child) {
    // Nothing can reconnect to a spawned child: what waits for a link is lost too.
    for (auto& waiting : unsent) lost.push_back(waiting.first);
    unsent.clear();
    last_failure = Errc::peer_closed;
    if (options.log) options.log("ipcx: the spawned server closed its pipes");
  }
}

// detail is copied first: it usually points into the link being dropped.
void Client::Impl::drop_link(Errc why, std::string_view fault) {
  if (!peer->link) return;
  std::string detail(fault);
  engine.close(*peer, false, detail, why);
}

// Hands waiting requests to an established link.
void Client::Impl::release_unsent() {
  while (ready() && !unsent.empty() && room_in_flight()) {
    auto& [id, head_and_body] = unsent.front();
    auto r = link()->send(head_for(id), head_and_body);
    if (r.status == Io::would_block) return;
    if (r.status != Io::ok) return drop_link(r.error, link()->fault());
    in_flight.push_back(id);
    unsent.pop_front();
  }
}

// Reads what the link has; returns false when the link died. With `first_reply` (spinning on
// shm), stops at the first reply that settles a call: the caller returns at once, and the
// ring's bookkeeping (asking whether the server waits for room, which costs a fence) is left
// to the next read instead of delaying the answer. Stream links are read to the end.
bool Client::Impl::drain(bool first_reply) {
  for (;;) {
    if (view_for != 0 && viewing == nullptr) {
      auto got = take_view();
      if (got == View::lent) return true;
      if (got == View::idle) {
        engine.note_ready(*peer);  // as an empty read does: a link just up is announced
        return true;
      }
    }
    Message& into = call_for != 0 && !call_done ? *call_into : incoming;
    Read got = take_read(link()->recv_split(reply_envelope, into), into);
    if (got == Read::dead) return false;
    if (got == Read::nothing || (got == Read::settled && first_reply)) return true;
    if (link()->take_drained()) return true;  // another read would find nothing
  }
}

// What one read of the link brought, read into `into` (its envelope in reply_envelope).
Client::Impl::Read Client::Impl::take_read(transport::IoResult r, Message& into) {
  if (r.status == Io::would_block) {
    if (!peer->announced) engine.note_ready(*peer);
    return Read::nothing;
  }
  if (r.status != Io::ok) {
    drop_link(r.status == Io::closed ? Errc::refused : r.error, link()->fault());
    return Read::dead;
  }
  if (!peer->announced) engine.note_ready(*peer);
  auto id = match(reply_envelope);
  if (!id || !take(in_flight, *id)) {  // not ours, or answered already
    note_unmatched(reply_envelope);
    return Read::ignored;
  }
  if (&into == call_into && *id == call_for) {
    call_done = true;
  } else {
    // Braced, not value-initialised: that would zero the body's inline buffer first.
    arrived.push_back(Reply{*id, std::move(into)});
  }
  return Read::settled;
}

// Waits for the reply in the link's own read syscall, when that is all there is to wait for:
// one established link that can (DirectWait), nothing queued for it, nothing else timed.
// False when it cannot, and the caller sleeps on the engine instead.
bool Client::Impl::wait_in_read(Clock::time_point deadline, Clock::time_point now) {
  return wait_in_read(std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
}

bool Client::Impl::wait_in_read(std::chrono::milliseconds left) {
  transport::DirectWait* direct = link()->extensions().direct_wait;
  if (direct == nullptr || !peer->announced || !engine.waits_only_for_io() ||
      link()->wants_write() || view_for != 0 || left.count() <= 0) {
    return false;
  }
  Message& into = call_for != 0 && !call_done ? *call_into : incoming;
  take_read(direct->wait_recv_split(reply_envelope, into, left), into);
  return true;
}

// One round of progress, sleeping at most until `deadline`. With wait_first the caller has
// just written a request (at `now`), so reading before waiting would only cost an EAGAIN:
// wait (or spin) first, then read what arrived, and return without waiting again.
void Client::Impl::pump(Clock::time_point deadline, bool wait_first, Clock::time_point now) {
  // Redials when due; ticks: handshake deadline, heartbeats, resends. A request just written
  // comes from send_as(), which made this progress a moment ago.
  if (!wait_first) engine.progress();
  if (!peer->link) {
    engine.sleep(deadline);  // until the next connection attempt, or the deadline
    return;
  }
  if (wait_first) {
    bool spun = ready() && options.spin.count() > 0 && spin(deadline);
    if (!spun && !(now != Clock::time_point{} && wait_in_read(deadline, now))) {
      wait_ready(deadline);
    }
    if (!peer->link || answered()) return;
  }
  bool was_ready = ready();
  if (link()->wants_write()) {
    auto f = link()->flush();
    if (f.status == Io::closed || f.status == Io::error) {
      // A peer that refused us may have said why before it closed (a ZMTP ERROR): read that
      // first, so the call fails with its reason rather than a bare refusal.
      if (!drain()) return;
      return drop_link(Errc::refused, link()->fault());
    }
    engine.want_write(*peer, f.status == Io::would_block);
  } else {
    engine.want_write(*peer, false);
  }
  if (!drain()) return;
  // Requests wait in `unsent` for a handshake, or for a link that was full or lending.
  if (ready() && !unsent.empty() && lent == nullptr) {
    std::size_t waiting = unsent.size();
    release_unsent();
    if (peer->link && link()->wants_write()) {
      auto g = link()->flush();
      if (g.status == Io::closed || g.status == Io::error) {
        return drop_link(Errc::peer_closed, link()->fault());
      }
    }
    if (!peer->link || unsent.size() != waiting) return;  // progress: look again before sleeping
  }
  // What reading queued (a PONG for the peer's PING) leaves before we sleep: a peer that pings
  // closes a link whose answers come late, and the next wake-up may be its next PING.
  if (peer->link && link()->wants_write()) {
    auto h = link()->flush();
    if (h.status == Io::closed || h.status == Io::error) {
      return drop_link(Errc::peer_closed, link()->fault());
    }
    engine.want_write(*peer, h.status == Io::would_block);
  }
  if (wait_first || (!was_ready && ready())) return;
  if (answered() || !peer->link) return;
  if (ready() && options.spin.count() > 0 && spin(deadline)) return;
  wait_ready(deadline);
}

// Polls the link without sleeping for the spin budget; true when a reply arrived.
bool Client::Impl::spin(Clock::time_point deadline) {
  transport::Polled* polled = link()->extensions().polled;
  return engine.spin(deadline, false, [&] {
    if (polled != nullptr && polled->quiet()) return false;
    return !drain(polled != nullptr) || answered();
  });
}

void Client::Impl::wait_ready(Clock::time_point deadline) { engine.sleep(deadline); }

// A link idle for a while may have died unseen (server restarted, or dropped us for not
// answering heartbeat PINGs while we were not reading). Reading it first finds out, so the
// request goes out on a fresh connection instead of failing with peer_closed; reading also
// answers any PING. Only after idleness: busy links pay no extra syscall.
// `now` may be the coarse clock: the check is about tens of milliseconds.
void Client::Impl::refresh_idle_link() {
  if (!peer->link) return;
  // Twice: a link skips one read after a short one (see Link::recv), and we need a read.
  if (drain()) drain();
  if (peer->link && link()->wants_write()) (void)link()->flush();
}

Result<RequestId> Client::Impl::send(const Message& body, Clock::time_point now) {
  if (body.bytes() > options.max_message_size) return unexpected(Errc::message_too_large);
  if (child_gone()) return unexpected(Errc::peer_closed);
  return send_as(new_id(), body, now);
}

Result<RequestId> Client::Impl::send_as(RequestId id, const Message& body, Clock::time_point now) {
  written_now = false;
  engine.end_caller_wait();
  check_idle_link(now);
  engine.progress();  // connects when there is no link and the backoff has passed
  if (may_write_now()) {
    // Listed first: a link that dies under the write moves what is in flight to `lost`.
    in_flight.push_back(id);
    if (engine.send_whole(*peer, head_for(id), body)) {
      written_now = true;
      return id;
    }
    auto r = link()->send(head_for(id), body);
    if (r.status == Io::ok) {
      written_now = true;
      auto f = link()->flush();
      if (f.status == Io::closed || f.status == Io::error) {
        drop_link(Errc::peer_closed, link()->fault());
      }
      return id;
    }
    in_flight.pop_back();
    if (r.status == Io::error) return unexpected(r.error);
  }
  unsent.emplace_back(id, body);
  return id;
}

// The outcome for request `id` if it is settled, else nothing.
std::optional<Result<Message>> Client::Impl::settled(RequestId id) {
  for (auto it = arrived.begin(); it != arrived.end(); ++it) {
    if (it->id == id) {
      // Built in place: every move of a small Message copies its inline buffer.
      std::optional<Result<Message>> outcome(std::in_place, std::move(it->body));
      arrived.erase(it);
      return outcome;
    }
  }
  if (take(lost, id)) return Result<Message>(unexpected(Errc::peer_closed));
  return std::nullopt;
}

Errc Client::Impl::expired(RequestId id) {
  // Never sent: withdraw it so it does not go out after the caller gave up.
  for (auto it = unsent.begin(); it != unsent.end(); ++it) {
    if (it->first == id) {
      unsent.erase(it);
      Errc why = last_failure != Errc::ok ? last_failure : peer->dial->last_failure;
      return why == Errc::ok ? Errc::timeout : why;
    }
  }
  // With request ids a late reply is recognised and dropped. A plain envelope cannot tell it
  // from the next request's: the connection goes, as a libzmq REQ user closes the socket.
  if (take(in_flight, id) && plain) {
    drop_link(Errc::timeout, "a plain request timed out: its connection is closed");
  }
  return Errc::timeout;
}

}  // namespace ipcx
