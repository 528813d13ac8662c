// Socket plumbing shared by the socket mechanisms (transport layer).
#include "transport/socket_stream.hpp"

#include <fcntl.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

#include "core/errno_map.hpp"
#include "transport/stream_link.hpp"

namespace ipcx::transport {
namespace {

IoResult io_error_from_errno(int err) noexcept {
  if (err == EAGAIN) return {Io::would_block};
  Errc code = errc_from_errno(err);
  if (code == Errc::peer_closed) return {Io::closed, 0, code};
  return {Io::error, 0, code};
}

}  // namespace

IoResult SocketStream::read_some(std::span<std::byte> into) noexcept {
  ssize_t n = sys::recv(fd_.get(), into.data(), into.size(), MSG_DONTWAIT);
  if (n > 0) return {Io::ok, static_cast<std::size_t>(n)};
  if (n == 0) return {Io::closed, 0, Errc::peer_closed};
  return io_error_from_errno(errno);
}

IoResult SocketStream::write_some(std::span<const std::byte> from) noexcept {
  // MSG_NOSIGNAL: a peer that vanished gives EPIPE here, never SIGPIPE to the process.
  ssize_t n = sys::send(fd_.get(), from.data(), from.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n >= 0) return {Io::ok, static_cast<std::size_t>(n)};
  return io_error_from_errno(errno);
}

IoResult SocketStream::read_waiting(std::span<std::byte> into,
                                    std::chrono::milliseconds timeout) noexcept {
  if (timeout < std::chrono::milliseconds(1)) timeout = std::chrono::milliseconds(1);
  if (!blocking_) {
    int flags = sys::fcntl(fd_.get(), F_GETFL, 0);
    if (flags < 0 || sys::fcntl(fd_.get(), F_SETFL, flags & ~O_NONBLOCK) < 0) {
      return read_some(into);
    }
    blocking_ = true;
  }
  if (timeout != receive_timeout_) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    if (sys::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
      return read_some(into);
    }
    receive_timeout_ = timeout;
  }
  ssize_t n = sys::recv(fd_.get(), into.data(), into.size(), 0);
  if (n > 0) return {Io::ok, static_cast<std::size_t>(n)};
  if (n == 0) return {Io::closed, 0, Errc::peer_closed};
  return io_error_from_errno(errno);  // EAGAIN: the timeout passed
}

SocketListener::SocketListener(Fd fd, Endpoint bound, LinkOptions options, PeerFn peer_of,
                               AdmitFn admit, std::function<void()> on_close,
                               LinkFactory make_link) noexcept
    : fd_(std::move(fd)),
      bound_(std::move(bound)),
      options_(options),
      peer_of_(std::move(peer_of)),
      admit_(std::move(admit)),
      on_close_(std::move(on_close)),
      make_link_(make_link) {}

Result<std::unique_ptr<Link>> SocketListener::accept() noexcept {
  Fd conn(sys::accept(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!conn) {
    int err = errno;
    // A connection that died in the backlog is simply gone; look for the next one.
    if (err == ECONNABORTED || err == EPROTO) return unexpected(Errc::would_block);
    return unexpected(errc_from_errno(err));
  }
  PeerInfo peer = peer_of_(conn.get());
  if (admit_) {
    if (Errc verdict = admit_(conn.get(), peer); verdict != Errc::ok) return unexpected(verdict);
  }
  std::string ignored;
  return without_throwing<std::unique_ptr<Link>>(
      ignored, [&] { return make_link_(std::move(conn), std::move(peer), options_); });
}

std::unique_ptr<Link> socket_link(Fd fd, PeerInfo peer, const LinkOptions& options) {
  return make_stream_link(std::make_unique<SocketStream>(std::move(fd), std::move(peer)), options);
}

void SocketListener::close() noexcept {
  if (!fd_) return;
  fd_.reset();
  if (on_close_) on_close_();
}

Result<Fd> start_connect(int family, const sockaddr* addr, socklen_t len, std::string& why,
                         int type) noexcept {
  Fd fd(sys::socket(family, type | SOCK_NONBLOCK, 0));
  if (!fd) {
    why = describe_errno("socket", errno);
    return unexpected(errc_from_errno(errno));
  }
  if (sys::connect(fd.get(), addr, len) != 0 && errno != EINPROGRESS) {
    int err = errno;
    why = describe_errno("connect", err);
    // A unix socket whose backlog is full answers EAGAIN; the caller retries later.
    return unexpected(err == EAGAIN ? Errc::refused : errc_from_errno(err));
  }
  return fd;
}

}  // namespace ipcx::transport
