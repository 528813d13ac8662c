// ipcx::Proxy (API layer): ZeroMQ's zmq_proxy over any ipcx mechanisms, for each pattern.
//   request_reply: the frontend is a ROUTER that clients reach (ipcx Clients, libzmq REQ or
//     DEALER); the backend a DEALER that deals their requests round robin to workers (ipcx
//     Servers, libzmq REP) and routes each reply back to the client that asked. Envelopes go
//     through untouched: the backend sees a client's own envelope behind one routing frame of
//     the proxy's.
//   pipeline: PULL from pushers on the frontend, PUSH round robin to pullers on the backend.
//   publish_subscribe: XSUB on the frontend, XPUB on the backend. The subscriptions of the
//     backend's subscribers, all together, are forwarded upstream: the proxy subscribes to a
//     topic once some subscriber wants it and cancels once none does.
// Each side may bind and connect any number of endpoints, so a service bound on shm:// can be
// reached from other machines through a proxy whose frontend is on tcp://. A capture socket, a
// publisher, gets a copy of every message the proxy forwards either way.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "ipcx/endpoint.hpp"
#include "ipcx/options.hpp"
#include "ipcx/security.hpp"

namespace ipcx {

enum class ProxyPattern : std::uint8_t { request_reply, pipeline, publish_subscribe };

struct ProxyOptions {
  ProxyPattern pattern = ProxyPattern::request_reply;
  std::size_t max_message_size = 64u << 20;  // per message, envelope included
  // Messages taken from the frontend that no backend peer can take yet. request_reply: past
  // it, the oldest requests are dropped (their clients time out and may retry). pipeline: at
  // it, the proxy stops reading its pushers, which then wait at their own high-water marks.
  std::size_t max_held = 1000;
  // pipeline and publish_subscribe: messages queued for one backend peer. A subscriber that
  // falls this far behind misses messages, as with any publisher.
  std::size_t hwm = 1000;
  std::chrono::milliseconds heartbeat = -1ms;  // as ServerOptions::heartbeat, on every side
  std::chrono::milliseconds handshake_timeout = 10s;
  std::vector<std::uint32_t> server_uids;  // connecting: as ClientOptions::server_uids
  // Each side's CURVE role and keys (ipcx/security.hpp); the capture socket takes the
  // frontend's.
  Security frontend_security;
  Security backend_security;
  LogSink log;
  EventSink on_event;  // every side's connection events
};

struct ProxyStats {
  // request_reply: requests; pipeline: messages; publish_subscribe: published messages.
  std::uint64_t to_backend = 0;
  // request_reply: replies; publish_subscribe: subscriptions and cancellations sent upstream.
  std::uint64_t to_frontend = 0;
  // Replies whose client had gone, requests held past max_held.
  std::uint64_t dropped = 0;
  // Copies that reached at least one subscriber of the capture socket.
  std::uint64_t captured = 0;
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
  // The capture socket: a publisher whose messages are copies of every message forwarded, all
  // frames as they go out (request_reply: the proxy's routing frame first; publish_subscribe:
  // the subscriptions too, in the 3.0 form [0x01 or 0x00][topic]). It never holds the proxy
  // up: a capture subscriber that falls behind misses copies.
  Endpoint bind_capture(std::string_view url);
  void connect_capture(std::string_view url);

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
