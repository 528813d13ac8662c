// EventSet (core layer): the one epoll set a socket sleeps on, with a cross-thread wake-up, tasks
// posted from other threads, and an alarm. Registrations carry a pointer of the owner's, handed
// back with their readiness: no lookup per event. The alarm is a timerfd in the set, re-armed
// only when its time changes, so a periodic deadline costs no kernel timer per wait (epoll_wait
// with a timeout arms one every call, measurable on VMs). A set that has slept on its alarm only
// a few times (a Client that waits in its link's own read) has no timerfd yet and passes the
// alarm to epoll_wait instead: one descriptor less per Client. Level-triggered. Not
// thread-safe except wake() and post().
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "core/fd.hpp"
#include "core/sys.hpp"

namespace ipcx {

class EventSet {
 public:
  using Clock = std::chrono::steady_clock;
  using Task = std::function<void()>;

  // Throws ipcx::Error(resource_exhausted) when the kernel refuses an epoll fd or timerfd.
  // `cross_thread`: make the eventfd that wake() and post() need.
  explicit EventSet(bool cross_thread = false);
  EventSet(const EventSet&) = delete;
  EventSet& operator=(const EventSet&) = delete;

  // The epoll fd: readable whenever wait() would return something.
  int fd() const noexcept { return epoll_.get(); }

  // Watches fd for `events`; wait() hands `tag` back with its readiness. False (errno set)
  // when the kernel refuses.
  bool add(int fd, std::uint32_t events, void* tag) noexcept;
  bool modify(int fd, std::uint32_t events, void* tag) noexcept;
  void remove(int fd) noexcept;  // not reported by any later wait()

  // The alarm: wait() returns by then (time_point::max: disarmed). A syscall only on change.
  void set_alarm(Clock::time_point when) noexcept {
    if (when != alarm_) arm(when);
  }
  Clock::time_point alarm() const noexcept { return alarm_; }

  // Waits until something is ready or `deadline` (time_point{}: do not sleep; max: no limit),
  // and returns what is ready; the alarm's and the wake-up's own events are consumed here, and
  // posted tasks are left for run_posted(). The span lives until the next wait().
  // Inline: it runs once per sleep of every socket; only its rare parts are calls.
  std::span<const epoll_event> wait(Clock::time_point deadline) noexcept {
    int timeout = 0;
    bool alarm_by_timeout = !timer_fd_ && alarm_ != Clock::time_point::max();
    if (deadline != Clock::time_point{}) {
      // A deadline at or past the alarm needs no timer of its own: the alarm wakes us.
      if (alarm_by_timeout && deadline >= alarm_) {
        timeout = timeout_until(alarm_);
      } else {
        timeout = deadline >= alarm_ || deadline == Clock::time_point::max()
                      ? -1
                      : timeout_until(deadline);
      }
    }
    int n =
        sys::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), timeout);
    if (alarm_by_timeout) after_alarm_timeout();
    woken_ = false;
    for (int i = 0; i < n; ++i) {
      if (is_own(events_[i].data.ptr)) return take_own(n);
    }
    return {events_.data(), static_cast<std::size_t>(n > 0 ? n : 0)};
  }
  // Whether the last wait() was woken by wake() or post().
  bool woken() const noexcept { return woken_; }

  // Thread-safe: makes a concurrent or the next wait() return promptly.
  void wake() noexcept;
  // Thread-safe: `task` runs on the owner's thread in a later run_posted().
  void post(Task task);
  // Runs the tasks posted so far; how many ran.
  int run_posted();

 private:
  void arm(Clock::time_point when) noexcept;
  // Without a timerfd, after a wait the alarm bounded: disarms the alarm once its time has come,
  // as the timerfd firing would, and takes a timerfd once such waits are frequent.
  void after_alarm_timeout() noexcept;
  // Milliseconds from now until `deadline`, for epoll_wait.
  int timeout_until(Clock::time_point deadline) const noexcept;
  // Tags of the set's own descriptors; owners' tags are their own pointers, never these.
  // One comparison: the two tags are the two bytes of own_tags_.
  bool is_own(const void* tag) const noexcept {
    return reinterpret_cast<std::uintptr_t>(tag) - reinterpret_cast<std::uintptr_t>(own_tags_) < 2;
  }
  const void* wake_tag() const noexcept { return &own_tags_[0]; }
  const void* timer_tag() const noexcept { return &own_tags_[1]; }
  // Consumes the set's own events among the first n (the alarm, wake-ups) and returns the rest.
  std::span<const epoll_event> take_own(int n) noexcept;

  std::byte own_tags_[2] = {};  // the wake-up's and the alarm's
  Fd epoll_;
  Fd wake_fd_;
  Fd timer_fd_;
  Clock::time_point alarm_ = Clock::time_point::max();
  unsigned alarm_timeouts_ = 0;  // waits the alarm bounded while there was no timerfd
  bool woken_ = false;
  std::vector<epoll_event> events_;
  std::mutex posted_mutex_;
  std::vector<Task> posted_;
};

}  // namespace ipcx
