// ServerCore's loop (pattern layer): running, spinning and sleeping (with shm links armed
// before every sleep), handshake and heartbeat ticks, and the graceful shutdown.
#include <sched.h>
#include <sys/epoll.h>

#include <algorithm>

#include "core/spin.hpp"
#include "pattern/req_rep/server_core.hpp"

namespace ipcx::detail {

using transport::Io;
using Clock = std::chrono::steady_clock;

void ServerCore::schedule_tick() {
  if (tick_scheduled || closed) return;
  auto period = options.handshake_timeout;
  if (options.heartbeat.count() > 0) period = std::min(period, options.heartbeat);
  period = std::clamp(period / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  tick_scheduled = true;
  reactor.add_timer(Clock::now() + period, [this] {
    tick_scheduled = false;
    tick();
  });
}

void ServerCore::tick() {
  auto now = Clock::now();
  std::vector<std::uint64_t> expired;
  for (auto& [id, conn] : connections) {
    if (conn.closed) continue;
    auto r = conn.link->tick(now);
    if (r.status == Io::error) {
      expired.push_back(id);
    } else if (conn.link->wants_write()) {
      mark_dirty(id, conn);
    }
  }
  for (std::uint64_t id : expired) {
    auto it = connections.find(id);
    if (it != connections.end()) close_connection(id, true, it->second.link->fault());
  }
  if (connections.size() > graveyard.size()) schedule_tick();
}

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
    // While spinning on shm rings alone, epoll (new connections, stream links) is consulted
    // every 32nd poll only: a syscall per poll would cost more than the ring round trip.
    bool check_epoll = !spinning || hooked.empty() || (++spins & 31) == 0;
    bool worked = turn(spinning, check_epoll);
    if (!may_spin) continue;
    if (worked) {
      last_work = Clock::now();
    } else if (spinning) {
      (hooked.empty() ? stream_pause : shm_pause)();
    }
  }
  shutdown();
}

bool ServerCore::turn(bool spinning, bool check_epoll, std::chrono::milliseconds wait) {
  auto before = counters.requests.load(std::memory_order_relaxed);
  int ran = 0;
  if (spinning) {
    // Peers ring no doorbell for a server that has not said it sleeps: look at their rings.
    poll_hooked();
    if (check_epoll) ran = reactor.run_once(std::chrono::milliseconds(0));
  } else {
    // Arm every shm link before sleeping, or its peer would not ring us awake.
    bool armed = !hooked.empty() && wait.count() != 0;
    if (armed && !prepare_sleep()) wait = std::chrono::milliseconds(0);
    ran = reactor.run_once(wait);
    if (armed) end_sleep();
    poll_hooked();  // whatever arrived on an shm ring without a doorbell
  }
  // Checked here: a spinning turn usually has neither, and the calls alone cost more than
  // the ring check.
  if (!dirty.empty()) flush_dirty();
  if (!graveyard.empty()) reap();
  return ran > 0 || counters.requests.load(std::memory_order_relaxed) != before;
}

void ServerCore::poll_hooked() {
  // By index: serving a link may close it, which swaps the last entry into its place (that one
  // then waits for the next poll).
  for (std::size_t i = 0; i < hooked.size(); ++i) {
    auto [id, conn] = hooked[i];
    if (!conn->closed && conn->link->quiet()) continue;
    // Writable only with something to write: the flush before the read would sit between a
    // request's arrival and its handler.
    serve(id, *conn, conn->link->wants_write() ? EPOLLIN | EPOLLOUT : EPOLLIN);
  }
}

bool ServerCore::prepare_sleep() {
  bool sleep = true;
  for (auto& [id, conn] : hooked) sleep &= conn->link->prepare_sleep();
  return sleep;
}

void ServerCore::end_sleep() {
  for (auto& [id, conn] : hooked) conn->link->end_sleep();
}

Result<void> ServerCore::run_once(std::chrono::milliseconds wait) {
  if (closed) return unexpected(Errc::cancelled);
  loop_thread = std::this_thread::get_id();
  if (stop_requested) {
    shutdown();
    return unexpected(Errc::cancelled);
  }
  end_sleep();  // the caller may have slept on fd() since the last turn
  turn(false, true, wait);
  // The caller sleeps on fd() until the next turn: ask shm peers to ring. If something
  // arrived meanwhile, wake fd() so that sleep ends at once.
  if (!hooked.empty() && !prepare_sleep()) reactor.wake();
  return {};
}

void ServerCore::request_stop() noexcept {
  stop_requested = true;
  reactor.wake();
}

void ServerCore::shutdown() {
  if (closed) return;
  loop_thread = std::this_thread::get_id();
  for (auto& l : listeners) {
    reactor.remove(l->fd());
    l->close();
  }
  // Answer what handlers and Responders still owe, for at most the grace period.
  auto deadline = Clock::now() + options.stop_grace;
  while (outstanding > 0 && Clock::now() < deadline) {
    reactor.run_once(std::chrono::milliseconds(5));
    flush_dirty();
    reap();
  }
  closed = true;
  if (pool) pool->stop();
  reactor.run_once(std::chrono::milliseconds(0));
  flush_dirty();
  for (auto& entry : connections) close_connection(entry.first, false, "stopped");
  reap();
  listeners.clear();
  // The handler's captures may hold Responders, which hold this core: break that cycle.
  auto released = std::move(handler);
  handler = nullptr;
}

}  // namespace ipcx::detail
