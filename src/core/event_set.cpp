// EventSet (core layer): see event_set.hpp.
#include "core/event_set.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "core/errno_map.hpp"

namespace ipcx {
namespace {
// Waits bounded by the alarm before the set takes a timerfd for it: a set that keeps sleeping
// (an engine that serves) gets one within its first few dozen sleeps, and stops reading the
// clock twice per sleep.
constexpr unsigned kAlarmTimeoutsBeforeTimer = 16;
}  // namespace

EventSet::EventSet(bool cross_thread) : epoll_(sys::epoll_create()) {
  if (cross_thread) wake_fd_.reset(sys::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!epoll_ || (cross_thread && !wake_fd_) ||
      (cross_thread && !add(wake_fd_.get(), EPOLLIN, const_cast<void*>(wake_tag())))) {
    throw Error(errc_from_errno(errno), "", "cannot create an event set (epoll/eventfd)");
  }
  events_.resize(64);
}

bool EventSet::add(int fd, std::uint32_t events, void* tag) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = tag;
  return sys::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventSet::modify(int fd, std::uint32_t events, void* tag) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = tag;
  return sys::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventSet::remove(int fd) noexcept { sys::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

void EventSet::arm(Clock::time_point when) noexcept {
  alarm_ = when;
  if (!timer_fd_) return;  // epoll_wait's timeout carries it
  // steady_clock is CLOCK_MONOTONIC on Linux, so its epoch is the timerfd's.
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
  sys::timerfd_arm(timer_fd_.get(), when == Clock::time_point::max() ? 0 : std::max<long>(ns, 1));
}

void EventSet::after_alarm_timeout() noexcept {
  if (Clock::now() >= alarm_) alarm_ = Clock::time_point::max();
  if (++alarm_timeouts_ < kAlarmTimeoutsBeforeTimer) return;
  // Failing, the alarm simply stays with epoll_wait's timeout, and this is tried again as many
  // waits later.
  alarm_timeouts_ = 0;
  Fd timer(sys::timerfd_create());
  if (!timer || !add(timer.get(), EPOLLIN, const_cast<void*>(timer_tag()))) return;
  timer_fd_ = std::move(timer);
  if (alarm_ != Clock::time_point::max()) arm(alarm_);
}

int EventSet::timeout_until(Clock::time_point deadline) const noexcept {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long>(left, 0, 1 << 30));
}

std::span<const epoll_event> EventSet::take_own(int n) noexcept {
  int kept = 0;
  for (int i = 0; i < n; ++i) {
    void* tag = events_[i].data.ptr;
    if (is_own(tag)) {
      std::uint64_t count;
      [[maybe_unused]] auto r =
          sys::read(tag == wake_tag() ? wake_fd_.get() : timer_fd_.get(), &count, sizeof count);
      if (tag == wake_tag()) woken_ = true;
      if (tag == timer_tag()) alarm_ = Clock::time_point::max();  // fired: disarmed
      continue;
    }
    events_[kept++] = events_[i];
  }
  return {events_.data(), static_cast<std::size_t>(kept)};
}

void EventSet::wake() noexcept {
  std::uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: a wake-up is pending anyway.
  [[maybe_unused]] auto n = sys::write(wake_fd_.get(), &one, sizeof one);
}

void EventSet::post(Task task) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(task));
  }
  wake();
}

int EventSet::run_posted() {
  std::vector<Task> tasks;
  {
    std::lock_guard lock(posted_mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
  return static_cast<int>(tasks.size());
}

}  // namespace ipcx
