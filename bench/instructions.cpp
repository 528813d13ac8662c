// Instructions per round trip (bench; `ipcx bench instructions`): each side of a call runs under
// callgrind twice, once making N1 calls and once N2; (I(N2) - I(N1)) / (N2 - N1) is what one call
// costs that side in user-space instructions, start-up, connecting and teardown cancelled.
// Spinning is off everywhere: a spin loop's instructions count how long it waited, not the work.
// On a noisy shared VM this is the stable measure of a hot path; the timings stay in `ipcx bench`.
// With --pattern push, the same for one message of a Pusher (the "client" column) streaming into
// a Puller ("server"): ipcx only.
//
//   ipcx_bench_instructions [--mechanism M[,M...]] [--calls N1,N2] [--size B] [--json F]
//                           [--without zmq] [--keep DIR] [--pattern call|push]
// With --keep, the callgrind files stay in DIR ({leader,follower}.IMPL{N1,N2}, the last
// mechanism's where several share a name), for callgrind_annotate.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <ipcx/endpoint.hpp>
#include <ipcx/mechanism.hpp>
#include <ipcx/pipeline.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "peers.hpp"

namespace ipcx::bench {
namespace {

struct Settings {
  std::vector<std::string> mechanisms{"unix", "tcp", "shm"};
  std::size_t n1 = 2000, n2 = 6000, size = 64;
  std::string json;
  std::string keep;  // where the callgrind files stay; empty: a temporary directory
  bool zmq = true;
  bool push = false;  // --pattern push: messages of a Pusher into a Puller, not calls
};

struct Measured {
  Target target;
  bool ok = false;
  std::string why;
  double leader = 0, follower = 0;  // instructions per call
};

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

// The "summary:" (or "totals:") line of a callgrind output file: instructions executed.
std::optional<double> total_instructions(const std::string& path) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    for (const char* tag : {"summary: ", "totals: "}) {
      if (line.rfind(tag, 0) == 0) return std::stod(line.substr(std::string(tag).size()));
    }
  }
  return std::nullopt;
}

// Runs this program under callgrind with `args`, its output in `out`; returns the pid. The
// child inherits every descriptor not marked close-on-exec (the follower's report pipe).
pid_t spawn_under_callgrind(const std::string& out, const std::vector<std::string>& args) {
  // Resolved here: under valgrind, /proc/self/exe would name the tool.
  static const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> argv = {"valgrind", "--tool=callgrind", "--quiet",
                                   "--callgrind-out-file=" + out, self};
  argv.insert(argv.end(), args.begin(), args.end());
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> raw;
    for (auto& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    ::execvp("valgrind", raw.data());
    ::_exit(127);
  }
  return pid;
}

bool exited_cleanly(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// One pair of callgrind runs with `calls` calls; the two totals, or nothing with `why` set.
std::optional<std::pair<double, double>> run_pair(const Target& t, const Settings& s,
                                                  const std::string& dir, std::size_t calls,
                                                  std::string& why) {
  const MechanismInfo* m = find_mechanism(t.mechanism);
  bool peer = t.impl != "raw" && t.impl != "ipcx";
  std::string tag = t.impl + std::to_string(calls);
  std::string hint = peer ? "unix://" + dir + "/" + tag + ".sock" : m->private_url(dir, tag);
  std::string f_out = dir + "/follower." + tag, l_out = dir + "/leader." + tag;
  int fds[2];
  if (::pipe(fds) != 0) return std::nullopt;
  bool push = t.mode == "push";
  std::vector<std::string> f_args = {
      "--follower",           t.mechanism,           t.impl, t.mode, hint,
      std::to_string(s.size), std::to_string(fds[1])};
  if (push) f_args.push_back(std::to_string(calls));  // the puller stops after that many
  pid_t follower = spawn_under_callgrind(f_out, f_args);
  ::close(fds[1]);
  char line[512] = {};
  ssize_t n = ::read(fds[0], line, sizeof line - 1);
  ::close(fds[0]);
  std::optional<std::pair<double, double>> result;
  if (n <= 0) {
    why = "the server did not start";
  } else {
    std::string url(line, static_cast<std::size_t>(n));
    url.erase(url.find('\n'));
    pid_t leader = spawn_under_callgrind(l_out, {"--leader", t.mechanism, t.impl, t.mode, url,
                                                 std::to_string(s.size), std::to_string(calls)});
    if (!exited_cleanly(leader)) why = "the client failed";
  }
  // A server serves until told to stop (callgrind writes its totals on the way out); a puller
  // stops once it has every message, unless the pusher failed.
  if (push && why.empty()) {
    if (!exited_cleanly(follower)) why = "the puller failed";
  } else {
    ::kill(follower, SIGTERM);
    ::waitpid(follower, nullptr, 0);
  }
  if (!peer) m->remove_stale(Endpoint::parse(hint));
  auto l = total_instructions(l_out), f = total_instructions(f_out);
  if (why.empty() && l && f) result = std::make_pair(*l, *f);
  if (why.empty() && !result) why = "no callgrind totals";
  return result;
}

Measured measure(const Target& t, const Settings& s, const std::string& dir) {
  Measured r;
  r.target = t;
  auto a = run_pair(t, s, dir, s.n1, r.why);
  if (!a) return r;
  auto b = run_pair(t, s, dir, s.n2, r.why);
  if (!b) return r;
  double calls = static_cast<double>(s.n2 - s.n1);
  r.leader = (b->first - a->first) / calls;
  r.follower = (b->second - a->second) / calls;
  r.ok = true;
  return r;
}

std::vector<Target> targets_of(const Settings& s) {
  std::vector<Target> out;
  for (const auto& mech : s.mechanisms) {
    if (s.push) {
      out.push_back({mech, "ipcx", "push"});
      continue;
    }
    bool socket = mech == "unix" || mech == "tcp";
    if (socket) out.push_back({mech, "raw", "blocking"});
    if (socket && s.zmq && peer_available("zmq")) out.push_back({mech, "zmq", "default"});
    out.push_back({mech, "ipcx", "blocking"});
  }
  return out;
}

void print(const std::vector<Measured>& rows, const Settings& s) {
  const char* unit = s.push ? "message" : "call";
  std::printf("instructions per %zu-byte %s, spinning off (callgrind, %zu and %zu %ss)\n", s.size,
              unit, s.n1, s.n2, unit);
  std::printf("%-6s %-5s %-9s %12s %12s %12s\n", "mech", "impl", "mode",
              s.push ? "pusher" : "client", s.push ? "puller" : "server", "both");
  for (const auto& r : rows) {
    if (!r.ok) {
      std::printf("%-6s %-5s %-9s failed: %s\n", r.target.mechanism.c_str(), r.target.impl.c_str(),
                  r.target.mode.c_str(), r.why.c_str());
      continue;
    }
    std::printf("%-6s %-5s %-9s %12.0f %12.0f %12.0f\n", r.target.mechanism.c_str(),
                r.target.impl.c_str(), r.target.mode.c_str(), r.leader, r.follower,
                r.leader + r.follower);
  }
}

void write_json(const std::vector<Measured>& rows, const Settings& s) {
  std::ofstream out(s.json);
  out << "{\n  \"size\": " << s.size << ", \"calls\": [" << s.n1 << ", " << s.n2
      << "],\n  \"instructions\": [";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    out << (i ? ",\n" : "\n") << "    {\"mechanism\": \"" << r.target.mechanism
        << "\", \"impl\": \"" << r.target.impl << "\", \"mode\": \"" << r.target.mode
        << "\", \"ok\": " << (r.ok ? "true" : "false") << ", \"client\": " << r.leader
        << ", \"server\": " << r.follower << "}";
  }
  out << "\n  ]\n}\n";
}

int drive(const Settings& s) {
  if (std::system("valgrind --version > /dev/null 2>&1") != 0) {
    std::cerr << "ipcx bench instructions: valgrind is not installed (scripts/deps --bench)\n";
    return 1;
  }
  std::string dir =
      !s.keep.empty()
          ? s.keep
          : (std::filesystem::temp_directory_path() / ("ipcx-instr-" + std::to_string(::getpid())))
                .string();
  std::filesystem::create_directories(dir);
  std::vector<Measured> rows;
  for (const auto& t : targets_of(s)) rows.push_back(measure(t, s, dir));
  if (s.keep.empty()) std::filesystem::remove_all(dir);
  print(rows, s);
  if (!s.json.empty()) write_json(rows, s);
  for (const auto& r : rows) {
    if (!r.ok) return 1;
  }
  return 0;
}

SocketOptions quiet_socket() {
  SocketOptions o;
  o.spin = std::chrono::microseconds(0);  // a spin's instructions would count waiting
  return o;
}

int push_messages(const std::string& url, std::size_t size, std::size_t count) {
  Pusher pusher(quiet_socket());
  pusher.connect(url);
  Message m{std::string(size, 'p')};
  for (std::size_t i = 0; i < count; ++i) {
    if (!pusher.send(m, std::chrono::seconds(30))) return 1;
  }
  return pusher.flush(std::chrono::seconds(30)) ? 0 : 1;
}

// Binds, reports the bound URL on `report_fd`, then receives `count` messages of `size` bytes.
int pull_messages(const std::string& hint, std::size_t size, int report_fd, std::size_t count) {
  Puller puller(quiet_socket());
  std::string url = puller.bind(hint).url() + "\n";
  if (::write(report_fd, url.data(), url.size()) != static_cast<ssize_t>(url.size())) return 1;
  ::close(report_fd);
  Message m;  // received into, reusing its storage
  for (std::size_t i = 0; i < count; ++i) {
    if (!puller.receive(m, std::chrono::seconds(30)) || m.bytes() != size) return 1;
  }
  return 0;
}

int lead_calls(const Target& t, const std::string& url, std::size_t size, std::size_t calls) {
  auto leader = make_leader(t, url, size);
  for (std::size_t i = 0; i < calls; ++i) {
    if (!leader->round_trip()) return 1;
  }
  return 0;
}

}  // namespace
}  // namespace ipcx::bench

int main(int argc, char** argv) {
  using namespace ipcx::bench;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 8 && args[0] == "--follower" && args[3] == "push") {
    return pull_messages(args[4], std::stoul(args[5]), std::stoi(args[6]), std::stoul(args[7]));
  }
  if (args.size() == 7 && args[0] == "--leader" && args[3] == "push") {
    return push_messages(args[4], std::stoul(args[5]), std::stoul(args[6]));
  }
  if (args.size() == 7 && args[0] == "--follower") {
    Target t{args[1], args[2], args[3]};
    prepare_target(t, std::stoul(args[5]), 0);
    run_follower(t, args[4], std::stoi(args[6]));
  }
  if (args.size() == 7 && args[0] == "--leader") {
    Target t{args[1], args[2], args[3]};
    prepare_target(t, std::stoul(args[5]), 0);
    return lead_calls(t, args[4], std::stoul(args[5]), std::stoul(args[6]));
  }
  Settings s;
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    const std::string& key = args[i];
    const std::string& value = args[i + 1];
    if (key == "--mechanism") {
      s.mechanisms = split(value);
    } else if (key == "--calls") {
      auto n = split(value);
      if (n.size() != 2) return 2;
      s.n1 = std::stoul(n[0]);
      s.n2 = std::stoul(n[1]);
    } else if (key == "--size") {
      s.size = std::stoul(value);
    } else if (key == "--json") {
      s.json = value;
    } else if (key == "--without") {
      s.zmq = value.find("zmq") == std::string::npos;
    } else if (key == "--keep") {
      s.keep = value;
    } else if (key == "--pattern" && (value == "call" || value == "push")) {
      s.push = value == "push";
    } else {
      std::cerr << "usage: ipcx bench instructions [--mechanism M[,M...]] [--calls N1,N2] "
                   "[--size B] [--json F] [--without zmq] [--keep DIR] [--pattern call|push]\n";
      return 2;
    }
  }
  if (args.size() % 2 != 0 || s.n2 <= s.n1) {
    std::cerr << "ipcx bench instructions: options come in pairs and N2 > N1\n";
    return 2;
  }
  return drive(s);
}
