// Round-trip latency harness (bench): ipcx against the raw-syscall floor of the same mechanism,
// in one run, with the two processes on two CPUs and on one CPU. Prints p50/p99/p99.9, the ratio
// of each p50 to the raw floor, and the CPU time both processes spent per round trip, so the
// cost of spinning is never hidden. The later `ipcx bench` grows from this harness.
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "peers.hpp"
#include "stats.hpp"

namespace ipcx::bench {
namespace {

struct Placement {
  const char* name;
  int server_cpu;
  int client_cpu;
};

struct Settings {
  std::size_t count = 20000;
  std::size_t warmup = 2000;
  // Each row is measured in this many interleaved rounds (floor, ipcx, floor, ipcx...), its
  // samples pooled, so a slow minute of this shared machine hits every row alike.
  std::size_t rounds = 3;
  std::size_t size = 64;
  long spin_us = 50;
  long gap_us = 0;  // pause between round trips: sparse traffic, where spinning costs most
  std::vector<std::string> mechanisms{"shm", "unix", "tcp"};
  std::string only_mode;  // empty: every ipcx mode; else that one (the raw floors always run)
  std::vector<Placement> placements{{"2 CPUs", 0, 1}, {"1 CPU", 0, 0}};
};

struct Row {
  Target target;
  const char* placement;
  std::vector<double> samples;  // microseconds, pooled over the rounds
  double leader_cpu = 0;        // seconds, over the measured round trips
  double follower_cpu = 0;      // seconds, over its whole life (warm-up included)
  std::size_t follower_trips = 0;
  bool ok = true;
  Summary rtt;
  double cpu_us = 0;  // both processes, per round trip
};

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }
double cpu_seconds(const rusage& u) { return seconds(u.ru_utime) + seconds(u.ru_stime); }

// One round of one row: count/rounds round trips, appended to the row.
void run_case(const Settings& s, Row& row, const Placement& where, const std::string& dir,
              int index) {
  const Target& target = row.target;
  std::size_t count = std::max<std::size_t>(s.count / s.rounds, 1);
  std::size_t warmup = std::max<std::size_t>(s.warmup / s.rounds, 100);
  std::string tag = std::to_string(::getpid()) + "-" + std::to_string(index);
  const std::string& m = target.mechanism;
  std::string hint = m == "unix"    ? "unix://" + dir + "/b" + std::to_string(index) + ".sock"
                     : m == "shm"   ? "shm://ipcx-bench-" + tag
                     : m == "pipe"  ? "pipe://" + dir + "/b" + std::to_string(index) + ".fifo"
                     : m == "mq"    ? "mq://ipcx-bench-" + tag
                     : m == "udp"   ? "udp://127.0.0.1:0"
                     : m == "stdio" ? "stdio://"
                                    : "tcp://127.0.0.1:0";
  prepare_target(target, s.size, where.server_cpu);
  int fds[2];
  if (::pipe(fds) != 0) {
    row.ok = false;
    return;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    pin(where.server_cpu);
    run_follower(target, hint, fds[1]);
  }
  ::close(fds[1]);
  char line[512] = {};
  ssize_t n = ::read(fds[0], line, sizeof line - 1);
  ::close(fds[0]);
  cpu_set_t saved;
  sched_getaffinity(0, sizeof saved, &saved);
  if (n > 0) {
    std::string url(line, static_cast<std::size_t>(n));
    url.erase(url.find('\n'));
    pin(where.client_cpu);
    auto leader = make_leader(target, url, s.size);
    bool ok = true;
    for (std::size_t i = 0; i < warmup && ok; ++i) ok = leader->round_trip();
    row.samples.reserve(s.count);
    rusage before{}, after{};
    ::getrusage(RUSAGE_SELF, &before);
    for (std::size_t i = 0; i < count && ok; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      ok = leader->round_trip();
      auto t1 = std::chrono::steady_clock::now();
      row.samples.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      if (s.gap_us > 0) ::usleep(static_cast<useconds_t>(s.gap_us));
    }
    ::getrusage(RUSAGE_SELF, &after);
    // A spawned stdio:// server is the leader's child, reaped as the leader goes.
    rusage children_before{}, children_after{};
    ::getrusage(RUSAGE_CHILDREN, &children_before);
    leader.reset();
    ::getrusage(RUSAGE_CHILDREN, &children_after);
    row.follower_cpu += cpu_seconds(children_after) - cpu_seconds(children_before);
    row.ok = row.ok && ok;
    row.leader_cpu += cpu_seconds(after) - cpu_seconds(before);
  } else {
    row.ok = false;
  }
  ::kill(pid, SIGKILL);
  // A server killed with kill -9 leaves its well-known queue: ours to remove.
  if (m == "mq") ::mq_unlink(hint.substr(4).c_str());  // "mq://NAME" -> "/NAME"
  int status = 0;
  rusage child{};
  ::wait4(pid, &status, 0, &child);
  // The follower's whole life (start-up and warm-up included) over all its round trips.
  row.follower_cpu += cpu_seconds(child);
  row.follower_trips += count + warmup;
  sched_setaffinity(0, sizeof saved, &saved);
}

void finish(Row& row) {
  std::size_t measured = row.samples.size();
  row.rtt = summarize(std::move(row.samples));
  if (measured == 0 || row.follower_trips == 0) return;
  row.cpu_us = row.leader_cpu * 1e6 / static_cast<double>(measured) +
               row.follower_cpu * 1e6 / static_cast<double>(row.follower_trips);
}

// The raw row each row is compared with: a sleeping floor for sleeping modes; for shm's
// spinning modes, the busy-polling floor.
std::string floor_mode(const Target& t) {
  if (t.mechanism != "shm") return "blocking";
  bool sleeps = t.mode == "blocking" || t.mode == "eventfd";
  return sleeps ? "eventfd" : "busypoll";
}

void print_rows(const std::vector<Row>& rows) {
  std::printf("%-5s %-7s %-5s %-9s %9s %9s %9s %8s %10s\n", "mech", "where", "impl", "mode",
              "p50 us", "p99 us", "p99.9 us", "x raw", "cpu us/rt");
  for (const Row& r : rows) {
    double floor = 0;
    for (const Row& f : rows) {
      if (f.target.impl == "raw" && f.target.mode == floor_mode(r.target) &&
          f.target.mechanism == r.target.mechanism && std::strcmp(f.placement, r.placement) == 0) {
        floor = f.rtt.p50;
      }
    }
    if (!r.ok) {
      std::printf("%-5s %-7s %-5s %-9s   FAILED\n", r.target.mechanism.c_str(), r.placement,
                  r.target.impl.c_str(), r.target.mode.c_str());
      continue;
    }
    std::printf("%-5s %-7s %-5s %-9s %9.1f %9.1f %9.1f %8.2f %10.1f\n", r.target.mechanism.c_str(),
                r.placement, r.target.impl.c_str(), r.target.mode.c_str(), r.rtt.p50, r.rtt.p99,
                r.rtt.p999, ratio(r.rtt.p50, floor), r.cpu_us);
  }
}

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--count")
      s.count = std::stoul(next());
    else if (a == "--size")
      s.size = std::stoul(next());
    else if (a == "--spin-us")
      s.spin_us = std::stol(next());
    else if (a == "--gap-us")
      s.gap_us = std::stol(next());
    else if (a == "--mechanism") {
      s.mechanisms = {next()};
      if (s.mechanisms[0] == "os") s.mechanisms = {"stdio", "pipe", "mq", "udp"};
    } else if (a == "--rounds")
      s.rounds = std::max<std::size_t>(std::stoul(next()), 1);
    else if (a == "--mode")
      s.only_mode = next();
    else if (a == "--ignore-sigpipe")
      ::signal(SIGPIPE, SIG_IGN);  // as many servers do: pipe writes then skip the signal mask
    else if (a == "--pin")
      s.placements = {{"1 CPU", 0, 0}};
    else if (a == "--spread")
      s.placements = {{"2 CPUs", 0, 1}};
    else {
      std::fprintf(
          stderr,
          "usage: ipcx_bench_latency [--count N] [--rounds N] [--size BYTES] [--spin-us US]\n"
          "       [--gap-us US] [--ignore-sigpipe]\n"
          "       [--mechanism shm|unix|tcp|stdio|pipe|mq|udp|os]\n"
          "       [--mode blocking|spin|default|loan]\n"
          "       [--pin (one CPU only) | --spread (two only)]\n");
      std::exit(2);
    }
  }
  s.warmup = std::max<std::size_t>(s.count / 10, 100);
  return s;
}

}  // namespace
}  // namespace ipcx::bench

int main(int argc, char** argv) {
  using namespace ipcx::bench;
  if (argc == 4 && std::string(argv[1]) == "--stdio-follower") {
    serve_stdio_follower(std::atoi(argv[2]), std::atol(argv[3]));
    return 0;
  }
  Settings s = parse(argc, argv);
  std::string dir =
      (std::filesystem::temp_directory_path() / ("ipcx-bench-" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  if (::sysconf(_SC_NPROCESSORS_ONLN) < 2) s.placements = {{"1 CPU", 0, 0}};
  std::printf(
      "# %zu round trips of %zu bytes per row in %zu interleaved rounds (after %zu warm-up);"
      " spin mode = %ld us; gap between calls = %ld us\n",
      s.count, s.size, s.rounds, s.warmup, s.spin_us, s.gap_us);
  std::vector<Row> rows;
  int index = 0;
  auto spin = std::chrono::microseconds(s.spin_us);
  for (const auto& where : s.placements) {
    for (const auto& mech : s.mechanisms) {
      std::vector<Target> targets;
      if (mech == "shm") {
        targets = {{mech, "raw", "busypoll", {}}, {mech, "raw", "eventfd", {}}};
      } else if (mech != "unix" && mech != "tcp") {
        targets = {{mech, "raw", "blocking", {}}};
      } else {
        targets = {{mech, "raw", "blocking", {}}, {mech, "raw", "evloop", {}}};
      }
      targets.push_back({mech, "ipcx", "blocking", {}});
      targets.push_back({mech, "ipcx", "spin", spin});
      targets.push_back({mech, "ipcx", "default", {}});
      if (mech == "shm") targets.push_back({mech, "ipcx", "loan", {}});  // default + zero copy
      std::size_t first = rows.size();
      for (const Target& t : targets) {
        if (t.impl == "ipcx" && !s.only_mode.empty() && t.mode != s.only_mode) continue;
        rows.push_back(Row{t, where.name, {}, 0, 0, 0, true, {}, 0});
      }
      for (std::size_t round = 0; round < s.rounds; ++round) {
        for (std::size_t i = first; i < rows.size(); ++i) {
          run_case(s, rows[i], where, dir, index++);
        }
      }
      for (std::size_t i = first; i < rows.size(); ++i) finish(rows[i]);
    }
  }
  print_rows(rows);
  std::filesystem::remove_all(dir);
  for (const Row& r : rows) {
    if (!r.ok) return 1;
  }
  return 0;
}
