// One-way throughput (bench): see one_way.hpp. The clock starts when the first message arrives,
// so connecting and the sender's start-up are not counted.
#include "one_way.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ipcx/ipcx.hpp>
#include <vector>

#include "cpu.hpp"
#ifdef IPCX_BENCH_ZMQ
#include <zmq.h>
#endif
#ifdef IPCX_BENCH_NNG
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#endif

namespace ipcx::bench {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Forks the sender, pinned to `cpu`; it runs body() and ends with its exit status.
template <class Body>
pid_t fork_sender(int cpu, Body&& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    pin(cpu);
    ::_exit(body() ? 0 : 1);
  }
  return pid;
}

// True when the sender has ended, without reaping it (sender_succeeded() does that): a receiver
// spinning on shared memory asks now and then, so a sender that died fails the row instead of
// hanging the run.
bool sender_ended(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

bool sender_succeeded(pid_t pid) {
  int status = 0;
  return pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

void pause_cpu(unsigned& polls) {
  if ((++polls & 3) == 0) {
    sched_yield();
  } else {
    __builtin_ia32_pause();
  }
}

// A one-way SPSC ring of fixed-size records in an anonymous shared mapping.
FlowRun raw_ring(std::size_t size, std::size_t count, int cpu) {
  std::size_t capacity = 1u << 20;
  while (capacity < 4 * size) capacity *= 2;
  void* map =
      ::mmap(nullptr, 128 + capacity, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) return {};
  auto* base = static_cast<char*>(map);
  auto* head = new (base) std::atomic<std::uint64_t>(0);
  auto* tail = new (base + 64) std::atomic<std::uint64_t>(0);
  char* data = base + 128;
  pid_t pid = fork_sender(cpu, [&] {
    std::vector<char> msg(size, 'r');
    std::uint64_t t = 0;
    unsigned polls = 0;
    for (std::size_t i = 0; i < count; ++i) {
      while (t + size - head->load(std::memory_order_acquire) > capacity) pause_cpu(polls);
      for (std::size_t done = 0; done < size;) {  // may wrap
        std::size_t at = (t + done) % capacity;
        std::size_t n = std::min(size - done, capacity - at);
        std::memcpy(data + at, msg.data() + done, n);
        done += n;
      }
      t += size;
      tail->store(t, std::memory_order_release);
    }
    return true;
  });
  if (pid < 0) {
    ::munmap(map, 128 + capacity);
    return {};
  }
  std::vector<char> out(size);
  std::uint64_t h = 0;
  unsigned polls = 0;
  Clock::time_point start;
  bool ok = true;
  for (std::size_t i = 0; i < count && ok; ++i) {
    while (ok && tail->load(std::memory_order_acquire) - h < size) {
      pause_cpu(polls);
      // Ended with the record still missing: it died (one that finished wrote it all).
      if ((polls & 4095) == 0 && sender_ended(pid)) {
        ok = tail->load(std::memory_order_acquire) - h >= size;
      }
    }
    if (!ok) break;
    if (i == 0) start = Clock::now();
    for (std::size_t done = 0; done < size;) {
      std::size_t at = (h + done) % capacity;
      std::size_t n = std::min(size - done, capacity - at);
      std::memcpy(out.data() + done, data + at, n);
      done += n;
    }
    h += size;
    head->store(h, std::memory_order_release);
  }
  FlowRun r{true, count - 1, since(start)};
  r.ok = sender_succeeded(pid) && ok;
  ::munmap(map, 128 + capacity);
  return r;
}

// One writer streaming count messages of size bytes into one reader.
FlowRun raw_stream(bool tcp, std::size_t size, std::size_t count, int cpu) {
  int fds[2];
  if (!tcp) {
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return {};
  } else {
    int l = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(l, reinterpret_cast<sockaddr*>(&a), len);
    ::listen(l, 1);
    ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
    fds[0] = ::socket(AF_INET, SOCK_STREAM, 0);
    ::connect(fds[0], reinterpret_cast<sockaddr*>(&a), len);
    fds[1] = ::accept(l, nullptr, nullptr);
    ::close(l);
  }
  pid_t pid = fork_sender(cpu, [&] {
    ::close(fds[0]);
    std::vector<char> msg(size, 'w');
    for (std::size_t i = 0; i < count; ++i) {
      for (std::size_t done = 0; done < size;) {
        ssize_t n = ::write(fds[1], msg.data() + done, size - done);
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
      }
    }
    return true;
  });
  ::close(fds[1]);
  std::vector<char> buf(std::max<std::size_t>(size, 64 * 1024));
  std::size_t total = size * count, got = 0;
  Clock::time_point start;
  while (got < total) {
    ssize_t n = ::read(fds[0], buf.data(), std::min(buf.size(), total - got));
    if (n <= 0) break;
    if (got < size && got + static_cast<std::size_t>(n) >= size) start = Clock::now();
    got += static_cast<std::size_t>(n);
  }
  FlowRun r{got == total, count - 1, since(start)};
  ::close(fds[0]);
  r.ok = sender_succeeded(pid) && r.ok;
  return r;
}

std::string ipcx_url(const std::string& mechanism, const std::string& dir, const char* what) {
  if (mechanism == "shm")
    return "shm://ipcx-" + std::string(what) + "-" + std::to_string(::getpid());
  if (mechanism == "unix") return "unix://" + dir + "/" + what + ".sock";
  return "tcp://127.0.0.1:0";
}

// ipcx: pipelined requests of size bytes from a client here, 64 in flight, each answered with
// an empty reply by a server process on `cpu`.
FlowRun ipcx_requests(const std::string& mechanism, std::size_t size, std::size_t count, int cpu,
                      const std::string& dir) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return {};
  pid_t pid = fork_sender(cpu, [&] {
    ::close(pipefd[0]);
    ipcx::Server server;
    server.on_request([](ipcx::Request& r) { r.reply(ipcx::Message{""}); });
    std::string url = server.bind(ipcx_url(mechanism, dir, "requests")).url() + "\n";
    if (::write(pipefd[1], url.data(), url.size()) < 0) return false;
    server.run();
    return true;
  });
  ::close(pipefd[1]);
  char line[256] = {};
  ssize_t n = ::read(pipefd[0], line, sizeof line - 1);
  ::close(pipefd[0]);
  FlowRun r;
  if (n > 0) {
    std::string url(line, static_cast<std::size_t>(n) - 1);
    ipcx::Client client(url);
    ipcx::Message request{std::string(size, 'i')};
    constexpr std::size_t kWindow = 64;
    std::size_t sent = 0, received = 0;
    bool ok = client.call(request, std::chrono::seconds(10)).has_value();  // connect first
    auto start = Clock::now();
    while (ok && sent < std::min(kWindow, count)) ok = client.send(request).has_value() && ++sent;
    while (ok && received < count) {
      ok = client.receive(std::chrono::seconds(30)).has_value();
      ++received;
      if (ok && sent < count) ok = client.send(request).has_value() && ++sent;
    }
    r = {ok, count, since(start)};
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return r;
}

// ipcx push/pull: a Pusher process connects and streams count messages into a Puller here.
FlowRun ipcx_push_pull(const std::string& mechanism, std::size_t size, std::size_t count,
                       std::size_t batch_bytes, bool view, int cpu, const std::string& dir) {
  ipcx::SocketOptions options;
  if (const char* ring = std::getenv("IPCX_BENCH_RING")) options.shm_ring_bytes = std::stoul(ring);
  ipcx::Puller puller(options);
  std::string url = puller.bind(ipcx_url(mechanism, dir, "push")).url();
  pid_t pid = fork_sender(cpu, [&] {
    ipcx::SocketOptions push_options;
    push_options.batch_bytes = batch_bytes;
    ipcx::Pusher pusher(push_options);
    pusher.connect(url);
    ipcx::Message m{std::string(size, 'p')};
    for (std::size_t i = 0; i < count; ++i) {
      if (!pusher.send(m, std::chrono::seconds(30))) return false;
    }
    return pusher.flush(std::chrono::seconds(30));
  });
  ipcx::Message m;  // received into, reusing its storage
  auto receive = [&] {
    if (!view) return puller.receive(m, std::chrono::seconds(30)).has_value() && m.bytes() == size;
    auto v = puller.receive_view(std::chrono::seconds(30));  // released as it goes
    return v.has_value() && v->size() == 1 && v->frame(0).size() == size;
  };
  bool ok = receive();
  auto start = Clock::now();
  for (std::size_t i = 1; ok && i < count; ++i) ok = receive();
  FlowRun r{ok, count - 1, since(start)};
  r.ok = sender_succeeded(pid) && r.ok;
  return r;
}

#ifdef IPCX_BENCH_ZMQ
// libzmq PUSH/PULL with its defaults (high-water marks 1000) over ipc or tcp.
FlowRun zmq_push_pull(bool tcp, std::size_t size, std::size_t count, int cpu,
                      const std::string& dir) {
  void* ctx = zmq_ctx_new();
  void* pull = zmq_socket(ctx, ZMQ_PULL);
  std::string where = tcp ? "tcp://127.0.0.1:*" : "ipc://" + dir + "/zmq-push.sock";
  FlowRun r;
  char endpoint[256] = {};
  std::size_t len = sizeof endpoint;
  int stall_ms = 30000;  // a pusher that stops fails the row instead of hanging the run
  zmq_setsockopt(pull, ZMQ_RCVTIMEO, &stall_ms, sizeof stall_ms);
  if (zmq_bind(pull, where.c_str()) != 0 ||
      zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0) {
    zmq_close(pull);
    zmq_ctx_term(ctx);
    return r;
  }
  pid_t pid = fork_sender(cpu, [&] {
    void* cctx = zmq_ctx_new();
    void* push = zmq_socket(cctx, ZMQ_PUSH);
    zmq_connect(push, endpoint);
    std::string body(size, 'p');
    bool sent = true;
    std::size_t i = 0;
    for (; i < count && sent; ++i) sent = zmq_send(push, body.data(), body.size(), 0) >= 0;
    if (!sent)
      std::fprintf(stderr, "zmq push: send %zu failed: %s\n", i, zmq_strerror(zmq_errno()));
    zmq_close(push);
    zmq_ctx_term(cctx);  // lingers until everything is delivered
    return sent;
  });
  std::vector<char> buf(size + 64);
  bool ok = zmq_recv(pull, buf.data(), buf.size(), 0) == static_cast<int>(size);
  auto start = Clock::now();
  std::size_t got = ok ? 1 : 0;
  while (ok && got < count) {
    ok = zmq_recv(pull, buf.data(), buf.size(), 0) == static_cast<int>(size);
    got += ok ? 1 : 0;
  }
  if (!ok) {
    std::fprintf(stderr, "zmq pull: %zu of %zu messages, then %s\n", got, count,
                 zmq_strerror(zmq_errno()));
  }
  r = {ok, count - 1, since(start)};
  r.ok = sender_succeeded(pid) && r.ok;
  zmq_close(pull);
  zmq_ctx_term(ctx);
  if (!tcp) ::unlink(where.substr(6).c_str());
  return r;
}
#endif

#ifdef IPCX_BENCH_NNG
// NNG push0/pull0 over ipc or tcp. Its receive limit (1 MiB by default, headers included) is
// raised to fit the message. Its default buffers hold no message, so every send waits
// for the previous one to be written: given 1,024-message buffers, as libzmq's high-water marks
// are 1,000. NNG may not live in a process that forks later (this one does), so the puller runs
// in a child of its own too and reports its figures.
constexpr int kNngBuffer = 1024;
FlowRun nng_push_pull(bool tcp, std::size_t size, std::size_t count, int sender_cpu,
                      int receiver_cpu, const std::string& dir) {
  // url: the puller's address for the pusher; report: the puller's figures; done: closed once
  // the puller has reported, so the pusher keeps its socket (and its queued messages) till then.
  int url_pipe[2], report[2], done[2];
  if (::pipe(url_pipe) != 0) return {};
  if (::pipe(report) != 0 || ::pipe(done) != 0) {
    ::close(url_pipe[0]), ::close(url_pipe[1]);
    return {};
  }
  pid_t puller = fork_sender(receiver_cpu, [&] {
    ::close(url_pipe[0]);
    ::close(report[0]);
    nng_socket sock;
    nng_listener listener;
    std::string where = tcp ? "tcp://127.0.0.1:0" : "ipc://" + dir + "/nng-push.sock";
    if (nng_pull0_open(&sock) != 0 || nng_socket_set_int(sock, NNG_OPT_RECVBUF, kNngBuffer) != 0 ||
        nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 30000) != 0 ||
        nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, size + 4096) != 0 ||
        nng_listener_create(&listener, sock, where.c_str()) != 0 ||
        nng_listener_start(listener, 0) != 0) {
      return false;
    }
    if (tcp) {
      int port = 0;
      nng_listener_get_int(listener, NNG_OPT_TCP_BOUND_PORT, &port);
      where = "tcp://127.0.0.1:" + std::to_string(port);
    }
    where += "\n";
    if (::write(url_pipe[1], where.data(), where.size()) < 0) return false;
    ::close(url_pipe[1]);
    auto receive = [&] {
      void* buf = nullptr;
      std::size_t got = 0;
      if (nng_recv(sock, &buf, &got, NNG_FLAG_ALLOC) != 0) return false;
      nng_free(buf, got);
      return got == size;
    };
    FlowRun run;
    run.ok = receive();
    auto start = Clock::now();
    for (std::size_t i = 1; run.ok && i < count; ++i) run.ok = receive();
    run.messages = count - 1;
    run.seconds = since(start);
    nng_close(sock);
    return ::write(report[1], &run, sizeof run) == sizeof run;
  });
  ::close(url_pipe[1]);
  ::close(report[1]);
  char line[256] = {};
  ssize_t n = ::read(url_pipe[0], line, sizeof line - 1);
  ::close(url_pipe[0]);
  pid_t pusher = -1;
  if (n > 0) {
    std::string url(line, static_cast<std::size_t>(n) - 1);
    pusher = fork_sender(sender_cpu, [&] {
      ::close(done[1]);
      nng_socket sock;
      if (nng_push0_open(&sock) != 0 ||
          nng_socket_set_int(sock, NNG_OPT_SENDBUF, kNngBuffer) != 0 ||
          nng_dial(sock, url.c_str(), nullptr, 0) != 0) {
        return false;
      }
      std::vector<char> body(size, 'n');
      for (std::size_t i = 0; i < count; ++i) {
        if (nng_send(sock, body.data(), body.size(), 0) != 0) return false;
      }
      char byte;
      while (::read(done[0], &byte, 1) > 0) {
      }
      nng_close(sock);
      return true;
    });
  }
  ::close(done[0]);
  FlowRun r;
  bool reported = ::read(report[0], &r, sizeof r) == sizeof r;
  ::close(report[0]);
  ::close(done[1]);
  // A puller that gave up leaves the pusher waiting for room that never comes.
  if (pusher > 0 && !(reported && r.ok)) ::kill(pusher, SIGKILL);
  bool pushed = pusher > 0 && sender_succeeded(pusher);
  r.ok = sender_succeeded(puller) && reported && pushed && r.ok;
  return r;
}
#endif

}  // namespace

FlowRun measure_flow(const FlowTarget& t, std::size_t size, std::size_t count, int sender_cpu,
                     int receiver_cpu, const std::string& dir) {
  bool tcp = t.mechanism == "tcp";
  if (t.impl == "raw") {
    return t.mechanism == "shm" ? raw_ring(size, count, sender_cpu)
                                : raw_stream(tcp, size, count, sender_cpu);
  }
#ifdef IPCX_BENCH_ZMQ
  if (t.impl == "zmq") return zmq_push_pull(tcp, size, count, sender_cpu, dir);
#endif
#ifdef IPCX_BENCH_NNG
  if (t.impl == "nng") return nng_push_pull(tcp, size, count, sender_cpu, receiver_cpu, dir);
#endif
  (void)receiver_cpu;
  if (t.mode == "requests") return ipcx_requests(t.mechanism, size, count, sender_cpu, dir);
  return ipcx_push_pull(t.mechanism, size, count, t.mode == "push-b64k" ? 64 * 1024 : 0,
                        t.mode == "push-view", sender_cpu, dir);
}

}  // namespace ipcx::bench
