// ipcx::Proxy (API layer): ZeroMQ's zmq_proxy for request/reply, over any ipcx mechanisms. The
// frontend is a ROUTER that clients reach (ipcx Clients, libzmq REQ or DEALER); the backend a
// DEALER that deals their requests round robin to workers (ipcx Servers, libzmq REP) and
// routes each reply back to the client that asked. Envelopes go through untouched: the backend
// sees a client's own envelope behind one routing frame of the proxy's. Each side may bind and
// connect any number of endpoints, so a service bound on shm:// can be reached from other
// machines through a proxy whose frontend is on tcp://.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "ipcx/endpoint.hpp"
#include "ipcx/options.hpp"

namespace ipcx {

struct ProxyOptions {
  std::size_t max_message_size = 64u << 20;  // per message, envelope included
  // Requests held while no backend peer is connected; past it, the oldest are dropped.
  std::size_t max_held = 1000;
  std::chrono::milliseconds heartbeat = -1ms;  // as ServerOptions::heartbeat, on both sides
  std::chrono::milliseconds handshake_timeout = 10s;
  LogSink log;
  EventSink on_event;  // both sides' connection events
};

struct ProxyStats {
  std::uint64_t requests = 0;  // forwarded to the backend
  std::uint64_t replies = 0;   // routed back to their client
  std::uint64_t dropped = 0;   // replies whose client had gone, requests held past max_held
};

class Proxy {
 public:
  explicit Proxy(ProxyOptions options = {});
  ~Proxy();  // stop()s
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Before run()/start(). Throw ipcx::Error as Server::bind and Server::connect do.
  Endpoint bind_frontend(std::string_view url);
  void connect_frontend(std::string_view url);
  Endpoint bind_backend(std::string_view url);
  void connect_backend(std::string_view url);

  // Forwards on the calling thread until stop().
  void run();
  // Forwards on a thread of its own.
  void start();
  // Thread-safe and idempotent; joins the thread start() made.
  void stop();

  ProxyStats stats() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ipcx
