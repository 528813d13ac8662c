// The one-way subcommands (CLI). push sends each line of stdin as a one-frame message; pull
// prints each message on a line, frames separated by a space (--frames-separator). pub
// publishes stdin's lines (each "TOPIC BODY", or BODY under a fixed --topic; with --frames 1
// the line as one frame) or a counter at a --rate; sub prints each message as pull does. All
// bind every --bind endpoint, printing "bound URL" once listening (on stderr for pull and sub,
// whose stdout carries the data), and connect every positional URL.
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "commands.hpp"
#include "ipcx/error.hpp"
#include "ipcx/pipeline.hpp"
#include "ipcx/pubsub.hpp"
#include "security_cli.hpp"

namespace ipcx::cli {
namespace {

struct PipeSettings {
  std::vector<std::string> binds;
  std::vector<std::string> connects;
  long count = -1;       // pull, sub: stop after this many messages; pub --rate: this many
  long timeout_ms = -1;  // per message; -1: wait forever
  std::vector<std::string> topics;  // pub: the fixed topic (one); sub: subscriptions
  double rate = 0;                  // pub: messages per second of a counter instead of stdin
  long wait_subscribers = 0;        // pub: publish only once this many have subscribed
  std::size_t batch_bytes = 0;      // push, pub: SocketOptions::batch_bytes
  long heartbeat_ms = -1;           // SocketOptions::heartbeat; -1: the default
  int frames = 2;                   // pub: frames per message, [topic][body] or one
  std::string separator = " ";      // pull, sub: printed between a message's frames
  CurveSettings curve;
};

// nullopt (after saying why) when the CURVE settings cannot be used.
std::optional<SocketOptions> socket_options(const PipeSettings& cfg) {
  SocketOptions options;
  options.batch_bytes = cfg.batch_bytes;
  options.heartbeat = std::chrono::milliseconds(cfg.heartbeat_ms);
  auto security = security_of(cfg.curve);
  if (!security) return std::nullopt;
  options.security = std::move(*security);
  return options;
}

// `bound_to`: where the "bound URL" lines go, stderr when stdout carries data.
template <class Socket>
bool attach(Socket& socket, const PipeSettings& cfg, std::ostream& bound_to = std::cout) {
  try {
    for (const auto& url : cfg.binds) bound_to << "bound " << socket.bind(url).url() << std::endl;
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
  auto options = socket_options(cfg);
  if (!options) return kExitUsage;
  Pusher pusher(*options);
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

// Prints messages from pull or sub, one a line, frames separated by a space.
template <class Socket>
int print_messages(Socket& socket, const PipeSettings& cfg, const char* name) {
  for (long n = 0; cfg.count < 0 || n < cfg.count; ++n) {
    auto m = socket.receive(timeout_of(cfg));
    if (!m) {
      std::cerr << "ipcx " << name << ": " << to_string(m.error()) << '\n';
      return kExitFailed;
    }
    if constexpr (std::is_same_v<Socket, Subscriber>) {
      // A loss is news the reader of this stream should get, beside it, not in it.
      if (std::uint64_t lost = socket.gap(); lost > 0) {
        std::cerr << "ipcx sub: " << lost << " messages lost before the next\n";
      }
    }
    for (std::size_t i = 0; i < m->size(); ++i) {
      if (i > 0) std::cout << cfg.separator;
      std::cout << m->text(i);
    }
    std::cout << '\n' << std::flush;
  }
  return kExitOk;
}

int pull(const PipeSettings& cfg) {
  auto options = socket_options(cfg);
  if (!options) return kExitUsage;
  Puller puller(*options);
  if (!attach(puller, cfg, std::cerr)) return kExitUsage;
  return print_messages(puller, cfg, "pull");
}

int sub(const PipeSettings& cfg) {
  auto options = socket_options(cfg);
  if (!options) return kExitUsage;
  Subscriber subscriber(*options);
  if (!attach(subscriber, cfg, std::cerr)) return kExitUsage;
  if (cfg.topics.empty()) subscriber.subscribe("");
  for (const auto& t : cfg.topics) subscriber.subscribe(t);
  return print_messages(subscriber, cfg, "sub");
}

int pub(const PipeSettings& cfg) {
  auto options = socket_options(cfg);
  if (!options) return kExitUsage;
  Publisher publisher(*options);
  if (!attach(publisher, cfg)) return kExitUsage;
  if (cfg.topics.size() > 1) {
    std::cerr << "ipcx pub: one --topic at most\n";
    return kExitUsage;
  }
  if (cfg.frames != 1 && cfg.frames != 2) {
    std::cerr << "ipcx pub: --frames is 1 or 2\n";
    return kExitUsage;
  }
  auto deadline = std::chrono::steady_clock::now() +
                  (cfg.timeout_ms < 0 ? std::chrono::hours(24 * 365)
                                      : std::chrono::milliseconds(cfg.timeout_ms));
  while (publisher.subscribers() < static_cast<std::size_t>(cfg.wait_subscribers)) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "ipcx pub: timeout waiting for subscribers\n";
      return kExitFailed;
    }
    publisher.poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // One frame: the topic is the text's start, as subscribers that match a prefix of a single
  // frame expect (ZeroMQ's weather-update example: "ZIP TEMP HUM").
  auto publish = [&](std::string_view topic, std::string_view body) {
    Message m = cfg.frames == 2 ? Message{topic, body}
                : topic.empty() ? Message{body}
                                : Message{std::string(topic) + " " + std::string(body)};
    if (!publisher.publish(m)) {
      std::cerr << "ipcx pub: message too large\n";
      return false;
    }
    return true;
  };
  if (cfg.rate > 0) {
    // A counter at a steady rate, each message scheduled from the start (no drift).
    auto start = std::chrono::steady_clock::now();
    std::string topic = cfg.topics.empty() ? "" : cfg.topics[0];
    for (long n = 0; cfg.count < 0 || n < cfg.count; ++n) {
      auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(static_cast<double>(n) / cfg.rate));
      while (std::chrono::steady_clock::now() < due) {
        publisher.poll();
        std::this_thread::sleep_until(
            std::min(due, std::chrono::steady_clock::now() + std::chrono::milliseconds(1)));
      }
      if (!publish(topic, std::to_string(n))) return kExitFailed;
    }
  } else {
    std::string line;
    while (std::getline(std::cin, line)) {
      std::string_view topic = cfg.topics.empty() ? std::string_view{} : cfg.topics[0];
      std::string_view body = line;
      if (cfg.topics.empty() && cfg.frames == 2) {
        auto space = line.find(' ');
        topic = std::string_view(line).substr(0, space);
        body = space == std::string::npos ? std::string_view{} : body.substr(space + 1);
      }
      if (!publish(topic, body)) return kExitFailed;
    }
  }
  return publisher.flush(std::chrono::seconds(10)) ? kExitOk : kExitFailed;
}

void add_common(CLI::App* cmd, PipeSettings& cfg) {
  cmd->add_option("urls", cfg.connects, "Endpoints to connect to");
  cmd->add_option("--bind", cfg.binds, "Endpoints to bind (repeatable)");
  cmd->add_option("--timeout", cfg.timeout_ms,
                  "Milliseconds to wait per message (default: no limit)");
  cmd->add_option("--heartbeat", cfg.heartbeat_ms, kHeartbeatHelp);
  add_curve_options(cmd, cfg.curve);
}

void add_separator(CLI::App* cmd, PipeSettings& cfg) {
  cmd->add_option("--frames-separator", cfg.separator,
                  "Printed between a message's frames (default: a space)");
}

// For piping much in at once: lines are held until a batch fills or stdin ends, so not for
// streams whose lines must go out as they come.
void add_batch(CLI::App* cmd, PipeSettings& cfg) {
  cmd->add_option("--batch", cfg.batch_bytes,
                  "Over unix/tcp, write lines in batches of this many bytes (default: each "
                  "at once)");
}

}  // namespace

Runner add_push(CLI::App& app) {
  auto cfg = std::make_shared<PipeSettings>();
  auto* cmd = app.add_subcommand("push", "Send each line of stdin as a message to pullers");
  add_common(cmd, *cfg);
  add_batch(cmd, *cfg);
  return [cfg] { return push(*cfg); };
}

Runner add_pub(CLI::App& app) {
  auto cfg = std::make_shared<PipeSettings>();
  auto* cmd = app.add_subcommand(
      "pub", "Publish stdin's lines (TOPIC BODY, or BODY with --topic) or a counter (--rate)");
  add_common(cmd, *cfg);
  add_batch(cmd, *cfg);
  cmd->add_option("--topic", cfg->topics,
                  "Topic of every message (default: each line's first word)");
  cmd->add_option("--rate", cfg->rate, "Publish a counter at this many messages per second");
  cmd->add_option("--count", cfg->count, "With --rate: stop after this many");
  cmd->add_option("--wait-subscribers", cfg->wait_subscribers,
                  "Publish only once this many subscribers have subscribed");
  cmd->add_option("--frames", cfg->frames,
                  "2: [topic][body] (default); 1: the line, or TOPIC BODY, as one frame");
  return [cfg] { return pub(*cfg); };
}

Runner add_sub(CLI::App& app) {
  auto cfg = std::make_shared<PipeSettings>();
  auto* cmd = app.add_subcommand("sub", "Print each message published, as TOPIC BODY");
  add_common(cmd, *cfg);
  add_separator(cmd, *cfg);
  cmd->add_option("--topic", cfg->topics,
                  "Subscribe to this topic prefix (repeatable; default: all)");
  cmd->add_option("--count", cfg->count, "Exit after this many messages");
  return [cfg] { return sub(*cfg); };
}

Runner add_pull(CLI::App& app) {
  auto cfg = std::make_shared<PipeSettings>();
  auto* cmd = app.add_subcommand("pull", "Print each message pushers send, one a line");
  add_common(cmd, *cfg);
  add_separator(cmd, *cfg);
  cmd->add_option("--count", cfg->count, "Exit after this many messages");
  return [cfg] { return pull(*cfg); };
}

}  // namespace ipcx::cli
