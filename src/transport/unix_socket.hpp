// Unix-domain socket plumbing (transport layer) shared by unix:// (stream sockets carrying ZMTP)
// and shm:// (a seqpacket socket for the rendezvous and as the liveness channel): addresses,
// peer credentials, uid admission, and listening with owner-only files and stale-file reuse.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <functional>
#include <string>
#include <string_view>

#include "core/fd.hpp"
#include "transport/link.hpp"
#include "transport/socket_stream.hpp"

namespace ipcx::transport {

struct UnixAddress {
  sockaddr_un addr{};
  socklen_t len = 0;
  const sockaddr* sa() const noexcept { return reinterpret_cast<const sockaddr*>(&addr); }
};

// The caller has bounded the name (the endpoint parser does): path <= 107, abstract <= 106.
UnixAddress unix_address(std::string_view name, bool abstract) noexcept;

// pid, uid and gid from SO_PEERCRED; `address` is what PeerInfo reports.
PeerInfo unix_peer(int fd, std::string_view mechanism, const std::string& address) noexcept;

// Tells a peer, on its just-accepted socket, that its credentials are refused, in the
// mechanism's own terms, so it can report permission_denied rather than a bare close.
// Best effort: one non-blocking send.
using RefuseFn = void (*)(int fd) noexcept;

// Reads (and drops) what the peer has already sent on a socket we are about to close: closing
// a Unix socket with unread data makes the peer's next read fail with ECONNRESET, before it
// gets to what we sent it last (our refusal).
void discard_unread(int fd) noexcept;

// Admits peers whose uid is listed; with no list, anyone on a path socket (its file mode
// decides) and only our own euid on an abstract one (it has no file mode). nullptr: admit all.
// A refused peer is told so through `refuse` first, when given.
AdmitFn uid_admission(bool abstract, const std::vector<std::uint32_t>& allow_uids,
                      RefuseFn refuse = nullptr);

// The refusal of a ZMTP peer: our greeting and an ERROR command saying "permission denied".
void refuse_zmtp(int fd) noexcept;

// A listening socket of `type` on the address: the file (if any) created with `file_mode`, a
// stale file of a dead server replaced, a live one refused with address_in_use. *cleanup
// receives what removes the file on close (only if it is still ours).
Result<Fd> listen_unix(const UnixAddress& address, std::string_view path, bool abstract, int type,
                       std::uint32_t file_mode, std::function<void()>* cleanup,
                       std::string& why) noexcept;

// A Listener on a Unix socket of `type` at name/abstract: listen_unix() above, peers described
// as `scheme` at bound's URL, uid admission per options, accepted sockets made into links by
// make_link. Shared by unix:// (stream, ZMTP) and shm:// (seqpacket rendezvous).
Result<std::unique_ptr<Listener>> unix_listener(const Endpoint& bound, std::string_view name,
                                                bool abstract, int type,
                                                const ListenOptions& options, LinkFactory make_link,
                                                RefuseFn refuse, std::string& why) noexcept;

}  // namespace ipcx::transport
