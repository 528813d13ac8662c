// `ipcx tour` (CLI), the main job: starts one kv server as a child over anonymous pipes, bound
// on all seven mechanisms at once, reaches it through each, writing through one and reading
// through the next to show they share one store, and prints a table: mechanism, endpoint,
// round-trip p50/p99, messages/s, and when to choose it. Cleans up after itself: the child's
// endpoints go when it stops, which it does when its pipes close.
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "ipcx/client.hpp"

namespace ipcx::cli {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct TourSettings {
  int calls = 2000;  // timed round trips per mechanism
};

struct Stop {
  std::string mechanism;
  std::string url;  // empty: the spawned child's stdio
  const char* when;
};

// A loopback port free now, for the child to bind (it reports nothing back over stdio).
int free_port(int type) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct Timing {
  double p50_us = 0;
  double p99_us = 0;
  double per_second = 0;
  bool ok = false;
};

Timing measure(Client& client, int calls) {
  Timing t;
  Message request{"get", "tour"};
  for (int i = 0; i < calls / 10; ++i) {
    if (!client.call(request, 5s)) return t;
  }
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(calls));
  auto start = Clock::now();
  for (int i = 0; i < calls; ++i) {
    auto before = Clock::now();
    if (!client.call(request, 5s)) return t;
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - before).count());
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(us.begin(), us.end());
  t.p50_us = us[us.size() / 2];
  t.p99_us = us[us.size() * 99 / 100];
  t.per_second = calls / seconds;
  t.ok = true;
  return t;
}

int tour(const TourSettings& cfg) {
  std::string dir_pattern = (std::filesystem::temp_directory_path() / "ipcx-tour-XXXXXX").string();
  if (::mkdtemp(dir_pattern.data()) == nullptr) {
    std::perror("ipcx tour: mkdtemp");
    return kExitFailed;
  }
  std::filesystem::path dir = dir_pattern;
  std::string tag = std::to_string(::getpid());
  std::vector<Stop> stops = {
      {"stdio", "", "a parent and the worker it starts; nothing named to clean up"},
      {"shm", "shm://ipcx-tour-" + tag, "the fastest local path; same host"},
      {"unix", "unix://" + (dir / "kv.sock").string(),
       "local, with peer credentials; libzmq speaks it"},
      {"tcp", "tcp://127.0.0.1:" + std::to_string(free_port(SOCK_STREAM)),
       "other machines; libzmq speaks it"},
      {"udp", "udp://127.0.0.1:" + std::to_string(free_port(SOCK_DGRAM)),
       "small messages, at most once, no connection"},
      {"pipe", "pipe://" + (dir / "kv.fifo").string(),
       "unrelated processes with only a path; no sockets"},
      {"mq", "mq://ipcx-tour-" + tag, "kernel-held queues of small messages"},
  };
  std::vector<std::string> argv = {"/proc/self/exe", "serve",   "--quiet", "--handler", "kv",
                                   "--bind",         "stdio://"};
  for (const auto& s : stops) {
    if (s.url.empty()) continue;
    argv.push_back("--bind");
    argv.push_back(s.url);
  }
  int status = kExitOk;
  try {
    std::vector<std::unique_ptr<Client>> clients;
    clients.push_back(std::make_unique<Client>(spawn(argv)));
    std::cout << "one kv server, started as a child over anonymous pipes, bound on:\n";
    for (const auto& s : stops) {
      std::cout << "  " << (s.url.empty() ? "stdio:// (its stdin and stdout)" : s.url) << '\n';
      if (!s.url.empty()) clients.push_back(std::make_unique<Client>(s.url));
    }
    // The stdio call first: it returns once the child has bound everything.
    std::cout << "\nwriting through each mechanism, reading through the next:\n";
    for (std::size_t i = 0; i < stops.size(); ++i) {
      std::size_t j = (i + 1) % stops.size();
      std::string key = "written-by-" + stops[i].mechanism;
      std::string value = "hello through " + stops[i].mechanism;
      auto put = clients[i]->call(Message{"put", key, value}, 20s);
      auto got = clients[j]->call(Message{"get", key}, 20s);
      bool same = put && got && got->size() >= 1 && got->text(got->size() - 1) == value;
      std::printf("  put %-18s via %-5s  get via %-5s -> %s\n", key.c_str(),
                  stops[i].mechanism.c_str(), stops[j].mechanism.c_str(),
                  same ? "same value" : "MISMATCH");
      if (!same) status = kExitFailed;
    }
    (void)clients[0]->call(Message{"put", "tour", std::string(64, 't')}, 20s);
    std::printf("\n%-6s %-44s %9s %9s %10s  %s\n", "mech", "endpoint", "p50 us", "p99 us",
                "calls/s", "choose it for");
    for (std::size_t i = 0; i < stops.size(); ++i) {
      Timing t = measure(*clients[i], cfg.calls);
      std::string where = stops[i].url.empty() ? "stdio:// (spawned child)" : stops[i].url;
      if (where.size() > 44) where = "..." + where.substr(where.size() - 41);
      if (!t.ok) {
        std::printf("%-6s %-44s %9s\n", stops[i].mechanism.c_str(), where.c_str(), "FAILED");
        status = kExitFailed;
        continue;
      }
      std::printf("%-6s %-44s %9.1f %9.1f %10.0f  %s\n", stops[i].mechanism.c_str(), where.c_str(),
                  t.p50_us, t.p99_us, t.per_second, stops[i].when);
    }
    std::printf("(%d sequential 64-byte kv gets each, one client, default 50 us spin)\n",
                cfg.calls);
  } catch (const Error& e) {
    std::cerr << "ipcx tour: " << e.what() << '\n';
    status = kExitFailed;
  }
  // The clients are gone: the child saw its stdin close, stopped and was reaped. Its
  // endpoints must have gone with it.
  std::vector<std::string> left;
  for (const char* name : {"kv.sock", "kv.fifo"}) {
    if (std::filesystem::exists(dir / name)) left.push_back((dir / name).string());
  }
  std::string queue = "/ipcx-tour-" + tag;
  mqd_t q = ::mq_open(queue.c_str(), O_RDONLY);
  if (q != static_cast<mqd_t>(-1)) {
    ::mq_close(q);
    left.push_back("queue " + queue);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (left.empty()) {
    std::cout << "\nthe server has stopped: its socket file, FIFO and queue are gone\n";
  } else {
    for (const auto& l : left) std::cerr << "ipcx tour: left behind: " << l << '\n';
    status = kExitFailed;
  }
  return status;
}

}  // namespace

Runner add_tour(CLI::App& app) {
  auto cfg = std::make_shared<TourSettings>();
  CLI::App* cmd = app.add_subcommand(
      "tour", "One kv server on all seven mechanisms at once, reached through each");
  cmd->add_option("--calls", cfg->calls, "Timed round trips per mechanism")
      ->check(CLI::Range(10, 10000000));
  return [cfg] { return tour(*cfg); };
}

}  // namespace ipcx::cli
