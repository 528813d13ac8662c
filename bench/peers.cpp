// Benchmark peers (bench): raw unix/tcp ping-pong with blocking syscalls, and ipcx Server/Client.
#include "peers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <ipcx/ipcx.hpp>
#include <vector>

namespace ipcx::bench {
namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  ::_exit(1);
}

void report(int fd, const std::string& url) {
  std::string line = url + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) die("report");
  ::close(fd);
}

bool full_io(int fd, char* buf, std::size_t size, bool reading) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = reading ? ::read(fd, buf + done, size - done)
                        : ::send(fd, buf + done, size - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Raw sockets: socket address from "unix:///path" or "tcp://127.0.0.1:PORT".
int raw_socket(const std::string& url, sockaddr_storage& addr, socklen_t& len) {
  std::memset(&addr, 0, sizeof addr);
  if (url.rfind("unix://", 0) == 0) {
    auto* un = reinterpret_cast<sockaddr_un*>(&addr);
    un->sun_family = AF_UNIX;
    std::string path = url.substr(7);
    std::memcpy(un->sun_path, path.c_str(), path.size() + 1);
    len = sizeof(sockaddr_un);
    return ::socket(AF_UNIX, SOCK_STREAM, 0);
  }
  auto* in = reinterpret_cast<sockaddr_in*>(&addr);
  in->sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &in->sin_addr);
  in->sin_port = htons(static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1))));
  len = sizeof(sockaddr_in);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

[[noreturn]] void raw_follower(const Target& t, const std::string& hint, int report_fd) {
  sockaddr_storage addr;
  socklen_t len;
  int lfd = raw_socket(hint, addr, len);
  int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(lfd, 1) != 0) {
    die("bind");
  }
  std::string url = hint;
  if (t.mechanism == "tcp") {
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
    url =
        "tcp://127.0.0.1:" + std::to_string(ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port));
  }
  report(report_fd, url);
  int fd = ::accept(lfd, nullptr, nullptr);
  if (t.mechanism == "tcp") ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // The first 8 bytes announce the message size.
  std::uint64_t size = 0;
  if (!full_io(fd, reinterpret_cast<char*>(&size), sizeof size, true)) ::_exit(0);
  std::vector<char> buf(size);
  if (t.mode == "evloop") {
    // The syscalls an event-loop server makes: epoll_wait, then non-blocking reads.
    int ep = ::epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    std::size_t got = 0;
    for (;;) {
      ::epoll_wait(ep, &ev, 1, -1);
      ssize_t n = ::recv(fd, buf.data() + got, size - got, MSG_DONTWAIT);
      if (n == 0) ::_exit(0);
      if (n > 0 && (got += static_cast<std::size_t>(n)) == size) {
        got = 0;
        if (!full_io(fd, buf.data(), size, false)) ::_exit(0);
      }
    }
  }
  while (full_io(fd, buf.data(), size, true) && full_io(fd, buf.data(), size, false)) {
  }
  ::_exit(0);
}

class RawLeader final : public Leader {
 public:
  RawLeader(const std::string& url, std::size_t size, bool evloop)
      : buf_(size, 'r'), evloop_(evloop) {
    sockaddr_storage addr;
    socklen_t len;
    fd_ = raw_socket(url, addr, len);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) die("connect");
    std::uint64_t announced = size;
    full_io(fd_, reinterpret_cast<char*>(&announced), sizeof announced, false);
  }
  ~RawLeader() override { ::close(fd_); }
  bool round_trip() override {
    if (!full_io(fd_, buf_.data(), buf_.size(), false)) return false;
    if (!evloop_) return full_io(fd_, buf_.data(), buf_.size(), true);
    // The syscalls a waiting client makes: poll, then a non-blocking read.
    std::size_t got = 0;
    while (got < buf_.size()) {
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, -1);
      ssize_t n = ::recv(fd_, buf_.data() + got, buf_.size() - got, MSG_DONTWAIT);
      if (n == 0) return false;
      if (n > 0) got += static_cast<std::size_t>(n);
    }
    return true;
  }

 private:
  int fd_ = -1;
  std::vector<char> buf_;
  bool evloop_;
};

// The raw shared-memory floor: one request slot and one reply slot, each with a sequence
// number, in an anonymous shared mapping made before fork; eventfds for the sleeping variant.
struct alignas(64) Slot {
  std::atomic<std::uint64_t> seq{0};
  alignas(64) char data[1];  // `size` bytes in practice
};
struct RawShm {
  Slot* request = nullptr;
  Slot* reply = nullptr;
  int wake_follower = -1;
  int wake_leader = -1;
  std::size_t size = 0;
  std::size_t mapped = 0;  // bytes of the mapping that request and reply share
};
RawShm g_raw_shm;

std::uint64_t wait_seq(Slot* slot, std::uint64_t want, bool sleep, int efd) {
  // Pause, and yield every 4th time: the mix ipcx spins with, so the floors compare.
  unsigned polls = 0;
  auto pause = [&polls] { (++polls & 3) == 0 ? (void)sched_yield() : __builtin_ia32_pause(); };
  for (;;) {
    std::uint64_t seq = slot->seq.load(std::memory_order_acquire);
    if (seq >= want) return seq;
    if (sleep) {
      std::uint64_t count;
      if (::read(efd, &count, sizeof count) < 0) return 0;
    } else {
      pause();
    }
  }
}

[[noreturn]] void raw_shm_follower(const Target& t, int report_fd) {
  report(report_fd, "raw-shm");
  bool sleep = t.mode == "eventfd";
  std::vector<char> buf(g_raw_shm.size);
  for (std::uint64_t n = 1;; ++n) {
    wait_seq(g_raw_shm.request, n, sleep, g_raw_shm.wake_follower);
    std::memcpy(buf.data(), g_raw_shm.request->data, buf.size());
    std::memcpy(g_raw_shm.reply->data, buf.data(), buf.size());
    g_raw_shm.reply->seq.store(n, std::memory_order_release);
    if (sleep) {
      std::uint64_t one = 1;
      (void)::write(g_raw_shm.wake_leader, &one, sizeof one);
    }
  }
}

class RawShmLeader final : public Leader {
 public:
  RawShmLeader(bool sleep, std::size_t size) : sleep_(sleep), buf_(size, 's') {}
  bool round_trip() override {
    ++n_;
    std::memcpy(g_raw_shm.request->data, buf_.data(), buf_.size());
    g_raw_shm.request->seq.store(n_, std::memory_order_release);
    if (sleep_) {
      std::uint64_t one = 1;
      if (::write(g_raw_shm.wake_follower, &one, sizeof one) < 0) return false;
    }
    wait_seq(g_raw_shm.reply, n_, sleep_, g_raw_shm.wake_leader);
    std::memcpy(buf_.data(), g_raw_shm.reply->data, buf_.size());
    return true;
  }

 private:
  bool sleep_;
  std::vector<char> buf_;
  std::uint64_t n_ = 0;
};

[[noreturn]] void ipcx_follower(const Target& t, const std::string& hint, int report_fd) {
  ServerOptions options;  // "default" and "loan": exactly what ipcx ships
  if (t.mode != "default" && t.mode != "loan") options.spin = t.spin;
  Server server(options);
  server.on_request([](Request& r) { r.reply(r.body()); });
  try {
    report(report_fd, server.bind(hint).url());
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    ::_exit(1);
  }
  server.run();
  ::_exit(0);
}

class IpcxLeader final : public Leader {
 public:
  IpcxLeader(const Target& t, const std::string& url, std::size_t size)
      : client_(url, options(t)), loan_(t.mode == "loan") {
    request_.add(std::string(size, 'i'));
  }
  bool round_trip() override {
    if (loan_) {
      // Zero copy: the body is written straight into the shared ring.
      auto loan = client_.loan(request_.bytes());
      if (!loan) return false;
      std::memset(loan->data().data(), 'l', loan->data().size());
      auto reply = client_.call(std::move(*loan), std::chrono::seconds(10));
      return reply && reply->bytes() == request_.bytes();
    }
    auto reply = client_.call(request_, std::chrono::seconds(10));
    return reply && reply->bytes() == request_.bytes();
  }

 private:
  static ClientOptions options(const Target& t) {
    ClientOptions o;
    if (t.mode != "default" && t.mode != "loan") o.spin = t.spin;
    return o;
  }
  Client client_;
  Message request_;
  bool loan_ = false;
};

}  // namespace

void prepare_target(const Target& target, std::size_t size) {
  if (target.impl != "raw" || target.mechanism != "shm") return;
  std::size_t slot = (sizeof(Slot) + size + 63) / 64 * 64;
  if (g_raw_shm.request) ::munmap(g_raw_shm.request, g_raw_shm.mapped);
  g_raw_shm.mapped = 2 * slot;
  void* map = ::mmap(nullptr, 2 * slot, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) die("mmap");
  g_raw_shm.request = new (map) Slot;
  g_raw_shm.reply = new (static_cast<char*>(map) + slot) Slot;
  g_raw_shm.size = size;
  if (g_raw_shm.wake_follower < 0) {
    g_raw_shm.wake_follower = ::eventfd(0, EFD_CLOEXEC);
    g_raw_shm.wake_leader = ::eventfd(0, EFD_CLOEXEC);
  }
}

void run_follower(const Target& target, const std::string& url_hint, int report_fd) {
  if (target.impl == "raw" && target.mechanism == "shm") raw_shm_follower(target, report_fd);
  if (target.impl == "raw") raw_follower(target, url_hint, report_fd);
  ipcx_follower(target, url_hint, report_fd);
}

std::unique_ptr<Leader> make_leader(const Target& target, const std::string& url,
                                    std::size_t size) {
  if (target.impl == "raw" && target.mechanism == "shm") {
    return std::make_unique<RawShmLeader>(target.mode == "eventfd", size);
  }
  if (target.impl == "raw") return std::make_unique<RawLeader>(url, size, target.mode == "evloop");
  return std::make_unique<IpcxLeader>(target, url, size);
}

}  // namespace ipcx::bench
