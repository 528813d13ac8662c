// `ipcx bench` (CLI): runs the project's benchmark harness with the arguments given: round
// trips and one-way throughput (bench/latency.cpp, ipcx_bench_latency), every mechanism against
// its raw floor and, where built in, the peer libraries, on two CPUs and on one. `ipcx bench
// throughput ...` runs only the throughput part, and `ipcx bench fanout ...` publish/subscribe
// fan-out (ipcx_bench_fanout), `ipcx bench instructions ...` user-space instructions per call
// under callgrind (ipcx_bench_instructions), `ipcx bench curve ...` what CURVE costs
// (ipcx_bench_curve), `ipcx bench python ...` a Python Client's round trips beside pyzmq
// (bench/python_rtt.py, through the build's ipcx_bench_python). Each harness is its own program so
// that the tool does not link the peers; this finds it beside the build tree's CLI or in the
// installed libexec directory, and replaces this process with it.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "ipcx/mechanism.hpp"

namespace ipcx::cli {
namespace {

std::string find_harness(const std::string& name) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  auto dir = self.parent_path();
  for (const auto& candidate : {dir / "../../bench" / name, dir / "../libexec/ipcx" / name}) {
    if (std::filesystem::exists(candidate, ec)) return candidate.lexically_normal().string();
  }
  return {};
}

int bench(std::vector<std::string> args) {
  std::string name = "ipcx_bench_latency";
  if (!args.empty() &&
      (args.front() == "fanout" || args.front() == "instructions" || args.front() == "curve" ||
       args.front() == "scale" || args.front() == "python")) {
    name = "ipcx_bench_" + args.front();
    args.erase(args.begin());
  } else if (!args.empty() && args.front() == "throughput") {
    args.insert(args.begin(), "--only");  // the same harness, its throughput part alone
  }
  std::string harness = find_harness(name);
  if (harness.empty()) {
    std::cerr << "ipcx bench: the harness (" << name
              << ") is not built or installed; configure with -DIPCX_BUILD_BENCH=ON\n";
    return kExitFailed;
  }
  std::vector<char*> argv;
  argv.push_back(harness.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The tool ignores SIGPIPE, and an ignored signal stays ignored across exec: give the
  // harness the default, so it measures what a library user gets (--ignore-sigpipe shows
  // the other case).
  ::signal(SIGPIPE, SIG_DFL);
  ::execv(harness.c_str(), argv.data());
  std::perror("ipcx bench: exec");
  return kExitFailed;
}

}  // namespace

Runner add_bench(CLI::App& app) {
  auto args = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Round trips of every mechanism against its raw floor and the peer libraries");
  cmd->allow_extras();
  // The mechanisms a forked server can answer on, as the registry lists them.
  std::string schemes;
  for (const auto& m : mechanisms()) {
    if (m.caps.crosses_processes) schemes += (schemes.empty() ? "" : " ") + std::string(m.scheme);
  }
  cmd->footer(
      "Options go to the harness: --quick (under a minute), --mechanism M[,M...] (" + schemes +
      ", os, all), --size B[,B...], --count N, --rounds N, --pin (one CPU), "
      "--spread (two), --mode M, --spin-us US, --json F, --csv F, --svg F, --ignore-sigpipe, "
      "--without PEER[,PEER...] (zmq nng boost iceoryx), --duration S (per row), --only rtt. "
      "`ipcx bench throughput [options]`: only one-way messages/s and MB/s; `ipcx bench fanout "
      "[--mechanism M] [--subscribers N]`: pub/sub; `ipcx bench instructions [--mechanism M,...] "
      "[--calls N1,N2] [--json F] [--keep DIR] [--pattern call|push]`: instructions per call "
      "(or pushed message) under callgrind, spinning "
      "off (--keep leaves the callgrind files in DIR). `ipcx bench curve [--count N] "
      "[--messages N] [--json F] [--quick]`: CURVE on tcp against libsodium alone and libzmq. "
      "`ipcx bench scale [--mechanism M,...] [--clients N] [--processes P] [--pipeline K] "
      "[--seconds S] [--json F]`: many clients on one server. `ipcx bench python [--calls N] "
      "[--rounds N] [--json F]`: a Python Client over shm and unix beside pyzmq REQ/REP.");
  return [cmd, args] { return bench(cmd->remaining()); };
}

}  // namespace ipcx::cli
