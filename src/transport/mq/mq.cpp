// mq:// (transport layer): POSIX message queues. This file: the descriptor and the client side. The
// server's queue "/NAME" carries only rendezvous records (wire/rendezvous.hpp); each client makes a
// private pair, "/NAME.<pid>. <serial>.c2s" and ".s2c", which the server opens and unlinks, then
// answers on s2c with a record of its own pid. One pair per client rather than one shared request
// queue: a client that floods its queue stalls nobody else, and nobody can put a request in another
// client's name. Messages travel as compact fragments (wire/compact_header.hpp), one per queue
// message, so a message larger than the queue's msgsize goes in pieces. Queues carry no hang-up, so
// each side watches the other's pidfd: readable when the peer exits, checked whenever a queue runs
// dry. The server's queue is flock()ed by the live server (a second bind gets address_in_use; a
// stale queue of a killed server is reused), and a client that finds no lock there is refused at
// once instead of waiting for its handshake deadline. Limits (docs/ARCHITECTURE.md): queues of one
// uid share RLIMIT_MSGQUEUE (819,200 bytes by default) and hold at most /proc/sys/fs/mqueue/msg_max
// messages (10) without privilege, so a private queue is 10 messages of 2 KiB: 16 clients take 32
// such queues, 680 KiB.
#include "transport/mq/mq.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "core/errno_map.hpp"
#include "transport/address.hpp"
#include "transport/faults.hpp"
#include "transport/mechanism.hpp"
#include "transport/server_identity.hpp"
#include "transport/test_hooks.hpp"

namespace ipcx::transport {
namespace {

using namespace mq;

std::atomic<std::uint32_t> g_serial{0};

Result<std::unique_ptr<Link>> dial_mq(const Endpoint& ep, const LinkOptions& options,
                                      std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Link>>(why, [&]() -> Result<std::unique_ptr<Link>> {
    std::string server_name = "/" + ep.path;
    Fd server(sys::mq_open(server_name.c_str(), O_WRONLY | O_NONBLOCK, 0, nullptr));
    if (!server) {
      why = errno == ENOENT ? "no server queue " + server_name
                            : describe_mq_failure(server_name, errno);
      return unexpected(errno == ENOENT ? Errc::refused : mq_errc(errno));
    }
    // A queue nobody holds the lock of is a killed server's: refuse now, not at the deadline.
    if (::flock(server.get(), LOCK_SH | LOCK_NB) == 0) {
      why = "the queue " + server_name + " has no live server";
      return unexpected(Errc::refused);
    }
    // Our queues are as open as the server's (see fifo.cpp): a server of another uid that
    // admits us can open them.
    struct stat server_st {};
    int owner = ::fstat(server.get(), &server_st) == 0 ? static_cast<int>(server_st.st_uid) : -1;
    // A queue name is anyone's to take: its owner must be someone we expect before it hears
    // from us.
    if (Errc e = check_server_uid(owner, NameOwner::ours_or_root, options, ep.url(), why);
        e != Errc::ok) {
      return unexpected(e);
    }
    unsigned mode = 0600 | (server_st.st_mode & 0066);
    wire::Rendezvous hello{static_cast<std::uint32_t>(::getpid()), ++g_serial,
                           static_cast<std::uint8_t>(options.socket_type)};
    wire::PrivateNames names = wire::private_names(server_name, hello);
    std::vector<std::string> made;
    auto fail = [&](Errc code, std::string detail) -> Result<std::unique_ptr<Link>> {
      for (const auto& name : made) ::mq_unlink(name.c_str());
      why = std::move(detail);
      return unexpected(code);
    };
    Fd ends[2];
    const std::string* queue_names[2] = {&names.c2s, &names.s2c};
    for (int i = 0; i < 2; ++i) {
      const std::string& name = *queue_names[i];
      int flags = (i == 0 ? O_WRONLY : O_RDONLY) | O_CREAT | O_EXCL;
      ends[i] = open_queue(name, flags, kPrivateMessageBytes, mode);
      if (!ends[i] && errno == EEXIST) {  // left by a dead process that had our pid
        ::mq_unlink(name.c_str());
        ends[i] = open_queue(name, flags, kPrivateMessageBytes, mode);
      }
      if (!ends[i]) return fail(mq_errc(errno), describe_mq_failure(name, errno));
      made.push_back(name);
      ::fchmod(ends[i].get(), mode);  // past the umask
    }
    std::byte record[wire::kRendezvousSize];
    wire::write_rendezvous(record, hello);
    if (sys::mq_send(server.get(), record, sizeof record) != 0) {
      return fail(Errc::refused, errno == EAGAIN ? "the server's queue is full"
                                                 : describe_errno("mq_send", errno));
    }
    auto poller = PollSet::make({ends[1].get()}, ends[0].get(), why);
    if (!poller) return fail(Errc::resource_exhausted, why);
    PeerInfo peer;
    peer.mechanism = "mq";
    peer.address = ep.url();
    peer.uid = owner;
    return make_link(std::move(ends[1]), std::move(ends[0]), std::move(*poller), std::move(peer),
                     options, Fd{}, std::move(made));
  });
}

constexpr std::size_t kMaxQueueName = 200;  // NAME_MAX 255 less the private queues' suffix

std::string parse_mq(std::string_view rest, Endpoint& ep) {
  return address::parse_name(rest, ep, kMaxQueueName, "the queue name");
}

std::string private_mq_url(const std::string& dir, const std::string& tag) {
  return "mq://" + test_hooks::private_name(dir, tag);
}

// The server's queue "/NAME" and the private ones "/NAME.<pid>.<serial>.c2s|s2c": those still
// in the mqueue filesystem, where it is mounted (at /dev/mqueue; else the server's queue alone is
// looked for).
std::vector<std::string> mq_leftovers(const std::string& dir, const std::string& tag) {
  std::vector<std::string> left;
  std::string server = test_hooks::private_name(dir, tag);
  DIR* d = ::opendir("/dev/mqueue");
  if (d == nullptr) {
    Fd q(sys::mq_open(("/" + server).c_str(), O_RDONLY | O_NONBLOCK, 0, nullptr));
    if (q) left.push_back("queue /" + server);
    return left;
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == server || name.rfind(server + ".", 0) == 0) left.push_back("/dev/mqueue/" + name);
  }
  ::closedir(d);
  return left;
}

void remove_stale_queue(const Endpoint& ep) { ::mq_unlink(("/" + ep.path).c_str()); }

}  // namespace

Mechanism mq_mechanism() {
  Mechanism m;
  m.info.scheme = "mq";
  m.info.summary = "kernel-held queues of small messages";
  // No publish/subscribe: a queue holds ten messages, so a publisher could only drop nearly
  // everything or wait behind every subscriber.
  m.info.caps.request_reply = m.info.caps.push_pull = true;
  m.info.caps.boundaries = Boundaries::message;
  m.info.private_url = &private_mq_url;
  m.info.leftovers = &mq_leftovers;
  m.info.remove_stale = &remove_stale_queue;
  m.parse = &parse_mq;
  m.format = &address::format_path;
  m.listen = &mq::listen;
  m.dial = &dial_mq;
  return m;
}

}  // namespace ipcx::transport
