// `ipcx push` and `ipcx pull` (CLI): one-way messages. push sends each line of stdin as a
// one-frame message; pull prints each message on a line, frames separated by a space. Both bind
// every --bind endpoint (printing "bound URL" once listening) and connect every positional URL.
#include "ipcx/pipeline.hpp"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "ipcx/error.hpp"

namespace ipcx::cli {
namespace {

struct PipeSettings {
  std::vector<std::string> binds;
  std::vector<std::string> connects;
  long count = -1;       // pull: stop after this many messages (-1: until stdin/EOF or signal)
  long timeout_ms = -1;  // per message; -1: wait forever
};

template <class Socket>
bool attach(Socket& socket, const PipeSettings& cfg) {
  try {
    for (const auto& url : cfg.binds) std::cout << "bound " << socket.bind(url).url() << std::endl;
    for (const auto& url : cfg.connects) socket.connect(url);
  } catch (const Error& e) {
    std::cerr << "ipcx: " << e.what() << '\n';
    return false;
  }
  if (cfg.binds.empty() && cfg.connects.empty()) {
    std::cerr << "ipcx: give at least one URL to connect or one --bind\n";
    return false;
  }
  return true;
}

std::chrono::milliseconds timeout_of(const PipeSettings& cfg) {
  return cfg.timeout_ms < 0 ? kForever : std::chrono::milliseconds(cfg.timeout_ms);
}

int push(const PipeSettings& cfg) {
  Pusher pusher;
  if (!attach(pusher, cfg)) return kExitUsage;
  std::string line;
  while (std::getline(std::cin, line)) {
    auto sent = pusher.send(Message{line}, timeout_of(cfg));
    if (!sent) {
      std::cerr << "ipcx push: " << to_string(sent.error()) << '\n';
      return kExitFailed;
    }
  }
  return pusher.flush(timeout_of(cfg)) ? kExitOk : kExitFailed;
}

int pull(const PipeSettings& cfg) {
  Puller puller;
  if (!attach(puller, cfg)) return kExitUsage;
  for (long n = 0; cfg.count < 0 || n < cfg.count; ++n) {
    auto m = puller.receive(timeout_of(cfg));
    if (!m) {
      std::cerr << "ipcx pull: " << to_string(m.error()) << '\n';
      return kExitFailed;
    }
    for (std::size_t i = 0; i < m->size(); ++i) std::cout << (i ? " " : "") << m->text(i);
    std::cout << '\n' << std::flush;
  }
  return kExitOk;
}

void add_common(CLI::App* cmd, PipeSettings& cfg) {
  cmd->add_option("urls", cfg.connects, "Endpoints to connect to");
  cmd->add_option("--bind", cfg.binds, "Endpoints to bind (repeatable)");
  cmd->add_option("--timeout", cfg.timeout_ms,
                  "Milliseconds to wait per message (default: no limit)");
}

}  // namespace

Runner add_push(CLI::App& app) {
  auto cfg = std::make_shared<PipeSettings>();
  auto* cmd = app.add_subcommand("push", "Send each line of stdin as a message to pullers");
  add_common(cmd, *cfg);
  return [cfg] { return push(*cfg); };
}

Runner add_pull(CLI::App& app) {
  auto cfg = std::make_shared<PipeSettings>();
  auto* cmd = app.add_subcommand("pull", "Print each message pushers send, one a line");
  add_common(cmd, *cfg);
  cmd->add_option("--count", cfg->count, "Exit after this many messages");
  return [cfg] { return pull(*cfg); };
}

}  // namespace ipcx::cli
