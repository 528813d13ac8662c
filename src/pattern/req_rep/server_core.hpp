// ServerCore (pattern layer): the state behind ipcx::Server, a request/reply pattern over the
// engine. It reads requests, hands them to the handler (on the loop thread or a pool), keeps
// reply order for requests without an id, and queues replies so that each turn's go out in one
// write per peer. Everything but post_reply() and request_stop() runs on the loop thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <thread>

#include "engine/engine.hpp"
#include "ipcx/server.hpp"
#include "pattern/worker_pool.hpp"

namespace ipcx::detail {

// One peer's reply ordering.
struct Connection final : engine::PeerState {
  // Tells this link from the next one of a peer the server dialled (Server::connect), which
  // keeps its peer id across redials: a reply owed to the old link must not reach the new.
  std::uint64_t serial = 0;
  std::shared_ptr<const PeerInfo> peer;
  std::uint64_t next_slot = 1;     // slot for the next request without an id
  std::uint64_t next_to_send = 1;  // replies leave in slot order
  std::map<std::uint64_t, std::pair<Message, Message>> parked;  // slot -> envelope, body
};

// One reply a handler owes. Owned by a Request, then maybe by a Responder. If it dies
// unanswered it sends "ERR no reply", so no client waits forever. A request answered inline by
// the handler on the loop thread never escapes: it pays no atomic reference count and its
// PendingReply stays in the server's inbox for the next request.
struct PendingReply {
  ServerCore* core = nullptr;  // null once answered
  // Set once the reply may outlive this loop turn (a Responder, or a pool worker): keeps the
  // core alive and counted in `outstanding`, which shutdown() waits on.
  std::shared_ptr<ServerCore> keep;
  std::uint64_t peer_id = 0;
  engine::Peer* peer = nullptr;  // for a reply that never escapes the handler
  std::uint64_t slot = 0;        // 0: the request had an id and its reply may overtake others
  std::uint64_t connection = 0;  // Connection::serial of the link the request came on
  Message envelope;
  const PeerInfo* info = nullptr;             // valid while the handler runs
  std::shared_ptr<const PeerInfo> info_keep;  // pool workers only
  bool answered = false;

  ~PendingReply();
  void escape();
  Result<void> answer(const Message& body) { return answer(body, nullptr); }
  Result<void> answer(Message&& body) { return answer(body, &body); }

 private:
  // `owned` is `body` when the caller gives it up: a reply that leaves this thread takes it
  // rather than a copy.
  Result<void> answer(const Message& body, Message* owned);
};

struct ServerCore final : std::enable_shared_from_this<ServerCore>, engine::PeerEvents {
  explicit ServerCore(ServerOptions options);
  ~ServerCore();

  Endpoint bind(std::string_view url) { return engine.bind(url); }
  // Dials now, and again with backoff whenever the link is lost or the dial fails.
  Endpoint connect(std::string_view url) { return engine.connect(url, false).dial->endpoint; }
  void run();
  Result<void> run_once(std::chrono::milliseconds wait);
  void request_stop() noexcept;
  void shutdown();  // loop thread: grace period, then close everything
  ServerStats stats() const noexcept;

  // From any thread. Errc::cancelled once the server has closed.
  Result<void> post_reply(std::uint64_t peer_id, std::uint64_t connection, std::uint64_t slot,
                          Message&& envelope, Message&& body);

  void on_ready(engine::Peer& peer) override;
  // One loop turn: spinning (never sleeping), or waiting at most `wait` (-1: no limit) with
  // polled rings armed first. True when it did any work.
  bool turn(bool spinning, bool check_epoll,
            std::chrono::milliseconds wait = std::chrono::milliseconds(-1));
  // Hands the request read into `inbox` to the handler.
  void dispatch(engine::Peer& peer);
  void run_handler(Request& request);
  void deliver(std::uint64_t peer_id, std::uint64_t connection, std::uint64_t slot,
               Message&& envelope, Message&& body);
  // Encodes the reply straight from `body`; copies only one that must wait for an earlier.
  void deliver_to(engine::Peer& peer, std::uint64_t slot, const Message& envelope,
                  const Message& body);
  void enqueue(engine::Peer& peer, const Message& envelope, const Message& body);
  void log(const std::string& line) const;

  ServerOptions options;
  engine::Engine engine;
  std::function<void(Request&)> handler;
  std::unique_ptr<pattern::WorkerPool> pool;
  std::thread runner;
  std::atomic<std::thread::id> loop_thread{};
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> closed{false};
  std::atomic<std::int64_t> outstanding{0};  // escaped PendingReply objects alive
  std::uint64_t connections_made = 0;        // loop thread: the last Connection::serial
  // The request being read and handled: links decode straight into its body and its
  // PendingReply's envelope, and a handler that answers inline leaves both here for the next
  // one (no Message or PendingReply moves per request).
  Request inbox{nullptr, Message{}};
  bool armed_outside = false;  // run_once() armed the rings for its caller

  // For counters only the loop thread writes: a plain store, not a locked read-modify-write.
  static void bump(std::atomic<std::uint64_t>& counter) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  struct Counters {
    std::atomic<std::uint64_t> requests{0}, replies{0}, handler_errors{0}, dropped_replies{0};
  } counters;
};

}  // namespace ipcx::detail
