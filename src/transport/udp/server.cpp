// udp:// server link (transport layer): the one link of a bound socket serving requests. It
// puts a route frame (0x00, the client's socket address, the datagram id) in front of each
// request, which the envelope carries back into the reply, so a reply finds its client; the
// first byte of 0 keeps it from being read as an ipcx request id. Each reply is kept for 60 s
// keyed by (client address, datagram id), so a repeated request gets the kept reply and is not
// handled twice; one still being handled is ignored. Nothing ever blocks on a client: a reply
// the kernel cannot take now is dropped, and the client's next retry gets it from the cache.
// A reply larger than three times its request goes only to an address that proved itself with
// a cookie; any other gets a challenge carrying its cookie, and the client's repeat with it
// gets the kept reply (wire/datagram_cookie.hpp).
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include "transport/udp/udp.hpp"

namespace ipcx::transport::udp {
namespace {

constexpr std::chrono::seconds kReplyKept{60};
constexpr std::size_t kMaxKeptReplies = 16384;
constexpr std::size_t kMaxKeptBytes = 64u << 20;

// The route frame: 0x00, then the client's address, then the datagram id (8 bytes).
constexpr std::size_t kIdBytes = 8;

class ServerLink final : public SocketLink {
 public:
  ServerLink(std::shared_ptr<Shared> shared, PeerInfo peer, const LinkOptions& options)
      : SocketLink(std::move(shared), std::move(peer)),
        assembler_(options.max_message_size),
        datagram_(kMaxDatagram + 1) {}
  ~ServerLink() override { close(); }

  IoResult recv(Message& out) noexcept override {
    if (!shared_) return {Io::closed, 0, Errc::peer_closed};
    if (std::exchange(skip_read_, false)) return {Io::would_block};  // as mq's recv
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
        auto received = static_cast<std::size_t>(n);
        auto [datagram, cookie] = wire::split_cookie_trailer({datagram_.data(), received});
        auto id = decode(datagram, assembler_, body_);
        if (!id) {
          dropped_.malformed++;
          continue;
        }
        std::string key(reinterpret_cast<const char*>(&from), msg.msg_namelen);
        key.append(reinterpret_cast<const char*>(&*id), sizeof *id);
        auto [it, fresh] = kept_.try_emplace(key);
        Kept& kept = it->second;
        if (cookie) kept.cookie = *cookie;  // judged only if a large reply needs it
        kept.request_bytes = std::max(kept.request_bytes, received);
        if (!fresh) {
          // A retry: answer it from the cache, or ignore it while its first copy is handled.
          if (!kept.reply.empty()) answer(from, msg.msg_namelen, *id, kept);
          continue;
        }
        kept.born = now_;
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
      auto it = kept_.find(key);
      if (it == kept_.end()) {  // forgotten while it was handled: nothing vouches for it
        Kept unknown;
        unknown.reply = std::move(datagram);
        answer(to, static_cast<socklen_t>(address_bytes), id, unknown);
      } else {
        kept_bytes_ += datagram.size();
        it->second.reply = std::move(datagram);
        answer(to, static_cast<socklen_t>(address_bytes), id, it->second);
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
    std::vector<std::byte> reply;        // empty while the request is being handled
    std::size_t request_bytes = 0;       // the largest datagram of the request that came
    std::optional<wire::Cookie> cookie;  // the last one a copy of the request carried
  };

  // The kept reply to its client, when its address is validated or the reply is small enough
  // not to amplify anything; else the challenge that lets the client validate it.
  void answer(const sockaddr_storage& to, socklen_t len, std::uint64_t id, const Kept& kept) {
    bool small = kept.reply.size() <= wire::kUnvalidatedFactor * kept.request_bytes;
    if (small || (kept.cookie && shared_->cookies.valid(&to, len, *kept.cookie))) {
      resend(to, len, kept.reply);
    } else {
      send_challenge(fd(), shared_->cookies, id, &to, len);
    }
  }

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

}  // namespace

std::unique_ptr<Link> make_server_link(std::shared_ptr<Shared> shared, PeerInfo peer,
                                       const LinkOptions& options) {
  return std::make_unique<ServerLink>(std::move(shared), std::move(peer), options);
}

}  // namespace ipcx::transport::udp
