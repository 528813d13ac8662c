// tcp:// (transport layer): TCP with TCP_NODELAY and keepalive, the "requests from outside the
// machine" path.
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
#include "transport/address.hpp"
#include "transport/inet_address.hpp"
#include "transport/mechanism.hpp"
#include "transport/socket_stream.hpp"
#include "transport/stream_link.hpp"
#include "transport/test_hooks.hpp"

namespace ipcx::transport {
namespace {

PeerInfo tcp_peer(int fd) noexcept {
  PeerInfo peer;
  peer.mechanism = "tcp";
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    try {
      peer.address = address_text(addr);
    } catch (...) {
    }
  }
  return peer;
}

// Keepalive is the kernel's second line behind ZMTP heartbeats, for sockets whose owner turned
// those off: a peer gone without a FIN is found after 60 s of silence and 3 unanswered probes
// 10 s apart, instead of the kernel's default of over two hours.
void set_socket_options(int fd) noexcept {
  int one = 1;
  sys::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sys::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  int idle = 60, interval = 10, probes = 3;
  sys::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  sys::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  sys::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
}

Result<std::unique_ptr<Listener>> listen_tcp(const Endpoint& ep, const ListenOptions& options,
                                             std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Listener>>(
      why, [&]() -> Result<std::unique_ptr<Listener>> {
        auto bound_socket = bind_inet(ep, SOCK_STREAM, why);
        if (!bound_socket) return unexpected(bound_socket.error());
        auto& [fd, bound] = *bound_socket;
        if (sys::listen(fd.get(), 512) != 0) {
          why = describe_errno("listen", errno);
          return unexpected(errc_from_errno(errno));
        }
        AdmitFn admit = [](int conn, const PeerInfo&) {
          set_socket_options(conn);
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
    InetAddress a;
    if (Errc e = resolve(ep, a, why); e != Errc::ok) return unexpected(e);
    auto fd = start_connect(a.family(), a.sa(), a.len, why);
    if (!fd) return unexpected(fd.error());
    set_socket_options(fd->get());
    PeerInfo peer;
    peer.mechanism = "tcp";
    peer.address = ep.url().substr(6);
    return socket_link(std::move(*fd), std::move(peer), options);
  });
}

std::string private_tcp_url(const std::string&, const std::string&) {
  return "tcp://127.0.0.1:" + std::to_string(test_hooks::free_port(SOCK_STREAM));
}

}  // namespace

Mechanism tcp_mechanism() {
  Mechanism m;
  m.info.scheme = "tcp";
  m.info.summary = "other machines; libzmq speaks it";
  m.info.caps.request_reply = m.info.caps.push_pull = m.info.caps.publish_subscribe = true;
  m.info.caps.lossless_publish = true;
  m.info.caps.crosses_machines = true;
  m.info.caps.zeromq = true;
  m.info.private_url = &private_tcp_url;
  m.info.leftovers = &test_hooks::nothing_left;
  m.info.remove_stale = &test_hooks::nothing_stale;
  m.parse = &address::parse_host_port;
  m.format = &address::format_host_port;
  m.listen = &listen_tcp;
  m.dial = &dial_tcp;
  return m;
}

}  // namespace ipcx::transport
