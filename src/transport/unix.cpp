// unix:// and ipc:// (transport layer): Unix domain stream sockets, path or abstract (@name).
// Socket files are created owner-only (fchmod before bind, since Linux applies the socket inode's
// mode at bind), a stale file left by a killed server is probed and reused, and a graceful close
// removes the file if it is still ours. Peer credentials come from SO_PEERCRED.
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "core/errno_map.hpp"
#include "transport/mechanisms.hpp"
#include "transport/socket_stream.hpp"
#include "transport/stream_link.hpp"

namespace ipcx::transport {
namespace {

struct UnixAddress {
  sockaddr_un addr{};
  socklen_t len = 0;
};

UnixAddress make_address(const Endpoint& ep) noexcept {
  UnixAddress a;
  a.addr.sun_family = AF_UNIX;
  // Abstract names start with a NUL byte and are not NUL-terminated; the parser bounded both.
  std::size_t offset = ep.abstract ? 1 : 0;
  std::memcpy(a.addr.sun_path + offset, ep.path.data(), ep.path.size());
  a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + offset + ep.path.size() +
                                 (ep.abstract ? 0 : 1));
  return a;
}

PeerInfo unix_peer(int fd, const Endpoint& ep) noexcept {
  PeerInfo peer;
  peer.mechanism = Scheme::unix_socket;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (sys::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    peer.pid = cred.pid;
    peer.uid = static_cast<int>(cred.uid);
    peer.gid = static_cast<int>(cred.gid);
  }
  try {
    peer.address = ep.url();
  } catch (...) {
  }
  return peer;
}

// Is a live server accepting on this path? A refused connect means the file is stale.
bool path_is_live(const UnixAddress& a) noexcept {
  Fd probe(sys::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
  if (!probe) return true;  // cannot tell: do not touch the file
  int r = sys::connect(probe.get(), reinterpret_cast<const sockaddr*>(&a.addr), a.len);
  return r == 0 || errno != ECONNREFUSED;
}

Errc bind_path(int fd, const Endpoint& ep, const UnixAddress& a, std::string& why) noexcept {
  const auto* sa = reinterpret_cast<const sockaddr*>(&a.addr);
  if (sys::bind(fd, sa, a.len) == 0) return Errc::ok;
  if (errno != EADDRINUSE || ep.abstract) {
    why = describe_errno("bind", errno);
    return errc_from_errno(errno);
  }
  struct stat st {};
  if (::lstat(ep.path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    why = "the path exists and is not a socket";
    return Errc::address_in_use;
  }
  if (path_is_live(a)) {
    why = "a live server is listening on it";
    return Errc::address_in_use;
  }
  // Stale: its server was killed without removing the file.
  sys::unlink(ep.path.c_str());
  if (sys::bind(fd, sa, a.len) == 0) return Errc::ok;
  why = describe_errno("bind", errno);
  return errc_from_errno(errno);
}

AdmitFn make_admit(const Endpoint& ep, const ListenOptions& options) {
  std::vector<std::uint32_t> allowed = options.allow_uids;
  // An abstract socket has no file mode to guard it, so only our own uid by default.
  if (allowed.empty() && ep.abstract) allowed.push_back(static_cast<std::uint32_t>(::geteuid()));
  if (allowed.empty()) return nullptr;
  return [allowed](int, const PeerInfo& peer) {
    bool ok = peer.uid >= 0 && std::find(allowed.begin(), allowed.end(),
                                         static_cast<std::uint32_t>(peer.uid)) != allowed.end();
    return ok ? Errc::ok : Errc::permission_denied;
  };
}

Result<std::unique_ptr<Listener>> listen_unix(const Endpoint& ep, const ListenOptions& options,
                                              std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Listener>>(
      why, [&]() -> Result<std::unique_ptr<Listener>> {
        UnixAddress a = make_address(ep);
        Fd fd(sys::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
        if (!fd) {
          why = describe_errno("socket", errno);
          return unexpected(errc_from_errno(errno));
        }
        if (!ep.abstract) sys::fchmod(fd.get(), options.file_mode & 0777);
        if (Errc e = bind_path(fd.get(), ep, a, why); e != Errc::ok) return unexpected(e);
        struct stat st {};
        if (!ep.abstract) {
          // bind applied the umask on top of our mode; set exactly what was asked.
          sys::chmod(ep.path.c_str(), options.file_mode & 0777);
          ::stat(ep.path.c_str(), &st);
        }
        if (sys::listen(fd.get(), 512) != 0) {
          why = describe_errno("listen", errno);
          if (!ep.abstract) sys::unlink(ep.path.c_str());
          return unexpected(errc_from_errno(errno));
        }
        std::function<void()> cleanup;
        if (!ep.abstract) {
          // Remove the file only if it is still the one we created (not a successor's).
          cleanup = [path = ep.path, dev = st.st_dev, ino = st.st_ino] {
            struct stat now {};
            if (::lstat(path.c_str(), &now) == 0 && now.st_dev == dev && now.st_ino == ino) {
              sys::unlink(path.c_str());
            }
          };
        }
        auto peer_of = [ep](int conn) { return unix_peer(conn, ep); };
        return std::unique_ptr<Listener>(
            std::make_unique<SocketListener>(std::move(fd), ep, options.link, std::move(peer_of),
                                             make_admit(ep, options), std::move(cleanup)));
      });
}

Result<std::unique_ptr<Link>> dial_unix(const Endpoint& ep, const LinkOptions& options,
                                        std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Link>>(why, [&]() -> Result<std::unique_ptr<Link>> {
    UnixAddress a = make_address(ep);
    auto fd = start_connect(AF_UNIX, reinterpret_cast<const sockaddr*>(&a.addr), a.len, why);
    if (!fd) return unexpected(fd.error());
    PeerInfo peer = unix_peer(fd->get(), ep);
    return socket_link(std::move(*fd), std::move(peer), options);
  });
}

}  // namespace

Mechanism unix_mechanism() noexcept { return {Scheme::unix_socket, &listen_unix, &dial_unix}; }

}  // namespace ipcx::transport
