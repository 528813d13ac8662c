// Engine (engine layer): waiting on the event set (sleep, look) and taking what it reports, and
// the duties that have a time: ticks (handshake deadlines, heartbeats, a link's own timers),
// redials and paused listeners. See engine.hpp.
#include <algorithm>

#include "engine/engine.hpp"

namespace ipcx::engine {

using transport::Io;

// Inlined into both waits: it runs once per sleep.
[[gnu::always_inline]] inline int Engine::take(std::span<const epoll_event> ready) {
  int taken = static_cast<int>(ready.size());
  for (const epoll_event& e : ready) {
    // Peers are tagged with themselves, listeners with their Bound record marked (listener_tag).
    if (Bound* b = listener_of(e.data.ptr)) {
      b->ready = listeners_ready_ = true;
      continue;
    }
    auto* peer = static_cast<Peer*>(e.data.ptr);
    if (peer->closed || !peer->link) continue;
    if (peer->parked) unpark(*peer);
    if (peer->polled() != nullptr) {
      peer->polled()->reported((e.events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) != 0);
    }
    if (peer->paused) {
      // Not read for backpressure; a hang-up still ends it.
      if ((e.events & (EPOLLHUP | EPOLLERR)) != 0) close(*peer, false, "peer hung up");
      continue;
    }
    peer->readable = true;
    if ((e.events & EPOLLOUT) != 0 && peer->link->wants_write()) mark_dirty(*peer);
    enqueue(*peer);
  }
  if (events_set_.woken()) taken += 1 + events_set_.run_posted();
  // Rings that carry what a non-reading socket wants (a publisher's subscriptions) are polled
  // as often as epoll is, not on every call: a publisher with many subscribers would spend its
  // time reading empty rings.
  if (!options_.reader) poll_rings();
  return taken;
}

int Engine::look() {
  int taken = take(events_set_.wait(Clock::time_point{}));
  last_look_ = Clock::now();
  return taken;
}

Clock::time_point Engine::next_duty() const noexcept {
  auto when = next_tick_;
  for (Peer* p : timed_) when = std::min(when, p->link->extensions().timed->wake_by());
  if (unlinked_ > 0) {
    for (Peer* p : dialled_) {
      if (!p->link && p->dial->mechanism != nullptr) when = std::min(when, p->dial->next_attempt);
    }
  }
  if (paused_listeners_ > 0) {
    for (const auto& b : bound_) {
      if (b->paused_until != Clock::time_point{}) when = std::min(when, b->paused_until);
    }
  }
  return when;
}

void Engine::tick(Clock::time_point now) {
  bool all = now >= next_tick_;
  if (all) next_tick_ = now + tick_period_;
  auto tick_one = [&](Peer& p) {
    auto r = p.link->tick(now);
    if (r.status == Io::error || r.status == Io::closed) {
      close(p, r.status == Io::error, p.link->fault(), r.error, p.link->established());
    } else if (p.link->wants_write()) {
      mark_dirty(p);
    }
  };
  if (all) {
    for (std::size_t i = 0; i < peers_.size(); ++i) {
      Peer& p = *peers_[i];
      if (!p.closed && p.link) tick_one(p);
    }
    if (!polled_.empty()) park_still_rings();
  } else {
    for (std::size_t i = 0; i < timed_.size();) {
      Peer& p = *timed_[i];
      std::size_t before = timed_.size();
      if (now >= p.link->extensions().timed->wake_by()) tick_one(p);
      if (timed_.size() == before) ++i;  // else it was closed and left the list
    }
  }
}

int Engine::sleep(Clock::time_point deadline) {
  // Most sleeps have nothing timed before the next tick: then they cost no walk of the peers.
  bool timed = !timed_.empty() || unlinked_ > 0 || paused_listeners_ > 0;
  // Nor, without a deadline of their own, a clock read: the tick's alarm is armed and has not
  // fired (firing disarms it), so the tick is not due, and the alarm will wake us for it.
  bool untimed =
      !timed && deadline == Clock::time_point::max() && events_set_.alarm() == next_tick_;
  Clock::time_point now{};
  if (!untimed) {
    now = Clock::now();
    if (timed || now >= next_tick_) tick(now);
    if (unlinked_ > 0) dial_due(now);
    if (paused_listeners_ > 0) resume_listeners(now);
  }
  if (!dirty_.empty()) flush_dirty();
  deadline = std::min(deadline, timed ? next_duty() : next_tick_);
  bool may_sleep = untimed || deadline > now;
  for (Peer* p : polled_) {
    if (!may_sleep) break;
    if (!p->paused) may_sleep = p->polled()->prepare_sleep();
  }
  // The periodic tick is the alarm: a sleep until then arms no kernel timer of its own.
  events_set_.set_alarm(next_tick_);
  int taken = take(events_set_.wait(may_sleep ? deadline : Clock::time_point{}));
  // The time before the wait, not after: a clock read saved per sleep, and a stale mark only
  // makes progress() look at epoll once more, a millisecond early. Untimed, it stays stale.
  if (!untimed) last_look_ = now;
  for (Peer* p : polled_) p->polled()->end_sleep();
  // What arrived on a ring without a doorbell (we said we slept only from the arming on).
  poll_rings();
  // Besides each full tick: a server taking many new connections parks the ones that went
  // quiet within a few dozen sleeps, not a second later.
  if (++sleeps_ % kSleepsPerParking == 0 && !polled_.empty()) park_still_rings();
  return taken;
}

void Engine::park_still_rings() {
  std::size_t kept = 0;
  for (Peer* p : polled_) {
    // A queued one may park too: its read finds the ring empty, and its doorbell stays armed.
    if (!p->paused && p->link->established() && p->polled()->park()) {
      p->parked = true;
      continue;
    }
    polled_[kept++] = p;
  }
  polled_.resize(kept);
}

void Engine::unpark(Peer& peer) {
  peer.parked = false;
  polled_.push_back(&peer);
  peer.polled()->end_sleep();
}

bool Engine::arm_polled() {
  bool sleep = true;
  for (Peer* p : polled_) {
    if (!p->paused) sleep &= p->polled()->prepare_sleep();
  }
  return sleep;
}

void Engine::arm_for_outside_wait() {
  if (!arm_polled()) wake();
}

void Engine::disarm() {
  for (Peer* p : polled_) p->polled()->end_sleep();
}

}  // namespace ipcx::engine
