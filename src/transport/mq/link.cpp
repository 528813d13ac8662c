// mq:// link (transport layer): a pair of private queues, one message a fragment, and the
// peer's pidfd, watched because queues have no hang-up: readable when the peer exits, checked
// whenever our queue runs dry, so nothing sent before a death is lost. A link that closes says
// so with a last one-byte message (a fragment is never that short), so that a peer in a
// process that goes on (threads of one process, a server that stops) hears of it too.
#include <mqueue.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "core/errno_map.hpp"
#include "transport/faults.hpp"
#include "transport/message_link.hpp"
#include "transport/mq/mq.hpp"
#include "wire/socket_type.hpp"

namespace ipcx::transport::mq {
namespace {

constexpr std::byte kGoodbye{0};  // a one-byte message: the sender closed its link

bool exited(int pidfd) noexcept {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

// A queue's message size as a buffer size: 0 when unknown or beyond what we accept.
std::size_t buffer_bytes_of(int queue) noexcept {
  long bytes = message_bytes_of(queue);
  return bytes > 0 && bytes <= kMaxAcceptedMessageBytes ? static_cast<std::size_t>(bytes) : 0;
}

}  // namespace

class QueueLink final : public MessageLink<QueueLink> {
 public:
  QueueLink(Fd in, Fd out, PollSet poller, PeerInfo peer, const LinkOptions& options, Fd peer_pidfd,
            std::vector<std::string> names)
      : MessageLink(options.max_message_size),
        in_(std::move(in)),
        out_(std::move(out)),
        poller_(std::move(poller)),
        peer_(std::move(peer)),
        options_(options),
        peer_pidfd_(std::move(peer_pidfd)),
        names_(std::move(names)),
        opened_(Clock::now()),
        in_bytes_(buffer_bytes_of(in_.get())),
        out_bytes_(buffer_bytes_of(out_.get())),
        buffer_(in_bytes_),
        fragment_(out_bytes_) {}
  ~QueueLink() override { close(); }

  int fd() const noexcept override { return poller_.fd(); }
  bool established() const noexcept override { return peer_pidfd_.valid(); }

  IoResult send(const Message& head, const Message& tail) noexcept override {
    if (!out_ || failed_) return {Io::error, 0, Errc::peer_closed};
    return send_fragments(head, tail, options_.max_message_size, options_.max_queued_bytes);
  }

  IoResult flush() noexcept override {
    if (!out_ || failed_) return {Io::closed, 0, Errc::peer_closed};
    auto r = flush_fragments();
    if (r.status == Io::ok) poller_.watch_writable(false);
    return r;
  }

  IoResult recv(Message& out) noexcept override {
    if (skip_read_) {
      // A message was just returned: rather than a receive that finds the queue dry, let the
      // owner's poll say whether more waits (the queue's readiness is level-triggered).
      skip_read_ = false;
      return {Io::would_block};
    }
    for (;;) {
      if (!in_) return {Io::closed, 0, Errc::peer_closed};
      ssize_t n = sys::mq_receive(in_.get(), buffer_.data(), buffer_.size());
      if (n < 0) {
        if (errno != EAGAIN) {
          fault_ = describe_errno("mq_receive", errno);
          return {Io::error, 0, errc_from_errno(errno)};
        }
        // Dry: only now does a peer that exited count, after all it sent was read.
        if (peer_pidfd_ && exited(peer_pidfd_.get())) {
          fault_ = "the peer process exited";
          return {Io::closed, 0, Errc::peer_closed};
        }
        return {Io::would_block};
      }
      std::span<const std::byte> got{buffer_.data(), static_cast<std::size_t>(n)};
      if (got.size() == 1 && got[0] == kGoodbye) {
        fault_ = "the peer closed the connection";
        return {Io::closed, 0, Errc::peer_closed};
      }
      if (!established()) {
        if (auto r = welcome(got); r.status != Io::ok) return r;
        continue;
      }
      try {
        auto e = assembler_.feed(got, out);
        if (e == wire::CompactAssembler::Event::message) {
          skip_read_ = true;
          return {Io::ok, out.bytes()};
        }
        if (e == wire::CompactAssembler::Event::error) {
          fault_ = assembler_.error_detail();
          return {Io::error, 0, assembler_.error()};
        }
      } catch (const std::bad_alloc&) {
        fault_ = "out of memory while reading";
        return {Io::error, 0, Errc::resource_exhausted};
      }
    }
  }

  IoResult tick(Clock::time_point now) noexcept override {
    if (!established() && now - opened_ > options_.handshake_timeout) {
      fault_ = "no answer from the server within the handshake deadline";
      return {Io::error, 0, Errc::timeout};
    }
    return {Io::ok};
  }

  void close() noexcept override {
    if (out_) (void)sys::mq_send(out_.get(), &kGoodbye, 1);  // skipped when the queue is full
    in_.reset();
    out_.reset();
    poller_.close();
    unlink_names();
  }
  const PeerInfo& peer() const noexcept override { return peer_; }
  std::string_view fault() const noexcept override { return fault_; }

  // The server's side: say who we are, so the client can watch us.
  bool send_welcome(const wire::Rendezvous& r) noexcept {
    std::byte record[wire::kRendezvousSize];
    wire::write_rendezvous(record, {static_cast<std::uint32_t>(::getpid()), r.serial,
                                    static_cast<std::uint8_t>(options_.socket_type)});
    return sys::mq_send(out_.get(), record, sizeof record) == 0;
  }

  bool usable() const noexcept {
    return in_bytes_ > wire::kCompactHeaderSize && out_bytes_ > wire::kCompactHeaderSize;
  }

  // The medium of MessageLink: one queue message a fragment.
  std::size_t max_fragment() const noexcept { return out_bytes_; }
  std::byte* reserve_fragment(std::size_t) noexcept { return fragment_.data(); }
  bool commit_fragment(std::size_t bytes) noexcept {
    if (sys::mq_send(out_.get(), fragment_.data(), bytes) == 0) return true;
    bool full = errno == EAGAIN;
    poller_.watch_writable(full);
    if (!full) {
      fault_ = describe_errno("mq_send", errno);
      failed_ = true;
    }
    return false;
  }
  bool failed() const noexcept { return failed_; }

 private:
  IoResult welcome(std::span<const std::byte> got) noexcept {
    auto r = wire::read_rendezvous(got);
    if (!r || got.size() != wire::kRendezvousSize) {
      fault_ = "the server's first message is not a rendezvous record";
      return {Io::error, 0, Errc::protocol_violation};
    }
    if (!wire::compatible(options_.socket_type, static_cast<wire::SocketType>(r->socket_type))) {
      fault_ = "the server's socket type cannot talk to ours";
      return {Io::error, 0, Errc::protocol_violation};
    }
    Fd pidfd(sys::pidfd_open(static_cast<pid_t>(r->pid)));
    if (!pidfd || !poller_.add_readable(pidfd.get())) {
      fault_ = "the server exited during the handshake";
      return {Io::closed, 0, Errc::peer_closed};
    }
    peer_.pid = static_cast<int>(r->pid);
    peer_pidfd_ = std::move(pidfd);
    unlink_names();  // the server holds both queues now
    return {Io::ok};
  }

  void unlink_names() noexcept {
    for (const auto& name : names_) ::mq_unlink(name.c_str());
    names_.clear();
  }

  Fd in_;
  Fd out_;
  PollSet poller_;
  PeerInfo peer_;
  LinkOptions options_;
  Fd peer_pidfd_;
  std::vector<std::string> names_;  // ours to unlink until the server has opened them
  Clock::time_point opened_;
  std::size_t in_bytes_;
  std::size_t out_bytes_;
  std::vector<std::byte> buffer_;
  std::vector<std::byte> fragment_;
  bool skip_read_ = false;
  bool failed_ = false;
  std::string fault_;
};

std::unique_ptr<Link> make_link(Fd in, Fd out, PollSet poller, PeerInfo peer,
                                const LinkOptions& options, Fd peer_pidfd,
                                std::vector<std::string> names) {
  return std::make_unique<QueueLink>(std::move(in), std::move(out), std::move(poller),
                                     std::move(peer), options, std::move(peer_pidfd),
                                     std::move(names));
}

Errc welcome_client(Link& link, const wire::Rendezvous& hello) noexcept {
  auto& mq_link = static_cast<QueueLink&>(link);
  if (!mq_link.usable()) return Errc::protocol_violation;
  return mq_link.send_welcome(hello) ? Errc::ok : Errc::refused;
}

}  // namespace ipcx::transport::mq
