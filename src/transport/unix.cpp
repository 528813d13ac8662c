// unix:// and ipc:// (transport layer): Unix domain stream sockets, path or abstract (@name),
// carrying ZMTP. Files, stale-file reuse and credentials come from unix_socket.cpp.
#include "transport/mechanisms.hpp"
#include "transport/socket_stream.hpp"
#include "transport/unix_socket.hpp"

namespace ipcx::transport {
namespace {

Result<std::unique_ptr<Listener>> listen_unix_stream(const Endpoint& ep,
                                                     const ListenOptions& options,
                                                     std::string& why) noexcept {
  return unix_listener(ep, ep.path, ep.abstract, SOCK_STREAM, options, &socket_link, &refuse_zmtp,
                       why);
}

Result<std::unique_ptr<Link>> dial_unix_stream(const Endpoint& ep, const LinkOptions& options,
                                               std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Link>>(why, [&]() -> Result<std::unique_ptr<Link>> {
    UnixAddress a = unix_address(ep.path, ep.abstract);
    auto fd = start_connect(AF_UNIX, a.sa(), a.len, why);
    if (!fd) return unexpected(fd.error());
    PeerInfo peer = unix_peer(fd->get(), Scheme::unix_socket, ep.url());
    return socket_link(std::move(*fd), std::move(peer), options);
  });
}

}  // namespace

Mechanism unix_mechanism() noexcept {
  return {Scheme::unix_socket, &listen_unix_stream, &dial_unix_stream};
}

}  // namespace ipcx::transport
