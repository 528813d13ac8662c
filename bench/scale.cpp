// `ipcx bench scale`: many clients on one server. For each mechanism, a server process and N
// client connections spread over a few client processes: what each connection costs in resident
// memory and descriptors on both sides (idle, after one call each, and after a burst of 64 KiB
// messages on every connection has drained), connect + first call times, and the aggregate
// request rate with every client active at once, each pipelining a few 64-byte calls; beside
// libzmq (a ROUTER server, N DEALER clients) on ipc and tcp in the same run.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <ipcx/ipcx.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "stats.hpp"
#include "support/fd_count.hpp"
#ifdef IPCX_BENCH_ZMQ
#include <zmq.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Settings {
  std::vector<std::string> mechanisms{"shm", "unix", "tcp"};
  int clients = 1000;
  int processes = 4;
  int pipeline = 4;
  double seconds = 3;
  std::string json;
  bool without_zmq = false;
};

void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

long rss_kib(pid_t pid) { return ipcx::test::resident_kib(std::to_string(pid)); }
long fd_count(pid_t pid) {
  return static_cast<long>(ipcx::test::open_fd_count(std::to_string(pid)));
}

// A line-oriented channel to a child process: the parent writes commands, the child answers.
struct Channel {
  int to_child[2];
  int to_parent[2];
  void open() {
    if (::pipe(to_child) != 0 || ::pipe(to_parent) != 0) std::abort();
  }
  static void put(int fd, const std::string& line) {
    std::string l = line + "\n";
    (void)::write(fd, l.data(), l.size());
  }
  static std::string get(int fd) {
    std::string line;
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
    return line;
  }
};

// One client process's part: `call_all` connects each of its share and makes one call on it
// (timed together), `burst` sends a 64 KiB message on each and waits for every reply, `run_for`
// keeps every connection busy with `pipeline` calls in flight and returns how many completed.
struct ClientSide {
  std::function<std::vector<double>()> call_all;
  std::function<void()> burst;
  std::function<long(double seconds)> run_for;
};

struct Row {
  std::string impl, mech;
  int clients = 0;
  double server_idle_kib = 0, server_kib_per_conn = 0, server_fds_per_conn = 0;
  double client_kib_per_conn = 0, client_fds_per_conn = 0;
  double server_after_burst_kib_per_conn = 0;
  double client_after_burst_kib_per_conn = 0;
  double connect_last_tenth_p50_us = 0;  // of the connections made with 90% already open
  double connect_p50_us = 0, connect_p99_us = 0;
  double calls_per_s = 0;
};

// A server process (its descriptor limit raised) that runs `serve`, which binds, writes the URL
// it bound to `url_fd` as a line, and serves until killed; returns its pid and that URL.
pid_t fork_server(const std::function<void(int url_fd)>& serve, std::string& url) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  pid_t pid = ::fork();
  if (pid == 0) {
    raise_fd_limit();
    ::close(fds[0]);
    serve(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  url = Channel::get(fds[0]);
  ::close(fds[0]);
  return pid;
}

Row run(const std::string& impl, const std::string& mech, const Settings& s,
        const std::function<void(int url_fd)>& serve,
        const std::function<ClientSide(const std::string& url, int count)>& client_side) {
  Row row{impl, mech, s.clients};
  std::string url;
  pid_t server = fork_server(serve, url);
  ::usleep(200000);
  long server_base_kib = rss_kib(server), server_base_fds = fd_count(server);
  row.server_idle_kib = static_cast<double>(server_base_kib);
  std::vector<Channel> channels(static_cast<std::size_t>(s.processes));
  std::vector<pid_t> kids;
  for (int k = 0; k < s.processes; ++k) {
    int share = s.clients / s.processes + (k < s.clients % s.processes ? 1 : 0);
    Channel& ch = channels[static_cast<std::size_t>(k)];
    ch.open();
    pid_t pid = ::fork();
    if (pid == 0) {
      raise_fd_limit();
      ClientSide side = client_side(url, share);
      for (;;) {
        std::string cmd = Channel::get(ch.to_child[0]);
        if (cmd == "call") {
          std::ostringstream out;
          for (double us : side.call_all()) out << us << ' ';
          Channel::put(ch.to_parent[1], out.str());
        } else if (cmd == "burst") {
          side.burst();
          Channel::put(ch.to_parent[1], "ok");
        } else if (cmd == "run") {
          Channel::put(ch.to_parent[1], std::to_string(side.run_for(s.seconds)));
        } else {
          ::_exit(0);
        }
      }
    }
    kids.push_back(pid);
  }
  std::vector<long> client_base_kib, client_base_fds;
  for (pid_t k : kids) {
    client_base_kib.push_back(rss_kib(k));
    client_base_fds.push_back(fd_count(k));
  }
  auto all = [&](const std::string& cmd) {
    std::vector<std::string> answers;
    for (auto& ch : channels) Channel::put(ch.to_child[1], cmd);
    for (auto& ch : channels) answers.push_back(Channel::get(ch.to_parent[0]));
    return answers;
  };
  std::vector<double> connect_us, last_tenth_us;
  for (const auto& line : all("call")) {
    std::istringstream in(line);
    std::vector<double> mine;
    for (double us; in >> us;) mine.push_back(us);
    connect_us.insert(connect_us.end(), mine.begin(), mine.end());
    last_tenth_us.insert(last_tenth_us.end(), mine.end() - static_cast<long>(mine.size() / 10),
                         mine.end());
  }
  row.connect_last_tenth_p50_us = ipcx::bench::summarize(last_tenth_us).p50;
  auto summary = ipcx::bench::summarize(connect_us);
  row.connect_p50_us = summary.p50;
  row.connect_p99_us = summary.p99;
  double n = s.clients;
  row.server_kib_per_conn = (rss_kib(server) - server_base_kib) / n;
  row.server_fds_per_conn = (fd_count(server) - server_base_fds) / n;
  long client_kib = 0, client_fds = 0;
  for (std::size_t i = 0; i < kids.size(); ++i) {
    client_kib += rss_kib(kids[i]) - client_base_kib[i];
    client_fds += fd_count(kids[i]) - client_base_fds[i];
  }
  row.client_kib_per_conn = client_kib / n;
  row.client_fds_per_conn = client_fds / n;
  long total = 0;
  for (const auto& line : all("run")) total += std::atol(line.c_str());
  row.calls_per_s = total / s.seconds;
  all("burst");
  // Still for two of the server's engine ticks (a second each by default): what a burst
  // touched is given back at a tick once a ring has not moved for a whole tick.
  ::usleep(2500000);
  row.server_after_burst_kib_per_conn = (rss_kib(server) - server_base_kib) / n;
  long client_after = 0;
  for (std::size_t i = 0; i < kids.size(); ++i)
    client_after += rss_kib(kids[i]) - client_base_kib[i];
  row.client_after_burst_kib_per_conn = client_after / n;
  for (auto& ch : channels) Channel::put(ch.to_child[1], "quit");
  for (pid_t k : kids) ::waitpid(k, nullptr, 0);
  ::kill(server, SIGTERM);
  ::waitpid(server, nullptr, 0);
  // Killed servers leave their socket files.
  if (url.rfind("unix://", 0) == 0) ::unlink(url.substr(7).c_str());
  if (url.rfind("ipc://", 0) == 0) ::unlink(url.substr(6).c_str());
  return row;
}

Row run_ipcx(const std::string& mech, const Settings& s) {
  auto serve = [&](int url_fd) {
    ipcx::ServerOptions o;
    o.max_connections = static_cast<std::size_t>(s.clients) + 100;
    ipcx::Server server(o);
    server.on_request([](ipcx::Request& r) { r.reply(r.body()); });
    std::string where = mech == "tcp"    ? "tcp://127.0.0.1:0"
                        : mech == "unix" ? "unix:///tmp/ipcx-scale-" + std::to_string(::getpid())
                                         : "shm://ipcx-scale-" + std::to_string(::getpid());
    Channel::put(url_fd, server.bind(where).url());
    server.run();
  };
  auto client_side = [&](const std::string& url, int count) {
    auto clients = std::make_shared<std::vector<std::unique_ptr<ipcx::Client>>>();
    ClientSide side;
    side.call_all = [clients, url, count] {
      std::vector<double> us;
      ipcx::ClientOptions o;
      o.spin = 0us;
      for (int i = 0; i < count; ++i) {
        auto t0 = Clock::now();
        clients->push_back(std::make_unique<ipcx::Client>(url, o));
        if (!clients->back()->call(ipcx::Message{"hello"}, 30s)) std::abort();
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
      return us;
    };
    side.burst = [clients] {
      ipcx::Message big{std::string(65536, 'b')};
      for (auto& c : *clients) (void)c->send(big);
      for (auto& c : *clients) (void)c->receive(30s);
    };
    side.run_for = [clients, pipeline = s.pipeline](double seconds) {
      // Every client has `pipeline` calls in flight; each is topped up as its replies come.
      ipcx::Message m{std::string(64, 'x')};
      long done = 0;
      auto until = Clock::now() + std::chrono::duration<double>(seconds);
      while (Clock::now() < until) {
        for (auto& c : *clients) {
          for (int i = 0; i < pipeline; ++i) (void)c->send(m);
        }
        for (auto& c : *clients) {
          for (int i = 0; i < pipeline; ++i) done += c->receive(30s) ? 1 : 0;
        }
      }
      return done;
    };
    return side;
  };
  return run("ipcx", mech, s, serve, client_side);
}

#ifdef IPCX_BENCH_ZMQ
// libzmq: a ROUTER echoing every message whole, and DEALER clients sending [""][body].
Row run_zmq(const std::string& mech, const Settings& s) {
  auto serve = [&](int url_fd) {
    void* ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, s.clients + 100);
    void* router = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(router, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(router, ZMQ_RCVHWM, &zero, sizeof zero);
    std::string where = mech == "tcp" ? "tcp://127.0.0.1:*"
                                      : "ipc:///tmp/ipcx-scale-zmq-" + std::to_string(::getpid());
    zmq_bind(router, where.c_str());
    char endpoint[256];
    std::size_t len = sizeof endpoint;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &len);
    Channel::put(url_fd, endpoint);
    std::vector<zmq_msg_t> parts;
    for (;;) {
      int more = 1;
      while (more) {
        parts.emplace_back();
        zmq_msg_init(&parts.back());
        if (zmq_msg_recv(&parts.back(), router, 0) < 0) return;
        more = zmq_msg_more(&parts.back());
      }
      for (std::size_t i = 0; i < parts.size(); ++i) {
        zmq_msg_send(&parts[i], router, i + 1 < parts.size() ? ZMQ_SNDMORE : 0);
      }
      parts.clear();
    }
  };
  auto client_side = [&](const std::string& url, int count) {
    struct State {
      void* ctx = zmq_ctx_new();
      std::vector<void*> dealers;
    };
    auto st = std::make_shared<State>();
    zmq_ctx_set(st->ctx, ZMQ_MAX_SOCKETS, count + 100);
    ClientSide side;
    side.call_all = [st, url, count] {
      std::vector<double> us;
      char buf[128];
      for (int i = 0; i < count; ++i) {
        auto t0 = Clock::now();
        void* d = zmq_socket(st->ctx, ZMQ_DEALER);
        zmq_connect(d, url.c_str());
        st->dealers.push_back(d);
        zmq_send(d, "", 0, ZMQ_SNDMORE);
        zmq_send(d, "hello", 5, 0);
        zmq_recv(d, buf, sizeof buf, 0);
        zmq_recv(d, buf, sizeof buf, 0);
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
      return us;
    };
    side.burst = [st] {
      std::string big(65536, 'b');
      std::vector<char> buf(70000);
      for (void* d : st->dealers) {
        zmq_send(d, "", 0, ZMQ_SNDMORE);
        zmq_send(d, big.data(), big.size(), 0);
      }
      for (void* d : st->dealers) {
        zmq_recv(d, buf.data(), buf.size(), 0);
        zmq_recv(d, buf.data(), buf.size(), 0);
      }
    };
    side.run_for = [st, pipeline = s.pipeline](double seconds) {
      std::string m(64, 'x');
      char buf[128];
      long done = 0;
      auto until = Clock::now() + std::chrono::duration<double>(seconds);
      while (Clock::now() < until) {
        for (void* d : st->dealers) {
          for (int i = 0; i < pipeline; ++i) {
            zmq_send(d, "", 0, ZMQ_SNDMORE);
            zmq_send(d, m.data(), m.size(), 0);
          }
        }
        for (void* d : st->dealers) {
          for (int i = 0; i < pipeline; ++i) {
            zmq_recv(d, buf, sizeof buf, 0);
            done += zmq_recv(d, buf, sizeof buf, 0) >= 0 ? 1 : 0;
          }
        }
      }
      return done;
    };
    return side;
  };
  return run("zmq", mech, s, serve, client_side);
}
#endif

void write_json(const std::string& path, const Settings& s, const std::vector<Row>& rows) {
  std::ofstream out(path);
  out << "{\"clients\": " << s.clients << ", \"processes\": " << s.processes
      << ", \"pipeline\": " << s.pipeline << ", \"seconds\": " << s.seconds << ", \"rows\": [\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out << "  {\"impl\": \"" << r.impl << "\", \"mech\": \"" << r.mech
        << "\", \"clients\": " << r.clients << ", \"server_idle_kib\": " << r.server_idle_kib
        << ", \"server_kib_per_conn\": " << r.server_kib_per_conn
        << ", \"server_fds_per_conn\": " << r.server_fds_per_conn
        << ", \"client_kib_per_conn\": " << r.client_kib_per_conn
        << ", \"client_fds_per_conn\": " << r.client_fds_per_conn
        << ", \"server_after_burst_kib_per_conn\": " << r.server_after_burst_kib_per_conn
        << ", \"client_after_burst_kib_per_conn\": " << r.client_after_burst_kib_per_conn
        << ", \"connect_last_tenth_p50_us\": " << r.connect_last_tenth_p50_us
        << ", \"connect_p50_us\": " << r.connect_p50_us
        << ", \"connect_p99_us\": " << r.connect_p99_us << ", \"calls_per_s\": " << r.calls_per_s
        << "}" << (i + 1 < rows.size() ? ",\n" : "\n");
  }
  out << "]}\n";
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--mechanism") {
      s.mechanisms.clear();
      std::stringstream list(next());
      for (std::string m; std::getline(list, m, ',');) s.mechanisms.push_back(m);
    } else if (a == "--clients") {
      s.clients = std::atoi(next().c_str());
    } else if (a == "--processes") {
      s.processes = std::atoi(next().c_str());
    } else if (a == "--pipeline") {
      s.pipeline = std::atoi(next().c_str());
    } else if (a == "--seconds") {
      s.seconds = std::atof(next().c_str());
    } else if (a == "--json") {
      s.json = next();
    } else if (a == "--without-zmq") {
      s.without_zmq = true;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  std::vector<Row> rows;
  for (const auto& m : s.mechanisms) rows.push_back(run_ipcx(m, s));
#ifdef IPCX_BENCH_ZMQ
  if (!s.without_zmq) {
    for (const char* m : {"ipc", "tcp"}) rows.push_back(run_zmq(m, s));
  }
#endif
  std::printf("%d clients in %d processes; KiB and descriptors per connection\n", s.clients,
              s.processes);
  std::printf("%-5s %-5s %9s %9s %8s %9s %8s %9s %9s %9s %9s %9s %11s\n", "impl", "mech",
              "srv idle", "srv KiB/c", "srv fd/c", "cli KiB/c", "cli fd/c", "srv burst",
              "cli burst", "conn p50", "conn p99", "last 10%", "calls/s");
  for (const auto& r : rows) {
    std::printf("%-5s %-5s %9.0f %9.1f %8.2f %9.1f %8.2f %9.1f %9.1f %9.1f %9.1f %9.1f %11.0f\n",
                r.impl.c_str(), r.mech.c_str(), r.server_idle_kib, r.server_kib_per_conn,
                r.server_fds_per_conn, r.client_kib_per_conn, r.client_fds_per_conn,
                r.server_after_burst_kib_per_conn, r.client_after_burst_kib_per_conn,
                r.connect_p50_us, r.connect_p99_us, r.connect_last_tenth_p50_us, r.calls_per_s);
  }
  std::printf(
      "(burst: KiB per connection after a 64 KiB message each way on every connection and "
      "2.5 s still; last 10%%: connect + first call p50 with 90%% of the clients open)\n");
  if (!s.json.empty()) write_json(s.json, s, rows);
  return 0;
}
