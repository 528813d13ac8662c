// mq:// (transport layer): what the files of this folder share. A POSIX message queue server's
// queue "/NAME" carries only rendezvous records (wire/rendezvous.hpp); each client makes a
// private pair, "/NAME.<pid>.<serial>.c2s" and ".s2c", which the server opens and unlinks, then
// answers on s2c with a record of its own pid. One pair per client rather than one shared
// request queue: a client that floods its queue stalls nobody else, and nobody can put a request
// in another client's name. Messages travel as compact fragments, one per queue message.
// Queues carry no hang-up, so each side watches the other's pidfd. Limits (docs/ARCHITECTURE.md):
// queues of one uid share RLIMIT_MSGQUEUE and hold at most /proc/sys/fs/mqueue/msg_max messages.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "transport/link.hpp"
#include "transport/poll_set.hpp"
#include "wire/rendezvous.hpp"

namespace ipcx::transport::mq {

inline constexpr long kPrivateMessageBytes = 2048;  // per queue message: a header and 2,024 B
inline constexpr long kServerMessageBytes = 64;     // rendezvous records are 20 bytes
// The largest server-queue message size we accept in a queue that exists already.
inline constexpr long kLargestServerMessageBytes = 1024;
inline constexpr long kMaxAcceptedMessageBytes = 1 << 20;

// Messages a queue holds: /proc/sys/fs/mqueue/msg_max, at most 10 (read once).
long queue_depth();
// mq_open's failures name the limit that stopped them, with its value.
std::string describe_mq_failure(const std::string& name, int err);
Errc mq_errc(int err) noexcept;
Fd open_queue(const std::string& name, int flags, long msgsize = 0, unsigned mode = 0600) noexcept;
long message_bytes_of(int queue) noexcept;

// A link over a queue pair. `peer_pidfd` is the server's (null on the client until the
// server's welcome names it); `names` are queues to unlink if we go before the server has them.

std::unique_ptr<Link> make_link(Fd in, Fd out, PollSet poller, PeerInfo peer,
                                const LinkOptions& options, Fd peer_pidfd,
                                std::vector<std::string> names);
// The server's side of a new link: its welcome (our pid) on the client's s2c queue. refused
// when it could not be sent, protocol_violation when the queues are unusable (not ours).
Errc welcome_client(Link& link, const wire::Rendezvous& hello) noexcept;

Result<std::unique_ptr<Listener>> listen(const Endpoint& ep, const ListenOptions& options,
                                         std::string& why) noexcept;

}  // namespace ipcx::transport::mq
