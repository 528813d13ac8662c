// udp:// client link (transport layer): requests at most once. A request the server has not
// answered is sent again (after 100 ms, doubling to 1 s, for 30 s), always under the same
// datagram id, so the server's reply cache answers a repeat instead of handling it twice. A
// message above one datagram fails with message_too_large: nothing is fragmented. A server's
// challenge (its reply is too large for an address it has not validated) is answered at once:
// the request goes again with the cookie, as does every datagram after.
#include <sys/socket.h>

#include <cerrno>
#include <optional>
#include <unordered_map>

#include "core/errno_map.hpp"
#include "transport/message_link.hpp"
#include "transport/udp/udp.hpp"

namespace ipcx::transport::udp {
namespace {

constexpr std::chrono::milliseconds kFirstRetry{100};
constexpr std::chrono::milliseconds kLongestRetry{1000};
constexpr std::chrono::seconds kGiveUp{30};

class ClientLink final : public Dialled<MessageLink<ClientLink>>, public Datagrams, public Timed {
 public:
  ClientLink(Fd fd, PeerInfo peer, const LinkOptions& options)
      : Dialled(std::move(fd), std::move(peer), options.max_message_size),
        options_(options),
        datagram_(kMaxDatagram + 1) {
    extensions_.datagrams = this;
    extensions_.timed = this;
  }

  IoResult send(const Message& head, const Message& tail) noexcept override {
    if (!fd_) return {Io::error, 0, Errc::peer_closed};
    if (wire::payload_size(head, tail) > kMaxPayload) {
      fault_ = "the message exceeds the datagram limit of " + std::to_string(kMaxPayload) +
               " payload bytes";
      return {Io::error, 0, Errc::message_too_large};
    }
    return send_fragments(head, tail, options_.max_message_size, options_.max_queued_bytes);
  }

  IoResult flush() noexcept override {
    if (!fd_) return {Io::closed, 0, Errc::peer_closed};
    return flush_fragments();
  }

  IoResult recv(Message& out) noexcept override {
    if (std::exchange(skip_read_, false)) return {Io::would_block};  // as mq's recv
    try {
      for (;;) {
        ssize_t n = sys::recv(fd_.get(), datagram_.data(), datagram_.size(), MSG_DONTWAIT);
        if (n < 0) {
          if (errno == ECONNREFUSED) continue;
          return errno == EAGAIN ? IoResult{Io::would_block}
                                 : IoResult{Io::error, 0, errc_from_errno(errno)};
        }
        std::span<const std::byte> datagram{datagram_.data(), static_cast<std::size_t>(n)};
        if (auto challenge = wire::read_challenge(datagram)) {
          take_challenge(*challenge);
          continue;
        }
        auto id = decode(datagram, assembler_, out);
        if (!id) {
          dropped_.malformed++;
          continue;
        }
        if (pending_.erase(*id) == 0) continue;  // the answer to a retry, already had
        skip_read_ = true;
        return {Io::ok, out.bytes()};
      }
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
  }

  IoResult tick(Clock::time_point now) noexcept override {
    for (auto it = pending_.begin(); it != pending_.end();) {
      Pending& p = it->second;
      if (now >= p.give_up) {
        it = pending_.erase(it);
        continue;
      }
      if (now >= p.due) {
        p.interval = std::min(p.interval * 2, kLongestRetry);
        p.due = now + p.interval;
        // ECONNREFUSED, EAGAIN: the next retry tries again; a restarted server answers it.
        (void)send_datagram(fd_.get(), p.datagram, cookie());
      }
      ++it;
    }
    return {Io::ok};
  }

  Clock::time_point wake_by() const noexcept override {
    auto soonest = Clock::time_point::max();
    for (const auto& [id, p] : pending_) soonest = std::min(soonest, p.due);
    return soonest;
  }

  Dropped take_dropped() noexcept override { return std::exchange(dropped_, {}); }

  // The medium of MessageLink: one datagram a message, kept for its retries once sent.
  std::size_t max_fragment() const noexcept { return kMaxDatagram; }
  std::byte* reserve_fragment(std::size_t bytes) noexcept {
    try {
      staging_.resize(bytes);
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
    return staging_.data();
  }
  bool commit_fragment(std::size_t bytes) noexcept {
    std::uint64_t id = next_id_;
    wire::rewrite_request_id(staging_.data(), id);
    ssize_t n = send_datagram(fd_.get(), {staging_.data(), bytes}, cookie());
    // Full: try again when writable. ECONNREFUSED (nobody listens now): it counts as sent,
    // and its retries find a server that comes.
    if (n < 0 && errno == EAGAIN) return false;
    try {
      auto now = Clock::now();
      Pending p{std::move(staging_), now + kFirstRetry, kFirstRetry, now + kGiveUp};
      pending_.emplace(id, std::move(p));
    } catch (const std::bad_alloc&) {
      return true;  // sent, but without its retries
    }
    ++next_id_;
    return true;
  }
  bool failed() const noexcept { return false; }

 private:
  const wire::Cookie* cookie() const noexcept { return cookie_ ? &*cookie_ : nullptr; }

  // The server holds a reply back until we prove our address: its request goes again, with
  // the cookie, now. A challenge for nothing we wait on (stale, or forged) changes nothing.
  void take_challenge(const wire::Challenge& challenge) noexcept {
    auto it = pending_.find(challenge.request_id);
    if (it == pending_.end()) return;
    cookie_ = challenge.cookie;
    (void)send_datagram(fd_.get(), it->second.datagram, cookie());
  }

  struct Pending {
    std::vector<std::byte> datagram;
    Clock::time_point due;
    std::chrono::milliseconds interval{};
    Clock::time_point give_up;
  };

  LinkOptions options_;
  std::vector<std::byte> datagram_;  // what recv() reads into
  std::vector<std::byte> staging_;   // the datagram being written
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::optional<wire::Cookie> cookie_;  // the server's for our address, once it gave one
  Dropped dropped_;
  bool skip_read_ = false;
};

}  // namespace

std::unique_ptr<Link> make_client_link(Fd fd, PeerInfo peer, const LinkOptions& options) {
  return std::make_unique<ClientLink>(std::move(fd), std::move(peer), options);
}

}  // namespace ipcx::transport::udp
