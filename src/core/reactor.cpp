// Reactor (core layer): epoll dispatch, an ordered timer map, and an eventfd for wake-ups.
#include "core/reactor.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include "core/errno_map.hpp"

namespace ipcx {

Reactor::Reactor() : epoll_(sys::epoll_create()), wake_fd_(sys::eventfd(0, EFD_NONBLOCK)) {
  if (!epoll_ || !wake_fd_) {
    throw Error(errc_from_errno(errno), "", "cannot create the event loop (epoll/eventfd)");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  if (sys::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &ev) != 0) {
    throw Error(errc_from_errno(errno), "", "cannot watch the wake-up eventfd");
  }
  events_.resize(64);
}

Result<void> Reactor::add(int fd, std::uint32_t events, IoCallback callback) {
  std::uint64_t id = next_id_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (sys::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return unexpected(errc_from_errno(errno));
  }
  entries_.emplace(id, Entry{fd, std::make_shared<IoCallback>(std::move(callback))});
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
  entries_.erase(it->second);
  by_fd_.erase(it);
}

Reactor::TimerId Reactor::add_timer(Clock::time_point when, Task task) {
  TimerId id = next_id_++;
  timers_.emplace(std::make_pair(when, id), std::move(task));
  timer_when_.emplace(id, when);
  return id;
}

void Reactor::cancel_timer(TimerId id) noexcept {
  auto it = timer_when_.find(id);
  if (it == timer_when_.end()) return;
  timers_.erase({it->second, id});
  timer_when_.erase(it);
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

int Reactor::timeout_for(std::chrono::milliseconds wait) const {
  if (timers_.empty()) return wait.count() < 0 ? -1 : static_cast<int>(wait.count());
  auto due = timers_.begin()->first.first - Clock::now();
  auto due_ms = std::chrono::ceil<std::chrono::milliseconds>(due).count();
  if (due_ms < 0) due_ms = 0;
  if (wait.count() >= 0 && wait.count() < due_ms) due_ms = wait.count();
  return static_cast<int>(due_ms);
}

int Reactor::run_once(std::chrono::milliseconds wait) {
  int ready = sys::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()),
                              timeout_for(wait));
  int ran = 0;
  for (int i = 0; i < ready; ++i) {
    std::uint64_t id = events_[i].data.u64;
    if (id == 0) {
      std::uint64_t count;
      [[maybe_unused]] auto n = sys::read(wake_fd_.get(), &count, sizeof count);
      continue;
    }
    // An earlier callback in this batch may have removed this one.
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    auto callback = it->second.callback;  // keeps it alive if it removes itself
    (*callback)(events_[i].events);
    ++ran;
  }
  return ran + run_timers() + run_posted();
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
