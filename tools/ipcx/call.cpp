// `ipcx call` (CLI): one request, its reply printed one part per line. Exit 0 on a reply, 3 on a
// reply starting "ERR ", 1 on a failed call, 2 on bad usage.
#include <unistd.h>

#include <iostream>
#include <iterator>
#include <memory>

#include "commands.hpp"
#include "ipcx/client.hpp"
#include "security_cli.hpp"

namespace ipcx::cli {
namespace {

struct CallSettings {
  std::vector<std::string> args;  // URL then frames; only frames with --spawn
  std::string spawn;              // a command line to start as a stdio:// server
  long timeout_ms = 5000;
  long spin_us = -1;  // -1: the library default
  bool hex = false;
  bool plain = false;      // force the REQ envelope
  long heartbeat_ms = -1;  // -1: the library default (5 s over tcp://)
  CurveSettings curve;
};

bool printable(std::string_view text) {
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

void print_part(std::string_view part, bool hex) {
  static const char* kDigits = "0123456789abcdef";
  if (!hex) {
    std::cout << part << '\n';
    return;
  }
  std::string line;
  for (unsigned char c : part) {
    line += kDigits[c >> 4];
    line += kDigits[c & 15];
  }
  std::cout << line << '\n';
}

// "prog --flag value" into words; no quoting: a command that needs it can go through sh -c.
std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  for (char c : line + ' ') {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  return words;
}

int call(const CallSettings& cfg) {
  bool spawning = !cfg.spawn.empty();
  if (!spawning && cfg.args.empty()) {
    std::cerr << "ipcx call: give a URL, or --spawn 'COMMAND'\n";
    return kExitUsage;
  }
  std::string url = spawning ? "stdio://" : cfg.args.front();
  std::vector<std::string> frames(cfg.args.begin() + (spawning ? 0 : 1), cfg.args.end());
  Message request;
  for (const auto& f : frames) {
    if (f == "-") {
      std::string input(std::istreambuf_iterator<char>(std::cin), {});
      request.add(input);
    } else {
      request.add(f);
    }
  }
  if (request.empty()) request.add("");
  try {
    ClientOptions options;
    if (cfg.spin_us >= 0) options.spin = std::chrono::microseconds(cfg.spin_us);
    if (cfg.plain) options.envelope = RequestEnvelope::plain;
    options.heartbeat = std::chrono::milliseconds(cfg.heartbeat_ms);
    auto security = security_of(cfg.curve);
    if (!security) return kExitUsage;
    options.security = std::move(*security);
    // What the library noticed on the way (a refusal's reason, connect failures), printed only
    // if the call fails: the last line usually says why.
    auto last_log = std::make_shared<std::string>();
    options.log = [last_log](std::string_view line) { *last_log = line; };
    Client client = spawning ? spawn(split_words(cfg.spawn), options) : Client(url, options);
    auto reply = client.call(request, std::chrono::milliseconds(cfg.timeout_ms));
    if (!reply) {
      std::cerr << "ipcx call: " << url << ": " << to_string(reply.error()) << '\n';
      if (!last_log->empty()) std::cerr << *last_log << '\n';
      return kExitFailed;
    }
    for (std::size_t i = 0; i < reply->size(); ++i) {
      std::string_view part = reply->text(i);
      print_part(part, cfg.hex || !printable(part));
    }
    if (!reply->empty() && reply->text(0).substr(0, 4) == "ERR ") return kExitErrReply;
    return kExitOk;
  } catch (const Error& e) {
    std::cerr << "ipcx call: " << e.what() << '\n';
    return e.errc() == Errc::bad_endpoint || e.errc() == Errc::not_supported ? kExitUsage
                                                                             : kExitFailed;
  }
}

}  // namespace

Runner add_call(CLI::App& app) {
  auto cfg = std::make_shared<CallSettings>();
  CLI::App* cmd = app.add_subcommand("call", "Send one request and print the reply");
  cmd->add_option("args", cfg->args,
                  "Endpoint URL, then request parts ('-' reads one part from stdin); with "
                  "--spawn, only the parts");
  cmd->add_option("--spawn", cfg->spawn,
                  "Start this command as a stdio:// server and call it (words split at spaces)");
  cmd->add_option("--timeout", cfg->timeout_ms, "Milliseconds to wait for the reply");
  cmd->add_option("--spin-us", cfg->spin_us, "Poll this long before sleeping (default 50)");
  cmd->add_flag("--hex", cfg->hex, "Print every part in hex");
  cmd->add_option("--heartbeat", cfg->heartbeat_ms, kHeartbeatHelp);
  add_curve_options(cmd, cfg->curve);
  cmd->add_flag("--plain", cfg->plain,
                "Send what a libzmq REQ sends, [\"\"][parts], even to a peer that takes ipcx "
                "request ids");
  return [cfg] { return call(*cfg); };
}

}  // namespace ipcx::cli
