// Engine (engine layer): each peer's outbound queue and writing it out. See engine.hpp.
#include <algorithm>

#include "engine/engine.hpp"

namespace ipcx::engine {

using transport::Io;
using transport::IoResult;

bool Engine::has_room(const Peer& peer) const noexcept {
  if (peer.closed || (!peer.link && !peer.dial)) return false;
  std::size_t held = peer.backlog.size() + peer.sizes.size();
  if (options_.hwm > 0 && held >= options_.hwm) return false;
  std::size_t bytes = peer.backlog_bytes + (peer.link ? peer.link->queued_bytes() : 0);
  return bytes < options_.max_queued_bytes;
}

bool Engine::idle(const Peer& peer) const noexcept {
  if (!peer.announced || !peer.backlog.empty()) return false;
  std::size_t queued = peer.link->queued_bytes();
  std::size_t batch = batch_of(peer);
  return batch == 0 ? queued == 0 : queued < batch;
}

IoResult Engine::send(Peer& peer, const Message& head, const Message& tail, bool defer) {
  if (peer.closed || (!peer.link && (!peer.dial || peer.dial->mechanism == nullptr))) {
    return {Io::error, 0, Errc::peer_closed};
  }
  // Not ready for it yet (no link, or one still in its handshake), or messages wait before it
  // already: it waits in the peer's backlog, in order.
  if (!peer.announced || !peer.backlog.empty()) {
    if (head.bytes() + tail.bytes() > options_.max_message_size) {
      return {Io::error, 0, Errc::message_too_large};
    }
    if (!has_room(peer)) return {Io::would_block};
    try {
      Message copy;
      copy.add_frames(head);
      copy.add_frames(tail);
      peer.backlog_bytes += copy.bytes();
      peer.backlog.push_back(std::move(copy));
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
    if (peer.link && !peer.announced && peer.backlog.size() == 1) ++handshakes_waited_on_;
    if (peer.announced) drain_backlog(peer);
    return {Io::ok, head.bytes() + tail.bytes()};
  }
  transport::Link& link = *peer.link;
  std::size_t before = options_.hwm > 0 ? link.queued_bytes() : 0;
  auto r = link.send(head, tail);
  if (r.status == Io::would_block) return r;
  if (r.status == Io::error) {
    if (r.error == Errc::message_too_large) return r;
    close(peer, false, link.fault(), r.error);
    return {Io::error, 0, Errc::peer_closed};
  }
  // A link that took it at once (into the kernel, a ring) holds nothing against the mark and
  // has nothing to write: the usual case ends here.
  if (!link.wants_write()) return r;
  if (options_.hwm > 0) {
    std::size_t after = link.queued_bytes();
    peer.sizes.push_back(after > before ? after - before : 0);
    peer.sizes_sum += after > before ? after - before : 0;
  }
  if (defer) {
    mark_dirty(peer);
  } else if (due_held(peer) && !write_held_bytes(peer)) {
    return {Io::error, 0, Errc::peer_closed};
  }
  return r;
}

bool Engine::offer(Peer& peer, const Message& message) {
  if (!has_room(peer)) {
    // A batch still being gathered holds messages on purpose: write it before judging.
    if (batch_of(peer) == 0 || !peer.link || !peer.link->wants_write() || !write(peer) ||
        !has_room(peer)) {
      return false;
    }
  }
  return send(peer, message).status == Io::ok;
}

void Engine::drain_backlog(Peer& peer) {
  while (!peer.backlog.empty() && peer.link) {
    Message& next = peer.backlog.front();
    static const Message kNone;
    auto r = peer.link->send(next, kNone);
    if (r.status == Io::would_block) break;
    if (r.status == Io::error && r.error != Errc::message_too_large) {
      close(peer, false, peer.link->fault(), r.error);
      return;
    }
    if (r.status == Io::error) EngineCounters::bump(counters_.dropped);
    peer.backlog_bytes -= next.bytes();
    peer.backlog.pop_front();
  }
  if (peer.link && due(peer)) write(peer);
}

bool Engine::write_held() {
  bool left = false;
  for (auto& p : peers_) {
    if (p->closed || !p->link || !p->announced || !p->link->wants_write()) continue;
    if (write(*p)) left |= p->link->wants_write();
  }
  return !left;
}

void Engine::trim(Peer& peer) noexcept {
  if (peer.sizes.empty()) return;
  // The oldest messages are the ones written: drop them while the rest still covers what the
  // link holds.
  std::size_t left = peer.link ? peer.link->queued_bytes() : 0;
  while (!peer.sizes.empty() && peer.sizes_sum - peer.sizes.front() >= left) {
    peer.sizes_sum -= peer.sizes.front();
    peer.sizes.pop_front();
  }
}

void Engine::watch(Peer& peer, bool want_write) noexcept {
  // A polled link learns of room as it learns of data, by a doorbell that makes its fd
  // readable; its fd (a socket that is always writable) must not be watched for writing.
  if (!peer.link) return;
  bool out = want_write && peer.polled() == nullptr;
  std::uint32_t events = read_events(*peer.link);
  if (peer.paused) events &= ~std::uint32_t{EPOLLIN};
  if (out) events |= EPOLLOUT;
  // Only on change: polled links are served many times a microsecond, and an epoll_ctl per
  // serve cost more than a ring round trip.
  if (events == peer.interest) return;
  if (events_set_.modify(peer.link->fd(), events, &peer)) peer.interest = events;
}

bool Engine::write(Peer& peer) {
  if (!peer.link) return false;
  if (!peer.link->wants_write()) {
    trim(peer);
    if ((peer.interest & EPOLLOUT) != 0) watch(peer, false);
    return true;
  }
  return write_held_bytes(peer);
}

void Engine::hold_rest(Peer& peer) {
  if (options_.hwm > 0) {
    std::size_t held = peer.link->queued_bytes();  // the queue was empty before the message
    peer.sizes.push_back(held);
    peer.sizes_sum += held;
  }
  (void)write_held_bytes(peer);
}

bool Engine::write_held_bytes(Peer& peer) {
  auto r = peer.link->flush();
  if (r.status == Io::closed || r.status == Io::error) {
    // An error names why (a refusal read after a failed write); a plain close was a refusal.
    close(peer, false, peer.link->fault(), r.status == Io::error ? r.error : Errc::refused);
    return false;
  }
  trim(peer);
  // A peer paused for not reading what it was sent is read again once half has drained.
  if (peer.paused && peer.link->queued_bytes() < options_.max_queued_bytes / 2) {
    peer.paused = false;
    enqueue(peer);
  }
  want_write(peer, r.status == Io::would_block);
  return true;
}

void Engine::write_dirty() {
  flushing_.swap(dirty_);
  for (Peer* p : flushing_) {
    p->dirty = false;
    if (p->closed || !p->link) continue;  // closed this turn; reap() has not run yet
    if (due(*p)) write(*p);
  }
  flushing_.clear();
}

bool Engine::flush(Clock::time_point deadline) {
  look();                // new peers and their handshakes count as work to do
  flushing_all_ = true;  // batches are written too, and waited for
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{flushing_all_};
  for (;;) {
    progress();
    bool pending = false;
    for (auto& p : peers_) {
      if (p->closed) continue;
      if (p->link && p->announced && !p->backlog.empty()) drain_backlog(*p);
      if (p->link && p->link->wants_write()) write(*p);
      pending |= !p->backlog.empty() || (p->link && p->link->queued_bytes() > 0);
    }
    reap();
    if (!pending) return true;
    if (Clock::now() >= deadline) return false;
    sleep(deadline);
  }
}

}  // namespace ipcx::engine
