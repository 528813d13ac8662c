// The syscall seam (core layer): thin forwarding with fault injection and EINTR retries.
#include "core/sys.hpp"

#include <fcntl.h>
#include <mqueue.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace ipcx::sys {

std::atomic<Injector> detail::g_injector{nullptr};

namespace {

using detail::g_injector;
using detail::retry_eintr;

// Returns true when the injector failed the call (errno set).
bool injected(Call call, std::size_t* length = nullptr) noexcept {
  Injector hook = g_injector.load(std::memory_order_acquire);
  if (hook == nullptr) return false;
  std::size_t ignored = 0;
  int err = hook(call, length ? length : &ignored);
  if (err == 0) return false;
  errno = err;
  return true;
}

}  // namespace

void set_injector(Injector injector) noexcept {
  g_injector.store(injector, std::memory_order_release);
}

int socket(int domain, int type, int protocol) noexcept {
  if (injected(Call::socket)) return -1;
  return ::socket(domain, type | SOCK_CLOEXEC, protocol);
}
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  if (injected(Call::bind)) return -1;
  return ::bind(fd, addr, len);
}
int listen(int fd, int backlog) noexcept {
  if (injected(Call::listen)) return -1;
  return ::listen(fd, backlog);
}
int accept(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept {
  return retry_eintr([&] { return injected(Call::accept) ? -1 : ::accept4(fd, addr, len, flags); });
}
int connect(int fd, const sockaddr* addr, socklen_t len) noexcept {
  // A connect interrupted by a signal continues in the background; retrying would give
  // EALREADY, so EINTR is reported as "in progress" instead.
  if (injected(Call::connect)) return -1;
  int r = ::connect(fd, addr, len);
  if (r < 0 && errno == EINTR) errno = EINPROGRESS;
  return r;
}
ssize_t detail::read_injectable(int fd, void* buf, std::size_t len) noexcept {
  return retry_eintr([&] { return injected(Call::read, &len) ? -1 : ::read(fd, buf, len); });
}
ssize_t detail::write_injectable(int fd, const void* buf, std::size_t len) noexcept {
  return retry_eintr([&] { return injected(Call::write, &len) ? -1 : ::write(fd, buf, len); });
}
ssize_t write_nosignal(int fd, const void* buf, std::size_t len) noexcept {
  constexpr int kNoSignal = 0x00000100;  // RWF_NOSIGNAL; Debian 12's headers predate it
  return retry_eintr([&] {
    if (injected(Call::write, &len)) return ssize_t{-1};
    iovec v{const_cast<void*>(buf), len};
    return ::pwritev2(fd, &v, 1, -1, kNoSignal);
  });
}
ssize_t detail::send_injectable(int fd, const void* buf, std::size_t len, int flags) noexcept {
  return retry_eintr([&] { return injected(Call::send, &len) ? -1 : ::send(fd, buf, len, flags); });
}
ssize_t detail::recv_injectable(int fd, void* buf, std::size_t len, int flags) noexcept {
  return retry_eintr([&] { return injected(Call::recv, &len) ? -1 : ::recv(fd, buf, len, flags); });
}
int poll(pollfd* fds, nfds_t count, int timeout_ms) noexcept {
  if (injected(Call::poll)) return -1;
  int r = ::poll(fds, count, timeout_ms);
  return (r < 0 && errno == EINTR) ? 0 : r;
}
int epoll_create() noexcept {
  if (injected(Call::epoll_create)) return -1;
  return ::epoll_create1(EPOLL_CLOEXEC);
}
int epoll_ctl(int epfd, int op, int fd, epoll_event* event) noexcept {
  if (injected(Call::epoll_ctl)) return -1;
  return ::epoll_ctl(epfd, op, fd, event);
}
int detail::epoll_wait_injectable(int epfd, epoll_event* events, int max, int timeout_ms) noexcept {
  if (injected(Call::epoll_wait)) return -1;
  int r = ::epoll_wait(epfd, events, max, timeout_ms);
  return (r < 0 && errno == EINTR) ? 0 : r;
}
int eventfd(unsigned initial, int flags) noexcept {
  if (injected(Call::eventfd)) return -1;
  return ::eventfd(initial, flags | EFD_CLOEXEC);
}
int timerfd_create() noexcept {
  if (injected(Call::timerfd)) return -1;
  return ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
}
int timerfd_arm(int fd, std::int64_t when_ns) noexcept {
  if (injected(Call::timerfd)) return -1;
  itimerspec spec{};
  // A zero it_value disarms; an armed deadline in the past fires at once.
  if (when_ns > 0) {
    spec.it_value.tv_sec = when_ns / 1000000000;
    spec.it_value.tv_nsec = when_ns % 1000000000;
  }
  return ::timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, nullptr);
}
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
  if (injected(Call::setsockopt)) return -1;
  return ::setsockopt(fd, level, name, value, len);
}
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept {
  if (injected(Call::getsockopt)) return -1;
  return ::getsockopt(fd, level, name, value, len);
}
ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  return retry_eintr([&] { return injected(Call::sendmsg) ? -1 : ::sendmsg(fd, msg, flags); });
}
ssize_t recvmsg(int fd, msghdr* msg, int flags) noexcept {
  return retry_eintr([&] { return injected(Call::recvmsg) ? -1 : ::recvmsg(fd, msg, flags); });
}
int recvmmsg(int fd, mmsghdr* msgs, unsigned count, int flags) noexcept {
  return retry_eintr(
      [&] { return injected(Call::recvmsg) ? -1 : ::recvmmsg(fd, msgs, count, flags, nullptr); });
}
int membarrier(int command) noexcept {
  if (injected(Call::membarrier)) return -1;
  return static_cast<int>(::syscall(SYS_membarrier, command, 0u, 0));
}
int memfd_create(const char* name, unsigned flags) noexcept {
  if (injected(Call::memfd)) return -1;
  return ::memfd_create(name, flags);
}
int ftruncate(int fd, off_t length) noexcept {
  return retry_eintr([&] { return injected(Call::ftruncate) ? -1 : ::ftruncate(fd, length); });
}
int open(const char* path, int flags) noexcept {
  return retry_eintr([&] { return injected(Call::open) ? -1 : ::open(path, flags | O_CLOEXEC); });
}
int mkfifo(const char* path, unsigned mode) noexcept {
  if (injected(Call::mkfifo)) return -1;
  return ::mkfifo(path, mode);
}
int mq_open(const char* name, int flags, unsigned mode, const struct mq_attr* attr) noexcept {
  if (injected(Call::mq_open)) return -1;
  return ::mq_open(name, flags | O_CLOEXEC, mode, const_cast<struct mq_attr*>(attr));
}
int mq_send(int queue, const void* data, std::size_t length) noexcept {
  return retry_eintr([&] {
    return injected(Call::mq_send) ? -1
                                   : ::mq_send(queue, static_cast<const char*>(data), length, 0);
  });
}
ssize_t mq_receive(int queue, void* data, std::size_t capacity) noexcept {
  return retry_eintr([&] {
    return injected(Call::mq_receive)
               ? -1
               : ::mq_receive(queue, static_cast<char*>(data), capacity, nullptr);
  });
}
ssize_t sendto(int fd, const void* data, std::size_t length, int flags, const sockaddr* to,
               socklen_t to_length) noexcept {
  return retry_eintr([&] {
    return injected(Call::sendto, &length) ? -1 : ::sendto(fd, data, length, flags, to, to_length);
  });
}
// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks C linkage for C++ callers.
int pidfd_open(int pid) noexcept {
  if (injected(Call::pidfd)) return -1;
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}
int pidfd_send_signal(int pidfd, int sig) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}
int fcntl(int fd, int command, int arg) noexcept {
  if (injected(Call::fcntl)) return -1;
  return ::fcntl(fd, command, arg);
}
void* mmap(std::size_t length, int prot, int fd, bool populate) noexcept {
  if (injected(Call::mmap)) return MAP_FAILED;
  return ::mmap(nullptr, length, prot, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
}
int munmap(void* address, std::size_t length) noexcept { return ::munmap(address, length); }
int unlink(const char* path) noexcept {
  if (injected(Call::unlink)) return -1;
  return ::unlink(path);
}
int chmod(const char* path, unsigned mode) noexcept {
  if (injected(Call::chmod)) return -1;
  return ::chmod(path, mode);
}
int fchmod(int fd, unsigned mode) noexcept {
  if (injected(Call::chmod)) return -1;
  return ::fchmod(fd, mode);
}
int close(int fd) noexcept {
  // Linux releases the descriptor even when close reports EINTR, so it is never retried.
  return ::close(fd);
}

}  // namespace ipcx::sys
