// tcp:// (transport layer): TCP with TCP_NODELAY, the "requests from outside the machine" path.
// Host names are resolved once, at bind or connect; IPv4 results are preferred, as libzmq does
// by default, so "localhost" reaches a server bound to 127.0.0.1. "*" binds every IPv4
// interface; port 0 asks the kernel for a free port, reported back in the bound endpoint.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

#include "core/errno_map.hpp"
#include "transport/mechanisms.hpp"
#include "transport/socket_stream.hpp"
#include "transport/stream_link.hpp"

namespace ipcx::transport {
namespace {

struct TcpAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family() const noexcept { return addr.ss_family; }
  const sockaddr* sa() const noexcept { return reinterpret_cast<const sockaddr*>(&addr); }
};

Errc resolve(const Endpoint& ep, TcpAddress& out, std::string& why) noexcept {
  if (ep.host.empty()) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out.addr);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_ANY);
    v4->sin_port = htons(ep.port);
    out.len = sizeof(sockaddr_in);
    return Errc::ok;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = ::getaddrinfo(ep.host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    why = "cannot resolve '" + ep.host + "': " + ::gai_strerror(rc);
    return Errc::bad_endpoint;
  }
  const addrinfo* chosen = nullptr;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      chosen = ai;
      break;
    }
    if (ai->ai_family == AF_INET6 && chosen == nullptr) chosen = ai;
  }
  Errc result = Errc::ok;
  if (chosen == nullptr) {
    why = "'" + ep.host + "' has no IPv4 or IPv6 address";
    result = Errc::bad_endpoint;
  } else {
    std::memcpy(&out.addr, chosen->ai_addr, chosen->ai_addrlen);
    out.len = chosen->ai_addrlen;
    if (out.family() == AF_INET) {
      reinterpret_cast<sockaddr_in*>(&out.addr)->sin_port = htons(ep.port);
    } else {
      reinterpret_cast<sockaddr_in6*>(&out.addr)->sin6_port = htons(ep.port);
    }
  }
  ::freeaddrinfo(list);
  return result;
}

// Fills host and port of an endpoint from a socket address.
void describe(const sockaddr_storage& addr, std::string& host, std::uint16_t& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    port = ntohs(v4->sin_port);
  } else {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    port = ntohs(v6->sin6_port);
  }
  host = text;
}

PeerInfo tcp_peer(int fd) noexcept {
  PeerInfo peer;
  peer.mechanism = Scheme::tcp;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    try {
      Endpoint ep;
      describe(addr, ep.host, ep.port);
      peer.address = ep.url().substr(6);  // drop "tcp://"
    } catch (...) {
    }
  }
  return peer;
}

void set_nodelay(int fd) noexcept {
  int one = 1;
  sys::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Result<std::unique_ptr<Listener>> listen_tcp(const Endpoint& ep, const ListenOptions& options,
                                             std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Listener>>(
      why, [&]() -> Result<std::unique_ptr<Listener>> {
        TcpAddress a;
        if (Errc e = resolve(ep, a, why); e != Errc::ok) return unexpected(e);
        Fd fd(sys::socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK, 0));
        if (!fd) {
          why = describe_errno("socket", errno);
          return unexpected(errc_from_errno(errno));
        }
        int one = 1;
        sys::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (sys::bind(fd.get(), a.sa(), a.len) != 0 || sys::listen(fd.get(), 512) != 0) {
          why = describe_errno("bind", errno);
          return unexpected(errc_from_errno(errno));
        }
        sockaddr_storage bound_addr{};
        socklen_t len = sizeof bound_addr;
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound_addr), &len);
        Endpoint bound = ep;
        std::string numeric_host;
        describe(bound_addr, numeric_host, bound.port);
        // A wildcard bind reports 0.0.0.0, which a local client can connect to, as libzmq does.
        if (bound.host.empty()) bound.host = numeric_host;
        AdmitFn admit = [](int conn, const PeerInfo&) {
          set_nodelay(conn);
          return Errc::ok;
        };
        return std::unique_ptr<Listener>(
            std::make_unique<SocketListener>(std::move(fd), std::move(bound), options.link,
                                             &tcp_peer, std::move(admit), nullptr, &socket_link));
      });
}

Result<std::unique_ptr<Link>> dial_tcp(const Endpoint& ep, const LinkOptions& options,
                                       std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Link>>(why, [&]() -> Result<std::unique_ptr<Link>> {
    if (ep.host.empty() || ep.port == 0) {
      why = "a client needs a host and a port to connect to";
      return unexpected(Errc::bad_endpoint);
    }
    TcpAddress a;
    if (Errc e = resolve(ep, a, why); e != Errc::ok) return unexpected(e);
    auto fd = start_connect(a.family(), a.sa(), a.len, why);
    if (!fd) return unexpected(fd.error());
    set_nodelay(fd->get());
    PeerInfo peer;
    peer.mechanism = Scheme::tcp;
    peer.address = ep.url().substr(6);
    return socket_link(std::move(*fd), std::move(peer), options);
  });
}

}  // namespace

Mechanism tcp_mechanism() noexcept { return {Scheme::tcp, &listen_tcp, &dial_tcp}; }

}  // namespace ipcx::transport
