// Benchmark peers (bench): the raw ping-pong of each mechanism with blocking syscalls (unix, tcp,
// anonymous pipes for stdio, FIFOs for pipe, POSIX queues for mq, datagrams for udp; shared
// memory with busy polling or eventfds), and ipcx Server/Client.
#include "peers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <ipcx/ipcx.hpp>
#include <vector>

#include "cpu.hpp"
#ifdef IPCX_BENCH_ZMQ
#include <zmq.h>
#endif
#ifdef IPCX_BENCH_NNG
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/transport/tcp/tcp.h>
#endif
#ifdef IPCX_BENCH_BOOST
#include <boost/interprocess/ipc/message_queue.hpp>
#endif
#ifdef IPCX_BENCH_ICEORYX
#include "peer_iceoryx.hpp"
#endif

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
int g_follower_cpu = 0;

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

// ---- raw floors of the mechanisms that are not sockets or shared memory ----
// Each is a pair of one-way channels, read and written with plain blocking calls; messages
// are `size` bytes (mq and udp keep message boundaries, the pipes need none at this size).

struct RawChannels {
  int pipe_to_follower[2] = {-1, -1};  // stdio's floor: anonymous pipes made before fork
  int pipe_to_leader[2] = {-1, -1};
  std::size_t size = 0;
};
RawChannels g_raw;

std::string mq_name(const std::string& hint, const char* end) { return "/" + hint + end; }

bool whole_write(int fd, const char* buf, std::size_t size) {
  for (std::size_t done = 0; done < size;) {
    ssize_t n = ::write(fd, buf + done, size - done);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool whole_read(int fd, char* buf, std::size_t size) {
  for (std::size_t done = 0; done < size;) {
    ssize_t n = ::read(fd, buf + done, size - done);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// One end of a raw ping-pong: `in` and `out` are what it reads and writes.
struct RawEnds {
  int in = -1;
  int out = -1;
  bool queue = false;   // mq descriptors
  bool socket = false;  // a connected or bound datagram socket
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
};

bool raw_send(RawEnds& e, const char* buf, std::size_t size) {
  if (e.queue) return ::mq_send(e.out, buf, size, 0) == 0;
  if (e.socket) {
    return ::sendto(e.out, buf, size, 0,
                    e.peer_len ? reinterpret_cast<sockaddr*>(&e.peer) : nullptr,
                    e.peer_len) == static_cast<ssize_t>(size);
  }
  return whole_write(e.out, buf, size);
}

bool raw_receive(RawEnds& e, char* buf, std::size_t size) {
  if (e.queue) return ::mq_receive(e.in, buf, std::max<std::size_t>(size, 64), nullptr) >= 0;
  if (e.socket) {
    e.peer_len = sizeof e.peer;
    return ::recvfrom(e.in, buf, size, 0, reinterpret_cast<sockaddr*>(&e.peer), &e.peer_len) >= 0;
  }
  return whole_read(e.in, buf, size);
}

[[noreturn]] void raw_os_follower(const Target& t, const std::string& hint, int report_fd) {
  RawEnds e;
  std::size_t size = g_raw.size;
  if (t.mechanism == "stdio") {
    report(report_fd, "raw-pipe");
    e.in = g_raw.pipe_to_follower[0];
    e.out = g_raw.pipe_to_leader[1];
  } else if (t.mechanism == "pipe") {
    std::string path = hint.substr(7);  // "pipe://"
    ::mkfifo((path + ".req").c_str(), 0600);
    ::mkfifo((path + ".rep").c_str(), 0600);
    report(report_fd, path);
    // The leader opens them in the same order, so neither open waits for long.
    e.in = ::open((path + ".req").c_str(), O_RDONLY);
    e.out = ::open((path + ".rep").c_str(), O_WRONLY);
  } else if (t.mechanism == "mq") {
    std::string name = hint.substr(5);  // "mq://"
    mq_attr attr{};
    attr.mq_maxmsg = 10;
    attr.mq_msgsize = static_cast<long>(std::max<std::size_t>(size, 64));
    e.queue = true;
    e.in = ::mq_open(mq_name(name, ".req").c_str(), O_CREAT | O_RDONLY, 0600, &attr);
    e.out = ::mq_open(mq_name(name, ".rep").c_str(), O_CREAT | O_WRONLY, 0600, &attr);
    if (e.in < 0 || e.out < 0) die("mq_open");
    report(report_fd, name);
  } else {  // udp
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    e.in = e.out = fd;
    e.socket = true;
    report(report_fd, std::to_string(ntohs(a.sin_port)));
  }
  std::vector<char> buf(std::max<std::size_t>(size, 64));
  while (raw_receive(e, buf.data(), size) && raw_send(e, buf.data(), size)) {
  }
  ::_exit(0);
}

class RawOsLeader final : public Leader {
 public:
  RawOsLeader(const Target& t, const std::string& where, std::size_t size)
      : buf_(std::max<std::size_t>(size, 64), 'o'), size_(size) {
    if (t.mechanism == "stdio") {
      e_.in = g_raw.pipe_to_leader[0];
      e_.out = g_raw.pipe_to_follower[1];
    } else if (t.mechanism == "pipe") {
      e_.out = own(::open((where + ".req").c_str(), O_WRONLY));
      e_.in = own(::open((where + ".rep").c_str(), O_RDONLY));
      ::unlink((where + ".req").c_str());
      ::unlink((where + ".rep").c_str());
    } else if (t.mechanism == "mq") {
      e_.queue = true;
      e_.out = own(::mq_open(mq_name(where, ".req").c_str(), O_WRONLY));
      e_.in = own(::mq_open(mq_name(where, ".rep").c_str(), O_RDONLY));
      ::mq_unlink(mq_name(where, ".req").c_str());
      ::mq_unlink(mq_name(where, ".rep").c_str());
    } else {
      int fd = own(::socket(AF_INET, SOCK_DGRAM, 0));
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(where)));
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
      e_.in = e_.out = fd;
      e_.socket = true;
    }
    if (e_.in < 0 || e_.out < 0) die("raw open");
  }
  ~RawOsLeader() override {
    for (int fd : owned_) ::close(fd);
  }
  bool round_trip() override {
    e_.peer_len = 0;
    return raw_send(e_, buf_.data(), size_) && raw_receive(e_, buf_.data(), size_);
  }

 private:
  int own(int fd) {
    if (fd >= 0) owned_.push_back(fd);
    return fd;
  }
  RawEnds e_;
  std::vector<int> owned_;
  std::vector<char> buf_;
  std::size_t size_;
};

bool raw_os(const Target& t) { return t.impl == "raw" && peer_has_raw_floor(t.mechanism); }

bool spawned(const Target& t) {
  const MechanismInfo* m = find_mechanism(t.mechanism);
  return m != nullptr && m->caps.reach == Reach::spawn;
}

// "default", "view" and "loan" run exactly what ipcx ships; the others set the spin budget.
bool shipped_defaults(const Target& t) {
  return t.mode == "default" || t.mode == "view" || t.mode == "loan";
}

[[noreturn]] void ipcx_follower(const Target& t, const std::string& hint, int report_fd) {
  ServerOptions options;
  if (!shipped_defaults(t)) options.spin = t.spin;
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

// A mechanism reached by spawning its server (stdio://): this very program, re-entered
// through serve_stdio_follower() with the CPU to pin to and the spin budget (-1: the default).
Client connect_or_spawn(const Target& t, const std::string& url, const ClientOptions& o) {
  if (!spawned(t)) return Client(url, o);
  long spin = shipped_defaults(t) ? -1 : static_cast<long>(t.spin.count());
  return spawn(
      {"/proc/self/exe", "--stdio-follower", std::to_string(g_follower_cpu), std::to_string(spin)},
      o);
}

class IpcxLeader final : public Leader {
 public:
  IpcxLeader(const Target& t, const std::string& url, std::size_t size)
      : client_(connect_or_spawn(t, url, options(t))),
        loan_(t.mode == "loan"),
        view_(t.mode == "view") {
    request_.add(std::string(size, 'i'));
  }
  bool round_trip() override {
    if (view_) {  // the reply read where it lies in the shared ring
      auto reply = client_.call_view(request_, std::chrono::seconds(10));
      return reply && reply->size() == 1 && reply->frame(0).size() == request_.bytes();
    }
    if (loan_) {
      // Zero copy on the client: the body is written straight into the shared ring, and the
      // reply read where it lies in the other one.
      auto loan = client_.loan(request_.bytes());
      if (!loan) return false;
      std::memset(loan->data().data(), 'l', loan->data().size());
      auto reply = client_.call_view(std::move(*loan), std::chrono::seconds(10));
      return reply && reply->size() == 1 && reply->frame(0).size() == request_.bytes();
    }
    auto reply = client_.call(request_, std::chrono::seconds(10));
    return reply && reply->bytes() == request_.bytes();
  }

 private:
  static ClientOptions options(const Target& t) {
    ClientOptions o;
    if (!shipped_defaults(t)) o.spin = t.spin;
    return o;
  }
  Client client_;
  Message request_;
  bool loan_ = false;
  bool view_ = false;
};

#ifdef IPCX_BENCH_ZMQ
// libzmq REQ/REP, the peer ipcx is measured against on ipc (unix) and tcp: its defaults, a REP
// bound by the follower and a REQ in the leader.
[[noreturn]] void zmq_follower(const Target& t, const std::string& dir, int index, int report_fd) {
  void* ctx = zmq_ctx_new();
  void* rep = zmq_socket(ctx, ZMQ_REP);
  std::string where = t.mechanism == "tcp"
                          ? "tcp://127.0.0.1:*"
                          : "ipc://" + dir + "/zmq" + std::to_string(index) + ".sock";
  if (zmq_bind(rep, where.c_str()) != 0) die("zmq_bind");
  char endpoint[256] = {};
  std::size_t len = sizeof endpoint;
  zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, endpoint, &len);
  report(report_fd, endpoint);
  std::vector<char> buf(g_raw.size + 64);
  for (;;) {
    int n = zmq_recv(rep, buf.data(), buf.size(), 0);
    if (n < 0 || zmq_send(rep, buf.data(), static_cast<std::size_t>(n), 0) < 0) ::_exit(0);
  }
}

class ZmqLeader final : public Leader {
 public:
  ZmqLeader(const std::string& url, std::size_t size)
      : ctx_(zmq_ctx_new()), req_(zmq_socket(ctx_, ZMQ_REQ)), buf_(size + 64, 'z'), size_(size) {
    int zero = 0;
    zmq_setsockopt(req_, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(req_, url.c_str()) != 0) die("zmq_connect");
  }
  ~ZmqLeader() override {
    zmq_close(req_);
    zmq_ctx_term(ctx_);
  }
  bool round_trip() override {
    if (zmq_send(req_, buf_.data(), size_, 0) < 0) return false;
    return zmq_recv(req_, buf_.data(), buf_.size(), 0) == static_cast<int>(size_);
  }

 private:
  void* ctx_;
  void* req_;
  std::vector<char> buf_;
  std::size_t size_;
};
#endif

#ifdef IPCX_BENCH_NNG
// NNG req0/rep0 over ipc and tcp, with its defaults.
void nng_check(int rv, const char* what) {
  if (rv != 0) {
    std::fprintf(stderr, "%s: %s\n", what, nng_strerror(rv));
    ::_exit(1);
  }
}

[[noreturn]] void nng_follower(const Target& t, const std::string& dir, int index, int report_fd) {
  nng_socket sock;
  nng_check(nng_rep0_open(&sock), "nng_rep0_open");
  std::string where = t.mechanism == "tcp"
                          ? "tcp://127.0.0.1:0"
                          : "ipc://" + dir + "/nng" + std::to_string(index) + ".sock";
  nng_listener listener;
  nng_check(nng_listener_create(&listener, sock, where.c_str()), "nng_listener_create");
  nng_check(nng_listener_start(listener, 0), "nng_listener_start");
  if (t.mechanism == "tcp") {
    int port = 0;
    nng_check(nng_listener_get_int(listener, NNG_OPT_TCP_BOUND_PORT, &port), "bound port");
    where = "tcp://127.0.0.1:" + std::to_string(port);
  }
  report(report_fd, where);
  for (;;) {
    void* buf = nullptr;
    std::size_t size = 0;
    if (nng_recv(sock, &buf, &size, NNG_FLAG_ALLOC) != 0) ::_exit(0);
    if (nng_send(sock, buf, size, NNG_FLAG_ALLOC) != 0) ::_exit(0);  // frees buf
  }
}

class NngLeader final : public Leader {
 public:
  NngLeader(const std::string& url, std::size_t size) : buf_(size, 'n') {
    nng_check(nng_req0_open(&sock_), "nng_req0_open");
    nng_check(nng_dial(sock_, url.c_str(), nullptr, 0), "nng_dial");
  }
  // The harness forks each follower from this process: NNG's threads and state must be gone
  // by the next fork, or the child inherits a library without its threads.
  ~NngLeader() override {
    nng_close(sock_);
    nng_fini();
  }
  bool round_trip() override {
    if (nng_send(sock_, buf_.data(), buf_.size(), 0) != 0) return false;
    void* reply = nullptr;
    std::size_t size = 0;
    if (nng_recv(sock_, &reply, &size, NNG_FLAG_ALLOC) != 0) return false;
    nng_free(reply, size);
    return size == buf_.size();
  }

 private:
  nng_socket sock_{};
  std::vector<char> buf_;
};
#endif

#ifdef IPCX_BENCH_BOOST
// Boost.Interprocess message_queue: a queue in shared memory with a process-shared mutex and
// condition variables, so both sides sleep; compared on shm. One queue each way.
namespace bip = boost::interprocess;
std::string g_boost_name;

[[noreturn]] void boost_follower(int report_fd) {
  std::size_t size = std::max<std::size_t>(g_raw.size, 1);
  bip::message_queue::remove((g_boost_name + "-req").c_str());
  bip::message_queue::remove((g_boost_name + "-rep").c_str());
  bip::message_queue req(bip::create_only, (g_boost_name + "-req").c_str(), 16, size);
  bip::message_queue rep(bip::create_only, (g_boost_name + "-rep").c_str(), 16, size);
  report(report_fd, g_boost_name);
  std::vector<char> buf(size);
  for (;;) {
    std::size_t got = 0;
    unsigned priority = 0;
    req.receive(buf.data(), buf.size(), got, priority);
    rep.send(buf.data(), got, 0);
  }
}

class BoostLeader final : public Leader {
 public:
  BoostLeader(const std::string& name, std::size_t size)
      : name_(name),
        req_(bip::open_only, (name + "-req").c_str()),
        rep_(bip::open_only, (name + "-rep").c_str()),
        buf_(std::max<std::size_t>(size, 1), 'b') {}
  ~BoostLeader() override {
    bip::message_queue::remove((name_ + "-req").c_str());
    bip::message_queue::remove((name_ + "-rep").c_str());
  }
  bool round_trip() override {
    req_.send(buf_.data(), buf_.size(), 0);
    std::size_t got = 0;
    unsigned priority = 0;
    rep_.receive(buf_.data(), buf_.size(), got, priority);
    return got == buf_.size();
  }

 private:
  std::string name_;
  bip::message_queue req_;
  bip::message_queue rep_;
  std::vector<char> buf_;
};
#endif

}  // namespace

bool peer_available(const std::string& impl) {
#ifdef IPCX_BENCH_ZMQ
  if (impl == "zmq") return true;
#endif
#ifdef IPCX_BENCH_NNG
  if (impl == "nng") return true;
#endif
#ifdef IPCX_BENCH_BOOST
  if (impl == "boost") return true;
#endif
#ifdef IPCX_BENCH_ICEORYX
  if (impl == "iceoryx") return true;
#endif
  (void)impl;
  return false;
}

std::shared_ptr<void> start_peer(const std::string& impl, const std::string& dir,
                                 std::string& why) {
#ifdef IPCX_BENCH_ICEORYX
  if (impl == "iceoryx") {
    auto roudi = std::make_shared<iceoryx::Roudi>();
    if (!roudi->start(dir + "/roudi.log", why)) return nullptr;
    return roudi;
  }
#endif
  (void)dir;
  if (peer_available(impl)) return std::make_shared<int>(0);  // needs nothing running
  why = "not built in";
  return nullptr;
}

bool peer_has_raw_floor(const std::string& m) {
  return m == "stdio" || m == "pipe" || m == "mq" || m == "udp";
}

void prepare_target(const Target& target, std::size_t size, int follower_cpu) {
  g_follower_cpu = follower_cpu;
  g_raw.size = size;
#ifdef IPCX_BENCH_BOOST
  static int boost_runs = 0;
  g_boost_name =
      "ipcx-bench-boost-" + std::to_string(::getpid()) + "-" + std::to_string(++boost_runs);
#endif
  if (raw_os(target) && target.mechanism == "stdio") {
    for (int* p : {g_raw.pipe_to_follower, g_raw.pipe_to_leader}) {
      if (p[0] >= 0) ::close(p[0]), ::close(p[1]);
      if (::pipe(p) != 0) die("pipe");
    }
  }
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

void serve_stdio_follower(int cpu, long spin_us) {
  pin(cpu);
  ServerOptions options;
  if (spin_us >= 0) options.spin = std::chrono::microseconds(spin_us);
  Server server(options);
  server.on_request([](Request& r) { r.reply(r.body()); });
  server.bind("stdio://");
  server.run();  // until the leader closes our pipes (and then ends us)
}

void run_follower(const Target& target, const std::string& url_hint, int report_fd) {
  // A peer's ipc path is made from the hint's directory and index: "unix://DIR/bN.sock".
  std::string path = url_hint.rfind("unix://", 0) == 0 ? url_hint.substr(7) : "./b0";
  auto slash = path.rfind('/');
  std::string dir = path.substr(0, slash);
  int index = std::atoi(path.c_str() + slash + 2);
#ifdef IPCX_BENCH_ZMQ
  if (target.impl == "zmq") zmq_follower(target, dir, index, report_fd);
#endif
#ifdef IPCX_BENCH_NNG
  if (target.impl == "nng") nng_follower(target, dir, index, report_fd);
#endif
#ifdef IPCX_BENCH_BOOST
  if (target.impl == "boost") boost_follower(report_fd);
#endif
#ifdef IPCX_BENCH_ICEORYX
  // Topics named after the measuring process and this form's index: unique on the machine.
  if (target.impl == "iceoryx") {
    iceoryx::follow(std::to_string(::getppid()) + "-" + std::to_string(index),
                    target.mode == "waitset", report_fd);
  }
#endif
  (void)dir;
  (void)index;
  if (raw_os(target)) raw_os_follower(target, url_hint, report_fd);
  if (target.impl == "ipcx" && spawned(target)) {
    report(report_fd, url_hint);  // the leader spawns the real server
    for (;;) ::pause();
  }
  if (target.impl == "raw" && target.mechanism == "shm") raw_shm_follower(target, report_fd);
  if (target.impl == "raw") raw_follower(target, url_hint, report_fd);
  ipcx_follower(target, url_hint, report_fd);
}

std::unique_ptr<Leader> make_leader(const Target& target, const std::string& url,
                                    std::size_t size) {
  if (target.impl == "raw" && target.mechanism == "shm") {
    return std::make_unique<RawShmLeader>(target.mode == "eventfd", size);
  }
#ifdef IPCX_BENCH_ZMQ
  if (target.impl == "zmq") return std::make_unique<ZmqLeader>(url, size);
#endif
#ifdef IPCX_BENCH_NNG
  if (target.impl == "nng") return std::make_unique<NngLeader>(url, size);
#endif
#ifdef IPCX_BENCH_BOOST
  if (target.impl == "boost") return std::make_unique<BoostLeader>(url, size);
#endif
#ifdef IPCX_BENCH_ICEORYX
  if (target.impl == "iceoryx") return iceoryx::lead(url, target.mode == "waitset", size);
#endif
  if (raw_os(target)) return std::make_unique<RawOsLeader>(target, url, size);
  if (target.impl == "raw") return std::make_unique<RawLeader>(url, size, target.mode == "evloop");
  return std::make_unique<IpcxLeader>(target, url, size);
}

}  // namespace ipcx::bench
