// `ipcx bench curve`: what CURVE costs, in one run, on tcp loopback, against the floor it cannot
// beat and against libzmq. For 64 B and 64 KiB round trips, with the two processes on one CPU
// and on two: libsodium alone doing the box operations of one round trip (every frame of the
// request and of the reply sealed and opened, as RFC 25 boxes each frame), ipcx NULL and CURVE
// with spinning off (their difference is what CURVE adds), ipcx CURVE with its defaults, and
// libzmq REQ/REP without and with CURVE; then 64 B push throughput under CURVE, ipcx against
// libzmq. Medians of --count calls (each timed alone); --json writes the rows.
#include <signal.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <ipcx/ipcx.hpp>
#include <string>
#include <vector>

#include "cpu.hpp"
#include "stats.hpp"
#ifdef IPCX_BENCH_ZMQ
#include <zmq.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Keys {
  ipcx::CurveKeyPair server = ipcx::curve_key_pair();
  ipcx::CurveKeyPair client = ipcx::curve_key_pair();
};

struct Row {
  std::string placement, what;
  std::size_t size = 0;
  double p50_us = 0;  // or messages per second for a throughput row
};

// Runs `serve` in a child process pinned to `cpu`, which writes its port to the pipe; returns
// the child's pid and the port.
pid_t fork_server(int cpu, const std::function<void(int port_fd)>& serve, int& port) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ipcx::bench::pin(cpu);
    serve(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  port = 0;
  if (::read(fds[0], &port, sizeof port) != sizeof port) port = 0;
  ::close(fds[0]);
  return pid;
}

void stop(pid_t pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

double median_us(std::vector<double> samples) { return ipcx::bench::summarize(samples).p50; }

template <class Call>
double time_calls(int count, Call&& call) {
  for (int i = 0; i < count / 10 + 10; ++i) call();  // warm up
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    auto t0 = Clock::now();
    call();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  return median_us(std::move(us));
}

// libsodium alone: the boxes of one round trip whose request and reply each have these frames.
double sodium_floor(int count, const std::vector<std::size_t>& frames) {
  unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
  unsigned char shared[crypto_box_BEFORENMBYTES], nonce[crypto_box_NONCEBYTES] = {};
  crypto_box_keypair(pk, sk);
  if (crypto_box_beforenm(shared, pk, sk) != 0) std::abort();
  std::size_t largest = 0;
  for (auto f : frames) largest = std::max(largest, f + 1);
  std::vector<unsigned char> plain(largest), boxed(largest + crypto_box_MACBYTES), opened(largest);
  return time_calls(count, [&] {
    for (int side = 0; side < 2; ++side) {  // the request, then the reply
      for (auto f : frames) {
        ++nonce[0];
        (void)crypto_box_easy_afternm(boxed.data(), plain.data(), f + 1, nonce, shared);
        if (crypto_box_open_easy_afternm(opened.data(), boxed.data(), f + 1 + crypto_box_MACBYTES,
                                         nonce, shared) != 0) {
          std::abort();
        }
      }
    }
  });
}

double ipcx_rtt(int count, std::size_t size, bool curve, bool spin, int server_cpu, int client_cpu,
                const Keys& keys) {
  int port = 0;
  pid_t pid = fork_server(
      server_cpu,
      [&](int port_fd) {
        ipcx::ServerOptions o;
        if (!spin) o.spin = 0us;
        if (curve) {
          o.security.curve_secret_key = keys.server.secret_key;
          o.security.curve_allow = {keys.client.public_key};
        }
        ipcx::Server server(o);
        server.on_request([](ipcx::Request& r) { r.reply(r.body()); });
        int p = server.bind("tcp://127.0.0.1:0").port;
        (void)::write(port_fd, &p, sizeof p);
        server.run();
      },
      port);
  ipcx::bench::pin(client_cpu);
  ipcx::ClientOptions o;
  if (!spin) o.spin = 0us;
  if (curve) {
    o.security.curve_server_key = keys.server.public_key;
    o.security.curve_secret_key = keys.client.secret_key;
  }
  ipcx::Client client("tcp://127.0.0.1:" + std::to_string(port), o);
  ipcx::Message request{std::string(size, 'x')};
  double p50 = time_calls(count, [&] {
    auto r = client.call(request, 10s);
    if (!r) std::abort();
  });
  stop(pid);
  return p50;
}

#ifdef IPCX_BENCH_ZMQ
void zmq_curve(void* s, bool server, const Keys& keys) {
  if (server) {
    int one = 1;
    zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys.server.secret_key.c_str(), 40);
  } else {
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, keys.server.public_key.c_str(), 40);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, keys.client.public_key.c_str(), 40);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys.client.secret_key.c_str(), 40);
  }
}

int bound_port(void* s) {
  char endpoint[256];
  std::size_t len = sizeof endpoint;
  zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &len);
  return std::atoi(std::strrchr(endpoint, ':') + 1);
}

double zmq_rtt(int count, std::size_t size, bool curve, int server_cpu, int client_cpu,
               const Keys& keys) {
  int port = 0;
  pid_t pid = fork_server(
      server_cpu,
      [&](int port_fd) {
        void* ctx = zmq_ctx_new();
        void* rep = zmq_socket(ctx, ZMQ_REP);
        if (curve) zmq_curve(rep, true, keys);
        zmq_bind(rep, "tcp://127.0.0.1:*");
        int p = bound_port(rep);
        (void)::write(port_fd, &p, sizeof p);
        std::vector<char> buf(size + 16);
        for (;;) {
          int n = zmq_recv(rep, buf.data(), buf.size(), 0);
          if (n < 0 || zmq_send(rep, buf.data(), static_cast<std::size_t>(n), 0) < 0) break;
        }
      },
      port);
  ipcx::bench::pin(client_cpu);
  void* ctx = zmq_ctx_new();
  void* req = zmq_socket(ctx, ZMQ_REQ);
  if (curve) zmq_curve(req, false, keys);
  std::string url = "tcp://127.0.0.1:" + std::to_string(port);
  zmq_connect(req, url.c_str());
  std::vector<char> out(size, 'x'), in(size + 16);
  double p50 = time_calls(count, [&] {
    if (zmq_send(req, out.data(), out.size(), 0) < 0 ||
        zmq_recv(req, in.data(), in.size(), 0) < 0) {
      std::abort();
    }
  });
  int zero = 0;
  zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof zero);
  zmq_close(req);
  zmq_ctx_term(ctx);
  stop(pid);
  return p50;
}

double zmq_push(int messages, int server_cpu, int client_cpu, const Keys& keys) {
  int port = 0;
  pid_t pid = fork_server(
      server_cpu,
      [&](int port_fd) {
        void* ctx = zmq_ctx_new();
        void* pull = zmq_socket(ctx, ZMQ_PULL);
        zmq_curve(pull, true, keys);
        zmq_bind(pull, "tcp://127.0.0.1:*");
        int p = bound_port(pull);
        (void)::write(port_fd, &p, sizeof p);
        char buf[64];
        for (int i = 0; i < messages; ++i) zmq_recv(pull, buf, sizeof buf, 0);
        (void)::write(port_fd, &p, sizeof p);
      },
      port);
  ipcx::bench::pin(client_cpu);
  void* ctx = zmq_ctx_new();
  void* push = zmq_socket(ctx, ZMQ_PUSH);
  zmq_curve(push, false, keys);
  std::string url = "tcp://127.0.0.1:" + std::to_string(port);
  zmq_connect(push, url.c_str());
  char msg[64] = {};
  auto t0 = Clock::now();
  for (int i = 0; i < messages; ++i) zmq_send(push, msg, sizeof msg, 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  zmq_close(push);
  zmq_ctx_term(ctx);
  return messages / seconds;
}
#endif

double ipcx_push(int messages, int server_cpu, int client_cpu, const Keys& keys) {
  int port = 0;
  pid_t pid = fork_server(
      server_cpu,
      [&](int port_fd) {
        ipcx::SocketOptions o;
        o.security.curve_secret_key = keys.server.secret_key;
        o.security.curve_allow = {keys.client.public_key};
        ipcx::Puller puller(o);
        int p = puller.bind("tcp://127.0.0.1:0").port;
        (void)::write(port_fd, &p, sizeof p);
        ipcx::Message m;
        for (int i = 0; i < messages; ++i) {
          if (!puller.receive(m, 30s)) break;
        }
      },
      port);
  ipcx::bench::pin(client_cpu);
  ipcx::SocketOptions o;
  o.security.curve_server_key = keys.server.public_key;
  o.security.curve_secret_key = keys.client.secret_key;
  ipcx::Pusher pusher(o);
  pusher.connect("tcp://127.0.0.1:" + std::to_string(port));
  ipcx::Message msg{std::string(64, 'x')};
  auto t0 = Clock::now();
  for (int i = 0; i < messages; ++i) {
    if (!pusher.send(msg, 30s)) std::abort();
  }
  (void)pusher.flush(30s);
  ::waitpid(pid, nullptr, 0);
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return messages / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  int count = 3000;
  int messages = 200000;
  std::string json;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--count" && i + 1 < argc) count = std::atoi(argv[++i]);
    if (a == "--messages" && i + 1 < argc) messages = std::atoi(argv[++i]);
    if (a == "--json" && i + 1 < argc) json = argv[++i];
    if (a == "--quick") count = 300, messages = 20000;
  }
  if (sodium_init() < 0) return 1;
  ::signal(SIGPIPE, SIG_IGN);
  Keys keys;
  std::vector<Row> rows;
  struct Placement {
    const char* name;
    int server, client;
  } placements[] = {{"2 CPUs", 1, 0}, {"1 CPU", 0, 0}};
  for (const auto& p : placements) {
    for (std::size_t size : {std::size_t{64}, std::size_t{65536}}) {
      // ipcx: [id][""][body] each way; libzmq REQ/REP: [""][body].
      rows.push_back(
          {p.name, "libsodium floor (ipcx frames)", size, sodium_floor(count, {5, 0, size})});
      rows.push_back({p.name, "ipcx NULL, spin off", size,
                      ipcx_rtt(count, size, false, false, p.server, p.client, keys)});
      rows.push_back({p.name, "ipcx CURVE, spin off", size,
                      ipcx_rtt(count, size, true, false, p.server, p.client, keys)});
      rows.push_back({p.name, "ipcx CURVE, defaults", size,
                      ipcx_rtt(count, size, true, true, p.server, p.client, keys)});
#ifdef IPCX_BENCH_ZMQ
      rows.push_back(
          {p.name, "libzmq NULL", size, zmq_rtt(count, size, false, p.server, p.client, keys)});
      rows.push_back(
          {p.name, "libzmq CURVE", size, zmq_rtt(count, size, true, p.server, p.client, keys)});
#endif
    }
    rows.push_back(
        {p.name, "ipcx CURVE push msg/s", 64, ipcx_push(messages, p.server, p.client, keys)});
#ifdef IPCX_BENCH_ZMQ
    rows.push_back(
        {p.name, "libzmq CURVE push msg/s", 64, zmq_push(messages, p.server, p.client, keys)});
#endif
  }
  std::printf("CURVE on tcp loopback: round trip p50 (us), push (msg/s); %d calls a row\n", count);
  std::printf("%-8s %-32s %7s %12s\n", "place", "what", "size", "p50/rate");
  for (const auto& r : rows) {
    std::printf("%-8s %-32s %7zu %12.2f\n", r.placement.c_str(), r.what.c_str(), r.size, r.p50_us);
  }
  if (!json.empty()) {
    std::ofstream out(json);
    out << "{\"count\": " << count << ", \"messages\": " << messages << ", \"rows\": [\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      out << "  {\"placement\": \"" << r.placement << "\", \"what\": \"" << r.what
          << "\", \"size\": " << r.size << ", \"value\": " << r.p50_us << "}"
          << (i + 1 < rows.size() ? ",\n" : "\n");
    }
    out << "]}\n";
  }
  return 0;
}
