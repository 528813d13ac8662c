// LinkSet (pattern layer): the links of one socket that binds and connects many endpoints, as
// the one-way patterns do. It accepts on its listeners, dials its connect()ed endpoints again
// after a loss (with backoff), drives handshakes and writes, tracks per-peer high-water marks,
// and sleeps on one epoll fd (arming shm links first). Caller-driven: nothing happens between
// calls. Not thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/fd.hpp"
#include "ipcx/message_view.hpp"
#include "ipcx/pipeline.hpp"
#include "transport/mechanism.hpp"

namespace ipcx::pattern {

// now + timeout, saturating: kForever (milliseconds::max) never expires.
inline std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  auto now = Clock::now();
  auto room = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now);
  return timeout >= room ? Clock::time_point::max() : now + timeout;
}

// What a pattern keeps per peer (a publisher, its subscriptions).
struct PeerState {
  virtual ~PeerState() = default;
};

class LinkSet final : public detail::ViewLender {
 public:
  using Frames = std::vector<std::span<const std::byte>>;
  using Clock = std::chrono::steady_clock;

  struct Member {
    std::unique_ptr<transport::Link> link;
    int dial = -1;          // index into dials_, or -1 for a link a listener accepted
    std::uint64_t key = 0;  // its epoll tag
    std::uint32_t interest = 0;
    // Worth reading: epoll said so, or it is a reader's shm link (its ring is polled, not
    // signalled).
    bool ready = true;
    // Its last read brought a message: read it again without asking quiet() first, which
    // only pays on an idle link.
    bool flowing = false;
    std::unique_ptr<PeerState> state;
    // Encoded sizes of the messages offer()ed and not yet written, oldest first.
    std::deque<std::size_t> queued;
    std::size_t queued_sum = 0;
  };

  // `reader`: the owner reads messages from members (a Puller, a Subscriber). Otherwise what a
  // peer sends goes to `inbound` (a Publisher's subscriptions), and without one it is a
  // protocol violation that closes the peer (a PULL never sends to its PUSH).
  using Inbound = std::function<bool(Member& from, Message& message)>;  // false: a violation
  LinkSet(wire::SocketType type, SocketOptions options, bool reader, Inbound inbound = {});
  ~LinkSet();

  Endpoint bind(std::string_view url);
  void connect(std::string_view url);
  int fd() const noexcept { return epoll_.get(); }
  // A publisher's broadcast ring, handed to every shm link made from now on.
  void set_broadcast(std::shared_ptr<transport::BroadcastSource> source) {
    broadcast_ = std::move(source);
  }
  const SocketOptions& options() const noexcept { return options_; }
  SocketStats& stats() noexcept { return stats_; }
  const SocketStats& stats() const noexcept { return stats_; }
  // The counters, with `ready` counted now.
  SocketStats snapshot() const noexcept {
    SocketStats s = stats_;
    s.ready = 0;
    for (const auto& m : members_) s.ready += m.link->established() ? 1 : 0;
    return s;
  }

  // Accepts waiting peers, dials due endpoints, drives handshakes, writes queued output and
  // reaps dead links. Never sleeps.
  void progress();
  // Takes what epoll reports now into the members' ready flags (one syscall, no sleep), when
  // any member is signalled by its fd rather than polled (shm).
  void poll_signals();
  // Looks at epoll now (no sleep), then progress().
  void refresh();
  // progress(), looking at epoll first if it has not for a millisecond: for callers that may
  // call seldom (a publisher), so a subscription waits at most that long. Reads the clock.
  void progress_fresh();
  // Polls for a message for the spin budget (bounded by `deadline`); true with it in `out`.
  bool spin_for(Clock::time_point deadline, Message& out, Frames* frames = nullptr,
                bool* viewed = nullptr);
  // Calls fn(link) for every established member that has its pattern state (a subscriber's
  // links that have had the subscriptions), then writes what they queued.
  template <class Fn>
  void for_each_announced(Fn&& fn) {
    for (auto& m : members_) {
      if (m.state && m.link->established()) fn(*m.link);
    }
    progress();
  }
  // Sleeps until a link or listener has something, or `deadline`.
  void wait(Clock::time_point deadline);

  std::vector<Member>& members() noexcept { return members_; }
  static constexpr std::size_t kNone = ~std::size_t{0};
  std::size_t find(std::uint64_t key) const noexcept;  // the member's index, or kNone
  const std::vector<Member>& members() const noexcept { return members_; }
  // Whether the member is ready for a message and holds none unwritten (with batch_bytes: less
  // than a batch).
  bool idle(const Member& m) const noexcept;
  // Whether what the member holds should be written now: always, unless batching holds it
  // (a writer's established link with less than batch_bytes queued).
  bool due(const Member& m) const noexcept {
    if (!m.link->wants_write()) return false;
    return reader_ || options_.batch_bytes == 0 || flushing_ || !m.link->established() ||
           m.link->queued_bytes() >= options_.batch_bytes;
  }
  // Sends a message on a member and writes it out, waiting (while serving the other members)
  // until the member's kernel buffer or ring has taken all of it or the deadline passes; then
  // whatever is left goes out on later calls. Errors: peer_closed when the member died first
  // (the message is lost and counted as dropped); message_too_large.
  // The deadline is `timeout` from the first moment it has to wait (the clock is not read
  // when the message goes straight out).
  Result<void> send_to(std::size_t index, const Message& message,
                       std::chrono::milliseconds timeout);
  // The next message from any member, fairly, into `out`; false when none has one now.
  // With `frames`, a member that can lend its next message in place (shm) puts views of its
  // frames there instead and sets *viewed (one view at a time; end_view() ends it).
  bool next_message(Message& out, Frames* frames = nullptr, bool* viewed = nullptr);
  bool viewing() const noexcept { return viewing_ != nullptr; }
  Frames& view_frames() noexcept { return view_frames_; }
  void end_view(Frames& frames) noexcept override;
  // Records its member lost just before the last message next_message() returned.
  std::uint64_t last_gap() const noexcept { return last_gap_; }
  // Queues a message on a member without waiting, unless the member already holds its
  // high-water mark (SocketOptions::hwm messages, or max_queued_bytes): then false, and the
  // message is not sent to it. Writes what the kernel takes now; the rest goes out on later
  // calls. A member that died is dropped (indices shift) and false returned.
  bool offer(std::size_t index, const Message& message);
  // Writes what members hold, batches included, waiting at most until the deadline; true when
  // all is written.
  bool flush(Clock::time_point deadline);

 private:
  struct Dial {
    Endpoint endpoint;
    const transport::Mechanism* mechanism = nullptr;
    bool linked = false;
    Clock::time_point next_attempt{};
    std::chrono::milliseconds backoff{0};
  };
  struct Bound {
    std::unique_ptr<transport::Listener> listener;
  };

  transport::LinkOptions link_options() const;
  void accept_all(transport::Listener& listener);
  void add_member(std::unique_ptr<transport::Link> link, int dial);
  void dial_due(Clock::time_point now);
  // Closes member i and removes it (the last member takes its place).
  void drop(std::size_t i, bool fault, std::string_view why);
  // Writes member i's queue; false when it died (and was dropped).
  bool write(std::size_t i);
  void watch(Member& m, std::uint32_t events);
  // Takes what epoll reports (without sleeping when timeout_ms is 0) into the ready flags.
  void look(int timeout_ms);
  // At most every 100 ms: handshake deadlines and heartbeats; drops what expired.
  void tick(Clock::time_point now);
  // Reads member i to drive its handshake and notice a close; false when it was dropped.
  bool service(std::size_t i);

  void trim(Member& m) noexcept;

  wire::SocketType type_;
  SocketOptions options_;
  bool reader_;
  bool subscriber_ = type_ == wire::SocketType::sub || type_ == wire::SocketType::xsub;
  Inbound inbound_;
  Fd epoll_;
  std::vector<Bound> bound_;
  std::vector<Dial> dials_;
  std::size_t unlinked_ = 0;  // dials without a member: progress() redials only then
  std::vector<Member> members_;
  std::size_t next_read_ = 0;
  std::uint64_t next_key_ = 1;
  unsigned calls_ = 0;
  Clock::time_point last_look_{};  // last epoll_wait (progress() looks at least every ms)
  Clock::time_point last_tick_{};
  std::vector<bool> listener_ready_;
  SocketStats stats_;
  std::uint64_t last_gap_ = 0;
  transport::Link* viewing_ = nullptr;  // the link a zero-copy MessageView is out on
  // Its member dropped while the view pointed into it: kept mapped until the view ends.
  std::unique_ptr<transport::Link> held_view_link_;
  Frames view_frames_;     // lent to each view and handed back, for its capacity
  bool flushing_ = false;  // flush() runs: batches are due too
  std::shared_ptr<transport::BroadcastSource> broadcast_;
};

}  // namespace ipcx::pattern
