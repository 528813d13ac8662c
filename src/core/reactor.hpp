// Reactor (core layer): one epoll set with timers and a cross-thread wake-up, the single event
// loop every Server runs. Level-triggered. Timers live on a timerfd in the set, re-armed only
// when the earliest deadline changes, so waiting for I/O never arms a kernel timer per call
// (measurable on VMs). Not thread-safe except wake() and post().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/fd.hpp"
#include "ipcx/result.hpp"

namespace ipcx {

class Reactor {
 public:
  using Clock = std::chrono::steady_clock;
  using IoCallback = std::function<void(std::uint32_t events)>;
  using Task = std::function<void()>;
  using TimerId = std::uint64_t;

  // Throws ipcx::Error(resource_exhausted) when the kernel refuses an epoll fd or eventfd.
  Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // The epoll fd: readable whenever run_once() has something to do (including posted tasks).
  int fd() const noexcept { return epoll_.get(); }

  // Watches fd for `events` (EPOLLIN, EPOLLOUT...). The callback may add, modify or remove any
  // registration, its own included. Errors: resource_exhausted, io_error.
  Result<void> add(int fd, std::uint32_t events, IoCallback callback);
  Result<void> modify(int fd, std::uint32_t events) noexcept;
  void remove(int fd) noexcept;  // no callback for fd runs after this returns

  TimerId add_timer(Clock::time_point when, Task task);
  void cancel_timer(TimerId id) noexcept;

  // Waits at most `wait` (less when a timer is due earlier), then runs ready callbacks, due
  // timers and posted tasks. Returns how many ran. wait < 0 waits without limit.
  int run_once(std::chrono::milliseconds wait);

  // Thread-safe: makes a concurrent or the next run_once() return promptly.
  void wake() noexcept;
  // Thread-safe: runs task on the loop thread during a later run_once().
  void post(Task task);

 private:
  struct Entry {
    int fd;  // -1 once removed during a dispatch batch
    IoCallback callback;
  };
  int run_timers();
  int run_posted();
  void arm_timerfd();

  Fd epoll_;
  Fd wake_fd_;
  Fd timer_fd_;
  Clock::time_point armed_{};  // what timer_fd_ is set to; {} when disarmed
  std::uint64_t next_id_ = 2;  // 0 is the wake-up eventfd, 1 the timerfd
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::unordered_map<int, std::uint64_t> by_fd_;
  bool dispatching_ = false;
  std::vector<std::uint64_t> removed_;  // entries removed mid-batch, erased after it
  std::map<std::pair<Clock::time_point, TimerId>, Task> timers_;
  std::unordered_map<TimerId, Clock::time_point> timer_when_;
  std::mutex posted_mutex_;
  std::vector<Task> posted_;
  std::vector<epoll_event> events_;
};

}  // namespace ipcx
