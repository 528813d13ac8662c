// Reactor (core layer): epoll dispatch, an ordered timer map, and an eventfd for wake-ups.
#include "core/reactor.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "core/errno_map.hpp"

namespace ipcx {

namespace {
constexpr std::uint64_t kWakeId = 0;
constexpr std::uint64_t kTimerId = 1;
}  // namespace

Reactor::Reactor()
    : epoll_(sys::epoll_create()),
      wake_fd_(sys::eventfd(0, EFD_NONBLOCK)),
      timer_fd_(sys::timerfd_create()) {
  if (!epoll_ || !wake_fd_ || !timer_fd_) {
    throw Error(errc_from_errno(errno), "", "cannot create the event loop (epoll/eventfd/timerfd)");
  }
  for (auto [fd, id] : {std::pair{wake_fd_.get(), kWakeId}, std::pair{timer_fd_.get(), kTimerId}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    if (sys::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      throw Error(errc_from_errno(errno), "", "cannot watch the reactor's own descriptors");
    }
  }
  events_.resize(64);
}

void Reactor::arm_timerfd() {
  Clock::time_point earliest = timers_.empty() ? Clock::time_point{} : timers_.begin()->first.first;
  if (earliest == armed_) return;
  armed_ = earliest;
  // steady_clock is CLOCK_MONOTONIC on Linux, so its epoch is the timerfd's.
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(earliest.time_since_epoch());
  sys::timerfd_arm(timer_fd_.get(), timers_.empty() ? 0 : std::max<std::int64_t>(ns.count(), 1));
}

Result<void> Reactor::add(int fd, std::uint32_t events, IoCallback callback) {
  std::uint64_t id = next_id_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (sys::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return unexpected(errc_from_errno(errno));
  }
  entries_.emplace(id, Entry{fd, std::move(callback)});
  by_fd_[fd] = id;
  return {};
}

Result<void> Reactor::modify(int fd, std::uint32_t events) noexcept {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return unexpected(Errc::io_error);
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = it->second;
  if (sys::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) {
    return unexpected(errc_from_errno(errno));
  }
  return {};
}

void Reactor::remove(int fd) noexcept {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return;
  sys::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  if (dispatching_) {
    // The callback being run may be this one: keep its node until the batch is over.
    auto entry = entries_.find(it->second);
    if (entry != entries_.end()) entry->second.fd = -1;
    removed_.push_back(it->second);
  } else {
    entries_.erase(it->second);
  }
  by_fd_.erase(it);
}

Reactor::TimerId Reactor::add_timer(Clock::time_point when, Task task) {
  TimerId id = next_id_++;
  timers_.emplace(std::make_pair(when, id), std::move(task));
  timer_when_.emplace(id, when);
  arm_timerfd();
  return id;
}

void Reactor::cancel_timer(TimerId id) noexcept {
  auto it = timer_when_.find(id);
  if (it == timer_when_.end()) return;
  timers_.erase({it->second, id});
  timer_when_.erase(it);
  arm_timerfd();
}

void Reactor::wake() noexcept {
  std::uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: a wake-up is pending anyway.
  [[maybe_unused]] auto n = sys::write(wake_fd_.get(), &one, sizeof one);
}

void Reactor::post(Task task) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(task));
  }
  wake();
}

int Reactor::run_once(std::chrono::milliseconds wait) {
  int timeout = wait.count() < 0 ? -1 : static_cast<int>(std::min<long>(wait.count(), 1 << 30));
  int ready =
      sys::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), timeout);
  int ran = 0;
  bool timers_due = false;
  bool woken = false;
  dispatching_ = true;
  for (int i = 0; i < ready; ++i) {
    std::uint64_t id = events_[i].data.u64;
    if (id == kWakeId || id == kTimerId) {
      std::uint64_t count;
      [[maybe_unused]] auto n =
          sys::read(id == kWakeId ? wake_fd_.get() : timer_fd_.get(), &count, sizeof count);
      timers_due |= id == kTimerId;
      woken |= id == kWakeId;
      continue;
    }
    // An earlier callback in this batch may have removed this one.
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.fd < 0) continue;
    it->second.callback(events_[i].events);
    ++ran;
  }
  dispatching_ = false;
  for (std::uint64_t id : removed_) entries_.erase(id);
  removed_.clear();
  if (timers_due) ran += run_timers();
  // post() pushes before it wakes, so a task is never missed; without a wake-up there is
  // nothing posted, and the mutex stays off the hot path.
  return woken ? ran + run_posted() : ran;
}

int Reactor::run_timers() {
  int ran = 0;
  auto now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_when_.erase(node.key().second);
    node.mapped()();
    ++ran;
  }
  armed_ = {};  // the timerfd fired: whatever is earliest now must be armed again
  arm_timerfd();
  return ran;
}

int Reactor::run_posted() {
  std::vector<Task> tasks;
  {
    std::lock_guard lock(posted_mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
  return static_cast<int>(tasks.size());
}

}  // namespace ipcx
