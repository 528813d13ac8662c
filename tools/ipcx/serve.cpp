// `ipcx serve` (CLI): one server on every --bind and --connect endpoint, with the echo or kv
// handler. Prints "bound URL" per bound endpoint once it accepts connections (on stderr when
// stdout is the stdio:// stream); stops cleanly on SIGINT or SIGTERM, or when a stdio:// parent
// hangs up.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "commands.hpp"
#include "ipcx/server.hpp"
#include "kv_store.hpp"
#include "security_cli.hpp"

namespace ipcx::cli {
namespace {

struct ServeSettings {
  std::vector<std::string> binds;
  std::vector<std::string> connects;
  std::string handler = "echo";
  unsigned workers = 0;
  long spin_us = -1;  // -1: the library default
  long handshake_timeout_ms = 10000;
  long heartbeat_ms = -1;  // -1: the library default (5 s over tcp://)
  CurveSettings curve;
  std::size_t max_message_size = 64u << 20;
  std::size_t max_connections = 1024;
  bool print_stats = false;
  bool events = false;  // one line per connection event on stderr
  bool quiet = false;
};

// At most one line a second per peer address; the rest are counted and summarised.
class RateLimitedStderr {
 public:
  void operator()(std::string_view line) {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    if (now - window_ < std::chrono::seconds(1) && printed_ >= 5) {
      ++suppressed_;
      return;
    }
    if (now - window_ >= std::chrono::seconds(1)) {
      if (suppressed_ > 0) std::cerr << "ipcx: " << suppressed_ << " similar lines suppressed\n";
      window_ = now;
      printed_ = 0;
      suppressed_ = 0;
    }
    ++printed_;
    std::cerr << line << '\n';
  }

 private:
  std::mutex mutex_;
  std::chrono::steady_clock::time_point window_{};
  int printed_ = 0;
  long suppressed_ = 0;
};

void print_stats(const ServerStats& s) {
  std::cerr << "ipcx serve: accepted " << s.accepted << ", rejected " << s.rejected << ", requests "
            << s.requests << ", replies " << s.replies << ", handler errors " << s.handler_errors
            << ", peer faults " << s.peer_faults << '\n';
}

// A stdio:// server exits when its parent hangs up, as language servers do: nothing can reach it
// through those pipes again. A copy of stdin, polled for nothing but the hang-up, tells.
void stop_when_stdin_hangs_up(int copy_of_stdin) {
  std::thread([copy_of_stdin] {
    pollfd p{copy_of_stdin, 0, 0};
    while (::poll(&p, 1, -1) < 0 || (p.revents & (POLLHUP | POLLERR)) == 0) {
    }
    ::kill(::getpid(), SIGTERM);
  }).detach();
}

bool binds_stdio(const ServeSettings& cfg) {
  for (const auto& url : cfg.binds) {
    if (url.rfind("stdio://", 0) == 0) return true;
  }
  return false;
}

int serve(const ServeSettings& cfg) {
  // Before any thread starts, so that only the wait below receives them.
  sigset_t stop_signals = block_stop_signals();
  if (cfg.binds.empty() && cfg.connects.empty()) {
    std::cerr << "ipcx serve: give --bind URL or --connect URL (either may repeat)\n";
    return kExitUsage;
  }

  ServerOptions options;
  options.workers = cfg.workers;
  if (cfg.spin_us >= 0) options.spin = std::chrono::microseconds(cfg.spin_us);
  options.handshake_timeout = std::chrono::milliseconds(cfg.handshake_timeout_ms);
  options.heartbeat = std::chrono::milliseconds(cfg.heartbeat_ms);
  auto security = security_of(cfg.curve);
  if (!security) return kExitUsage;
  options.security = std::move(*security);
  options.max_message_size = cfg.max_message_size;
  options.max_connections = cfg.max_connections;
  auto sink = std::make_shared<RateLimitedStderr>();
  options.log = [sink](std::string_view line) { (*sink)(line); };
  if (cfg.events) options.on_event = print_event;
  Server server(options);

  auto kv = std::make_shared<KvStore>();
  if (cfg.handler == "kv") {
    server.on_request([kv](Request& r) { r.reply(kv->handle(r.body())); });
  } else {
    server.on_request([](Request& r) { r.reply(echo(r.body())); });
  }
  if (binds_stdio(cfg)) stop_when_stdin_hangs_up(::fcntl(0, F_DUPFD_CLOEXEC, 3));
  try {
    std::vector<Endpoint> bound;
    for (const auto& url : cfg.binds) bound.push_back(server.bind(url));
    for (const auto& url : cfg.connects) server.connect(url);
    server.start();
    if (!cfg.quiet) print_bound(bound);
  } catch (const Error& e) {
    return report_setup_error("serve", e);
  }
  wait_for_stop_signal(stop_signals);
  server.stop();
  if (cfg.print_stats) print_stats(server.stats());
  return kExitOk;
}

}  // namespace

Runner add_serve(CLI::App& app) {
  auto cfg = std::make_shared<ServeSettings>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve requests on one or more endpoints");
  cmd->add_option("--bind,-b", cfg->binds, "Endpoint URL to bind (repeatable)");
  cmd->add_option("--connect,-c", cfg->connects,
                  "Endpoint URL to connect to and serve, e.g. a broker's backend (repeatable)");
  cmd->add_option("--handler", cfg->handler, "echo or kv")->check(CLI::IsMember({"echo", "kv"}));
  cmd->add_option("--workers", cfg->workers, "Handler threads (0: the I/O thread)");
  cmd->add_option("--spin-us", cfg->spin_us, "Poll this long before sleeping (default 50)");
  cmd->add_option("--handshake-timeout", cfg->handshake_timeout_ms, "Milliseconds");
  cmd->add_option("--heartbeat", cfg->heartbeat_ms, kHeartbeatHelp);
  add_curve_options(cmd, cfg->curve);
  cmd->add_option("--max-message-size", cfg->max_message_size, "Bytes per request");
  cmd->add_option("--max-connections", cfg->max_connections, "Open connections at most");
  cmd->add_flag("--stats", cfg->print_stats, "Print counters to stderr on exit");
  cmd->add_flag("--events", cfg->events,
                "Print a line per connection event on stderr: event KIND ENDPOINT PEER [REASON]");
  cmd->add_flag("--quiet", cfg->quiet, "Do not print the bound endpoints");
  return [cfg] { return serve(*cfg); };
}

}  // namespace ipcx::cli
