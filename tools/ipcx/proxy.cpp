// `ipcx proxy` (CLI): ZeroMQ's zmq_proxy for request/reply, pipeline or publish/subscribe.
// Endpoints are written the way CZMQ does: "@URL" binds, ">URL" connects, and a bare URL binds
// on the frontend and the capture socket and connects on the backend. Prints "bound URL" per
// bound endpoint; stops cleanly on SIGINT or SIGTERM.
#include "ipcx/proxy.hpp"

#include <signal.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "ipcx/error.hpp"
#include "security_cli.hpp"

namespace ipcx::cli {
namespace {

struct ProxySettings {
  std::vector<std::string> frontends;
  std::vector<std::string> backends;
  std::string pattern = "reqrep";
  std::vector<std::string> captures;
  long heartbeat_ms = -1;
  bool events = false;
  CurveSettings frontend_curve;
  CurveSettings backend_curve;
};

// Binds or connects one endpoint of one side; returns the bound endpoint, if it bound.
template <class Bind, class Connect>
std::optional<Endpoint> attach(const std::string& spec, bool binds_by_default, Bind bind,
                               Connect connect) {
  bool binds = binds_by_default;
  std::string url = spec;
  if (!spec.empty() && (spec[0] == '@' || spec[0] == '>')) {
    binds = spec[0] == '@';
    url = spec.substr(1);
  }
  if (binds) return bind(url);
  connect(url);
  return std::nullopt;
}

int proxy(const ProxySettings& cfg) {
  if (cfg.frontends.empty() || cfg.backends.empty()) {
    std::cerr << "ipcx proxy: give at least one --frontend and one --backend\n";
    return kExitUsage;
  }
  sigset_t stop_signals = block_stop_signals();

  ProxyOptions options;
  options.pattern = cfg.pattern == "pipeline" ? ProxyPattern::pipeline
                    : cfg.pattern == "pubsub" ? ProxyPattern::publish_subscribe
                                              : ProxyPattern::request_reply;
  options.heartbeat = std::chrono::milliseconds(cfg.heartbeat_ms);
  options.log = [](std::string_view line) { std::cerr << line << '\n'; };
  if (cfg.events) options.on_event = print_event;
  auto front_security = security_of(cfg.frontend_curve);
  auto back_security = security_of(cfg.backend_curve);
  if (!front_security || !back_security) return kExitUsage;
  options.frontend_security = std::move(*front_security);
  options.backend_security = std::move(*back_security);
  Proxy proxy(options);
  try {
    std::vector<Endpoint> bound;
    for (const auto& spec : cfg.frontends) {
      auto ep = attach(
          spec, true, [&](const std::string& u) { return proxy.bind_frontend(u); },
          [&](const std::string& u) { proxy.connect_frontend(u); });
      if (ep) bound.push_back(*ep);
    }
    for (const auto& spec : cfg.backends) {
      auto ep = attach(
          spec, false, [&](const std::string& u) { return proxy.bind_backend(u); },
          [&](const std::string& u) { proxy.connect_backend(u); });
      if (ep) bound.push_back(*ep);
    }
    for (const auto& spec : cfg.captures) {
      auto ep = attach(
          spec, true, [&](const std::string& u) { return proxy.bind_capture(u); },
          [&](const std::string& u) { proxy.connect_capture(u); });
      if (ep) bound.push_back(*ep);
    }
    proxy.start();
    print_bound(bound);
  } catch (const Error& e) {
    return report_setup_error("proxy", e);
  }
  wait_for_stop_signal(stop_signals);
  proxy.stop();
  return kExitOk;
}

}  // namespace

Runner add_proxy(CLI::App& app) {
  auto cfg = std::make_shared<ProxySettings>();
  CLI::App* cmd = app.add_subcommand(
      "proxy", "Forward messages between frontend and backend peers, as zmq_proxy does");
  cmd->add_option("--frontend", cfg->frontends,
                  "Where clients, pushers or publishers are (repeatable): @URL binds, >URL "
                  "connects, URL binds");
  cmd->add_option("--backend", cfg->backends,
                  "Where workers, pullers or subscribers are (repeatable): @URL binds, >URL "
                  "connects, URL connects");
  cmd->add_option("--pattern", cfg->pattern,
                  "reqrep (ROUTER to DEALER), pipeline (PULL to PUSH) or pubsub (XSUB to XPUB, "
                  "subscriptions forwarded upstream)")
      ->check(CLI::IsMember({"reqrep", "pipeline", "pubsub"}));
  cmd->add_option("--capture", cfg->captures,
                  "A publisher that gets a copy of every message forwarded (repeatable): @URL "
                  "binds, >URL connects, URL binds");
  cmd->add_option("--heartbeat", cfg->heartbeat_ms, kHeartbeatHelp);
  add_curve_options(cmd, cfg->frontend_curve, "frontend-");
  add_curve_options(cmd, cfg->backend_curve, "backend-");
  cmd->add_flag("--events", cfg->events,
                "Print a line per connection event on stderr: event KIND ENDPOINT PEER [REASON]");
  return [cfg] { return proxy(*cfg); };
}

}  // namespace ipcx::cli
