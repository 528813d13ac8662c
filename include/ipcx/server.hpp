// Server (API layer): request/reply, ROUTER on the wire. Binds any number of endpoints and calls
// one handler for every request from any of them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "ipcx/endpoint.hpp"
#include "ipcx/message.hpp"
#include "ipcx/options.hpp"
#include "ipcx/peer.hpp"
#include "ipcx/result.hpp"

namespace ipcx {

namespace detail {
struct ServerCore;
struct PendingReply;
}  // namespace detail

// Lets a handler answer later, from any thread. Movable, not copyable; replying twice or after
// the server stopped gives an error. Destroying an unanswered Responder sends an error reply
// ("ERR no reply"), so no client waits forever.
class Responder {
 public:
  Responder() noexcept;
  Responder(Responder&&) noexcept;
  Responder& operator=(Responder&&) noexcept;
  ~Responder();

  // Errc::cancelled after stop()'s grace period; Errc::peer_closed when the client went away.
  Result<void> reply(Message body);
  bool valid() const noexcept { return pending_ != nullptr; }

 private:
  friend class Request;
  explicit Responder(std::unique_ptr<detail::PendingReply> pending) noexcept;
  std::unique_ptr<detail::PendingReply> pending_;
};

// One request, handed to the handler by reference. Reply once, now with reply() or later
// through respond_later(); a handler that does neither gets "ERR no reply" sent for it.
class Request {
 public:
  Request(Request&&) noexcept;
  Request& operator=(Request&&) noexcept;
  ~Request();

  const Message& body() const noexcept { return body_; }
  const PeerInfo& peer() const noexcept;
  // Answered on the loop thread, the reply is encoded straight from `body`: an echo,
  // reply(body()), copies it once, onto the wire.
  void reply(const Message& body);
  void reply(Message&& body);
  Responder respond_later();
  bool answered() const noexcept;

 private:
  friend struct detail::ServerCore;
  Request(std::unique_ptr<detail::PendingReply> pending, Message body) noexcept;
  std::unique_ptr<detail::PendingReply> pending_;
  Message body_;
};

struct ServerStats {
  std::uint64_t accepted = 0;  // connections accepted
  std::uint64_t open = 0;      // connections open now
  // Refused by max_connections or the uid allow-list, or because it required a security
  // mechanism (CURVE, PLAIN) this build does not speak.
  std::uint64_t rejected = 0;
  std::uint64_t requests = 0;         // requests handed to the handler
  std::uint64_t replies = 0;          // replies queued to a peer
  std::uint64_t handler_errors = 0;   // handler threw, or dropped its Responder unanswered
  std::uint64_t peer_faults = 0;      // links closed for a protocol violation or a timeout
  std::uint64_t dropped_replies = 0;  // replies whose peer had gone
  std::uint64_t dropped_input = 0;    // udp: datagrams the kernel dropped, buffer full
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();  // stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Throws ipcx::Error (bad_endpoint, not_supported, address_in_use, permission_denied...).
  // Returns the bound endpoint: port 0 replaced by the real port. Call before run()/start().
  Endpoint bind(std::string_view url);
  // Connects out to `url` and serves what arrives there as on a bound endpoint: a worker behind
  // a broker's backend (a libzmq DEALER or ROUTER that binds), with the same handler and stats.
  // Dials at once and again, with backoff (10 ms doubling to 1 s), whenever the connection is
  // lost or cannot be made; replies owed to a lost connection are dropped, never sent on the
  // next. Throws ipcx::Error for a malformed URL or an unsupported scheme. Before run()/start().
  Endpoint connect(std::string_view url);
  // Set before run()/start(). With workers > 0 it runs on the pool, concurrently.
  void on_request(std::function<void(Request&)> handler);

  // Serves on the calling thread until stop().
  void run();
  // Serves on a thread of its own.
  void start();
  // Thread-safe and idempotent: answers what Responders can within stop_grace, then closes every
  // link and listener (socket files are removed) and joins the thread start() made.
  void stop();

  // Readable when run_once() has work; for users with their own event loop.
  int fd() const noexcept;
  // One turn of the loop, waiting at most `wait`. Not to be mixed with run()/start().
  Result<void> run_once(std::chrono::milliseconds wait);

  ServerStats stats() const noexcept;

 private:
  std::shared_ptr<detail::ServerCore> core_;
};

}  // namespace ipcx
