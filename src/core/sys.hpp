// The syscall seam (core layer): every syscall ipcx makes passes through here, so tests can
// inject EMFILE, ENOMEM, EINTR or short transfers without touching the kernel. Same contract as
// the libc call it wraps (-1 and errno on failure), except that EINTR is retried inside.
#pragma once

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>

struct mq_attr;

namespace ipcx::sys {

enum class Call : std::uint8_t {
  socket,
  bind,
  listen,
  accept,
  connect,
  read,
  write,
  send,
  recv,
  poll,
  epoll_create,
  epoll_ctl,
  epoll_wait,
  eventfd,
  timerfd,
  setsockopt,
  getsockopt,
  unlink,
  chmod,
  fcntl,
  sendmsg,
  recvmsg,
  memfd,
  ftruncate,
  mmap,
  open,
  mkfifo,
  mq_open,
  mq_send,
  mq_receive,
  sendto,
  pidfd,
  membarrier
};

// Consulted before each call: returns 0 to let it proceed, or an errno value to fail it with.
// For read/write/send/recv it may lower *length to force a short transfer. Installed from a
// test; one global hook, read with acquire ordering, so installing is thread-safe.
using Injector = int (*)(Call call, std::size_t* length);
void set_injector(Injector injector) noexcept;

int socket(int domain, int type, int protocol) noexcept;
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept;
int listen(int fd, int backlog) noexcept;
int accept(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept;
int connect(int fd, const sockaddr* addr, socklen_t len) noexcept;
namespace detail {
// The installed injector, or null (the usual case), read inline by the hot calls below.
extern std::atomic<Injector> g_injector;
inline bool injecting() noexcept { return g_injector.load(std::memory_order_acquire) != nullptr; }
// Retries a call interrupted by a signal.
template <class F>
auto retry_eintr(F&& f) noexcept {
  for (;;) {
    auto r = f();
    if (r >= 0 || errno != EINTR) return r;
  }
}
ssize_t read_injectable(int fd, void* buf, std::size_t len) noexcept;
ssize_t write_injectable(int fd, const void* buf, std::size_t len) noexcept;
ssize_t send_injectable(int fd, const void* buf, std::size_t len, int flags) noexcept;
ssize_t recv_injectable(int fd, void* buf, std::size_t len, int flags) noexcept;
int epoll_wait_injectable(int epfd, epoll_event* events, int max, int timeout_ms) noexcept;
}  // namespace detail

// The calls on every message's path are inline: without an injector they cost the libc call
// and an EINTR check, not a wrapper's call as well.
inline ssize_t read(int fd, void* buf, std::size_t len) noexcept {
  if (detail::injecting()) return detail::read_injectable(fd, buf, len);
  return detail::retry_eintr([&] { return ::read(fd, buf, len); });
}
inline ssize_t write(int fd, const void* buf, std::size_t len) noexcept {
  if (detail::injecting()) return detail::write_injectable(fd, buf, len);
  return detail::retry_eintr([&] { return ::write(fd, buf, len); });
}
// write() with RWF_NOSIGNAL (pwritev2, Linux 6.16 and later): EPIPE without SIGPIPE on a pipe
// whose reader left. EOPNOTSUPP where the kernel lacks the flag. Injected as Call::write.
ssize_t write_nosignal(int fd, const void* buf, std::size_t len) noexcept;
inline ssize_t send(int fd, const void* buf, std::size_t len, int flags) noexcept {
  if (detail::injecting()) return detail::send_injectable(fd, buf, len, flags);
  return detail::retry_eintr([&] { return ::send(fd, buf, len, flags); });
}
inline ssize_t recv(int fd, void* buf, std::size_t len, int flags) noexcept {
  if (detail::injecting()) return detail::recv_injectable(fd, buf, len, flags);
  return detail::retry_eintr([&] { return ::recv(fd, buf, len, flags); });
}
int poll(pollfd* fds, nfds_t count, int timeout_ms) noexcept;  // EINTR is returned as 0 ready
int epoll_create() noexcept;                                   // close-on-exec
int epoll_ctl(int epfd, int op, int fd, epoll_event* event) noexcept;
// EINTR is returned as 0 ready.
inline int epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms) noexcept {
  if (detail::injecting()) return detail::epoll_wait_injectable(epfd, events, max, timeout_ms);
  int r = ::epoll_wait(epfd, events, max, timeout_ms);
  return (r < 0 && errno == EINTR) ? 0 : r;
}
int eventfd(unsigned initial, int flags) noexcept;
int timerfd_create() noexcept;  // CLOCK_MONOTONIC, non-blocking, close-on-exec
// Arms (or, with 0, disarms) the timer to fire at an absolute CLOCK_MONOTONIC time in ns.
int timerfd_arm(int fd, std::int64_t when_ns) noexcept;
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept;
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept;
ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept;
ssize_t recvmsg(int fd, msghdr* msg, int flags) noexcept;
// Messages taken, or -1 with errno (injected as Call::recvmsg).
int recvmmsg(int fd, mmsghdr* msgs, unsigned count, int flags) noexcept;
int memfd_create(const char* name, unsigned flags) noexcept;
int ftruncate(int fd, off_t length) noexcept;
int fcntl(int fd, int command, int arg) noexcept;
// MAP_SHARED at offset 0; MAP_FAILED (with errno) on failure, as mmap. `populate`: every page
// resident at once (MAP_POPULATE), so that nothing faults on first use; memory that may be used
// sparingly (a link's rings) is mapped without and backed where it is written.
void* mmap(std::size_t length, int prot, int fd, bool populate = true) noexcept;
int munmap(void* address, std::size_t length) noexcept;
int unlink(const char* path) noexcept;
// Adds O_CLOEXEC.
int open(const char* path, int flags) noexcept;
int mkfifo(const char* path, unsigned mode) noexcept;
// POSIX message queues; Linux's mqd_t is a descriptor. mq_open adds O_CLOEXEC; attr may be null.
int mq_open(const char* name, int flags, unsigned mode, const struct mq_attr* attr) noexcept;
int mq_send(int queue, const void* data, std::size_t length) noexcept;
ssize_t mq_receive(int queue, void* data, std::size_t capacity) noexcept;
ssize_t sendto(int fd, const void* data, std::size_t length, int flags, const sockaddr* to,
               socklen_t to_length) noexcept;
// A descriptor of process `pid`, readable once it exits (close-on-exec); and a signal sent
// through one, which cannot reach a process that reused the pid.
int pidfd_open(int pid) noexcept;
int pidfd_send_signal(int pidfd, int sig) noexcept;
// membarrier(2): one command (MEMBARRIER_CMD_*), flags 0.
int membarrier(int command) noexcept;
int chmod(const char* path, unsigned mode) noexcept;
int fchmod(int fd, unsigned mode) noexcept;
int close(int fd) noexcept;

}  // namespace ipcx::sys
