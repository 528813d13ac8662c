// udp:// (transport layer): request/reply over datagrams, one message a datagram: a compact
// header (wire/compact_header.hpp; one fragment, its request_id set) then the message's frames.
// At most once, as docs/ARCHITECTURE.md says: the client link resends a request it has no
// answer to (after 100 ms, doubling to 1 s, for 30 s), always under the same datagram id, and
// the server link keeps each reply for 60 s keyed by (client address, datagram id), so a
// repeated request gets the kept reply and is not handled twice; one still being handled is
// ignored. Nothing ever blocks on a client: a reply the kernel cannot take now is dropped, and
// the client's next retry gets it from the cache.
// The server has one link for the whole socket, offered once by its listener (again if it is
// ever closed). It puts a route frame (0x00, the client's socket address, the datagram id) in
// front of each request, which the envelope carries back into the reply, so a reply finds its
// client; a bad datagram is counted (take_dropped) and skipped, never a reason to close.
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/errno_map.hpp"
#include "transport/address.hpp"
#include "transport/inet_address.hpp"
#include "transport/mechanism.hpp"
#include "transport/socket_stream.hpp"
#include "transport/test_hooks.hpp"
#include "wire/compact_header.hpp"
#include "wire/subscriptions.hpp"
#include "wire/zmtp.hpp"

namespace ipcx::transport {
namespace {

constexpr std::size_t kMaxDatagram = 65507;  // the IPv4 limit; IPv6's is 20 bytes more
constexpr std::size_t kMaxPayload = kMaxDatagram - wire::kCompactHeaderSize;
constexpr std::chrono::milliseconds kFirstRetry{100};
constexpr std::chrono::milliseconds kLongestRetry{1000};
constexpr std::chrono::seconds kGiveUp{30};
constexpr std::chrono::seconds kReplyKept{60};
constexpr std::size_t kMaxKeptReplies = 16384;
constexpr std::size_t kMaxKeptBytes = 64u << 20;
constexpr int kReceiveBuffer = 4 << 20;

// The datagram of a message: header then payload, into `out`. false if it does not fit.
bool encode(std::vector<std::byte>& out, const Message& head, const Message& tail,
            std::uint64_t id) {
  if (wire::payload_size(head, tail) > kMaxPayload) return false;
  wire::write_single_fragment(out, head, tail, id);
  return true;
}

// Decodes one datagram into `out`; its id, or nullopt for anything that is not one whole
// message of ours.
std::optional<std::uint64_t> decode(std::span<const std::byte> datagram,
                                    wire::CompactAssembler& assembler, Message& out) {
  const char* why = nullptr;
  auto h = wire::read_compact_header(datagram, &why);
  constexpr std::uint8_t kWhole = wire::kFragmentFirst | wire::kFragmentLast;
  if (!h || h->flags != kWhole || h->request_id == 0 ||
      h->chunk_bytes != datagram.size() - wire::kCompactHeaderSize)
    return std::nullopt;
  assembler.reset();
  if (assembler.feed(datagram, out) != wire::CompactAssembler::Event::message) return std::nullopt;
  return h->request_id;
}

void raise_receive_buffer(int fd) noexcept {
  // FORCE passes net.core.rmem_max where we have CAP_NET_ADMIN; otherwise the plain option
  // gives what the limit allows.
  if (sys::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer, sizeof kReceiveBuffer) != 0)
    sys::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer, sizeof kReceiveBuffer);
  int one = 1;
  sys::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
}

// ---- client ----

// What both links on a connected (dialled) socket share: the socket, the decoder, and the
// receive buffer one datagram is read into.
class UdpDialledLink : public Link {
 public:
  UdpDialledLink(Fd fd, PeerInfo peer, const LinkOptions& options)
      : fd_(std::move(fd)),
        peer_(std::move(peer)),
        assembler_(options.max_message_size),
        datagram_(kMaxDatagram + 1) {}
  int fd() const noexcept override { return fd_.get(); }
  bool established() const noexcept override { return fd_.valid(); }
  void close() noexcept override { fd_.reset(); }
  const PeerInfo& peer() const noexcept override { return peer_; }
  std::string_view fault() const noexcept override { return fault_; }

 protected:
  Fd fd_;
  PeerInfo peer_;
  wire::CompactAssembler assembler_;
  std::vector<std::byte> datagram_;
  bool skip_read_ = false;  // as MqLink::recv
  std::string fault_;
};

class UdpClientLink final : public UdpDialledLink {
 public:
  UdpClientLink(Fd fd, PeerInfo peer, const LinkOptions& options)
      : UdpDialledLink(std::move(fd), std::move(peer), options) {}

  IoResult send(const Message& head, const Message& tail) noexcept override {
    if (!fd_) return {Io::error, 0, Errc::peer_closed};
    try {
      std::uint64_t id = next_id_++;
      Pending p;
      if (!encode(p.datagram, head, tail, id)) {
        fault_ = "the message exceeds the datagram limit of " + std::to_string(kMaxPayload) +
                 " payload bytes";
        return {Io::error, 0, Errc::message_too_large};
      }
      auto now = Clock::now();
      p.due = now + kFirstRetry;
      p.interval = kFirstRetry;
      p.give_up = now + kGiveUp;
      pending_.emplace(id, std::move(p));
      to_send_.push_back(id);
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
    return {Io::ok, head.bytes() + tail.bytes()};
  }

  IoResult flush() noexcept override {
    std::size_t total = 0;
    while (!to_send_.empty()) {
      auto it = pending_.find(to_send_.front());
      if (it != pending_.end()) {
        auto& d = it->second.datagram;
        ssize_t n = sys::send(fd_.get(), d.data(), d.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) return {Io::would_block, total};
        // ECONNREFUSED: nobody listens there now (an earlier datagram drew an ICMP error).
        // The retry will try again; a restarted server answers it.
        if (n > 0) total += static_cast<std::size_t>(n);
      }
      to_send_.pop_front();
    }
    return {Io::ok, total};
  }

  bool wants_write() const noexcept override { return !to_send_.empty(); }
  std::size_t queued_bytes() const noexcept override { return 0; }

  IoResult recv(Message& out) noexcept override {
    if (std::exchange(skip_read_, false)) return {Io::would_block};  // as MqLink::recv
    try {
      for (;;) {
        ssize_t n = sys::recv(fd_.get(), datagram_.data(), datagram_.size(), MSG_DONTWAIT);
        if (n < 0) {
          if (errno == ECONNREFUSED) continue;
          return errno == EAGAIN ? IoResult{Io::would_block}
                                 : IoResult{Io::error, 0, errc_from_errno(errno)};
        }
        auto id = decode({datagram_.data(), static_cast<std::size_t>(n)}, assembler_, out);
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
    try {
      for (auto it = pending_.begin(); it != pending_.end();) {
        Pending& p = it->second;
        if (now >= p.give_up) {
          it = pending_.erase(it);
          continue;
        }
        if (now >= p.due) {
          p.interval = std::min(p.interval * 2, kLongestRetry);
          p.due = now + p.interval;
          to_send_.push_back(it->first);
        }
        ++it;
      }
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
    return {Io::ok};
  }

  Clock::time_point wake_by() const noexcept override {
    auto soonest = Clock::time_point::max();
    for (const auto& [id, p] : pending_) soonest = std::min(soonest, p.due);
    return soonest;
  }

  Dropped take_dropped() noexcept override { return std::exchange(dropped_, {}); }

 private:
  struct Pending {
    std::vector<std::byte> datagram;
    Clock::time_point due;
    std::chrono::milliseconds interval{};
    Clock::time_point give_up;
  };

  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::deque<std::uint64_t> to_send_;
  Dropped dropped_;
};

// ---- server ----

// What the listener and its one link share: the socket, and the eventfd that offers the link.
struct UdpShared {
  Fd socket;
  Fd offer;  // readable while a link is to be taken
  bool taken = false;
  void offer_again() noexcept {
    taken = false;
    std::uint64_t one = 1;
    if (offer) (void)sys::write(offer.get(), &one, sizeof one);
  }
};

// What both links on a bound socket share: the socket (through the listener's UdpShared), the
// rule that bad input never closes them, and giving the socket back to the listener on close.
class UdpSocketLink : public Link {
 public:
  UdpSocketLink(std::shared_ptr<UdpShared> shared, PeerInfo peer) noexcept
      : shared_(std::move(shared)), peer_(std::move(peer)) {}
  int fd() const noexcept override { return shared_ ? shared_->socket.get() : -1; }
  bool established() const noexcept override { return true; }
  IoResult flush() noexcept override { return {Io::ok}; }
  bool wants_write() const noexcept override { return false; }
  std::size_t queued_bytes() const noexcept override { return 0; }
  Dropped take_dropped() noexcept override { return std::exchange(dropped_, {}); }
  void close() noexcept override {
    if (!shared_) return;
    shared_->offer_again();
    shared_.reset();
  }
  const PeerInfo& peer() const noexcept override { return peer_; }
  std::string_view fault() const noexcept override { return fault_; }

 protected:
  std::shared_ptr<UdpShared> shared_;
  PeerInfo peer_;
  Dropped dropped_;
  std::string fault_;
};

// The route frame: 0x00, then the client's address, then the datagram id (8 bytes).
constexpr std::size_t kIdBytes = 8;

class UdpServerLink final : public UdpSocketLink {
 public:
  UdpServerLink(std::shared_ptr<UdpShared> shared, PeerInfo peer, const LinkOptions& options)
      : UdpSocketLink(std::move(shared), std::move(peer)),
        assembler_(options.max_message_size),
        datagram_(kMaxDatagram + 1) {}
  ~UdpServerLink() override { close(); }

  IoResult recv(Message& out) noexcept override {
    if (!shared_) return {Io::closed, 0, Errc::peer_closed};
    if (std::exchange(skip_read_, false)) return {Io::would_block};  // as MqLink::recv
    try {
      for (;;) {
        sockaddr_storage from{};
        iovec iov{datagram_.data(), datagram_.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint32_t))];
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = sys::recvmsg(fd(), &msg, MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EAGAIN) return {Io::would_block};
          continue;  // an ICMP error for an earlier reply: that client is gone
        }
        note_overflow(msg);
        auto id = decode({datagram_.data(), static_cast<std::size_t>(n)}, assembler_, body_);
        if (!id) {
          dropped_.malformed++;
          continue;
        }
        std::string key(reinterpret_cast<const char*>(&from), msg.msg_namelen);
        key.append(reinterpret_cast<const char*>(&*id), sizeof *id);
        auto [it, fresh] = kept_.try_emplace(key);
        if (!fresh) {
          // A retry: answer it from the cache, or ignore it while its first copy is handled.
          if (!it->second.reply.empty()) resend(from, msg.msg_namelen, it->second.reply);
          continue;
        }
        it->second.born = now_;
        order_.push_back(key);
        trim();  // requests still being handled count against the caps too
        route(out, key);
        out.add_frames(body_);
        skip_read_ = true;
        return {Io::ok, out.bytes()};
      }
    } catch (const std::bad_alloc&) {
      return {Io::would_block};  // the datagram is lost; the client's retry brings it again
    }
  }

  // head: [route][the request's envelope...], tail: the reply body.
  IoResult send(const Message& head, const Message& tail) noexcept override {
    if (!shared_) return {Io::error, 0, Errc::peer_closed};
    if (head.size() == 0) return {Io::ok};
    auto route_frame = head.frame(0);
    if (route_frame.size() <= 1 + kIdBytes || route_frame[0] != std::byte{0}) {
      dropped_.malformed++;
      return {Io::ok};
    }
    try {
      std::string key(reinterpret_cast<const char*>(route_frame.data()) + 1,
                      route_frame.size() - 1);
      std::uint64_t id = 0;
      std::memcpy(&id, key.data() + key.size() - kIdBytes, kIdBytes);
      Message envelope;
      envelope.add_frames(head, 1);
      std::vector<std::byte> datagram;
      if (!encode(datagram, envelope, tail, id)) {
        fault_ = "a reply exceeds the datagram limit";
        return {Io::error, 0, Errc::message_too_large};
      }
      sockaddr_storage to{};
      std::size_t address_bytes = key.size() - kIdBytes;
      std::memcpy(&to, key.data(), std::min(address_bytes, sizeof to));
      resend(to, static_cast<socklen_t>(address_bytes), datagram);
      auto it = kept_.find(key);
      if (it != kept_.end()) {
        kept_bytes_ += datagram.size();
        it->second.reply = std::move(datagram);
        trim();
      }
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
    return {Io::ok, head.bytes() + tail.bytes()};
  }

  IoResult tick(Clock::time_point now) noexcept override {
    now_ = now;
    while (!order_.empty()) {
      auto it = kept_.find(order_.front());
      if (it != kept_.end() && now - it->second.born < kReplyKept) break;
      forget_oldest();
    }
    return {Io::ok};
  }

 private:
  struct Kept {
    Clock::time_point born;
    std::vector<std::byte> reply;  // empty while the request is being handled
  };

  static void route(Message& out, const std::string& key) {
    out.clear();
    std::byte tag{0};
    out.add({&tag, 1});
    out.extend_last(std::as_bytes(std::span<const char>(key.data(), key.size())));
  }

  void resend(const sockaddr_storage& to, socklen_t len, const std::vector<std::byte>& d) {
    ssize_t n = sys::sendto(fd(), d.data(), d.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                            reinterpret_cast<const sockaddr*>(&to), len);
    if (n < 0) dropped_.overflow++;  // full or gone: the client's retry finds it kept
  }

  void note_overflow(const msghdr& msg) noexcept {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        std::uint32_t total = 0;
        std::memcpy(&total, CMSG_DATA(c), sizeof total);
        dropped_.overflow += total - kernel_drops_;
        kernel_drops_ = total;
      }
    }
  }

  void trim() {
    while (!order_.empty() && (kept_.size() > kMaxKeptReplies || kept_bytes_ > kMaxKeptBytes))
      forget_oldest();
  }

  void forget_oldest() {
    auto it = kept_.find(order_.front());
    if (it != kept_.end()) {
      kept_bytes_ -= it->second.reply.size();
      kept_.erase(it);
    }
    order_.pop_front();
  }

  wire::CompactAssembler assembler_;
  std::vector<std::byte> datagram_;
  Message body_;
  std::unordered_map<std::string, Kept> kept_;
  std::deque<std::string> order_;  // keys of kept_, oldest first
  std::size_t kept_bytes_ = 0;
  Clock::time_point now_ = Clock::now();
  std::uint32_t kernel_drops_ = 0;
  bool skip_read_ = false;
};

// ---- publish/subscribe ----
// A subscriber tells its publisher the whole set of topics it wants, in one datagram (frames:
// "\x02" then each topic), whenever the set changes and every second; the publisher replaces
// what it knew and forgets a subscriber unheard for 5 s. Whole sets, not increments, so a lost
// datagram costs nothing. Each published datagram's id is (epoch << 48) | sequence, counted
// per subscriber: a subscriber learns how many it missed (take_gap), and a new epoch (a
// restarted publisher, or one that forgot and heard again of this subscriber) starts counting
// afresh.
constexpr std::chrono::seconds kHeartbeat{1};
constexpr std::chrono::seconds kForgetSilent{5};
constexpr std::size_t kMaxSubscribers = 4096;  // per bound port
constexpr std::uint64_t kSequenceMask = (std::uint64_t{1} << 48) - 1;
constexpr std::byte kStateTag{0x02};

bool is_pubsub(wire::SocketType t) noexcept {
  return t == wire::SocketType::pub || t == wire::SocketType::xpub || t == wire::SocketType::sub ||
         t == wire::SocketType::xsub;
}

class UdpPublisherLink final : public UdpSocketLink {
 public:
  UdpPublisherLink(std::shared_ptr<UdpShared> shared, PeerInfo peer, const LinkOptions& options)
      : UdpSocketLink(std::move(shared), std::move(peer)),
        assembler_(wire::Subscriptions::kMaxBytes + 4096),
        datagram_(kMaxDatagram + 1),
        epochs_(static_cast<std::uint64_t>(Clock::now().time_since_epoch().count() >> 10)) {
    (void)options;
  }
  ~UdpPublisherLink() override { close(); }

  // The publisher's LinkSet is told once that this link wants everything: it filters per
  // subscriber itself, in send().
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
        Message state;
        if (!decode({datagram_.data(), static_cast<std::size_t>(n)}, assembler_, state) ||
            state.empty() || state.frame(0).size() != 1 || state.frame(0)[0] != kStateTag) {
          dropped_.malformed++;
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

class UdpSubscriberLink final : public UdpDialledLink {
 public:
  UdpSubscriberLink(Fd fd, PeerInfo peer, const LinkOptions& options)
      : UdpDialledLink(std::move(fd), std::move(peer), options) {}

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
        auto id = decode({datagram_.data(), static_cast<std::size_t>(n)}, assembler_, out);
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
    if (outgoing_.size() <= kMaxDatagram)
      (void)sys::send(fd_.get(), outgoing_.data(), outgoing_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    last_state_ = Clock::now();
  }

  std::vector<std::byte> outgoing_;
  wire::Subscriptions topics_;
  std::uint64_t state_id_ = 0;
  Clock::time_point last_state_{};
  std::uint64_t epoch_ = ~std::uint64_t{0};
  std::uint64_t expected_ = 0;
  std::uint64_t gap_ = 0;
};

class UdpListener final : public Listener {
 public:
  UdpListener(std::shared_ptr<UdpShared> shared, Endpoint bound, LinkOptions options) noexcept
      : shared_(std::move(shared)), bound_(std::move(bound)), options_(options) {}
  ~UdpListener() override { close(); }
  int fd() const noexcept override { return shared_->offer.get(); }
  const Endpoint& bound() const noexcept override { return bound_; }

  Result<std::unique_ptr<Link>> accept() noexcept override {
    std::uint64_t count = 0;
    (void)sys::read(shared_->offer.get(), &count, sizeof count);
    if (shared_->taken || !shared_->socket) return unexpected(Errc::would_block);
    std::string why;
    return without_throwing<std::unique_ptr<Link>>(why, [&]() -> std::unique_ptr<Link> {
      PeerInfo peer;
      peer.mechanism = "udp";
      peer.address = bound_.url().substr(6);
      std::unique_ptr<Link> link;
      if (is_pubsub(options_.socket_type)) {
        link = std::make_unique<UdpPublisherLink>(shared_, std::move(peer), options_);
      } else {
        link = std::make_unique<UdpServerLink>(shared_, std::move(peer), options_);
      }
      shared_->taken = true;
      return link;
    });
  }

  void close() noexcept override { shared_->offer.reset(); }

 private:
  std::shared_ptr<UdpShared> shared_;
  Endpoint bound_;
  LinkOptions options_;
};

Result<std::unique_ptr<Listener>> listen_udp(const Endpoint& ep, const ListenOptions& options,
                                             std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Listener>>(
      why, [&]() -> Result<std::unique_ptr<Listener>> {
        auto bound_socket = bind_inet(ep, SOCK_DGRAM, why);
        if (!bound_socket) return unexpected(bound_socket.error());
        auto shared = std::make_shared<UdpShared>();
        shared->socket = std::move(bound_socket->first);
        shared->offer.reset(sys::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC));
        if (!shared->offer) {
          why = describe_errno("eventfd", errno);
          return unexpected(errc_from_errno(errno));
        }
        raise_receive_buffer(shared->socket.get());
        return std::unique_ptr<Listener>(std::make_unique<UdpListener>(
            std::move(shared), std::move(bound_socket->second), options.link));
      });
}

Result<std::unique_ptr<Link>> dial_udp(const Endpoint& ep, const LinkOptions& options,
                                       std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Link>>(why, [&]() -> Result<std::unique_ptr<Link>> {
    if (ep.host.empty() || ep.port == 0) {
      why = "a client needs a host and a port to send to";
      return unexpected(Errc::bad_endpoint);
    }
    InetAddress a;
    if (Errc e = resolve(ep, a, why); e != Errc::ok) return unexpected(e);
    auto fd = start_connect(a.family(), a.sa(), a.len, why, SOCK_DGRAM);
    if (!fd) return unexpected(fd.error());
    raise_receive_buffer(fd->get());
    PeerInfo peer;
    peer.mechanism = "udp";
    peer.address = ep.url().substr(6);
    if (is_pubsub(options.socket_type)) {
      return std::unique_ptr<Link>(
          std::make_unique<UdpSubscriberLink>(std::move(*fd), std::move(peer), options));
    }
    return std::unique_ptr<Link>(
        std::make_unique<UdpClientLink>(std::move(*fd), std::move(peer), options));
  });
}

std::string private_udp_url(const std::string&, const std::string&) {
  return "udp://127.0.0.1:" + std::to_string(test_hooks::free_port(SOCK_DGRAM));
}

}  // namespace

Mechanism udp_mechanism() {
  Mechanism m;
  m.info.scheme = "udp";
  m.info.summary = "small messages, at most once, no connection";
  // No push/pull: a pusher cannot know a datagram arrived. Publishers never wait.
  m.info.caps.request_reply = m.info.caps.publish_subscribe = true;
  m.info.caps.boundaries = Boundaries::datagram;
  m.info.caps.reliable = false;
  m.info.caps.crosses_machines = true;
  m.info.private_url = &private_udp_url;
  m.info.leftovers = &test_hooks::nothing_left;
  m.info.remove_stale = &test_hooks::nothing_stale;
  m.parse = &address::parse_host_port;
  m.format = &address::format_host_port;
  m.listen = &listen_udp;
  m.dial = &dial_udp;
  return m;
}

}  // namespace ipcx::transport
