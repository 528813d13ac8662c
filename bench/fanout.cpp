// Fan-out harness (bench): one publisher process to N subscriber processes, every message to
// every subscriber, on ipcx shm, unix and tcp, and on libzmq PUB/SUB over ipc and tcp when
// the build found libzmq. Both sides run with unlimited queues (ipcx hwm, ZMQ_SNDHWM and
// ZMQ_RCVHWM = 0; ipcx shm lossless: the publisher waits for its slowest subscriber), so a
// run is lossless unless something drops; each subscriber checks the
// sequence numbers and a run with any gap is reported as lossy, never as throughput. Figures:
// messages delivered per subscriber per second, from the first message to the last. ipcx-b
// rows are ipcx with SocketOptions::batch_bytes = 64 KiB (sockets only).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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

struct Outcome {
  double seconds = 0;  // first to last message
  std::uint64_t received = 0;
  std::uint64_t gaps = 0;
  bool ok = false;
};

std::uint64_t sequence_of(const void* body) {
  std::uint64_t n;
  std::memcpy(&n, body, sizeof n);
  return n;
}

// What a subscriber reports to the parent through its pipe.
void report(int fd, const Outcome& o) {
  if (::write(fd, &o, sizeof o) != static_cast<ssize_t>(sizeof o)) ::_exit(3);
}

// N subscriber processes, each running `body` (which returns its Outcome) and reporting
// through a pipe of its own. Ended by PID when this goes out of scope.
class SubscriberProcesses {
 public:
  template <class Body>
  SubscriberProcesses(int n, Body body) {
    for (int s = 0; s < n; ++s) {
      int fds[2];
      if (::pipe(fds) != 0) return;
      pid_t pid = ::fork();
      if (pid == 0) {
        ::close(fds[0]);
        report(fds[1], body());
        ::_exit(0);
      }
      ::close(fds[1]);
      pids_.push_back(pid);
      pipes_.push_back(fds[0]);
    }
  }
  ~SubscriberProcesses() {
    for (int fd : pipes_) ::close(fd);
    for (pid_t pid : pids_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  // Waits for every report; a subscriber that died reports a failed Outcome.
  std::vector<Outcome> outcomes() {
    std::vector<Outcome> out;
    for (int fd : pipes_) {
      Outcome o;
      if (::read(fd, &o, sizeof o) != static_cast<ssize_t>(sizeof o)) o = {};
      out.push_back(o);
    }
    return out;
  }

 private:
  std::vector<pid_t> pids_;
  std::vector<int> pipes_;
};

// Counts messages until the end marker (an 8-byte body holding ~0), checking sequences.
template <class Receive>
Outcome count_until_end(Receive&& receive) {
  Outcome o;
  std::uint64_t expected = 0;
  Clock::time_point first{};
  for (;;) {
    std::uint64_t seq;
    if (!receive(seq)) return o;
    if (seq == ~std::uint64_t{0}) break;
    if (o.received == 0) first = Clock::now();
    if (seq != expected) o.gaps += seq > expected ? seq - expected : 1;
    expected = seq + 1;
    ++o.received;
  }
  o.seconds = std::chrono::duration<double>(Clock::now() - first).count();
  o.ok = true;
  return o;
}

struct Case {
  std::string impl;  // "ipcx" or "zmq"
  std::string mech;  // shm, unix, tcp (ipcx); ipc, tcp (zmq)
  int subscribers;
  std::size_t size;
  std::size_t count;
};

std::string ipcx_url(const Case& c, int index) {
  if (c.mech == "shm")
    return "shm://ipcx-fanout-" + std::to_string(::getpid()) + "-" + std::to_string(index);
  if (c.mech == "unix")
    return "unix:///tmp/ipcx-fanout-" + std::to_string(::getpid()) + "-" + std::to_string(index);
  return "tcp://127.0.0.1:0";
}

// Runs one case; returns each subscriber's outcome.
std::vector<Outcome> run_ipcx(const Case& c, int index) {
  ipcx::SocketOptions options;
  options.hwm = ~std::size_t{0};
  options.max_queued_bytes = ~std::size_t{0};
  options.lossless = true;  // shm: the publisher waits for the slowest instead of lapping it
  if (c.impl == "ipcx-b") options.batch_bytes = 64 * 1024;  // sockets: one write, many messages
  if (const char* ring = std::getenv("IPCX_BENCH_RING")) options.shm_ring_bytes = std::stoul(ring);
  ipcx::Publisher pub(options);
  std::string url = pub.bind(ipcx_url(c, index)).url();
  SubscriberProcesses subscribers(c.subscribers, [&] {
    ipcx::Subscriber sub(options);
    sub.connect(url);
    sub.subscribe("");
    ipcx::Message m;  // received into, reusing its storage (as zmq_recv into a buffer)
    return count_until_end([&](std::uint64_t& seq) {
      if (!sub.receive(m, std::chrono::seconds(60))) return false;
      if (m.size() < 2 || m.frame(1).size() < 8) return false;
      seq = sequence_of(m.frame(1).data());
      return true;
    });
  });
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (pub.subscribers() < static_cast<std::size_t>(c.subscribers) && Clock::now() < deadline) {
    pub.poll();
  }
  std::string body(c.size, 'f');
  for (std::uint64_t i = 0; i < c.count; ++i) {
    std::memcpy(body.data(), &i, sizeof i);
    (void)pub.publish(ipcx::Message{"", body});
  }
  std::uint64_t end = ~std::uint64_t{0};
  std::memcpy(body.data(), &end, sizeof end);
  (void)pub.publish(ipcx::Message{"", body});
  (void)pub.flush(std::chrono::seconds(60));
  auto out = subscribers.outcomes();
  if (c.mech == "unix") ::unlink(url.substr(7).c_str());
  return out;
}

#ifdef IPCX_BENCH_ZMQ
std::vector<Outcome> run_zmq(const Case& c, int index) {
  void* ctx = zmq_ctx_new();
  void* pub = zmq_socket(ctx, ZMQ_XPUB);  // XPUB: it sees the subscriptions, so no slow joiner
  int zero = 0, one = 1;
  zmq_setsockopt(pub, ZMQ_SNDHWM, &zero, sizeof zero);
  zmq_setsockopt(pub, ZMQ_XPUB_VERBOSE, &one, sizeof one);  // every subscriber's subscription
  zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);      // ctx_term never waits on a dead peer
  std::string where = c.mech == "ipc" ? "ipc:///tmp/ipcx-fanout-zmq-" + std::to_string(::getpid()) +
                                            "-" + std::to_string(index)
                                      : "tcp://127.0.0.1:*";
  zmq_bind(pub, where.c_str());
  char endpoint[256] = {};
  std::size_t len = sizeof endpoint;
  zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, endpoint, &len);
  SubscriberProcesses subscribers(c.subscribers, [&] {
    void* cctx = zmq_ctx_new();
    void* sub = zmq_socket(cctx, ZMQ_SUB);
    zmq_setsockopt(sub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_connect(sub, endpoint);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    std::vector<char> buf(c.size + 64);
    return count_until_end([&](std::uint64_t& seq) {
      // Topic frame, then the body.
      int more = 0;
      std::size_t more_len = sizeof more;
      if (zmq_recv(sub, buf.data(), buf.size(), 0) < 0) return false;
      zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &more_len);
      if (!more) return false;
      int n = zmq_recv(sub, buf.data(), buf.size(), 0);
      if (n < 8) return false;
      seq = sequence_of(buf.data());
      return true;
    });
  });
  // One subscription message per subscriber.
  char sub_msg[16];
  for (int s = 0; s < c.subscribers; ++s) zmq_recv(pub, sub_msg, sizeof sub_msg, 0);
  std::string body(c.size, 'f');
  for (std::uint64_t i = 0; i <= c.count; ++i) {
    std::uint64_t seq = i == c.count ? ~std::uint64_t{0} : i;
    std::memcpy(body.data(), &seq, sizeof seq);
    zmq_send(pub, "", 0, ZMQ_SNDMORE);
    zmq_send(pub, body.data(), body.size(), 0);
  }
  auto out = subscribers.outcomes();
  zmq_close(pub);
  zmq_ctx_term(ctx);
  if (c.mech == "ipc") ::unlink(where.substr(6).c_str());  // libzmq leaves the socket file
  return out;
}
#endif

void print(const Case& c, const std::vector<Outcome>& outcomes) {
  bool ok = !outcomes.empty();
  double slowest = 1e300;
  std::uint64_t gaps = 0, lost = 0;
  for (const auto& o : outcomes) {
    ok = ok && o.ok;
    gaps += o.gaps;
    lost += c.count - std::min<std::uint64_t>(o.received, c.count);
    if (o.seconds > 0) slowest = std::min(slowest, static_cast<double>(o.received) / o.seconds);
  }
  std::printf("%-6s %-5s %4d %6zu ", c.impl.c_str(), c.mech.c_str(), c.subscribers, c.size);
  if (!ok) {
    std::printf("  FAILED\n");
  } else if (gaps > 0 || lost > 0) {
    std::printf("  lossy: %llu gaps, %llu lost across subscribers\n",
                static_cast<unsigned long long>(gaps), static_cast<unsigned long long>(lost));
  } else {
    std::printf("%14.0f %10.0f\n", slowest, slowest * static_cast<double>(c.size) / 1e6);
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> mechanisms{"shm", "unix", "tcp"};
  std::vector<int> fan{1, 4, 16};
  std::size_t count = 100000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--mechanism") mechanisms = {argv[i + 1]};
    if (a == "--count") count = std::stoul(argv[i + 1]);
    if (a == "--subscribers") fan = {std::stoi(argv[i + 1])};
  }
  std::printf(
      "# %zu messages to every subscriber, unlimited queues; per subscriber, the slowest's"
      " rate\n",
      count);
  std::printf("%-6s %-5s %4s %6s %14s %10s\n", "impl", "mech", "subs", "bytes", "msgs/s/sub",
              "MB/s/sub");
  int index = 0;
  for (int n : fan) {
    for (std::size_t size : {std::size_t{64}, std::size_t{4096}}) {
      for (const auto& mech : mechanisms) {
        Case c{"ipcx", mech, n, size, count};
        print(c, run_ipcx(c, index++));
        if (mech != "shm" && size == 64) {
          Case b{"ipcx-b", mech, n, size, count};
          print(b, run_ipcx(b, index++));
        }
#ifdef IPCX_BENCH_ZMQ
        if (mech == "unix" || mech == "tcp") {
          Case z{"zmq", mech == "unix" ? "ipc" : "tcp", n, size, count};
          print(z, run_zmq(z, index++));
        }
#endif
      }
    }
  }
  return 0;
}
