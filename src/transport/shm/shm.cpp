// shm:// (transport layer): shared-memory rings between two processes. The rendezvous is a
// seqpacket Unix socket, abstract and named from our euid and NAME (nothing on disk; only our
// uid admitted unless allow_uids says otherwise) or a socket file for shm:///abs/path. The socket
// stays open as the liveness channel; shm_link.cpp does the rest.
#include <sys/socket.h>
#include <unistd.h>

#include "transport/address.hpp"
#include "transport/mechanism.hpp"
#include "transport/server_identity.hpp"
#include "transport/shm/shm_link.hpp"
#include "transport/socket_stream.hpp"
#include "transport/test_hooks.hpp"
#include "transport/unix_socket.hpp"
#include "wire/shm_hello.hpp"

namespace ipcx::transport {
namespace {

constexpr std::size_t kMaxShmName = 80;  // fits "ipcx-shm-<uid>-NAME" in an abstract name

struct Rendezvous {
  std::string name;  // path, or abstract name without the leading NUL
  bool abstract;
};

Rendezvous rendezvous_of(const Endpoint& ep) {
  if (!ep.path.empty() && ep.path.front() == '/') return {ep.path, false};
  return {"ipcx-shm-" + std::to_string(::geteuid()) + "-" + ep.path, true};
}

// A client our uid check refuses hears so in a hello, as it would a version or pairing refusal.
void refuse_shm(int fd) noexcept {
  discard_unread(fd);
  std::byte hello[wire::kShmHelloSize];
  wire::write_shm_hello(hello, {wire::kShmVersion, wire::ShmStatus::permission_refused, 0, 0});
  [[maybe_unused]] auto n = sys::send(fd, hello, sizeof hello, MSG_DONTWAIT | MSG_NOSIGNAL);
}

std::unique_ptr<Link> server_link(Fd fd, PeerInfo peer, const LinkOptions& options) {
  return make_shm_link(std::move(fd), std::move(peer), options, ShmRole::server);
}

Result<std::unique_ptr<Listener>> listen_shm(const Endpoint& ep, const ListenOptions& options,
                                             std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Listener>>(
      why, [&]() -> Result<std::unique_ptr<Listener>> {
        Rendezvous r = rendezvous_of(ep);
        return unix_listener(ep, r.name, r.abstract, SOCK_SEQPACKET, options, &server_link,
                             &refuse_shm, why);
      });
}

Result<std::unique_ptr<Link>> dial_shm(const Endpoint& ep, const LinkOptions& options,
                                       std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Link>>(why, [&]() -> Result<std::unique_ptr<Link>> {
    Rendezvous r = rendezvous_of(ep);
    UnixAddress a = unix_address(r.name, r.abstract);
    auto fd = start_connect(AF_UNIX, a.sa(), a.len, why, SOCK_SEQPACKET);
    if (!fd) return unexpected(fd.error());
    PeerInfo peer = unix_peer(fd->get(), "shm", ep.url());
    // The abstract rendezvous is named from our euid, but anyone may have bound it first: its
    // server must be of that uid before it hears our hello.
    if (r.abstract) {
      Errc e = check_server_uid(peer.uid, NameOwner::ours, options, ep.url(), why);
      if (e != Errc::ok) return unexpected(e);
    }
    return make_shm_link(std::move(*fd), std::move(peer), options, ShmRole::client);
  });
}

// NAME (an abstract rendezvous named from our euid and NAME), or /PATH (a socket file).
std::string parse_shm(std::string_view rest, Endpoint& ep) {
  if (!rest.empty() && rest.front() == '/') {
    return address::parse_path(rest, ep, address::kMaxUnixPath, "the rendezvous socket path");
  }
  return address::parse_name(rest, ep, kMaxShmName, "the shared-memory name");
}

std::string private_shm_url(const std::string& dir, const std::string& tag) {
  return "shm://" + test_hooks::private_name(dir, tag);
}

}  // namespace

Mechanism shm_mechanism() {
  Mechanism m;
  m.info.scheme = "shm";
  m.info.summary = "the fastest local path; same host";
  m.info.caps.request_reply = m.info.caps.push_pull = m.info.caps.publish_subscribe = true;
  m.info.caps.lossless_publish = true;
  m.info.caps.credentials = true;
  m.info.caps.zero_copy = true;
  m.info.caps.broadcast = true;
  m.info.caps.boundaries = Boundaries::message;
  m.info.private_url = &private_shm_url;
  m.info.leftovers = &test_hooks::nothing_left;
  m.info.remove_stale = &test_hooks::nothing_stale;
  m.parse = &parse_shm;
  m.format = &address::format_path;
  m.listen = &listen_shm;
  m.dial = &dial_shm;
  return m;
}

}  // namespace ipcx::transport
