// Internet addresses (transport layer), shared by tcp:// and udp://: resolving an endpoint's
// host once (IPv4 preferred, as libzmq does, so "localhost" reaches a server bound to
// 127.0.0.1; empty host = every IPv4 interface), describing a socket address, and binding.
#pragma once

#include <sys/socket.h>

#include <string>
#include <utility>

#include "core/fd.hpp"
#include "ipcx/endpoint.hpp"
#include "ipcx/error.hpp"
#include "ipcx/result.hpp"

namespace ipcx::transport {

struct InetAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family() const noexcept { return addr.ss_family; }
  const sockaddr* sa() const noexcept { return reinterpret_cast<const sockaddr*>(&addr); }
};

Errc resolve(const Endpoint& ep, InetAddress& out, std::string& why) noexcept;
// Fills host and port from a socket address.
void describe(const sockaddr_storage& addr, std::string& host, std::uint16_t& port);
// "HOST:PORT" of a socket address, IPv6 in brackets; what PeerInfo reports.
std::string address_text(const sockaddr_storage& addr);

// A non-blocking socket of `type` bound to the endpoint (SO_REUSEADDR), and the endpoint as
// bound: port 0 replaced by the kernel's choice, a wildcard host by the numeric address.
Result<std::pair<Fd, Endpoint>> bind_inet(const Endpoint& ep, int type, std::string& why);

}  // namespace ipcx::transport
