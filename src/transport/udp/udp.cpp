// udp:// (transport layer): the descriptor, binding and dialling, and the datagram codec the
// links share. udp.hpp says how the links divide the work.
#include "transport/udp/udp.hpp"

#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>

#include "core/errno_map.hpp"
#include "transport/address.hpp"
#include "transport/faults.hpp"
#include "transport/inet_address.hpp"
#include "transport/mechanism.hpp"
#include "transport/socket_stream.hpp"
#include "transport/test_hooks.hpp"

namespace ipcx::transport {
namespace udp {

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

ssize_t send_datagram(int fd, std::span<const std::byte> datagram, const wire::Cookie* cookie,
                      const void* to, std::size_t to_length) noexcept {
  std::byte trailer[wire::kCookieTrailerBytes];
  iovec iov[2] = {{const_cast<std::byte*>(datagram.data()), datagram.size()},
                  {trailer, sizeof trailer}};
  if (cookie != nullptr) wire::write_cookie_trailer(trailer, *cookie);
  msghdr msg{};
  msg.msg_name = const_cast<void*>(to);
  msg.msg_namelen = static_cast<socklen_t>(to_length);
  msg.msg_iov = iov;
  msg.msg_iovlen = cookie != nullptr ? 2 : 1;
  return sys::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void send_challenge(int fd, const AddressCookies& cookies, std::uint64_t id, const void* to,
                    std::size_t to_length) noexcept {
  std::byte challenge[wire::kChallengeBytes];
  wire::write_challenge(challenge, {id, cookies.cookie_for(to, to_length)});
  (void)send_datagram(fd, challenge, nullptr, to, to_length);
}

void raise_receive_buffer(int fd) noexcept {
  // FORCE passes net.core.rmem_max where we have CAP_NET_ADMIN; otherwise the plain option
  // gives what the limit allows.
  if (sys::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer, sizeof kReceiveBuffer) != 0)
    sys::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer, sizeof kReceiveBuffer);
  int one = 1;
  sys::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
}

bool is_pubsub(wire::SocketType t) noexcept {
  return t == wire::SocketType::pub || t == wire::SocketType::xpub || t == wire::SocketType::sub ||
         t == wire::SocketType::xsub;
}

}  // namespace udp

namespace {

using namespace udp;

class UdpListener final : public Listener {
 public:
  UdpListener(std::shared_ptr<Shared> shared, Endpoint bound, LinkOptions options) noexcept
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
        link = make_publisher_link(shared_, std::move(peer), options_);
      } else {
        link = make_server_link(shared_, std::move(peer), options_);
      }
      shared_->taken = true;
      return link;
    });
  }

  void close() noexcept override { shared_->offer.reset(); }

 private:
  std::shared_ptr<Shared> shared_;
  Endpoint bound_;
  LinkOptions options_;
};

Result<std::unique_ptr<Listener>> listen_udp(const Endpoint& ep, const ListenOptions& options,
                                             std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Listener>>(
      why, [&]() -> Result<std::unique_ptr<Listener>> {
        auto bound_socket = bind_inet(ep, SOCK_DGRAM, why);
        if (!bound_socket) return unexpected(bound_socket.error());
        auto shared = std::make_shared<Shared>();
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
      return make_subscriber_link(std::move(*fd), std::move(peer), options);
    }
    return make_client_link(std::move(*fd), std::move(peer), options);
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
