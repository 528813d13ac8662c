// ServerCore (pattern layer): the state behind ipcx::Server. It owns the reactor, the listeners
// and one Connection per accepted link; it reads requests, hands them to the handler, keeps reply
// order for requests without an id, and coalesces each turn's replies into one write per link.
// Everything but post_reply() and request_stop() runs on the loop thread.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/reactor.hpp"
#include "ipcx/server.hpp"
#include "pattern/worker_pool.hpp"
#include "transport/link.hpp"

namespace ipcx::detail {

// One accepted link and its reply ordering.
struct Connection {
  std::unique_ptr<transport::Link> link;
  std::shared_ptr<const PeerInfo> peer;
  std::uint64_t next_slot = 1;     // slot for the next request without an id
  std::uint64_t next_to_send = 1;  // replies leave in slot order
  std::map<std::uint64_t, std::pair<Message, Message>> parked;  // slot -> envelope, body
  bool reading = true;
  bool writing = false;
  std::uint32_t interest = EPOLLIN;  // what the reactor watches for this link now
  bool dirty = false;                // listed in `dirty`
  bool closed = false;               // link closed; erased by reap() after this loop turn
};

// One reply a handler owes. Owned by a Request, then maybe by a Responder. If it dies
// unanswered it sends "ERR no reply", so no client waits forever. A request answered inline by
// the handler on the loop thread never escapes: it pays no atomic reference count and its
// PendingReply is recycled for the next request.
struct PendingReply {
  ServerCore* core = nullptr;  // null once answered
  // Set once the reply may outlive this loop turn (a Responder, or a pool worker): keeps the
  // core alive and counted in `outstanding`, which shutdown() waits on.
  std::shared_ptr<ServerCore> keep;
  std::uint64_t conn_id = 0;
  Connection* conn = nullptr;  // for a reply that never escapes the handler
  std::uint64_t slot = 0;      // 0: the request had an id and its reply may overtake others
  Message envelope;
  const PeerInfo* peer = nullptr;             // valid while the handler runs
  std::shared_ptr<const PeerInfo> peer_keep;  // pool workers only
  bool answered = false;

  ~PendingReply();
  void escape();
  Result<void> answer(Message&& body);
};

struct ServerCore : std::enable_shared_from_this<ServerCore> {
  explicit ServerCore(ServerOptions options);
  ~ServerCore();

  Endpoint bind(std::string_view url);
  void run();
  Result<void> run_once(std::chrono::milliseconds wait);
  void request_stop() noexcept;
  void shutdown();  // loop thread: grace period, then close everything
  ServerStats stats() const noexcept;

  // From any thread. Errc::cancelled once the server has closed.
  Result<void> post_reply(std::uint64_t conn_id, std::uint64_t slot, Message&& envelope,
                          Message&& body);

  using Connection = detail::Connection;

  void on_listener(transport::Listener& listener);
  void serve(std::uint64_t id, Connection& conn, std::uint32_t events);
  void dispatch(std::uint64_t id, Connection& conn, Message&& request);
  void run_handler(Request& request);
  void deliver(std::uint64_t conn_id, std::uint64_t slot, Message&& envelope, Message&& body);
  void deliver_to(std::uint64_t conn_id, Connection& conn, std::uint64_t slot, Message&& envelope,
                  Message&& body);
  void enqueue(std::uint64_t conn_id, Connection& conn, const Message& envelope,
               const Message& body);
  void flush_dirty();
  void mark_dirty(std::uint64_t id, Connection& conn);
  void reap();  // erases the connections closed during this loop turn
  // Around a sleep in epoll_wait: links that need their peer told (shm) are armed first;
  // false means one had data already, so do not sleep.
  bool prepare_sleep();
  void end_sleep();
  // One loop turn: spinning (never sleeping), or waiting at most `wait` (-1: no limit) with
  // every shm link armed first. True when it did any work.
  bool turn(bool spinning, bool check_epoll,
            std::chrono::milliseconds wait = std::chrono::milliseconds(-1));
  // Serves every link with sleep hooks as if it were ready: their rings are polled directly.
  void poll_hooked();
  void update_interest(Connection& conn);
  void close_connection(std::uint64_t id, bool fault, std::string_view why);
  void schedule_tick();
  void tick();
  void log(const std::string& line) const;

  ServerOptions options;
  Reactor reactor;
  std::function<void(Request&)> handler;
  std::vector<std::unique_ptr<transport::Listener>> listeners;
  std::unordered_map<std::uint64_t, Connection> connections;
  // Connections with output to flush at the end of this loop turn (each listed once).
  std::vector<std::pair<std::uint64_t, Connection*>> dirty;
  std::vector<std::pair<std::uint64_t, Connection*>> flushing;
  std::vector<std::uint64_t> graveyard;
  std::uint64_t next_connection = 1;
  // Open links with prepare_sleep/end_sleep hooks (shm), polled directly while spinning.
  // Connection nodes stay put until reap(), and close_connection() takes them off this list.
  std::vector<std::pair<std::uint64_t, Connection*>> hooked;
  std::unique_ptr<pattern::WorkerPool> pool;
  std::thread runner;
  std::atomic<std::thread::id> loop_thread{};
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> closed{false};
  std::atomic<std::int64_t> outstanding{0};     // escaped PendingReply objects alive
  std::unique_ptr<PendingReply> spare_pending;  // recycled by inline requests
  bool started = false;
  bool tick_scheduled = false;

  // For counters only the loop thread writes: a plain store, not a locked read-modify-write.
  static void bump(std::atomic<std::uint64_t>& counter) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  struct Counters {
    std::atomic<std::uint64_t> accepted{0}, rejected{0}, requests{0}, replies{0}, handler_errors{0},
        peer_faults{0}, dropped_replies{0}, dropped_input{0}, open{0};
  } counters;
};

}  // namespace ipcx::detail
