// PollSet (transport layer): one pollable descriptor for a link that has several, as the
// reactor waits on one fd per link. An epoll fd of its own holds the descriptors to read (and
// a peer's pidfd) always, and the one to write only while a write would block: a pipe or queue
// with room is writable nearly always, and a level-triggered writable fd would keep the owner
// awake.
#pragma once

#include <sys/epoll.h>

#include <cerrno>
#include <initializer_list>
#include <optional>
#include <string>

#include "core/fd.hpp"
#include "transport/faults.hpp"

namespace ipcx::transport {

class PollSet {
 public:
  // nullopt with *why set when the epoll fd cannot be made.
  static std::optional<PollSet> make(std::initializer_list<int> read_fds, int write_fd,
                                     std::string& why) noexcept {
    Fd epoll(sys::epoll_create());
    bool ok = epoll.valid();
    for (int fd : read_fds) {
      epoll_event readable{};
      readable.events = EPOLLIN;
      ok = ok && sys::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &readable) == 0;
    }
    epoll_event nothing{};
    ok = ok && sys::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, write_fd, &nothing) == 0;
    if (!ok) {
      why = describe_errno("epoll", errno);
      return std::nullopt;
    }
    return PollSet(std::move(epoll), write_fd);
  }

  int fd() const noexcept { return epoll_.get(); }
  void close() noexcept { epoll_.reset(); }

  // Another descriptor to read, known only later (a peer's pidfd).
  bool add_readable(int fd) noexcept {
    epoll_event readable{};
    readable.events = EPOLLIN;
    return sys::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &readable) == 0;
  }

  // Call after each write: on with would-block, off otherwise (no syscall when unchanged).
  void watch_writable(bool on) noexcept {
    if (watching_ == on) return;
    epoll_event ev{};
    ev.events = on ? EPOLLOUT : 0u;
    if (sys::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, write_fd_, &ev) == 0) watching_ = on;
  }

 private:
  PollSet(Fd epoll, int write_fd) noexcept : epoll_(std::move(epoll)), write_fd_(write_fd) {}
  Fd epoll_;
  int write_fd_;
  bool watching_ = false;
};

}  // namespace ipcx::transport
