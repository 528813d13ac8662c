// The parts of a Proxy (pattern layer): one Forwarder per pattern owns the two sides' engines
// and moves messages between them; Dealing hands frontend messages round robin to backend
// peers, holding in order what none can take yet; Capture publishes a copy of what moves.
// Proxy::run drives every engine on one thread.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <utility>

#include "engine/engine.hpp"
#include "ipcx/proxy.hpp"
#include "pattern/publishing.hpp"

namespace ipcx::pattern::proxy {

struct Counters {
  std::atomic<std::uint64_t> to_backend{0}, to_frontend{0}, dropped{0}, captured{0};
};

// An engine for one side of the proxy; `reader` as EngineOptions::reader.
engine::EngineOptions side_options(const ProxyOptions& options, wire::SocketType type,
                                   Use::Kind use, bool reader, const Security& security);

class Capture {
 public:
  Capture(const ProxyOptions& options, Counters& counters);
  // The publisher, made on first use (binding or connecting it).
  Publishing& socket();
  // Null when nothing captures.
  engine::Engine* engine() noexcept { return socket_ ? &socket_->engine : nullptr; }
  // Publishes head's frames then tail's, when there is a capture socket.
  void copy(const Message& head, const Message& tail) {
    if (socket_) publish(head, tail);
  }

 private:
  void publish(const Message& head, const Message& tail);

  const ProxyOptions& options_;
  Counters& counters_;
  std::unique_ptr<Publishing> socket_;
  Message scratch_;
};

struct Context {
  const ProxyOptions& options;
  Counters& counters;
  Capture& capture;
};

class Dealing {
 public:
  Dealing(engine::Engine& backend, Context context) : backend_(backend), context_(context) {}
  // Deals the message at once when nothing waits before it and a peer takes it; else it waits.
  void deal_or_hold(Message& head, Message& tail);
  // Deals what waits, oldest first, while peers take it.
  void deal_held();
  std::size_t held() const noexcept { return held_.size(); }
  // Drops the oldest waiting messages past `limit`, counted.
  void drop_past(std::size_t limit);

 private:
  bool deal(const Message& head, const Message& tail);

  engine::Engine& backend_;
  Context context_;
  std::deque<std::pair<Message, Message>> held_;
  std::size_t next_ = 0;  // round robin
};

class Forwarder {
 public:
  virtual ~Forwarder() = default;
  virtual engine::Engine& frontend() noexcept = 0;
  virtual engine::Engine& backend() noexcept = 0;
  // Moves what is ready either way, without waiting; true when anything moved.
  virtual bool forward() = 0;
};

std::unique_ptr<Forwarder> request_reply_forwarder(Context context);
std::unique_ptr<Forwarder> pipeline_forwarder(Context context);
std::unique_ptr<Forwarder> publish_subscribe_forwarder(Context context);

}  // namespace ipcx::pattern::proxy
