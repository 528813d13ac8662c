// udp:// publish/subscribe (transport layer): datagrams to each subscriber, numbered.
// A subscriber tells its publisher the whole set of topics it wants, in one datagram (frames:
// "\x02" then each topic), whenever the set changes and every second; the publisher replaces
// what it knew and forgets a subscriber unheard for 5 s. Whole sets, not increments, so a lost
// datagram costs nothing. Each published datagram's id is (epoch << 48) | sequence, counted
// per subscriber: a subscriber learns how many it missed (take_gap), and a new epoch (a
// restarted publisher, or one that forgot and heard again of this subscriber) starts counting
// afresh. The publisher streams only to addresses that proved themselves: a state without the
// address's cookie is answered with a challenge, and the subscriber sends its state again with
// the cookie, as it does every time after (wire/datagram_cookie.hpp).
#include <sys/socket.h>

#include <cerrno>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/errno_map.hpp"
#include "transport/udp/udp.hpp"
#include "wire/subscriptions.hpp"

namespace ipcx::transport::udp {
namespace {

constexpr std::chrono::seconds kHeartbeat{1};
constexpr std::chrono::seconds kForgetSilent{5};
constexpr std::size_t kMaxSubscribers = 4096;  // per bound port
constexpr std::uint64_t kSequenceMask = (std::uint64_t{1} << 48) - 1;
constexpr std::byte kStateTag{0x02};

class PublisherLink final : public SocketLink {
 public:
  PublisherLink(std::shared_ptr<Shared> shared, PeerInfo peer, const LinkOptions& options)
      : SocketLink(std::move(shared), std::move(peer)),
        assembler_(wire::Subscriptions::kMaxBytes + 4096),
        datagram_(kMaxDatagram + 1),
        epochs_(static_cast<std::uint64_t>(Clock::now().time_since_epoch().count() >> 10)) {
    (void)options;
  }
  ~PublisherLink() override { close(); }

  // The publisher is told once that this link wants everything: it filters per subscriber
  // itself, in send().
  IoResult recv(Message& out) noexcept override {
    if (!shared_) return {Io::closed, 0, Errc::peer_closed};
    try {
      if (!announced_) {
        announced_ = true;
        out.clear();
        std::byte subscribe{1};
        out.add({&subscribe, 1});
        return {Io::ok, 1};
      }
      for (;;) {
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        ssize_t n = ::recvfrom(fd(), datagram_.data(), datagram_.size(), MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) {
          if (errno == EAGAIN) return {Io::would_block};
          continue;  // an ICMP error for an earlier datagram: that subscriber is gone
        }
        auto [datagram, cookie] =
            wire::split_cookie_trailer({datagram_.data(), static_cast<std::size_t>(n)});
        Message state;
        if (!decode(datagram, assembler_, state) || state.empty() || state.frame(0).size() != 1 ||
            state.frame(0)[0] != kStateTag) {
          dropped_.malformed++;
          continue;
        }
        if (!cookie || !shared_->cookies.valid(&from, len, *cookie)) {
          send_challenge(fd(), shared_->cookies, 0, &from, len);
          continue;
        }
        auto [it, fresh] =
            subscribers_.try_emplace(std::string(reinterpret_cast<const char*>(&from), len));
        if (fresh && subscribers_.size() > kMaxSubscribers) {
          subscribers_.erase(it);  // a flood from many ports must not grow this without end
          dropped_.overflow++;
          continue;
        }
        Subscriber& sub = it->second;
        // A new epoch for each subscriber entry: one forgotten and heard again starts counting
        // afresh, and must not look like a late repeat of what it had.
        if (fresh) sub.epoch = (++epochs_ & 0xffff) | 1;
        sub.topics.clear();
        for (std::size_t i = 1; i < state.size(); ++i) sub.topics.emplace_back(state.text(i));
        sub.heard = now_;
      }
    } catch (const std::bad_alloc&) {
      return {Io::would_block};
    }
  }

  // A message for every subscriber whose topics match; never waits. Too large for a datagram,
  // or refused by a full kernel buffer: would_block, which the publisher counts as dropped.
  IoResult send(const Message& head, const Message& tail) noexcept override {
    if (!shared_) return {Io::error, 0, Errc::peer_closed};
    if (wire::payload_size(head, tail) > kMaxPayload) return {Io::would_block};
    std::string_view topic = head.size() > 0 ? head.text(0) : tail.size() > 0 ? tail.text(0) : "";
    bool all_sent = true;
    bool encoded = false;
    try {
      for (auto& [address, sub] : subscribers_) {
        if (!sub.wants(topic)) continue;
        // Encoded once; only the id differs from one subscriber to the next.
        if (!encoded) wire::write_single_fragment(outgoing_, head, tail, 0);
        encoded = true;
        wire::rewrite_request_id(outgoing_.data(), (sub.epoch << 48) | (++sub.sequence));
        ssize_t n =
            sys::sendto(fd(), outgoing_.data(), outgoing_.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                        reinterpret_cast<const sockaddr*>(address.data()),
                        static_cast<socklen_t>(address.size()));
        if (n < 0) all_sent = false;  // the subscriber learns of it from the sequence
      }
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
    if (!all_sent) dropped_.overflow++;
    return {Io::ok, head.bytes() + tail.bytes()};
  }

  IoResult tick(Clock::time_point now) noexcept override {
    now_ = now;
    for (auto it = subscribers_.begin(); it != subscribers_.end();) {
      it = now - it->second.heard > kForgetSilent ? subscribers_.erase(it) : std::next(it);
    }
    return {Io::ok};
  }

 private:
  struct Subscriber {
    std::vector<std::string> topics;
    std::uint64_t epoch = 1;
    std::uint64_t sequence = 0;
    Clock::time_point heard;
    bool wants(std::string_view topic) const noexcept {
      for (const auto& t : topics) {
        if (topic.substr(0, t.size()) == t) return true;
      }
      return false;
    }
  };

  wire::CompactAssembler assembler_;
  std::vector<std::byte> datagram_;
  std::vector<std::byte> outgoing_;
  std::uint64_t epochs_;  // the last epoch given to a subscriber entry
  bool announced_ = false;
  std::unordered_map<std::string, Subscriber> subscribers_;
  Clock::time_point now_ = Clock::now();
};

class SubscriberLink final : public Dialled<Link>, public Lossy {
 public:
  SubscriberLink(Fd fd, PeerInfo peer, const LinkOptions& options)
      : Dialled(std::move(fd), std::move(peer)),
        assembler_(options.max_message_size),
        datagram_(kMaxDatagram + 1) {
    extensions_.lossy = this;
  }

  // Subscription changes, [0x01|0x00][topic]: applied to our own set, which then goes out whole.
  IoResult send(const Message& head, const Message& tail) noexcept override {
    if (!fd_) return {Io::error, 0, Errc::peer_closed};
    try {
      Message change;
      change.add_frames(head);
      change.add_frames(tail);
      if (!topics_.apply(change)) return {Io::error, 0, Errc::resource_exhausted};
      send_state();
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
    return {Io::ok, head.bytes() + tail.bytes()};
  }

  IoResult recv(Message& out) noexcept override {
    if (std::exchange(skip_read_, false)) return {Io::would_block};
    try {
      for (;;) {
        ssize_t n = sys::recv(fd_.get(), datagram_.data(), datagram_.size(), MSG_DONTWAIT);
        if (n < 0) {
          if (errno == ECONNREFUSED) continue;  // no publisher there yet
          return errno == EAGAIN ? IoResult{Io::would_block}
                                 : IoResult{Io::error, 0, errc_from_errno(errno)};
        }
        std::span<const std::byte> datagram{datagram_.data(), static_cast<std::size_t>(n)};
        if (auto challenge = wire::read_challenge(datagram)) {
          // The publisher wants proof of our address before it sends us anything: at once.
          cookie_ = challenge->cookie;
          try {
            send_state();
          } catch (const std::bad_alloc&) {
          }
          continue;
        }
        auto id = decode(datagram, assembler_, out);
        if (!id) continue;
        std::uint64_t epoch = *id >> 48, sequence = *id & kSequenceMask;
        if (epoch != epoch_) {  // a new publisher (or the first): count from here
          epoch_ = epoch;
          expected_ = sequence;
        }
        if (sequence < expected_) continue;  // late or repeated
        gap_ += sequence - expected_;
        expected_ = sequence + 1;
        skip_read_ = true;
        return {Io::ok, out.bytes()};
      }
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
  }

  IoResult tick(Clock::time_point now) noexcept override {
    if (now - last_state_ >= kHeartbeat) {
      try {
        send_state();
      } catch (const std::bad_alloc&) {
      }
    }
    return {Io::ok};
  }

  std::uint64_t take_gap() noexcept override { return std::exchange(gap_, 0); }
  IoResult flush() noexcept override { return {Io::ok}; }
  bool wants_write() const noexcept override { return false; }
  std::size_t queued_bytes() const noexcept override { return 0; }

 private:
  void send_state() {
    Message state;
    state.add({&kStateTag, 1});
    for (const auto& [topic, count] : topics_.topics()) state.add(topic);
    wire::write_single_fragment(outgoing_, state, Message{}, ++state_id_);
    if (outgoing_.size() + wire::kCookieTrailerBytes <= kMaxDatagram)
      (void)send_datagram(fd_.get(), outgoing_, cookie_ ? &*cookie_ : nullptr);
    last_state_ = Clock::now();
  }

  wire::CompactAssembler assembler_;
  std::vector<std::byte> datagram_;
  bool skip_read_ = false;  // as mq's recv
  std::vector<std::byte> outgoing_;
  wire::Subscriptions topics_;
  std::uint64_t state_id_ = 0;
  std::optional<wire::Cookie> cookie_;  // the publisher's for our address, once it gave one
  Clock::time_point last_state_{};
  std::uint64_t epoch_ = ~std::uint64_t{0};
  std::uint64_t expected_ = 0;
  std::uint64_t gap_ = 0;
};

}  // namespace

std::unique_ptr<Link> make_publisher_link(std::shared_ptr<Shared> shared, PeerInfo peer,
                                          const LinkOptions& options) {
  return std::make_unique<PublisherLink>(std::move(shared), std::move(peer), options);
}

std::unique_ptr<Link> make_subscriber_link(Fd fd, PeerInfo peer, const LinkOptions& options) {
  return std::make_unique<SubscriberLink>(std::move(fd), std::move(peer), options);
}

}  // namespace ipcx::transport::udp
