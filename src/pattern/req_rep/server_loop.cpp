// ServerCore's loop (pattern layer): running, spinning and sleeping (the engine arms polled
// rings before every sleep), serving a user's own event loop (run_once), and the graceful
// shutdown.
#include <algorithm>

#include "core/spin.hpp"
#include "pattern/req_rep/server_core.hpp"

namespace ipcx::detail {

using Clock = std::chrono::steady_clock;

void ServerCore::run() {
  loop_thread = std::this_thread::get_id();
  bool may_spin = options.spin.count() > 0;
  auto last_work = Clock::now();
  SpinPause stream_pause(1);
  SpinPause shm_pause(kShmYieldEvery);
  unsigned spins = 0;
  bool spinning = false;
  while (!stop_requested) {
    // While spinning, the clock is read every 16th poll: it costs more than polling a ring.
    if (!spinning || (spins & 15) == 0) {
      spinning = may_spin && Clock::now() - last_work < options.spin;
    }
    // While spinning on rings, epoll is consulted every 32nd poll only when it can bring
    // nothing but new connections: a syscall per poll would cost more than the ring round
    // trip. With peers that only epoll reports (sockets, parked rings), every 4th, right
    // after the yield: on a shared CPU their requests come in while we yield (decision 0018).
    static_assert((kShmYieldEvery & (kShmYieldEvery - 1)) == 0, "a mask below needs 2^n");
    unsigned every = engine.any_signalled() ? kShmYieldEvery : 32;
    bool check_epoll = !spinning || !engine.any_polled() || (++spins & (every - 1)) == 0;
    bool worked = turn(spinning, check_epoll);
    if (!may_spin) continue;
    if (worked) {
      last_work = Clock::now();
    } else if (spinning) {
      (engine.any_polled() ? shm_pause : stream_pause)();
    }
  }
  shutdown();
}

bool ServerCore::turn(bool spinning, bool check_epoll, std::chrono::milliseconds wait) {
  auto before = counters.requests.load(std::memory_order_relaxed);
  int events = 0;
  if (spinning) {
    // Peers ring no doorbell for a server that has not said it sleeps: look at their rings.
    engine.poll_rings();
    if (check_epoll) events = engine.look();
  } else {
    events = engine.sleep(wait.count() < 0 ? Clock::time_point::max() : Clock::now() + wait);
  }
  engine.progress();
  for (;;) {
    // Envelopes are read straight into the PendingReply the request will have.
    if (!inbox.pending_) inbox.pending_ = std::make_unique<PendingReply>();
    engine::Peer* peer = engine.next_message(inbox.body_, &inbox.pending_->envelope);
    if (peer == nullptr) break;
    dispatch(*peer);
    // A peer that does not read its replies is not read either, until half have drained. Its
    // link holds bytes only while replies wait for the turn's end (dirty) or for room (EPOLLOUT).
    if ((peer->dirty || (peer->interest & EPOLLOUT) != 0) && peer->link &&
        peer->link->queued_bytes() >= options.max_queued_bytes) {
      engine.pause(*peer, true);
    }
  }
  engine.flush_dirty();
  engine.reap();
  return events > 0 || counters.requests.load(std::memory_order_relaxed) != before;
}

Result<void> ServerCore::run_once(std::chrono::milliseconds wait) {
  if (closed) return unexpected(Errc::cancelled);
  loop_thread = std::this_thread::get_id();
  if (stop_requested) {
    shutdown();
    return unexpected(Errc::cancelled);
  }
  if (armed_outside) engine.disarm();  // the caller may have slept on fd() since the last turn
  turn(false, true, wait);
  // The caller sleeps on fd() until the next turn: ask rings' peers to ring it, and wake it at
  // once if something arrived meanwhile.
  engine.arm_for_outside_wait();
  armed_outside = true;
  return {};
}

void ServerCore::request_stop() noexcept {
  stop_requested = true;
  engine.wake();
}

void ServerCore::shutdown() {
  if (closed) return;
  loop_thread = std::this_thread::get_id();
  if (armed_outside) engine.disarm();
  engine.stop_listening();
  // Answer what handlers and Responders still owe, for at most the grace period.
  auto deadline = Clock::now() + options.stop_grace;
  while (outstanding > 0 && Clock::now() < deadline)
    turn(false, true, std::chrono::milliseconds(5));
  closed = true;
  if (pool) pool->stop();
  turn(false, true, std::chrono::milliseconds(0));
  for (auto& peer : engine.peers()) engine.close(*peer, false, "stopped");
  engine.reap();
  // The handler's captures may hold Responders, which hold this core: break that cycle.
  auto released = std::move(handler);
  handler = nullptr;
}

}  // namespace ipcx::detail
