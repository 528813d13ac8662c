// Unix-domain socket plumbing (transport layer): see unix_socket.hpp. Socket files are created
// owner-only: fchmod before bind, since Linux applies the socket inode's mode at bind.
#include "transport/unix_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "core/errno_map.hpp"
#include "core/sys.hpp"
#include "transport/server_identity.hpp"
#include "wire/zmtp_encoder.hpp"

namespace ipcx::transport {
namespace {

// Is a live server accepting on this path? A refused connect means the file is stale.
bool path_is_live(const UnixAddress& a, int type) noexcept {
  Fd probe(sys::socket(AF_UNIX, type | SOCK_NONBLOCK, 0));
  if (!probe) return true;  // cannot tell: do not touch the file
  int r = sys::connect(probe.get(), a.sa(), a.len);
  return r == 0 || errno != ECONNREFUSED;
}

Errc bind_path(int fd, std::string_view path, bool abstract, const UnixAddress& a, int type,
               std::string& why) noexcept {
  if (sys::bind(fd, a.sa(), a.len) == 0) return Errc::ok;
  if (errno != EADDRINUSE || abstract) {
    why = describe_errno("bind", errno);
    return errc_from_errno(errno);
  }
  std::string file(path);
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    why = "the path exists and is not a socket";
    return Errc::address_in_use;
  }
  if (path_is_live(a, type)) {
    why = "a live server is listening on it";
    return Errc::address_in_use;
  }
  // Stale: its server was killed without removing the file.
  sys::unlink(file.c_str());
  if (sys::bind(fd, a.sa(), a.len) == 0) return Errc::ok;
  why = describe_errno("bind", errno);
  return errc_from_errno(errno);
}

}  // namespace

UnixAddress unix_address(std::string_view name, bool abstract) noexcept {
  UnixAddress a;
  a.addr.sun_family = AF_UNIX;
  // Abstract names start with a NUL byte and are not NUL-terminated.
  std::size_t offset = abstract ? 1 : 0;
  std::size_t n = std::min(name.size(), sizeof(a.addr.sun_path) - 1 - offset);
  std::memcpy(a.addr.sun_path + offset, name.data(), n);
  a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + offset + n + (abstract ? 0 : 1));
  return a;
}

PeerInfo unix_peer(int fd, std::string_view mechanism, const std::string& address) noexcept {
  PeerInfo peer;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (sys::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    peer.pid = cred.pid;
    peer.uid = static_cast<int>(cred.uid);
    peer.gid = static_cast<int>(cred.gid);
  }
  try {
    peer.mechanism = mechanism;
    peer.address = address;
  } catch (...) {
  }
  return peer;
}

AdmitFn uid_admission(bool abstract, const std::vector<std::uint32_t>& allow_uids,
                      RefuseFn refuse) {
  std::vector<std::uint32_t> allowed = allow_uids;
  if (allowed.empty() && abstract) allowed.push_back(static_cast<std::uint32_t>(::geteuid()));
  if (allowed.empty()) return nullptr;
  return [allowed, refuse](int fd, const PeerInfo& peer) {
    bool ok = peer.uid >= 0 && std::find(allowed.begin(), allowed.end(),
                                         static_cast<std::uint32_t>(peer.uid)) != allowed.end();
    if (ok) return Errc::ok;
    if (refuse != nullptr) refuse(fd);
    return Errc::permission_denied;
  };
}

void discard_unread(int fd) noexcept {
  char scratch[4096];
  for (int i = 0; i < 16; ++i) {
    if (sys::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) <= 0) return;
  }
}

void refuse_zmtp(int fd) noexcept {
  discard_unread(fd);
  try {
    wire::ByteQueue out;
    wire::encode_refusal(out, wire::kPermissionDeniedReason);
    auto bytes = out.readable();
    [[maybe_unused]] auto n =
        sys::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } catch (const std::bad_alloc&) {
  }
}

Result<Fd> listen_unix(const UnixAddress& address, std::string_view path, bool abstract, int type,
                       std::uint32_t file_mode, std::function<void()>* cleanup,
                       std::string& why) noexcept {
  Fd fd(sys::socket(AF_UNIX, type | SOCK_NONBLOCK, 0));
  if (!fd) {
    why = describe_errno("socket", errno);
    return unexpected(errc_from_errno(errno));
  }
  if (!abstract) sys::fchmod(fd.get(), file_mode & 0777);
  if (Errc e = bind_path(fd.get(), path, abstract, address, type, why); e != Errc::ok) {
    return unexpected(e);
  }
  std::string file(path);
  struct stat st {};
  if (!abstract) {
    // bind applied the umask on top of our mode; set exactly what was asked.
    sys::chmod(file.c_str(), file_mode & 0777);
    ::stat(file.c_str(), &st);
  }
  if (sys::listen(fd.get(), 512) != 0) {
    why = describe_errno("listen", errno);
    if (!abstract) sys::unlink(file.c_str());
    return unexpected(errc_from_errno(errno));
  }
  if (!abstract && cleanup) {
    // Remove the file only if it is still the one we created (not a successor's).
    *cleanup = [file, dev = st.st_dev, ino = st.st_ino] {
      struct stat now {};
      if (::lstat(file.c_str(), &now) == 0 && now.st_dev == dev && now.st_ino == ino) {
        sys::unlink(file.c_str());
      }
    };
  }
  return fd;
}

Result<std::unique_ptr<Listener>> unix_listener(const Endpoint& bound, std::string_view name,
                                                bool abstract, int type,
                                                const ListenOptions& options, LinkFactory make_link,
                                                RefuseFn refuse, std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Listener>>(
      why, [&]() -> Result<std::unique_ptr<Listener>> {
        std::function<void()> cleanup;
        UnixAddress address = unix_address(name, abstract);
        auto fd = listen_unix(address, name, abstract, type, options.file_mode, &cleanup, why);
        if (!fd && fd.error() == Errc::address_in_use && abstract) {
          // No file to look at: ask the holder who it is.
          std::string holder = abstract_name_holder(address.sa(), address.len, type, bound.url());
          if (!holder.empty()) why = holder;
        }
        if (!fd) return unexpected(fd.error());
        auto peer_of = [scheme = bound.scheme, address = bound.url()](int conn) {
          return unix_peer(conn, scheme, address);
        };
        return std::unique_ptr<Listener>(std::make_unique<SocketListener>(
            std::move(*fd), bound, options.link, std::move(peer_of),
            uid_admission(abstract, options.allow_uids, refuse), std::move(cleanup), make_link));
      });
}

}  // namespace ipcx::transport
