// unix:// and ipc:// (transport layer): Unix domain stream sockets, path or abstract (@name),
// carrying ZMTP. Files, stale-file reuse and credentials come from unix_socket.cpp.
#include <sys/stat.h>
#include <unistd.h>

#include "transport/address.hpp"
#include "transport/mechanism.hpp"
#include "transport/server_identity.hpp"
#include "transport/socket_stream.hpp"
#include "transport/test_hooks.hpp"
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
    PeerInfo peer = unix_peer(fd->get(), "unix", ep.url());
    // An abstract name has no file mode: anyone may have bound it first.
    if (ep.abstract) {
      Errc e = check_server_uid(peer.uid, NameOwner::ours_or_root, options, ep.url(), why);
      if (e != Errc::ok) return unexpected(e);
    }
    return socket_link(std::move(*fd), std::move(peer), options);
  });
}

// A path, or @NAME for an abstract socket (nothing on disk).
std::string parse_unix(std::string_view rest, Endpoint& ep) {
  if (!rest.empty() && rest.front() == '@') {
    ep.abstract = true;
    return address::parse_path(rest.substr(1), ep, address::kMaxUnixPath - 1,
                               "the abstract socket name");
  }
  return address::parse_path(rest, ep, address::kMaxUnixPath, "the socket path");
}

std::string format_unix(const Endpoint& ep) { return (ep.abstract ? "@" : "") + ep.path; }

std::string private_unix_url(const std::string& dir, const std::string& tag) {
  return "unix://" + dir + "/" + tag + ".sock";
}

std::vector<std::string> unix_leftovers(const std::string& dir, const std::string& tag) {
  std::string file = dir + "/" + tag + ".sock";
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) return {};
  return {file};
}

// A killed server's socket file, which the next bind would find stale and replace.
void remove_stale_socket(const Endpoint& ep) {
  struct stat st {};
  if (!ep.abstract && ::lstat(ep.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
    ::unlink(ep.path.c_str());
}

}  // namespace

Mechanism unix_mechanism() {
  Mechanism m;
  m.info.scheme = "unix";
  m.info.aliases = "ipc";
  m.info.summary = "local, with peer credentials; libzmq speaks it";
  m.info.caps.request_reply = m.info.caps.push_pull = m.info.caps.publish_subscribe = true;
  m.info.caps.lossless_publish = true;
  m.info.caps.credentials = true;
  m.info.caps.zeromq = true;
  m.info.private_url = &private_unix_url;
  m.info.leftovers = &unix_leftovers;
  m.info.remove_stale = &remove_stale_socket;
  m.parse = &parse_unix;
  m.format = &format_unix;
  m.listen = &listen_unix_stream;
  m.dial = &dial_unix_stream;
  return m;
}

}  // namespace ipcx::transport
