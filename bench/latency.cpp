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

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cpu.hpp"
#include "flow_report.hpp"
#include "ipcx/endpoint.hpp"
#include "ipcx/mechanism.hpp"
#include "one_way.hpp"
#include "peers.hpp"
#include "report.hpp"
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
  std::chrono::duration<double> duration{0};  // --duration: per row, instead of a count
  // Each row is measured in this many interleaved rounds (floor, ipcx, floor, ipcx...), its
  // samples pooled, so a slow minute of this shared machine hits every row alike.
  std::size_t rounds = 3;
  std::vector<std::size_t> sizes{64};
  long spin_us = 50;
  long gap_us = 0;  // pause between round trips: sparse traffic, where spinning costs most
  std::vector<std::string> mechanisms{"shm", "unix", "tcp"};
  std::string only_mode;  // empty: every ipcx mode; else that one (the raw floors always run)
  std::vector<Placement> placements{{"2 CPUs", 0, 1}, {"1 CPU", 0, 0}};
  std::string json, csv, svg;                  // files to write besides the table
  std::string command;                         // as given, for the JSON
  std::vector<std::string> without;            // peers left out (--without)
  bool round_trips = true, throughput = true;  // --only rtt | throughput
  // A throughput row moves about flow_bytes, in 2,000 to flow_max messages.
  std::size_t flow_bytes = std::size_t{2} << 30, flow_max = 2000000;
};

struct Row {
  Target target;
  const char* placement;
  std::size_t size = 0;
  std::vector<double> samples;  // microseconds, pooled over the rounds
  double leader_cpu = 0;        // seconds, over the measured round trips
  double follower_cpu = 0;      // seconds, over its whole life (warm-up included)
  std::size_t follower_trips = 0;
  bool ok = true;
  Summary rtt;
  double cpu_us = 0;  // both processes, per round trip
};

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }
double cpu_seconds(const rusage& u) { return seconds(u.ru_utime) + seconds(u.ru_stime); }

// The measuring side of one round, in this process: warm-up, then `count` timed round trips
// appended to the row with the CPU time they took.
void lead(const Settings& s, Row& row, const std::string& url, std::size_t warmup,
          std::size_t count) {
  auto leader = make_leader(row.target, url, row.size);
  bool ok = true;
  for (std::size_t i = 0; i < warmup && ok; ++i) ok = leader->round_trip();
  row.samples.reserve(s.count);
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  // --duration: as many round trips as fit in this round's share of it.
  auto until = std::chrono::steady_clock::now() + s.duration / s.rounds;
  if (s.duration.count() > 0) count = std::numeric_limits<std::size_t>::max();
  for (std::size_t i = 0; i < count && ok; ++i) {
    if (s.duration.count() > 0 && (i & 63) == 0 && std::chrono::steady_clock::now() >= until) break;
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
}

// NNG may not be used in a process that forks afterwards (its child panics), and this one
// forks every follower: its leader runs in a child of its own. So does iceoryx's, whose runtime
// registers its process at RouDi once and for good.
bool needs_own_process(const Target& t) { return t.impl == "nng" || t.impl == "iceoryx"; }

// Forks a child that runs body(fd of a pipe's write end) and must not return; the parent gets
// the child's pid and the read end, or pid -1 when no pipe could be made.
template <class Body>
std::pair<pid_t, int> fork_reporting(Body&& body) {
  int fds[2];
  if (::pipe(fds) != 0) return {-1, -1};
  std::fflush(nullptr);  // a child that leaves through exit() must not print our output again
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    body(fds[1]);
    ::_exit(1);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// lead() in a forked child, which sends back the row's new samples and CPU times.
void lead_in_child(const Settings& s, Row& row, const std::string& url, std::size_t warmup,
                   std::size_t count) {
  auto [pid, report] = fork_reporting([&](int out) {
    Row mine{row.target, row.placement, row.size, {}, 0, 0, 0, true, {}, 0};
    lead(s, mine, url, warmup, count);
    double head[3] = {mine.ok ? 1.0 : 0.0, mine.leader_cpu, mine.follower_cpu};
    std::size_t n = mine.samples.size();
    bool sent =
        ::write(out, head, sizeof head) == sizeof head && ::write(out, &n, sizeof n) == sizeof n;
    const char* at = reinterpret_cast<const char*>(mine.samples.data());
    for (std::size_t left = n * sizeof(double); sent && left > 0;) {
      ssize_t w = ::write(out, at, left);
      sent = w > 0;
      at += sent ? w : 0;
      left -= sent ? static_cast<std::size_t>(w) : 0;
    }
    // exit(), not _exit(): a peer's runtime (iceoryx) deregisters in its static destructors.
    std::exit(sent ? 0 : 1);
  });
  if (pid < 0) {
    row.ok = false;
    return;
  }
  FILE* in = ::fdopen(report, "r");
  double head[3] = {};
  std::size_t n = 0;
  bool ok = std::fread(head, sizeof head, 1, in) == 1 && std::fread(&n, sizeof n, 1, in) == 1;
  std::vector<double> samples(ok ? n : 0);
  ok = ok && std::fread(samples.data(), sizeof(double), n, in) == n;
  std::fclose(in);
  int status = 0;
  rusage child{};
  ::wait4(pid, &status, 0, &child);
  row.ok = row.ok && ok && head[0] == 1.0;
  row.samples.insert(row.samples.end(), samples.begin(), samples.end());
  row.leader_cpu += head[1];
  row.follower_cpu += head[2];
}

// One round of one row: count/rounds round trips, appended to the row.
void run_case(const Settings& s, Row& row, const Placement& where, const std::string& dir,
              int index) {
  const Target& target = row.target;
  std::size_t count = std::max<std::size_t>(s.count / s.rounds, 1);
  std::size_t warmup = std::max<std::size_t>(s.warmup / s.rounds, 100);
  const MechanismInfo& m = *find_mechanism(target.mechanism);
  std::size_t size = row.size;
  // A peer's ipc endpoint is made from this form's directory and index; ipcx and the raw
  // floors get the mechanism's own private URL.
  bool peer = target.impl != "raw" && target.impl != "ipcx";
  std::string hint = peer ? "unix://" + dir + "/b" + std::to_string(index) + ".sock"
                          : m.private_url(dir, "b" + std::to_string(index));
  prepare_target(target, size, where.server_cpu);
  auto [pid, report] = fork_reporting([&](int out) {
    pin(where.server_cpu);
    run_follower(target, hint, out);
  });
  if (pid < 0) {
    row.ok = false;
    return;
  }
  std::size_t before = row.samples.size();
  char line[512] = {};
  ssize_t n = ::read(report, line, sizeof line - 1);
  ::close(report);
  cpu_set_t saved;
  sched_getaffinity(0, sizeof saved, &saved);
  if (n > 0) {
    std::string url(line, static_cast<std::size_t>(n));
    url.erase(url.find('\n'));
    pin(where.client_cpu);
    if (needs_own_process(target)) {
      lead_in_child(s, row, url, warmup, count);
    } else {
      lead(s, row, url, warmup, count);
    }
  } else {
    row.ok = false;
  }
  ::kill(pid, SIGKILL);
  // A server killed with kill -9 leaves its well-known name (a queue): ours to remove.
  if (!peer) m.remove_stale(Endpoint::parse(hint));
  int status = 0;
  rusage child{};
  ::wait4(pid, &status, 0, &child);
  // The follower's whole life (start-up and warm-up included) over all its round trips.
  row.follower_cpu += cpu_seconds(child);
  row.follower_trips += row.samples.size() - before + warmup;
  sched_setaffinity(0, sizeof saved, &saved);
}

void finish(Row& row) {
  std::size_t measured = row.samples.size();
  row.rtt = summarize(std::move(row.samples));
  if (measured == 0 || row.follower_trips == 0) return;
  row.cpu_us = row.leader_cpu * 1e6 / static_cast<double>(measured) +
               row.follower_cpu * 1e6 / static_cast<double>(row.follower_trips);
}

Result result_of(const Row& r) {
  Result out;
  out.mechanism = r.target.mechanism;
  out.placement = r.placement;
  out.impl = r.target.impl;
  out.mode = r.target.mode;
  out.size = r.size;
  out.ok = r.ok;
  out.rtt = r.rtt;
  out.cpu_us = r.cpu_us;
  return out;
}

void print_results(const std::vector<Result>& rows) {
  std::printf("%-5s %-7s %7s %-5s %-9s %9s %9s %9s %7s %7s %10s\n", "mech", "where", "bytes",
              "impl", "mode", "p50 us", "p99 us", "p99.9 us", "x raw", "x peer", "cpu us/rt");
  for (const Result& r : rows) {
    if (!r.ok) {
      std::printf("%-5s %-7s %7zu %-5s %-9s   FAILED\n", r.mechanism.c_str(), r.placement.c_str(),
                  r.size, r.impl.c_str(), r.mode.c_str());
      continue;
    }
    char peer[16] = "";
    if (r.x_peer > 0) std::snprintf(peer, sizeof peer, "%.2f", r.x_peer);
    std::printf("%-5s %-7s %7zu %-5s %-9s %9.1f %9.1f %9.1f %7.2f %7s %10.1f\n",
                r.mechanism.c_str(), r.placement.c_str(), r.size, r.impl.c_str(), r.mode.c_str(),
                r.rtt.p50, r.rtt.p99, r.rtt.p999, r.x_raw, peer, r.cpu_us);
  }
}

bool write_file(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  return std::fclose(f) == 0 && ok;
}

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> items;
  for (std::size_t at = 0; at <= list.size();) {
    std::size_t comma = std::min(list.find(',', at), list.size());
    items.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  return items;
}

std::vector<std::size_t> parse_sizes(const std::string& list) {
  std::vector<std::size_t> sizes;
  for (const std::string& size : split_list(list)) sizes.push_back(std::stoul(size));
  return sizes;
}

// Every mechanism of this build that a forked follower can serve requests on, in registration
// order: the registry's, less those that stay inside one process.
const std::vector<std::string>& benchable() {
  static const std::vector<std::string> list = [] {
    std::vector<std::string> names;
    for (const MechanismInfo& m : mechanisms()) {
      if (m.caps.request_reply && m.caps.crosses_processes) names.emplace_back(m.scheme);
    }
    return names;
  }();
  return list;
}

// The three the harness measures by default, and for throughput: they have raw one-way floors.
bool is_socket_trio(const std::string& m) { return m == "shm" || m == "unix" || m == "tcp"; }

// Why a mechanism cannot carry `size` (an empty string when it can).
std::string unfit(const Target& t, std::size_t size) {
  if (t.mechanism == "udp" && size > 65000) return "udp: above the datagram payload limit";
  if (t.mechanism == "mq" && t.impl == "raw" && size > 8192)
    return "raw mq: above /proc/sys/fs/mqueue/msgsize_max (ipcx fragments)";
  return {};
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
      s.sizes = parse_sizes(next());
    else if (a == "--json")
      s.json = next();
    else if (a == "--csv")
      s.csv = next();
    else if (a == "--svg")
      s.svg = next();
    else if (a == "--spin-us")
      s.spin_us = std::stol(next());
    else if (a == "--gap-us")
      s.gap_us = std::stol(next());
    else if (a == "--mechanism") {
      s.mechanisms.clear();
      for (const std::string& m : split_list(next())) {
        if (m == "os" || m == "all") {
          for (const std::string& each : benchable()) {
            if (m == "all" || !is_socket_trio(each)) s.mechanisms.push_back(each);
          }
        } else if (std::find(benchable().begin(), benchable().end(), m) != benchable().end()) {
          s.mechanisms.push_back(m);
        } else {
          std::fprintf(stderr, "--mechanism: no mechanism '%s' to measure here\n", m.c_str());
          std::exit(2);
        }
      }
    } else if (a == "--quick") {
      // Under a minute on two cores: every mechanism, 64 bytes, one round of 2,000.
      s.count = 2000;
      s.rounds = 1;
      s.flow_max = 200000;
      s.mechanisms = benchable();
    } else if (a == "--rounds")
      s.rounds = std::max<std::size_t>(std::stoul(next()), 1);
    else if (a == "--mode")
      s.only_mode = next();
    else if (a == "--ignore-sigpipe")
      ::signal(SIGPIPE, SIG_IGN);  // as many servers do: pipe writes then skip the signal mask
    else if (a == "--duration")
      s.duration = std::chrono::duration<double>(std::stod(next()));
    else if (a == "--only") {
      std::string what = next();
      s.round_trips = what == "rtt";
      s.throughput = what == "throughput";
      if (!s.round_trips && !s.throughput) {
        std::fprintf(stderr, "--only takes rtt or throughput\n");
        std::exit(2);
      }
    } else if (a == "--without")
      s.without = split_list(next());
    else if (a == "--pin")
      s.placements = {{"1 CPU", 0, 0}};
    else if (a == "--spread")
      s.placements = {{"2 CPUs", 0, 1}};
    else {
      std::fprintf(
          stderr,
          "usage: ipcx_bench_latency [--count N] [--rounds N] [--size BYTES[,BYTES...]]\n"
          "       [--spin-us US] [--json FILE] [--csv FILE] [--svg FILE]\n"
          "       [--gap-us US] [--ignore-sigpipe] [--without PEER[,PEER...]]\n"
          "       [--duration SECONDS (per row, instead of --count)] [--only rtt|throughput]\n"
          "       [--mechanism M[,M...]] (any mechanism; os: all but shm unix tcp; all)\n"
          "       [--quick]\n"
          "       [--mode blocking|spin|default|view|loan]\n"
          "       [--pin (one CPU only) | --spread (two only)]\n");
      std::exit(2);
    }
  }
  s.warmup = std::max<std::size_t>(s.count / 10, 100);
  for (int i = 0; i < argc; ++i) s.command += (i ? " " : "") + std::string(argv[i]);
  return s;
}

// One-way throughput (one_way.hpp) on every placement: the raw floor, the peers' push/pull and
// ipcx's push/pull and pipelined requests, one run each, on the socket and shm mechanisms.
template <class Wanted>
std::vector<Flow> run_throughput(const Settings& s, const std::string& dir, Wanted&& wanted) {
  std::vector<Flow> flows;
  std::vector<std::string> skipped;
  for (const std::string& m : s.mechanisms) {
    if (!is_socket_trio(m)) skipped.push_back(m);
  }
  if (!skipped.empty()) {
    std::string list;
    for (const auto& m : skipped) list += " " + m;
    std::printf("# throughput measured on shm, unix and tcp only; not on%s\n", list.c_str());
  }
  bool progress = ::isatty(STDERR_FILENO) != 0;
  cpu_set_t saved;
  sched_getaffinity(0, sizeof saved, &saved);
  for (const auto& where : s.placements) {
    for (const std::string& mech : s.mechanisms) {
      if (!is_socket_trio(mech)) continue;
      std::vector<FlowTarget> targets{{mech, "raw", mech == "shm" ? "ring" : "stream"}};
      for (const char* peer : {"zmq", "nng"}) {
        if (wanted(peer)) targets.push_back({mech, peer, "push"});
      }
      targets.push_back({mech, "ipcx", "push"});
      if (mech != "shm") targets.push_back({mech, "ipcx", "push-b64k"});  // shm makes no syscalls
      if (mech == "shm") targets.push_back({mech, "ipcx", "push-view"});  // read in place
      targets.push_back({mech, "ipcx", "requests"});
      for (std::size_t size : s.sizes) {
        std::size_t count = std::clamp<std::size_t>(s.flow_bytes / std::max<std::size_t>(size, 1),
                                                    2000, s.flow_max);
        for (const FlowTarget& t : targets) {
          if (progress) {
            std::fprintf(stderr, "\r  throughput %s %s %zu B %s %s%-20s", where.name, mech.c_str(),
                         size, t.impl.c_str(), t.mode.c_str(), "");
          }
          pin(where.client_cpu);
          std::size_t n = count;
          if (s.duration.count() > 0) {
            // --duration: a short probe of the same row sizes the measured run.
            FlowRun probe = measure_flow(t, size, std::max<std::size_t>(count / 20, 100),
                                         where.server_cpu, where.client_cpu, dir);
            double rate = probe.ok && probe.seconds > 0 ? probe.messages / probe.seconds : 0;
            n = std::clamp<std::size_t>(static_cast<std::size_t>(rate * s.duration.count()), 100,
                                        std::size_t{100} * s.flow_max);
          }
          FlowRun run = measure_flow(t, size, n, where.server_cpu, where.client_cpu, dir);
          flows.push_back(
              Flow{mech, where.name, t.impl, t.mode, size, run.ok, run.messages, run.seconds});
          sched_setaffinity(0, sizeof saved, &saved);
        }
      }
    }
  }
  if (progress) std::fprintf(stderr, "\r%-70s\r", "");
  compute_flow_ratios(flows);
  return flows;
}

void print_flows(const std::vector<Flow>& flows) {
  if (flows.empty()) return;
  std::printf(
      "\n# one way: a sender process streams into a receiver here; ipcx requests: 64 in "
      "flight, empty replies\n");
  std::printf("%-5s %-7s %8s %-5s %-10s %12s %10s %7s %7s\n", "mech", "where", "bytes", "impl",
              "mode", "msgs/s", "MB/s", "x raw", "x peer");
  for (const Flow& f : flows) {
    if (!f.ok) {
      std::printf("%-5s %-7s %8zu %-5s %-10s   FAILED\n", f.mechanism.c_str(), f.placement.c_str(),
                  f.size, f.impl.c_str(), f.mode.c_str());
      continue;
    }
    char peer[16] = "";
    if (f.x_peer > 0) std::snprintf(peer, sizeof peer, "%.2f", f.x_peer);
    std::printf("%-5s %-7s %8zu %-5s %-10s %12.0f %10.0f %7.2f %7s\n", f.mechanism.c_str(),
                f.placement.c_str(), f.size, f.impl.c_str(), f.mode.c_str(), f.rate(), f.mb_per_s(),
                f.x_raw, peer);
  }
}

// --csv FILE: the round trips in FILE, the throughput rows beside it (a.csv: a-throughput.csv).
std::string flows_csv_path(const std::string& path) {
  std::string stem =
      path.size() > 4 && path.ends_with(".csv") ? path.substr(0, path.size() - 4) : path;
  return stem + "-throughput.csv";
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
  if (s.round_trips)
    std::printf(
        "# %zu round trips per row in %zu interleaved rounds (after %zu warm-up);"
        " spin mode = %ld us; gap between calls = %ld us\n",
        s.count, s.rounds, s.warmup, s.spin_us, s.gap_us);
  // Peers that need a daemon get it for the whole run; one that cannot start is left out.
  std::vector<std::shared_ptr<void>> daemons;
  auto wanted = [&s](const char* peer) {
    return peer_available(peer) &&
           std::find(s.without.begin(), s.without.end(), peer) == s.without.end();
  };
  bool iceoryx = false;
  if (s.round_trips && wanted("iceoryx") &&
      std::find(s.mechanisms.begin(), s.mechanisms.end(), "shm") != s.mechanisms.end()) {
    std::string why;
    if (auto roudi = start_peer("iceoryx", dir, why)) {
      daemons.push_back(std::move(roudi));
      iceoryx = true;
    } else {
      std::printf("# iceoryx left out: %s\n", why.c_str());
    }
  }
  // Every row is laid out first, so the progress line can count to the end.
  struct Group {
    const Placement* where;
    std::size_t begin, end;  // rows of one placement, mechanism and size
  };
  std::vector<Row> rows;
  std::vector<Group> groups;
  int index = 0;
  auto spin = std::chrono::microseconds(s.spin_us);
  for (const auto& where : s.placements) {
    for (const auto& mech : s.mechanisms) {
      if (!s.round_trips) break;
      std::vector<Target> targets;
      if (mech == "shm") {
        targets = {{mech, "raw", "busypoll", {}}, {mech, "raw", "eventfd", {}}};
        if (wanted("boost")) targets.push_back({mech, "boost", "msgqueue", {}});
        if (iceoryx) {
          targets.push_back({mech, "iceoryx", "busypoll", {}});
          targets.push_back({mech, "iceoryx", "waitset", {}});
        }
      } else if (!is_socket_trio(mech)) {
        if (peer_has_raw_floor(mech)) targets = {{mech, "raw", "blocking", {}}};
      } else {
        targets = {{mech, "raw", "blocking", {}}, {mech, "raw", "evloop", {}}};
        for (const char* peer : {"zmq", "nng"}) {
          if (wanted(peer)) targets.push_back({mech, peer, "default", {}});
        }
      }
      targets.push_back({mech, "ipcx", "blocking", {}});
      targets.push_back({mech, "ipcx", "spin", spin});
      targets.push_back({mech, "ipcx", "default", {}});
      if (ipcx::find_mechanism(mech)->caps.zero_copy) {  // default, with zero copy
        targets.push_back({mech, "ipcx", "view", {}});
        targets.push_back({mech, "ipcx", "loan", {}});
      }
      for (std::size_t size : s.sizes) {
        Group group{&where, rows.size(), rows.size()};
        for (const Target& t : targets) {
          if (t.impl == "ipcx" && !s.only_mode.empty() && t.mode != s.only_mode) continue;
          if (std::string why = unfit(t, size); !why.empty()) {
            std::printf("# skipped %s %s at %zu B: %s\n", t.impl.c_str(), t.mode.c_str(), size,
                        why.c_str());
            continue;
          }
          rows.push_back(Row{t, where.name, size, {}, 0, 0, 0, true, {}, 0});
        }
        group.end = rows.size();
        groups.push_back(group);
      }
    }
  }
  // A group's rows are measured in interleaved rounds, then summarized.
  std::size_t cases = rows.size() * s.rounds, done = 0;
  bool progress = ::isatty(STDERR_FILENO) != 0;
  for (const Group& g : groups) {
    for (std::size_t round = 0; round < s.rounds; ++round) {
      for (std::size_t i = g.begin; i < g.end; ++i) {
        const Row& r = rows[i];
        if (progress) {
          std::fprintf(stderr, "\r  [%zu/%zu] %s %s %zu B %s %s%-20s", ++done, cases, g.where->name,
                       r.target.mechanism.c_str(), r.size, r.target.impl.c_str(),
                       r.target.mode.c_str(), "");
        }
        run_case(s, rows[i], *g.where, dir, index++);
      }
    }
    for (std::size_t i = g.begin; i < g.end; ++i) finish(rows[i]);
  }
  if (progress) std::fprintf(stderr, "\r%-70s\r", "");
  daemons.clear();
  std::vector<Result> results;
  for (const Row& r : rows) results.push_back(result_of(r));
  compute_ratios(results);
  if (s.round_trips) print_results(results);
  std::fflush(stdout);
  std::vector<Flow> flows;
  if (s.throughput) flows = run_throughput(s, dir, wanted);
  print_flows(flows);
  if (!s.json.empty() && !write_file(s.json, to_json(results, flows, s.command))) {
    std::perror("--json");
  }
  if (!s.csv.empty() && s.round_trips && !write_file(s.csv, to_csv(results))) std::perror("--csv");
  if (!s.csv.empty() && s.throughput && !write_file(flows_csv_path(s.csv), to_csv(flows))) {
    std::perror("--csv");
  }
  if (!s.svg.empty() && !write_file(s.svg, to_svg(results, flows))) std::perror("--svg");
  std::filesystem::remove_all(dir);
  for (const Row& r : rows) {
    if (!r.ok) return 1;
  }
  for (const Flow& f : flows) {
    if (!f.ok) return 1;
  }
  return 0;
}
