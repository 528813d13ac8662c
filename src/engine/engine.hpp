// Engine (engine layer): the connection engine under every socket. It binds and listens,
// accepts, dials connect()ed endpoints again after every loss with backoff, enforces handshake
// deadlines and heartbeats, holds each peer's outbound queue and writes it out, reads peers
// fairly, spins before it sleeps, and sleeps on one pollable fd with polled rings armed first.
// Each public socket (Server, Client, Pusher, Puller, Publisher, Subscriber) is a pattern over
// it. Caller-driven: nothing happens between calls, and the caller's thread makes every
// syscall, so no thread hop adds latency. Not thread-safe, except wake() and post().
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/event_set.hpp"
#include "core/spin.hpp"
#include "engine/peer.hpp"
#include "ipcx/options.hpp"
#include "pattern/security.hpp"
#include "pattern/setup.hpp"
#include "transport/socket_scope.hpp"

namespace ipcx::engine {

struct EngineOptions {
  wire::SocketType type = wire::SocketType::dealer;
  pattern::Use::Kind use = pattern::Use::Kind::request_reply;
  bool lossless = false;              // a publisher that waits for its subscribers
  bool announce_request_ids = false;  // an ipcx Server: see LinkOptions
  // The pattern reads its peers itself (next_message); otherwise progress() reads them and
  // hands what arrives to PeerEvents::on_inbound.
  bool reader = true;
  bool cross_thread = false;                 // wake() and post() are used
  std::size_t max_message_size = 64u << 20;  // per link, envelope included
  std::size_t max_queued_bytes = 64u << 20;
  std::size_t hwm = 1000;  // messages offer()ed to one peer and not yet written
  std::size_t batch_bytes = 0;
  std::chrono::microseconds spin{50};
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds heartbeat{0};
  std::chrono::milliseconds reconnect_min{10};
  std::chrono::milliseconds reconnect_max{1000};
  std::size_t max_peers = 1024;  // accepted peers open at once
  std::size_t shm_ring_bytes = 1u << 20;
  std::uint32_t file_mode = 0600;
  std::vector<std::uint32_t> allow_uids;
  std::vector<std::uint32_t> server_uids;  // LinkOptions::server_uids
  Security security;                       // CURVE on the links that carry ZMTP
  LogSink log;
  EventSink on_event;
};

// What the pattern hears of its peers. Called from inside engine calls, on the owner's thread.
class PeerEvents {
 public:
  // The peer's current link completed its handshake.
  virtual void on_ready(Peer& peer) { (void)peer; }
  // The peer's link is gone (closed by the peer, a fault, or close()); a dialled peer lives on.
  virtual void on_lost(Peer& peer) { (void)peer; }
  // A message from a peer of a socket that does not read (reader = false): false closes the
  // peer as faulty (a PULL never sends to its PUSH).
  virtual bool on_inbound(Peer& peer, Message& message) {
    (void)peer;
    (void)message;
    return false;
  }

 protected:
  ~PeerEvents() = default;
};

// Counters; written by the owner's thread, readable from any.
struct EngineCounters {
  std::atomic<std::uint64_t> accepted{0}, rejected{0}, peer_faults{0}, dropped{0}, dropped_input{0};
  std::atomic<std::int64_t> open{0};  // links open now
  template <class T>
  static void bump(std::atomic<T>& c, T by = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
};

class Engine {
 public:
  Engine(EngineOptions options, PeerEvents* events);
  ~Engine();  // writes what the kernel takes at once, then closes everything
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Throws ipcx::Error naming the endpoint.
  Endpoint bind(std::string_view url);
  // A peer for the endpoint, dialled now (or at the first progress() when `lazy`) and again
  // after every loss. Throws ipcx::Error for a malformed URL or a use the mechanism refuses.
  Peer& connect(std::string_view url, bool lazy = false);
  // A peer over a link made elsewhere (a spawned child's pipes): never redialled.
  Peer& adopt(std::unique_ptr<transport::Link> link, Endpoint endpoint);

  int fd() const noexcept { return events_set_.fd(); }
  const EngineOptions& options() const noexcept { return options_; }
  EngineCounters& counters() noexcept { return counters_; }
  const EngineCounters& counters() const noexcept { return counters_; }
  std::vector<std::unique_ptr<Peer>>& peers() noexcept { return peers_; }
  const std::vector<std::unique_ptr<Peer>>& peers() const noexcept { return peers_; }
  Peer* find(std::uint64_t id) noexcept;  // null when gone
  // Closes every listener (and removes what they made on disk); peers stay.
  void stop_listening();
  // For an owner that sleeps on fd() itself between calls: polled rings are asked to ring
  // (and fd() is made readable at once, by wake(), if one already holds something);
  // disarm() ends that at the next call. Needs cross_thread.
  void arm_for_outside_wait();
  void disarm();
  // The same arming without the wake-up: false when a ring holds something already (read it,
  // then arm again). For owners without cross_thread.
  bool arm_polled();
  // For a receive whose deadline has passed, when its caller may wait on fd() next (an event
  // loop of its own): true to report the timeout. Only once it has looked at what epoll holds
  // (`looked`: a sleep or a read ran since the call began), so that receive(0ms) polls; and
  // with the polled rings armed, so that their peers ring fd(): an alarm or readiness left
  // untaken would keep fd() readable. False, disarmed, when a ring holds something already:
  // read it first. The next receive calls end_caller_wait() first.
  bool caller_timed_out(bool looked) {
    if (!looked) return false;
    caller_armed_ = arm_polled();
    if (!caller_armed_) disarm();
    return caller_armed_;
  }
  void end_caller_wait() {
    if (caller_armed_) disarm();
    caller_armed_ = false;
  }
  std::size_t open_peers() const noexcept { return peers_.size() - graveyard_.size(); }

  // ---- driving (engine_io.cpp, engine_wait.cpp)
  // Accepts waiting peers, redials due endpoints, runs due ticks, drives handshakes and writes
  // what is due; a non-reading socket also reads its peers here. Never sleeps. Looks at epoll
  // first when a handshake is under way with messages waiting for it, or when it has not for
  // a millisecond (reading the clock), so a peer's handshake progresses whatever else the
  // caller does.
  void progress() {
    // The usual call finds nothing to do: decided here, inline, without a call.
    bool fresh = (++calls_ & 63) == 0;
    if (fresh || handshakes_waited_on_ > 0 || listeners_ready_ || unlinked_ > 0 ||
        !timed_.empty() || paused_listeners_ > 0 || (!options_.reader && !ready_.empty()) ||
        !dirty_.empty()) {
      progress_due(fresh);
    }
  }
  // progress(), looking at epoll first if it has not for a millisecond (a clock read): for
  // callers that may call seldom (a publisher), so a subscription waits at most that long.
  void progress_fresh();
  // Takes what epoll reports now into the peers' flags (one syscall, no sleep).
  // Returns how many events it took.
  int look();
  // Marks polled peers whose rings hold something (a check of memory each, no syscall).
  void poll_rings() {
    if (!polled_.empty()) poll_each_ring();
  }
  // The next message from any peer, fairly (one at a time, round robin), into `out`: the peer
  // it came from, or null when none has one now. Peers found dead are closed on the way. With
  // `frames`, a peer whose link can lend its next message in place (ZeroCopy) puts views of
  // its frames there instead and sets *viewed; the pattern ends the view with the link's
  // release_view() and end_lending().
  using Frames = std::vector<std::span<const std::byte>>;
  Peer* next_message(Message& out, Frames* frames = nullptr, bool* viewed = nullptr) {
    return next_message(out, nullptr, frames, viewed);
  }
  // The same, with the message's envelope in `envelope` and its body in `out` (recv_split).
  Peer* next_message(Message& out, Message* envelope, Frames* frames = nullptr,
                     bool* viewed = nullptr) {
    return ready_.empty() ? nullptr : next_ready_message(out, envelope, frames, viewed);
  }
  // next_message()'s usual case for a socket with this one peer, without the ready queue: the
  // peer is ready and its link read a whole message straight out of its medium (WholeRead).
  // False, with nothing read, otherwise: next_message() then reads it or reports.
  bool receive_whole(Peer& peer, Message& out, Message* envelope = nullptr) noexcept {
    transport::WholeRead* r = peer.link ? peer.link->extensions().whole_read : nullptr;
    return r != nullptr && peer.announced && !peer.closed && !peer.paused &&
           r->read_whole(out, envelope);
  }
  // The same for a zero-copy read (ZeroCopy::view): the frames lent in place, counted as a
  // loan on the peer (end it with the link's release_view() and end_lending()).
  bool view_whole(Peer& peer, Frames& frames) noexcept {
    transport::ZeroCopy* zc = peer.link ? peer.link->extensions().zero_copy : nullptr;
    if (zc == nullptr || !peer.announced || peer.closed || peer.paused ||
        zc->view(frames) != transport::ZeroCopy::View::lent) {
      return false;
    }
    ++peer.lent;
    return true;
  }
  // Polls `found` for the spin budget, bounded by `deadline`: true as soon as it returns true.
  // With `flags`, `found` reads what the flags say is readable, so polled rings are checked
  // every poll and epoll (when some peer is signalled by its fd) every poll, or every 4th
  // when rings are polled too; without, `found` reads its links itself.
  template <class Found>
  bool spin(Clock::time_point deadline, bool flags, Found&& found);
  // Sleeps until something happens or `deadline` (or the next timed duty), with polled rings
  // armed; then marks what is ready. Runs posted tasks.
  int sleep(Clock::time_point deadline);
  // Whether nothing but a peer's input can need this engine: no timers, redials, listeners,
  // writes due or cross-thread wake-ups, and at most one peer. A caller waiting for that peer
  // may then sleep in its link's own wait (DirectWait) instead of on the engine; a polled link
  // arms its own doorbell there, and a link with heartbeats returns by the time a PING is due.
  bool waits_only_for_io() const noexcept {
    return peers_.size() == 1 && timed_.empty() && unlinked_ == 0 && bound_.empty() &&
           dirty_.empty() && handshakes_waited_on_ == 0 && !options_.cross_thread;
  }
  // Whether any peer's link is polled memory (the spin loop then pauses rather than yields).
  bool any_polled() const noexcept { return !polled_.empty(); }
  // Whether any peer's input is signalled by its fd alone (a socket, or a parked ring that
  // rings its doorbell): a spin loop then looks at epoll as often as it yields.
  bool any_signalled() const noexcept { return peers_.size() > polled_.size(); }
  // For a pattern that reads a peer's link itself (the Client): after each read, so that a
  // completed handshake is noticed (on_ready, the backlog handed to the link).
  void note_ready(Peer& peer) {
    if (!peer.announced) announce(peer);
  }

  // ---- sending (engine_send.cpp)
  // Hands a message to the peer's link, or to its backlog while it has none or is still in
  // its handshake (bounded by hwm and max_queued_bytes: then would_block). ok, would_block,
  // or error (message_too_large; peer_closed when its link failed, which is then closed).
  // Writes at once unless batching holds it (`defer`: the caller flushes, mark_dirty style).
  transport::IoResult send(Peer& peer, const Message& head, const Message& tail,
                           bool defer = false);
  transport::IoResult send(Peer& peer, const Message& message, bool defer = false) {
    static const Message kNone;
    return send(peer, message, kNone, defer);
  }
  // send()'s usual case without its bookkeeping: a ready peer with nothing waiting before the
  // message and no batching, over a link that writes whole messages (WholeWrite). True when
  // the link took it (what a byte stream could not write at once is then written as send()
  // would); false, with nothing sent, otherwise: send() then takes it.
  bool send_whole(Peer& peer, const Message& head, const Message& tail) noexcept {
    transport::WholeWrite* w = peer.link ? peer.link->extensions().whole_write : nullptr;
    if (w == nullptr || !peer.announced || peer.closed || !peer.backlog.empty() ||
        batch_of(peer) != 0) {
      return false;
    }
    auto outcome = w->write_whole(head, tail);
    if (outcome == transport::WholeWrite::Outcome::queued) hold_rest(peer);
    return outcome != transport::WholeWrite::Outcome::declined;
  }
  bool send_whole(Peer& peer, const Message& message) noexcept {
    static const Message kNone;
    return send_whole(peer, message, kNone);
  }
  // As send(), unless the peer already holds hwm messages (or max_queued_bytes): then false
  // and the message is not sent to it. For publishers.
  bool offer(Peer& peer, const Message& message);
  // Whether the peer can take one more message now without waiting (below its marks).
  bool has_room(const Peer& peer) const noexcept;
  // Whether the peer is established and holds nothing unwritten (with batch_bytes: less than
  // a batch).
  bool idle(const Peer& peer) const noexcept;
  // Writes what the peer's link holds; false when the link died (it is closed then).
  bool write(Peer& peer);
  // Whether what the peer's link holds should be written now (batching may hold it).
  bool due(const Peer& peer) const noexcept {
    return peer.link && peer.link->wants_write() && due_held(peer);
  }
  // due(), for a peer whose link is known to hold something.
  bool due_held(const Peer& peer) const noexcept {
    std::size_t batch = batch_of(peer);
    return batch == 0 || flushing_all_ || !peer.announced || peer.link->queued_bytes() >= batch;
  }
  // Lists the peer for flush_dirty(): replies of one turn leave in one write.
  void mark_dirty(Peer& peer) noexcept {
    if (peer.dirty || peer.closed) return;
    peer.dirty = true;
    dirty_.push_back(&peer);
  }
  void flush_dirty() {
    if (!dirty_.empty()) write_dirty();
  }
  // Writes everything every peer holds, batches and backlogs of ready peers included, waiting
  // at most until `deadline`; true when nothing is left.
  bool flush(Clock::time_point deadline);
  // Coalescing for a caller sending back to back (without batch_bytes): up to `bytes` stay in a
  // peer's link between sends and go out in one write; 0 writes each message at once again.
  // Only links that gather writes hold: others write a message per syscall (or none) anyway.
  void hold_up_to(std::size_t bytes) noexcept { hold_bytes_ = bytes; }
  bool holding() const noexcept { return hold_bytes_ > 0; }
  // Whether any peer's link gathers writes (holding could help): others need no clock read.
  bool any_gathering() const noexcept { return gathering_ > 0; }
  // Writes what ready peers hold, without waiting; true when none holds anything any more.
  bool write_held();

  // ---- peers (engine.cpp)
  // Ends the peer's link (counted as a fault, and logged, when `fault`); a dialled peer redials
  // (`reason` is its last failure when the link never completed its handshake), an accepted one
  // is gone after this turn (reap()).
  // `silent`: the link's tick found the peer silent past its heartbeat.
  void close(Peer& peer, bool fault, std::string_view why, Errc reason = Errc::refused,
             bool silent = false);
  // For a pattern that writes a peer's link itself: whether to wake for writable.
  void want_write(Peer& peer, bool want) noexcept {
    if (want || (peer.interest & EPOLLOUT) != 0) watch(peer, want);
  }
  // Stops reading the peer (backpressure) until write() has taken what it holds below half of
  // max_queued_bytes. A hang-up still ends it.
  void pause(Peer& peer, bool paused);
  // Frees the peers closed since the last call. Call between turns, holding no Peer pointer.
  void reap() {
    if (!graveyard_.empty()) free_closed();
  }
  // A loan or view on a peer's link begins (Peer::lent counts them) and ends: a link closed
  // meanwhile stays mapped until the last of them ends.
  void begin_lending(Peer& peer) noexcept { ++peer.lent; }
  void end_lending(transport::Link* link) noexcept;

  // ---- other threads (a Server's Responders)
  void wake() noexcept { events_set_.wake(); }
  void post(EventSet::Task task) { events_set_.post(std::move(task)); }

 private:
  struct Bound {
    std::unique_ptr<transport::Listener> listener;
    bool ready = false;
    Clock::time_point paused_until{};  // out of the event set after EMFILE until then
  };

  // A listener's tag in the event set: its Bound record's address with the low bit set (both
  // it and a Peer are aligned, so a peer's tag never has it).
  static void* listener_tag(Bound* b) noexcept {
    return reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(b) | 1);
  }
  static Bound* listener_of(void* tag) noexcept {
    auto bits = reinterpret_cast<std::uintptr_t>(tag);
    return (bits & 1) != 0 ? reinterpret_cast<Bound*>(bits & ~std::uintptr_t{1}) : nullptr;
  }
  void progress_due(bool fresh);
  Peer* next_ready_message(Message& out, Message* envelope, Frames* frames, bool* viewed);
  // write() for a peer whose link is known to hold something (wants_write() true).
  bool write_held_bytes(Peer& peer);
  // After send_whole() left part of a message queued: counted against the high-water mark,
  // and written on as send() would.
  void hold_rest(Peer& peer);
  void free_closed();
  void write_dirty();
  void poll_each_ring();
  // At each full tick and every kSleepsPerParking sleeps: polled links with nothing moving
  // leave the polled list, armed (park()).
  void park_still_rings();
  // A parked link's fd() reported: it is polled again.
  void unpark(Peer& peer);
  // EPOLLIN plus what the link's kind of fd asks for (edge-triggered doorbells).
  static std::uint32_t read_events(const transport::Link& link) noexcept {
    return EPOLLIN | (link.extensions().doorbell_edges ? EPOLLET | EPOLLRDHUP : 0u);
  }
  // For links to or from `ep`: the automatic heartbeat resolved for its mechanism.
  transport::LinkOptions link_options(const Endpoint& ep) const;
  pattern::Use use(bool dial) const;
  Peer& add_peer(std::unique_ptr<transport::Link> link, std::unique_ptr<Dial> dial);
  bool attach(Peer& peer, std::unique_ptr<transport::Link> link);
  void accept_all(Bound& bound);
  void dial_due(Clock::time_point now);
  void redial(Peer& peer, Clock::time_point now);
  void resume_listeners(Clock::time_point now);
  void tick(Clock::time_point now);
  void drain_backlog(Peer& peer);
  void enqueue(Peer& peer) {
    if (peer.queued || peer.paused || !peer.link) return;
    peer.queued = true;
    ready_.push_back(&peer);
  }
  int take(std::span<const epoll_event> ready);
  bool service(Peer& peer);  // a non-reading socket's read of one peer
  void watch(Peer& peer, bool want_write) noexcept;
  void take_dropped(Peer& peer) noexcept {
    if (peer.link && peer.link->extensions().datagrams != nullptr) count_dropped(peer);
  }
  void count_dropped(Peer& peer) noexcept;
  void announce(Peer& peer);
  Clock::time_point next_duty() const noexcept;
  void trim(Peer& peer) noexcept;
  std::size_t batch_of(const Peer& peer) const noexcept {
    if (options_.batch_bytes > 0) return options_.batch_bytes;
    if (hold_bytes_ == 0) return 0;  // the common case, and every pusher over rings
    return peer.link && peer.link->extensions().gathers_writes ? hold_bytes_ : 0;
  }
  void log(const std::string& line) const;
  // A connection event for options_.on_event, when one is set.
  void emit(EventKind kind, const Peer& peer, std::string_view reason = {},
            Errc error = Errc::ok) const;
  void emit_refused(const Bound& bound, std::string_view reason, Errc error) const;

  // Refuses CURVE on a mechanism that cannot carry it, or with keys that do not decode.
  void check_security(const Endpoint& ep, const transport::Mechanism& mechanism) const;

  EngineOptions options_;
  PeerEvents* events_;
  pattern::CurveSetup curve_;  // from options_.security, decoded once
  EventSet events_set_;
  transport::SocketScope scope_;
  std::vector<std::unique_ptr<Bound>> bound_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::unordered_map<std::uint64_t, Peer*> by_id_;
  std::vector<Peer*> dialled_;  // peers with a Dial
  std::size_t unlinked_ = 0;    // dialled peers without a link: progress() redials only then
  std::vector<Peer*> polled_;   // peers whose link is polled memory, less those parked
  static constexpr unsigned kSleepsPerParking = 32;
  unsigned sleeps_ = 0;
  std::vector<Peer*> timed_;  // peers whose link has timed work of its own
  std::deque<Peer*> ready_;   // readable peers, in turn
  std::vector<Peer*> dirty_;
  std::vector<Peer*> flushing_;
  std::vector<Peer*> graveyard_;
  // Links closed while loans or views pointed into them, with how many still do.
  std::vector<std::pair<std::unique_ptr<transport::Link>, int>> held_;
  std::size_t handshakes_waited_on_ = 0;  // peers in a handshake with a backlog waiting
  std::size_t paused_listeners_ = 0;      // taken out of the event set for a while
  std::uint64_t next_id_ = 1;
  bool listeners_ready_ = false;
  bool flushing_all_ = false;
  bool caller_armed_ = false;  // caller_timed_out() left the rings armed
  std::size_t hold_bytes_ = 0;
  std::size_t gathering_ = 0;  // links open whose extensions say gathers_writes
  unsigned calls_ = 0;
  Clock::time_point last_look_{};
  Clock::time_point next_tick_{};
  std::chrono::milliseconds tick_period_;
  EngineCounters counters_;

  friend class EngineTest;
};

template <class Found>
bool Engine::spin(Clock::time_point deadline, bool flags, Found&& found) {
  if (options_.spin.count() <= 0) return false;
  auto until = std::min(deadline, Clock::now() + options_.spin);
  bool memory = any_polled();
  bool rings = flags && memory;
  bool signalled = flags && (any_signalled() || !bound_.empty());
  // Rings are cheap to poll: pause between polls and yield now and then; sockets are a
  // syscall a poll anyway: yield every time, so a peer on our CPU runs.
  SpinPause pause(memory ? kShmYieldEvery : 1);
  // The clock is read every 16th poll: on shm a poll costs less.
  for (unsigned polls = 1; (polls & 15) != 0 || Clock::now() < until; ++polls) {
    if (found()) return true;
    pause();
    if (rings) poll_rings();
    // Without rings a poll is a syscall anyway: look every time, so that a peer sharing our
    // CPU, which ran during our yield, is found at once rather than after three more yields.
    if (signalled && (!memory || (polls & 3) == 0)) {
      look();
      // A peer waiting to be accepted, or due a redial, is not to wait for the spin to end.
      if (listeners_ready_ || unlinked_ > 0) progress();
    }
  }
  return false;
}

}  // namespace ipcx::engine
