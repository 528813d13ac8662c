// Internet addresses (transport layer): see inet_address.hpp.
#include "transport/inet_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "core/errno_map.hpp"
#include "transport/address.hpp"
#include "transport/faults.hpp"

namespace ipcx::transport {

Errc resolve(const Endpoint& ep, InetAddress& out, std::string& why) noexcept {
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

std::string address_text(const sockaddr_storage& addr) {
  Endpoint ep;
  describe(addr, ep.host, ep.port);
  return address::format_host_port(ep);
}

Result<std::pair<Fd, Endpoint>> bind_inet(const Endpoint& ep, int type, std::string& why) {
  InetAddress a;
  if (Errc e = resolve(ep, a, why); e != Errc::ok) return unexpected(e);
  Fd fd(sys::socket(a.family(), type | SOCK_NONBLOCK, 0));
  if (!fd) {
    why = describe_errno("socket", errno);
    return unexpected(errc_from_errno(errno));
  }
  int one = 1;
  sys::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (sys::bind(fd.get(), a.sa(), a.len) != 0) {
    why = describe_errno("bind", errno);
    return unexpected(errc_from_errno(errno));
  }
  sockaddr_storage bound_addr{};
  socklen_t len = sizeof bound_addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound_addr), &len);
  Endpoint bound = ep;
  std::string numeric_host;
  describe(bound_addr, numeric_host, bound.port);
  // A wildcard bind reports 0.0.0.0, which a local client can reach, as libzmq does.
  if (bound.host.empty()) bound.host = numeric_host;
  return std::pair<Fd, Endpoint>(std::move(fd), std::move(bound));
}

}  // namespace ipcx::transport
