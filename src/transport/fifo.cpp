// pipe:// (transport layer): unrelated processes over named FIFOs, ZMTP over a private pair of
// FIFOs per client. The server's well-known FIFO only carries 20-byte rendezvous records
// (wire/rendezvous.hpp). Open order, chosen so that no open blocks and none fails with ENXIO:
//   client: mkfifo c2s and s2c; open s2c for reading, then s2c for writing (a placeholder, so
//           s2c does not read as end-of-file before the server holds it); open c2s for reading
//           (a placeholder, so the next open finds a reader), then c2s for writing; write the
//           record into the server's FIFO.
//   server: open c2s for reading (never blocks non-blocking), then s2c for writing (the client
//           reads it already: no ENXIO, and ENXIO there means the client is gone); unlink both
//           names; send the ZMTP greeting.
//   client: at the first bytes from s2c the server holds both ends, so it closes its
//           placeholders and unlinks the names too (whoever comes first).
// After that, end-of-file and EPIPE mean what they mean on a socket. The server's FIFO is held
// O_RDWR (it never reads end-of-file when the last client closes) and flock()ed: a live
// server's lock makes a second bind fail with address_in_use, and a stale FIFO of a killed
// server is reused. FIFOs carry no credentials: the file modes decide who may connect; the uid
// reported for a peer is the owner of the FIFO it created, the pid is what it claimed.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <string>

#include "core/errno_map.hpp"
#include "transport/address.hpp"
#include "transport/faults.hpp"
#include "transport/mechanism.hpp"
#include "transport/pipe_stream.hpp"
#include "transport/server_identity.hpp"
#include "transport/stream_link.hpp"
#include "transport/test_hooks.hpp"
#include "wire/rendezvous.hpp"

namespace ipcx::transport {
namespace {

Fd open_fifo(const std::string& path, int flags) noexcept {
  return Fd(sys::open(path.c_str(), flags | O_NONBLOCK | O_NOFOLLOW));
}

bool is_fifo(int fd, struct stat* st) noexcept {
  return ::fstat(fd, st) == 0 && S_ISFIFO(st->st_mode);
}

// Private FIFOs left by clients killed before their server opened them: "<base>.<pid>.<serial>.
// c2s|s2c" whose pid is gone.
void sweep_dead_clients(const std::string& server_path) {
  auto slash = server_path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : server_path.substr(0, slash + 1);
  std::string base = server_path.substr(slash == std::string::npos ? 0 : slash + 1) + ".";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind(base, 0) != 0) continue;
    std::string rest = name.substr(base.size());
    if (rest.size() < 4 ||
        (rest.substr(rest.size() - 4) != ".c2s" && rest.substr(rest.size() - 4) != ".s2c"))
      continue;
    long pid = std::strtol(rest.c_str(), nullptr, 10);
    bool dead = pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    if (!dead) continue;
    struct stat st {};
    std::string full = (slash == std::string::npos ? "" : dir) + name;
    if (::lstat(full.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) ::unlink(full.c_str());
  }
  ::closedir(d);
}

class FifoListener final : public Listener {
 public:
  FifoListener(Fd fd, dev_t dev, ino_t ino, Endpoint bound, ListenOptions options) noexcept
      : fd_(std::move(fd)),
        dev_(dev),
        ino_(ino),
        bound_(std::move(bound)),
        options_(std::move(options)) {}
  ~FifoListener() override { close(); }
  int fd() const noexcept override { return fd_.get(); }
  const Endpoint& bound() const noexcept override { return bound_; }

  Result<std::unique_ptr<Link>> accept() noexcept override {
    std::string why;
    return without_throwing<std::unique_ptr<Link>>(why, [&]() -> Result<std::unique_ptr<Link>> {
      if (waiting_.empty()) {
        std::uint64_t garbage_before = scanner_.garbage_bytes();
        std::byte chunk[4096];
        ssize_t n = sys::read(fd_.get(), chunk, sizeof chunk);
        if (n <= 0)
          return unexpected(n < 0 && errno != EAGAIN ? errc_from_errno(errno) : Errc::would_block);
        std::vector<wire::Rendezvous> found;
        scanner_.feed({chunk, static_cast<std::size_t>(n)}, found);
        waiting_.insert(waiting_.end(), found.begin(), found.end());
        // Garbage is the writer's fault: reported once per read as a protocol violation.
        if (scanner_.garbage_bytes() != garbage_before) return unexpected(Errc::protocol_violation);
        if (waiting_.empty()) return unexpected(Errc::would_block);
      }
      wire::Rendezvous hello = waiting_.front();
      waiting_.pop_front();
      return open_client(hello);
    });
  }

  void close() noexcept override {
    if (!fd_) return;
    // Remove the name only if it is still our FIFO (a later server may have replaced it).
    struct stat st {};
    if (::lstat(bound_.path.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
      sys::unlink(bound_.path.c_str());
    fd_.reset();
  }

 private:
  Result<std::unique_ptr<Link>> open_client(const wire::Rendezvous& hello) {
    wire::PrivateNames names = wire::private_names(bound_.path, hello);
    Fd from_client = open_fifo(names.c2s, O_RDONLY);
    struct stat st {};
    if (!from_client || !is_fifo(from_client.get(), &st)) {
      // A stale record, or a name that is not a FIFO: nobody to talk to.
      return unexpected(from_client ? Errc::protocol_violation : Errc::refused);
    }
    Fd to_client = open_fifo(names.s2c, O_WRONLY);
    sys::unlink(names.c2s.c_str());
    sys::unlink(names.s2c.c_str());
    struct stat out_st {};
    if (!to_client || !is_fifo(to_client.get(), &out_st)) return unexpected(Errc::refused);
    const auto& allowed = options_.allow_uids;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), st.st_uid) == allowed.end())
      return unexpected(Errc::permission_denied);
    PeerInfo peer;
    peer.mechanism = "pipe";
    peer.pid = static_cast<int>(hello.pid);
    peer.uid = static_cast<int>(st.st_uid);
    peer.gid = static_cast<int>(st.st_gid);
    peer.address = bound_.path;
    std::string why;
    auto stream =
        PipeStream::make(std::move(from_client), std::move(to_client), std::move(peer), why);
    if (!stream) return unexpected(Errc::resource_exhausted);
    return make_stream_link(std::move(stream), options_.link);
  }

  Fd fd_;
  dev_t dev_;
  ino_t ino_;
  Endpoint bound_;
  ListenOptions options_;
  wire::RendezvousScanner scanner_;
  std::deque<wire::Rendezvous> waiting_;
};

Result<std::unique_ptr<Listener>> listen_fifo(const Endpoint& ep, const ListenOptions& options,
                                              std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Listener>>(
      why, [&]() -> Result<std::unique_ptr<Listener>> {
        const std::string& path = ep.path;
        if (sys::mkfifo(path.c_str(), options.file_mode) != 0 && errno != EEXIST) {
          why = describe_errno(("mkfifo " + path).c_str(), errno);
          return unexpected(errc_from_errno(errno));
        }
        Fd fd = open_fifo(path, O_RDWR);
        struct stat st {};
        if (!fd) {
          why = describe_errno(("open " + path).c_str(), errno);
          return unexpected(errno == ELOOP ? Errc::address_in_use : errc_from_errno(errno));
        }
        if (!is_fifo(fd.get(), &st)) {
          why = path + " exists and is not a FIFO";
          return unexpected(Errc::address_in_use);
        }
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
          why = "a live server holds " + path;
          return unexpected(Errc::address_in_use);
        }
        // mkfifo's mode passed through the umask; a reused FIFO kept its old mode.
        sys::fchmod(fd.get(), options.file_mode);
        sweep_dead_clients(path);
        return std::unique_ptr<Listener>(
            std::make_unique<FifoListener>(std::move(fd), st.st_dev, st.st_ino, ep, options));
      });
}

std::atomic<std::uint32_t> g_serial{0};

Result<std::unique_ptr<Link>> dial_fifo(const Endpoint& ep, const LinkOptions& options,
                                        std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Link>>(why, [&]() -> Result<std::unique_ptr<Link>> {
    wire::Rendezvous hello{static_cast<std::uint32_t>(::getpid()), ++g_serial,
                           static_cast<std::uint8_t>(options.socket_type)};
    wire::PrivateNames names = wire::private_names(ep.path, hello);
    auto fail = [&](Errc code, std::string detail) -> Result<std::unique_ptr<Link>> {
      sys::unlink(names.c2s.c_str());
      sys::unlink(names.s2c.c_str());
      why = std::move(detail);
      return unexpected(code);
    };
    // The server's FIFO first: whether anyone serves, and whether we may write to it.
    Fd server = open_fifo(ep.path, O_WRONLY);
    if (!server) {
      int err = errno;
      // ENXIO: the FIFO exists but nobody reads it (its server was killed).
      why = describe_errno(("open " + ep.path).c_str(), err);
      return unexpected(err == ENXIO || err == ENOENT ? Errc::refused : errc_from_errno(err));
    }
    struct stat st {};
    if (!is_fifo(server.get(), &st)) {
      why = ep.path + " is not a FIFO";
      return unexpected(Errc::bad_endpoint);
    }
    // Whoever made the FIFO serves it: it must be someone we expect before it hears from us.
    if (Errc e = check_server_uid(static_cast<int>(st.st_uid), NameOwner::ours_or_root, options,
                                  ep.url(), why);
        e != Errc::ok) {
      return unexpected(e);
    }
    // Our FIFOs are as open as the server's: owner-only for an owner-only server, readable and
    // writable by the others it admits otherwise, so a server of another uid can open them.
    unsigned mode = 0600 | (st.st_mode & 0066);
    for (const auto* name : {&names.c2s, &names.s2c}) {
      // A name of a dead process that had our pid is stale: replace it.
      if (sys::mkfifo(name->c_str(), mode) != 0 &&
          (errno != EEXIST || sys::unlink(name->c_str()) != 0 ||
           sys::mkfifo(name->c_str(), mode) != 0))
        return fail(errc_from_errno(errno), describe_errno(("mkfifo " + *name).c_str(), errno));
      sys::chmod(name->c_str(), mode);  // past the umask
    }
    Fd from_server = open_fifo(names.s2c, O_RDONLY);
    Fd s2c_placeholder = open_fifo(names.s2c, O_WRONLY);
    Fd c2s_placeholder = open_fifo(names.c2s, O_RDONLY);
    Fd to_server = open_fifo(names.c2s, O_WRONLY);
    if (!from_server || !s2c_placeholder || !c2s_placeholder || !to_server)
      return fail(errc_from_errno(errno), describe_errno("open of our own FIFOs", errno));
    std::byte record[wire::kRendezvousSize];
    wire::write_rendezvous(record, hello);
    ssize_t n = write_without_sigpipe(server.get(), record, sizeof record, sigpipe_ignored());
    if (n != static_cast<ssize_t>(sizeof record)) {
      return fail(Errc::refused, n < 0 && errno == EAGAIN
                                     ? ep.path + ": the server's FIFO is full"
                                     : describe_errno(("write " + ep.path).c_str(), errno));
    }
    PeerInfo peer;
    peer.mechanism = "pipe";
    peer.uid = static_cast<int>(st.st_uid);
    peer.address = ep.path;
    auto stream =
        PipeStream::make(std::move(from_server), std::move(to_server), std::move(peer), why);
    if (!stream) return fail(Errc::resource_exhausted, why);
    stream->hold_until_first_read(std::move(s2c_placeholder), std::move(c2s_placeholder),
                                  {names.c2s, names.s2c});
    return make_stream_link(std::move(stream), options);
  });
}

constexpr std::size_t kMaxFifoPath = 4000;  // client FIFO names add a suffix under PATH_MAX

std::string parse_fifo(std::string_view rest, Endpoint& ep) {
  return address::parse_path(rest, ep, kMaxFifoPath, "the FIFO path");
}

std::string private_fifo_url(const std::string& dir, const std::string& tag) {
  return "pipe://" + dir + "/" + tag + ".fifo";
}

// The server's FIFO, and the client pairs made next to it ("<server>.<pid>.<serial>.c2s").
std::vector<std::string> fifo_leftovers(const std::string& dir, const std::string& tag) {
  std::vector<std::string> left;
  std::string server = tag + ".fifo";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return left;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == server || name.rfind(server + ".", 0) == 0) left.push_back(dir + "/" + name);
  }
  ::closedir(d);
  return left;
}

void remove_stale_fifo(const Endpoint& ep) { ::unlink(ep.path.c_str()); }

}  // namespace

Mechanism fifo_mechanism() {
  Mechanism m;
  m.info.scheme = "pipe";
  m.info.summary = "unrelated processes with only a path; no sockets";
  m.info.caps.request_reply = m.info.caps.push_pull = m.info.caps.publish_subscribe = true;
  m.info.caps.lossless_publish = true;
  m.info.private_url = &private_fifo_url;
  m.info.leftovers = &fifo_leftovers;
  m.info.remove_stale = &remove_stale_fifo;
  m.parse = &parse_fifo;
  m.format = &address::format_path;
  m.listen = &listen_fifo;
  m.dial = &dial_fifo;
  return m;
}

}  // namespace ipcx::transport
