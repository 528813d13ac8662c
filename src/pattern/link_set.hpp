// LinkSet (pattern layer): the links of one socket that binds and connects many endpoints, as
// the one-way patterns do. It accepts on its listeners, dials its connect()ed endpoints again
// after a loss (with backoff), drives handshakes and writes, tracks per-peer high-water marks,
// and sleeps on one epoll fd (arming shm links first). Caller-driven: nothing happens between
// calls. Not thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/fd.hpp"
#include "ipcx/pipeline.hpp"
#include "transport/link.hpp"

namespace ipcx::pattern {

class LinkSet {
 public:
  using Clock = std::chrono::steady_clock;

  struct Member {
    std::unique_ptr<transport::Link> link;
    int dial = -1;          // index into dials_, or -1 for a link a listener accepted
    std::uint64_t key = 0;  // its epoll tag
    std::uint32_t interest = 0;
    // Worth reading: epoll said so, or it is a reader's shm link (its ring is polled, not
    // signalled).
    bool ready = true;
  };

  // `reader`: the owner reads messages from members (a Puller). Otherwise whatever a peer sends
  // is a protocol violation that closes it (a PULL never sends to its PUSH).
  LinkSet(wire::SocketType type, SocketOptions options, bool reader);
  ~LinkSet();

  Endpoint bind(std::string_view url);
  void connect(std::string_view url);
  int fd() const noexcept { return epoll_.get(); }
  const SocketOptions& options() const noexcept { return options_; }
  SocketStats& stats() noexcept { return stats_; }

  // Accepts waiting peers, dials due endpoints, drives handshakes, writes queued output and
  // reaps dead links. Never sleeps.
  void progress();
  // Takes what epoll reports now into the members' ready flags (one syscall, no sleep), when
  // any member is signalled by its fd rather than polled (shm).
  void poll_signals();
  // Sleeps until a link or listener has something, or `deadline`.
  void wait(Clock::time_point deadline);

  std::vector<Member>& members() noexcept { return members_; }
  // Whether the member is ready for a message and holds none unwritten.
  bool idle(const Member& m) const noexcept;
  // Sends a message on a member and writes it out, waiting (while serving the other members)
  // until the member's kernel buffer or ring has taken all of it or the deadline passes; then
  // whatever is left goes out on later calls. Errors: peer_closed when the member died first
  // (the message is lost and counted as dropped); message_too_large.
  Result<void> send_to(std::size_t index, const Message& message, Clock::time_point deadline);
  // The next message from any member, fairly, into `out`; false when none has one now.
  bool next_message(Message& out);
  // Writes what members hold, waiting at most until the deadline; true when all is written.
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
  static constexpr std::size_t kNone = ~std::size_t{0};
  std::size_t find(std::uint64_t key) const noexcept;  // the member's index, or kNone
  void watch(Member& m, std::uint32_t events);
  // Takes what epoll reports (without sleeping when timeout_ms is 0) into the ready flags.
  void look(int timeout_ms);
  // Reads member i to drive its handshake and notice a close; false when it was dropped.
  bool service(std::size_t i);

  wire::SocketType type_;
  SocketOptions options_;
  bool reader_;
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
};

}  // namespace ipcx::pattern
