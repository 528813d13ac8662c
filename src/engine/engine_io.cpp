// Engine (engine layer): driving the peers and reading them. See engine.hpp.
#include <algorithm>

#include "engine/engine.hpp"

namespace ipcx::engine {

using transport::Io;

void Engine::announce(Peer& peer) {
  if (!peer.link || !peer.link->established()) return;
  peer.announced = true;
  if (peer.dial) {
    peer.dial->backoff = std::chrono::milliseconds(0);
    peer.dial->last_failure = Errc::ok;
  }
  if (!peer.backlog.empty()) --handshakes_waited_on_;
  emit(EventKind::connected, peer);
  if (events_ != nullptr) events_->on_ready(peer);
  drain_backlog(peer);
}

void Engine::poll_each_ring() {
  for (Peer* p : polled_) {
    if (!p->queued && !p->paused && !p->polled()->quiet()) {
      p->readable = true;
      enqueue(*p);
    }
  }
}

void Engine::progress_due(bool fresh) {
  // Look at epoll when a handshake holds up dealt messages, and otherwise now and then (the
  // clock is read every 64th call): new peers, handshakes, hang-ups.
  Clock::time_point now{};
  if (handshakes_waited_on_ > 0 || fresh) {
    now = Clock::now();
    if (handshakes_waited_on_ > 0 || now - last_look_ > std::chrono::milliseconds(1)) look();
  }
  if (listeners_ready_) {
    listeners_ready_ = false;
    for (auto& b : bound_) {
      if (!b->ready) continue;
      b->ready = false;
      accept_all(*b);
    }
  }
  if (unlinked_ > 0 || !timed_.empty() || paused_listeners_ > 0 || fresh) {
    if (now == Clock::time_point{}) now = Clock::now();
    if (unlinked_ > 0) dial_due(now);
    if (paused_listeners_ > 0) resume_listeners(now);
    tick(now);
  }
  // A non-reading socket reads its readable peers here: their handshakes, hang-ups and what
  // they may send (a subscriber's subscriptions). A reading socket's reads do all that.
  if (!options_.reader) {
    while (!ready_.empty()) {
      Peer* p = ready_.front();
      ready_.pop_front();
      p->queued = false;
      if (!p->closed && p->link && !p->paused) service(*p);
    }
  }
  if (!dirty_.empty()) flush_dirty();
}

void Engine::progress_fresh() {
  auto now = Clock::now();
  if (now - last_look_ > std::chrono::milliseconds(1)) look();
  tick(now);  // a publisher that never waits still times out handshakes that never finish
  progress();
}

// A non-reading socket (a pusher, a publisher): what its peers send goes to on_inbound.
bool Engine::service(Peer& peer) {
  for (;;) {
    Message incoming;
    auto r = peer.link->recv(incoming);
    if (r.status == Io::would_block) break;
    if (r.status == Io::closed) {
      close(peer, false, peer.link->fault());
      return false;
    }
    if (r.status == Io::error) {
      (void)peer.link->flush();  // a refused handshake owes the peer an ERROR command
      close(peer, true, peer.link->fault(), r.error);
      return false;
    }
    note_ready(peer);
    if (events_ != nullptr && events_->on_inbound(peer, incoming)) continue;
    close(peer, true, "a peer of this socket type must not send messages");
    return false;
  }
  take_dropped(peer);
  note_ready(peer);
  // Until epoll reports the link again (a hang-up, a doorbell, a handshake). A ring that carries
  // something we want (a publisher's subscriptions) is polled at every look().
  peer.readable = false;
  return !due(peer) || write(peer);
}

Peer* Engine::next_ready_message(Message& out, Message* envelope, Frames* frames, bool* viewed) {
  while (!ready_.empty()) {
    Peer* p = ready_.front();
    ready_.pop_front();
    p->queued = false;
    if (p->closed || !p->link || p->paused || !p->readable) continue;
    auto got = transport::ZeroCopy::View::declined;
    if (frames != nullptr) {
      auto* zc = p->link->extensions().zero_copy;
      if (zc != nullptr) got = zc->view(*frames);  // never lent before its handshake
      if (got == transport::ZeroCopy::View::lent) {
        note_ready(*p);
        *viewed = true;
        ++p->lent;
        p->queued = true;
        ready_.push_back(p);
        return p;
      }
    }
    // An idle link is not read: a message landing meanwhile waits to be lent, not copied.
    transport::IoResult r{Io::would_block};
    if (got != transport::ZeroCopy::View::idle) {
      r = envelope != nullptr ? p->link->recv_split(*envelope, out) : p->link->recv(out);
    }
    if (r.status == Io::ok) {
      note_ready(*p);
      if (p->link->take_drained()) {
        p->readable = false;  // until epoll reports it again: asking now would find nothing
        take_dropped(*p);
      } else {
        p->queued = true;
        ready_.push_back(p);  // it may hold more: its turn comes again after the others'
      }
      return p;
    }
    if (r.status == Io::would_block) {
      p->readable = false;
      take_dropped(*p);
      note_ready(*p);
      if (p->link->wants_write() && due(*p)) write(*p);  // the handshake may owe the peer bytes
      continue;
    }
    if (r.status == Io::error) (void)p->link->flush();
    close(*p, r.status == Io::error, p->link->fault(),
          r.status == Io::error ? r.error : Errc::refused);
  }
  return nullptr;
}

}  // namespace ipcx::engine
