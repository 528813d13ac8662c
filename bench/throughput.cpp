// Throughput harness (bench): messages/s and MB/s one way, per mechanism, in one run: ipcx
// push/pull (a Pusher process streaming into a Puller), ipcx pipelined requests (64 in flight,
// answered by empty replies), and the raw floor of the same bytes. Floors: shm, an SPSC byte
// ring in shared memory with both sides spinning; unix and tcp, one writer streaming into one
// reader. With libzmq found at build time, its PUSH/PULL over ipc (beside unix and shm) and
// tcp runs in the same run, and each ipcx push row says its ratio to it. push-b64k is the
// same push with SocketOptions::batch_bytes = 64 KiB.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <string>
#include <vector>

#ifdef IPCX_BENCH_ZMQ
#include <zmq.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  double seconds = 0;
  std::size_t messages = 0;
  bool ok = false;
};

void pause_cpu(unsigned& polls) {
  if ((++polls & 3) == 0) {
    sched_yield();
  } else {
    __builtin_ia32_pause();
  }
}

// A one-way SPSC ring of fixed-size records in an anonymous shared mapping.
Result raw_shm(std::size_t size, std::size_t count) {
  std::size_t capacity = 1u << 20;
  while (capacity < 4 * size) capacity *= 2;
  auto* base = static_cast<char*>(
      ::mmap(nullptr, 128 + capacity, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  auto* head = new (base) std::atomic<std::uint64_t>(0);
  auto* tail = new (base + 64) std::atomic<std::uint64_t>(0);
  char* data = base + 128;
  pid_t pid = ::fork();
  if (pid == 0) {  // producer
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
    ::_exit(0);
  }
  std::vector<char> out(size);
  std::uint64_t h = 0;
  unsigned polls = 0;
  auto start = Clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    while (tail->load(std::memory_order_acquire) - h < size) pause_cpu(polls);
    for (std::size_t done = 0; done < size;) {
      std::size_t at = (h + done) % capacity;
      std::size_t n = std::min(size - done, capacity - at);
      std::memcpy(out.data() + done, data + at, n);
      done += n;
    }
    h += size;
    head->store(h, std::memory_order_release);
  }
  Result r{std::chrono::duration<double>(Clock::now() - start).count(), count, true};
  ::waitpid(pid, nullptr, 0);
  ::munmap(base, 128 + capacity);
  return r;
}

// One writer streaming count messages of size bytes into one reader.
Result raw_stream(bool tcp, std::size_t size, std::size_t count) {
  int fds[2];
  if (!tcp) {
    ::socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
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
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::vector<char> msg(size, 'w');
    for (std::size_t i = 0; i < count; ++i) {
      for (std::size_t done = 0; done < size;) {
        ssize_t n = ::write(fds[1], msg.data() + done, size - done);
        if (n <= 0) ::_exit(1);
        done += static_cast<std::size_t>(n);
      }
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::vector<char> buf(std::max<std::size_t>(size, 64 * 1024));
  std::size_t total = size * count, got = 0;
  auto start = Clock::now();
  while (got < total) {
    ssize_t n = ::read(fds[0], buf.data(), std::min(buf.size(), total - got));
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  Result r{std::chrono::duration<double>(Clock::now() - start).count(), count, got == total};
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  return r;
}

// ipcx: pipelined requests of size bytes, 64 in flight, each answered with an empty reply.
Result ipcx_requests(const std::string& mechanism, std::size_t size, std::size_t count) {
  std::string hint = mechanism == "shm"    ? "shm://ipcx-tput-" + std::to_string(::getpid())
                     : mechanism == "unix" ? "unix:///tmp/ipcx-tput-" + std::to_string(::getpid())
                                           : "tcp://127.0.0.1:0";
  int pipefd[2];
  if (::pipe(pipefd) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    ipcx::Server server;
    server.on_request([](ipcx::Request& r) { r.reply(ipcx::Message{""}); });
    std::string url = server.bind(hint).url() + "\n";
    if (::write(pipefd[1], url.data(), url.size()) < 0) ::_exit(1);
    server.run();
    ::_exit(0);
  }
  ::close(pipefd[1]);
  char line[256] = {};
  ssize_t n = ::read(pipefd[0], line, sizeof line - 1);
  ::close(pipefd[0]);
  Result r;
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
    r = {std::chrono::duration<double>(Clock::now() - start).count(), count, ok};
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  if (mechanism == "unix") ::unlink(hint.substr(7).c_str());
  return r;
}

// ipcx push/pull: a Pusher process connects and streams count messages into this Puller.
Result ipcx_push_pull(const std::string& mechanism, std::size_t size, std::size_t count,
                      std::size_t batch_bytes = 0) {
  std::string hint = mechanism == "shm"    ? "shm://ipcx-push-" + std::to_string(::getpid())
                     : mechanism == "unix" ? "unix:///tmp/ipcx-push-" + std::to_string(::getpid())
                                           : "tcp://127.0.0.1:0";
  ipcx::SocketOptions options;
  if (const char* ring = std::getenv("IPCX_BENCH_RING")) options.shm_ring_bytes = std::stoul(ring);
  ipcx::Puller puller(options);
  std::string url = puller.bind(hint).url();
  pid_t pid = ::fork();
  if (pid == 0) {
    ipcx::SocketOptions push_options;
    push_options.batch_bytes = batch_bytes;
    ipcx::Pusher pusher(push_options);
    pusher.connect(url);
    ipcx::Message m{std::string(size, 'p')};
    for (std::size_t i = 0; i < count; ++i) {
      if (!pusher.send(m, std::chrono::seconds(30))) ::_exit(1);
    }
    ::_exit(pusher.flush(std::chrono::seconds(30)) ? 0 : 1);
  }
  Result r;
  ipcx::Message m;  // received into, reusing its storage
  // The clock starts at the first message.
  bool ok = puller.receive(m, std::chrono::seconds(30)).has_value() && m.bytes() == size;
  auto start = Clock::now();
  for (std::size_t i = 1; ok && i < count; ++i) {
    ok = puller.receive(m, std::chrono::seconds(30)).has_value() && m.bytes() == size;
  }
  r = {std::chrono::duration<double>(Clock::now() - start).count(), count - 1, ok};
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.ok = r.ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return r;
}

#ifdef IPCX_BENCH_ZMQ
// libzmq PUSH/PULL with its defaults (high-water marks 1000): a PUSH process streams count
// messages into this PULL over ipc or tcp.
Result zmq_push_pull(bool tcp, std::size_t size, std::size_t count) {
  void* ctx = zmq_ctx_new();
  void* pull = zmq_socket(ctx, ZMQ_PULL);
  std::string where =
      tcp ? "tcp://127.0.0.1:*" : "ipc:///tmp/ipcx-zpush-" + std::to_string(::getpid());
  Result r;
  char endpoint[256] = {};
  std::size_t len = sizeof endpoint;
  if (zmq_bind(pull, where.c_str()) != 0 ||
      zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0) {
    zmq_close(pull);
    zmq_ctx_term(ctx);
    return r;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    void* cctx = zmq_ctx_new();
    void* push = zmq_socket(cctx, ZMQ_PUSH);
    zmq_connect(push, endpoint);
    std::string body(size, 'p');
    for (std::size_t i = 0; i < count; ++i) {
      if (zmq_send(push, body.data(), body.size(), 0) < 0) ::_exit(1);
    }
    zmq_close(push);
    zmq_ctx_term(cctx);  // lingers until everything is delivered
    ::_exit(0);
  }
  std::vector<char> buf(size + 64);
  bool ok = zmq_recv(pull, buf.data(), buf.size(), 0) == static_cast<int>(size);
  auto start = Clock::now();
  for (std::size_t i = 1; ok && i < count; ++i) {
    ok = zmq_recv(pull, buf.data(), buf.size(), 0) == static_cast<int>(size);
  }
  r = {std::chrono::duration<double>(Clock::now() - start).count(), count - 1, ok};
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.ok = r.ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  zmq_close(pull);
  zmq_ctx_term(ctx);
  if (!tcp) ::unlink(where.substr(6).c_str());
  return r;
}
#endif

double rate_of(const Result& r) {
  return r.ok && r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
}

// One row: its rate, and its ratio to the raw floor and (push rows) to libzmq's push/pull.
void print(const char* mech, const char* impl, std::size_t size, const Result& r, double floor,
           double zmq = 0) {
  if (!r.ok) {
    std::printf("%-5s %-9s %8zu   FAILED\n", mech, impl, size);
    return;
  }
  double rate = rate_of(r);
  double mbps = rate * static_cast<double>(size) / 1e6;
  std::printf("%-5s %-9s %8zu %12.0f %10.0f %8.2f", mech, impl, size, rate, mbps,
              floor > 0 ? rate / floor : 1.0);
  if (zmq > 0) std::printf(" %8.2f", rate / zmq);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> mechanisms{"shm", "unix", "tcp"};
  if (argc == 3 && std::string(argv[1]) == "--mechanism") mechanisms = {argv[2]};
  std::printf(
      "# push: ipcx Pusher -> Puller; requests: pipelined, 64 in flight, empty replies;"
      " raw: one-way stream\n");
  std::printf("%-5s %-9s %8s %12s %10s %8s %8s\n", "mech", "impl", "bytes", "msgs/s", "MB/s",
              "x raw", "x zmq");
  for (const auto& mech : mechanisms) {
    for (std::size_t size : {std::size_t{64}, std::size_t{1} << 20}) {
      std::size_t count = size == 64 ? 2000000 : 2000;
      Result raw = mech == "shm" ? raw_shm(size, count) : raw_stream(mech == "tcp", size, count);
      double floor = rate_of(raw);
      print(mech.c_str(), "raw", size, raw, 0);
      double zmq = 0;
#ifdef IPCX_BENCH_ZMQ
      // ZeroMQ has no shared memory: shm is held against its ipc, as unix is.
      Result z = zmq_push_pull(mech == "tcp", size, count);
      zmq = rate_of(z);
      print(mech.c_str(), mech == "tcp" ? "zmq-tcp" : "zmq-ipc", size, z, floor);
#endif
      print(mech.c_str(), "push", size, ipcx_push_pull(mech, size, count), floor, zmq);
      if (mech != "shm" && size == 64) {  // batching saves syscalls; shm makes none
        print(mech.c_str(), "push-b64k", size, ipcx_push_pull(mech, size, count, 64 * 1024), floor,
              zmq);
      }
      print(mech.c_str(), "requests", size, ipcx_requests(mech, size, count), floor);
      std::fflush(stdout);
    }
  }
  return 0;
}
