// Socket plumbing shared by the socket mechanisms (transport layer): a ByteStream over a connected
// stream socket, and a Listener that accepts such sockets and wraps them in ZMTP stream links.
// Each mechanism file (unix.cpp, tcp.cpp) adds only addressing, options and cleanup.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <memory>

#include "core/fd.hpp"
#include "transport/faults.hpp"
#include "transport/link.hpp"

namespace ipcx::transport {

// Fills in the PeerInfo of a freshly connected socket.
using PeerFn = std::function<PeerInfo(int fd)>;

class SocketStream final : public ByteStream {
 public:
  SocketStream(Fd fd, PeerInfo peer) noexcept : fd_(std::move(fd)), peer_(std::move(peer)) {}
  int fd() const noexcept override { return fd_.get(); }
  IoResult read_some(std::span<std::byte> into) noexcept override;
  IoResult write_some(std::span<const std::byte> from) noexcept override;
  bool can_wait_in_read() const noexcept override { return true; }
  IoResult read_waiting(std::span<std::byte> into,
                        std::chrono::milliseconds timeout) noexcept override;
  PeerInfo peer() const noexcept override { return peer_; }

 private:
  Fd fd_;
  PeerInfo peer_;
  // read_waiting() blocks in recv(): the socket is made blocking once (every other read and
  // write says MSG_DONTWAIT), and its receive timeout is set only when it changes.
  bool blocking_ = false;
  std::chrono::milliseconds receive_timeout_{0};
};

// What a socket listener does with each accepted socket before it becomes a link: set options,
// check credentials. Returns Errc::ok to admit it.
using AdmitFn = std::function<Errc(int fd, const PeerInfo& peer)>;

// Turns an accepted, admitted socket into the mechanism's link.
using LinkFactory = std::unique_ptr<Link> (*)(Fd fd, PeerInfo peer, const LinkOptions& options);

class SocketListener final : public Listener {
 public:
  // on_close runs once from close(), e.g. to remove a socket file.
  SocketListener(Fd fd, Endpoint bound, LinkOptions options, PeerFn peer_of, AdmitFn admit,
                 std::function<void()> on_close, LinkFactory make_link) noexcept;
  ~SocketListener() override { close(); }
  int fd() const noexcept override { return fd_.get(); }
  Result<std::unique_ptr<Link>> accept() noexcept override;
  const Endpoint& bound() const noexcept override { return bound_; }
  void close() noexcept override;

 private:
  Fd fd_;
  Endpoint bound_;
  LinkOptions options_;
  PeerFn peer_of_;
  AdmitFn admit_;
  std::function<void()> on_close_;
  LinkFactory make_link_;
};

// Creates a non-blocking socket of `type` and starts connecting it to addr. Returns the socket
// (the connection completes in the background) or an error with *why set.
Result<Fd> start_connect(int family, const sockaddr* addr, socklen_t len, std::string& why,
                         int type = SOCK_STREAM) noexcept;

// A connected socket as a ZMTP stream link.
std::unique_ptr<Link> socket_link(Fd fd, PeerInfo peer, const LinkOptions& options);

}  // namespace ipcx::transport
