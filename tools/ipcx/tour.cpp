// `ipcx tour` (CLI), the main job: starts one kv server as a child over anonymous pipes, bound
// on every mechanism of this build that reaches across processes (ipcx::mechanisms()), reaches
// it through each, writing through one and reading through the next to show they share one
// store, and prints a table: mechanism, endpoint, round-trip p50/p99, calls/s, and when to
// choose it. Cleans up after itself: the child's endpoints go when it stops, which it does when
// its pipes close, and each mechanism's test hook says whether anything was left.
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
#include "ipcx/mechanism.hpp"

namespace ipcx::cli {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct TourSettings {
  int calls = 2000;  // timed round trips per mechanism
};

struct Stop {
  const MechanismInfo* mechanism;
  std::string url;  // empty: the spawned child's own (its stdio)
};

constexpr const char* kTag = "kv";

// The spawned child's mechanism first (its call returns once the child has bound everything),
// then every other one a client in another process can reach by URL. Private URLs pick free
// ports now, since the child reports nothing back over its pipes.
std::vector<Stop> plan_stops(const std::string& dir, std::vector<std::string>& skipped) {
  std::vector<Stop> stops;
  for (const MechanismInfo& m : mechanisms()) {
    if (!m.caps.request_reply || !m.caps.crosses_processes) {
      skipped.push_back(std::string(m.scheme));
      continue;
    }
    if (m.caps.reach == Reach::spawn) {
      stops.insert(stops.begin(), Stop{&m, ""});
    } else {
      stops.push_back(Stop{&m, m.private_url(dir, kTag)});
    }
  }
  return stops;
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
  std::vector<std::string> skipped;
  std::vector<Stop> stops = plan_stops(dir.string(), skipped);
  if (stops.empty() || !stops.front().url.empty()) {
    std::cerr << "ipcx tour: this build has no mechanism to start a server as a child\n";
    return kExitFailed;
  }
  const MechanismInfo& spawned = *stops.front().mechanism;
  std::vector<std::string> argv = {"/proc/self/exe",
                                   "serve",
                                   "--quiet",
                                   "--handler",
                                   "kv",
                                   "--bind",
                                   spawned.private_url(dir.string(), kTag)};
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
      std::cout << "  "
                << (s.url.empty() ? std::string(s.mechanism->scheme) + ":// (its pipes)" : s.url)
                << '\n';
      if (!s.url.empty()) clients.push_back(std::make_unique<Client>(s.url));
    }
    for (const auto& name : skipped) {
      std::cout << "  (not " << name << "://: it does not reach another process)\n";
    }
    // The spawned child's call first: it returns once the child has bound everything.
    std::cout << "\nwriting through each mechanism, reading through the next:\n";
    for (std::size_t i = 0; i < stops.size(); ++i) {
      std::size_t j = (i + 1) % stops.size();
      std::string from(stops[i].mechanism->scheme), to(stops[j].mechanism->scheme);
      std::string key = "written-by-" + from;
      std::string value = "hello through " + from;
      auto put = clients[i]->call(Message{"put", key, value}, 20s);
      auto got = clients[j]->call(Message{"get", key}, 20s);
      bool same = put && got && got->size() >= 1 && got->text(got->size() - 1) == value;
      std::printf("  put %-18s via %-6s get via %-6s -> %s\n", key.c_str(), from.c_str(),
                  to.c_str(), same ? "same value" : "MISMATCH");
      if (!same) status = kExitFailed;
    }
    (void)clients[0]->call(Message{"put", "tour", std::string(64, 't')}, 20s);
    std::printf("\n%-6s %-44s %9s %9s %10s  %s\n", "mech", "endpoint", "p50 us", "p99 us",
                "calls/s", "choose it for");
    for (std::size_t i = 0; i < stops.size(); ++i) {
      Timing t = measure(*clients[i], cfg.calls);
      std::string name(stops[i].mechanism->scheme);
      std::string where = stops[i].url.empty() ? name + ":// (spawned child)" : stops[i].url;
      if (where.size() > 44) where = "..." + where.substr(where.size() - 41);
      if (!t.ok) {
        std::printf("%-6s %-44s %9s\n", name.c_str(), where.c_str(), "FAILED");
        status = kExitFailed;
        continue;
      }
      std::printf("%-6s %-44s %9.1f %9.1f %10.0f  %.*s\n", name.c_str(), where.c_str(), t.p50_us,
                  t.p99_us, t.per_second, static_cast<int>(stops[i].mechanism->summary.size()),
                  stops[i].mechanism->summary.data());
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
  for (const auto& stop : stops) {
    auto of_this = stop.mechanism->leftovers(dir.string(), kTag);
    left.insert(left.end(), of_this.begin(), of_this.end());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (left.empty()) {
    std::cout << "\nthe server has stopped: its socket files, FIFOs and queues are gone\n";
  } else {
    for (const auto& l : left) std::cerr << "ipcx tour: left behind: " << l << '\n';
    status = kExitFailed;
  }
  return status;
}

}  // namespace

Runner add_tour(CLI::App& app) {
  auto cfg = std::make_shared<TourSettings>();
  CLI::App* cmd =
      app.add_subcommand("tour", "One kv server on every mechanism at once, reached through each");
  cmd->add_option("--calls", cfg->calls, "Timed round trips per mechanism")
      ->check(CLI::Range(10, 10000000));
  return [cfg] { return tour(*cfg); };
}

}  // namespace ipcx::cli
