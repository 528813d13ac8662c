// mq:// (transport layer): POSIX message queues. The server's queue "/NAME" carries only
// rendezvous records (wire/rendezvous.hpp); each client makes a private pair, "/NAME.<pid>.
// <serial>.c2s" and ".s2c", which the server opens and unlinks, then answers on s2c with a
// record of its own pid. One pair per client rather than one shared request queue: a client
// that floods its queue stalls nobody else, and nobody can put a request in another client's
// name. Messages travel as compact fragments (wire/compact_header.hpp), one per queue message,
// so a message larger than the queue's msgsize goes in pieces.
// Queues carry no hang-up, so each side watches the other's pidfd: readable when the peer
// exits, checked whenever a queue runs dry. The server's queue is flock()ed by the live server
// (a second bind gets address_in_use; a stale queue of a killed server is reused), and a client
// that finds no lock there is refused at once instead of waiting for its handshake deadline.
// Limits (docs/ARCHITECTURE.md): queues of one uid share RLIMIT_MSGQUEUE (819,200 bytes by
// default) and hold at most /proc/sys/fs/mqueue/msg_max messages (10) without privilege, so a
// private queue is 10 messages of 2 KiB: 16 clients take 32 such queues, 680 KiB.
#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <fstream>
#include <vector>

#include "core/errno_map.hpp"
#include "transport/address.hpp"
#include "transport/mechanism.hpp"
#include "transport/poll_set.hpp"
#include "transport/socket_stream.hpp"
#include "transport/test_hooks.hpp"
#include "wire/compact_header.hpp"
#include "wire/rendezvous.hpp"
#include "wire/zmtp.hpp"

namespace ipcx::transport {
namespace {

constexpr long kPrivateMessageBytes = 2048;  // per queue message: a header and 2,024 bytes
constexpr long kServerMessageBytes = 64;     // rendezvous records are 20 bytes
// The largest server-queue message size we accept in a queue that exists already.
constexpr long kLargestServerMessageBytes = 1024;
constexpr long kMaxAcceptedMessageBytes = 1 << 20;

long queue_depth() {
  static const long depth = [] {
    long v = 10;
    std::ifstream("/proc/sys/fs/mqueue/msg_max") >> v;
    return v < 1 ? 1 : (v > 10 ? 10 : v);
  }();
  return depth;
}

bool exited(int pidfd) noexcept {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

// mq_open's failures name the limit that stopped them, with its value.
std::string describe_mq_failure(const std::string& name, int err) {
  std::string what = "mq_open " + name + ": ";
  rlimit limit{};
  switch (err) {
    case EMFILE:
      ::getrlimit(RLIMIT_MSGQUEUE, &limit);
      return what + "the user's RLIMIT_MSGQUEUE (" + std::to_string(limit.rlim_cur) +
             " bytes for all its queues) or the process's descriptor limit is used up";
    case ENOSPC: {
      long max = 0;
      std::ifstream("/proc/sys/fs/mqueue/queues_max") >> max;
      return what + "the system's queue limit /proc/sys/fs/mqueue/queues_max (" +
             std::to_string(max) + ") is reached";
    }
    case EINVAL:
      return what + "queue size above /proc/sys/fs/mqueue/msg_max or msgsize_max";
    default:
      return describe_errno(what.c_str(), err);
  }
}

Errc mq_errc(int err) noexcept {
  return err == EMFILE || err == ENOSPC ? Errc::resource_exhausted : errc_from_errno(err);
}

Fd open_queue(const std::string& name, int flags, long msgsize = 0, unsigned mode = 0600) noexcept {
  mq_attr attr{};
  attr.mq_maxmsg = queue_depth();
  attr.mq_msgsize = msgsize;
  return Fd(sys::mq_open(name.c_str(), flags | O_NONBLOCK, mode, msgsize > 0 ? &attr : nullptr));
}

long message_bytes_of(int queue) noexcept {
  mq_attr attr{};
  return ::mq_getattr(queue, &attr) == 0 ? attr.mq_msgsize : -1;
}

// A queue's message size as a buffer size: 0 when unknown or beyond what we accept.
std::size_t buffer_bytes_of(int queue) noexcept {
  long bytes = message_bytes_of(queue);
  return bytes > 0 && bytes <= kMaxAcceptedMessageBytes ? static_cast<std::size_t>(bytes) : 0;
}

class MqLink final : public Link {
 public:
  MqLink(Fd in, Fd out, PollSet poller, PeerInfo peer, const LinkOptions& options, Fd peer_pidfd,
         std::vector<std::string> names)
      : in_(std::move(in)),
        out_(std::move(out)),
        poller_(std::move(poller)),
        peer_(std::move(peer)),
        options_(options),
        peer_pidfd_(std::move(peer_pidfd)),
        names_(std::move(names)),
        assembler_(options.max_message_size),
        opened_(Clock::now()),
        in_bytes_(buffer_bytes_of(in_.get())),
        out_bytes_(buffer_bytes_of(out_.get())),
        buffer_(in_bytes_),
        fragment_(out_bytes_) {}
  ~MqLink() override { close(); }

  int fd() const noexcept override { return poller_.fd(); }
  bool established() const noexcept override { return peer_pidfd_.valid(); }

  IoResult send(const Message& head, const Message& tail) noexcept override {
    if (!out_) return {Io::error, 0, Errc::peer_closed};
    if (head.bytes() + tail.bytes() > options_.max_message_size)
      return {Io::error, 0, Errc::message_too_large};
    if (queued_ >= options_.max_queued_bytes) return {Io::would_block};
    try {
      Outbound o;
      o.message.add_frames(head);
      o.message.add_frames(tail);
      o.payload = wire::payload_size(head, tail);
      queued_ += o.payload;
      outbound_.push_back(std::move(o));
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
    return {Io::ok, head.bytes() + tail.bytes()};
  }

  IoResult flush() noexcept override {
    std::size_t total = 0;
    while (!outbound_.empty()) {
      Outbound& o = outbound_.front();
      std::size_t before = o.sent;
      IoResult r = write_fragments(o.message, Message{}, o.payload, o.sent);
      total += o.sent - before;
      queued_ -= o.sent - before;
      if (r.status != Io::ok) return {r.status, total, r.error};
      outbound_.pop_front();
    }
    poller_.watch_writable(false);
    return {Io::ok, total};
  }

  bool wants_write() const noexcept override { return out_ && !outbound_.empty(); }
  std::size_t queued_bytes() const noexcept override { return queued_; }

  IoResult recv(Message& out) noexcept override {
    if (skip_read_) {
      // A message was just returned: rather than a receive that finds the queue dry, let the
      // owner's poll say whether more waits (the queue's readiness is level-triggered).
      skip_read_ = false;
      return {Io::would_block};
    }
    for (;;) {
      if (!in_) return {Io::closed, 0, Errc::peer_closed};
      ssize_t n = sys::mq_receive(in_.get(), buffer_.data(), buffer_.size());
      if (n < 0) {
        if (errno != EAGAIN) {
          fault_ = describe_errno("mq_receive", errno);
          return {Io::error, 0, errc_from_errno(errno)};
        }
        // Dry: only now does a peer that exited count, after all it sent was read.
        if (peer_pidfd_ && exited(peer_pidfd_.get())) {
          fault_ = "the peer process exited";
          return {Io::closed, 0, Errc::peer_closed};
        }
        return {Io::would_block};
      }
      std::span<const std::byte> got{buffer_.data(), static_cast<std::size_t>(n)};
      if (!established()) {
        if (auto r = welcome(got); r.status != Io::ok) return r;
        continue;
      }
      try {
        auto e = assembler_.feed(got, out);
        if (e == wire::CompactAssembler::Event::message) {
          skip_read_ = true;
          return {Io::ok, out.bytes()};
        }
        if (e == wire::CompactAssembler::Event::error) {
          fault_ = assembler_.error_detail();
          return {Io::error, 0, assembler_.error()};
        }
      } catch (const std::bad_alloc&) {
        fault_ = "out of memory while reading";
        return {Io::error, 0, Errc::resource_exhausted};
      }
    }
  }

  IoResult tick(Clock::time_point now) noexcept override {
    if (!established() && now - opened_ > options_.handshake_timeout) {
      fault_ = "no answer from the server within the handshake deadline";
      return {Io::error, 0, Errc::timeout};
    }
    return {Io::ok};
  }

  void close() noexcept override {
    in_.reset();
    out_.reset();
    unlink_names();
  }
  const PeerInfo& peer() const noexcept override { return peer_; }
  std::string_view fault() const noexcept override { return fault_; }

  // The server's side: say who we are, so the client can watch us.
  bool send_welcome(const wire::Rendezvous& r) noexcept {
    std::byte record[wire::kRendezvousSize];
    wire::write_rendezvous(record, {static_cast<std::uint32_t>(::getpid()), r.serial,
                                    static_cast<std::uint8_t>(options_.socket_type)});
    return sys::mq_send(out_.get(), record, sizeof record) == 0;
  }

  bool usable() const noexcept {
    return in_bytes_ > wire::kCompactHeaderSize && out_bytes_ > wire::kCompactHeaderSize;
  }

 private:
  struct Outbound {
    Message message;
    std::size_t payload = 0;
    std::size_t sent = 0;
  };

  // Sends payload bytes [sent, payload) of head's then tail's frames as fragments, one queue
  // message each, advancing `sent`: ok when all went, would_block when the queue is full.
  IoResult write_fragments(const Message& head, const Message& tail, std::size_t payload,
                           std::size_t& sent) noexcept {
    if (!out_) return {Io::closed, 0, Errc::peer_closed};
    std::size_t room = out_bytes_ - wire::kCompactHeaderSize;
    while (sent < payload) {
      std::size_t chunk = std::min(room, payload - sent);
      std::byte* frag = fragment_.data();
      wire::write_fragment_header(frag, payload, sent, chunk);
      wire::write_payload_range(frag + wire::kCompactHeaderSize, head, tail, sent, chunk);
      if (sys::mq_send(out_.get(), frag, wire::kCompactHeaderSize + chunk) != 0) {
        bool full = errno == EAGAIN;
        poller_.watch_writable(full);
        if (full) return {Io::would_block};
        fault_ = describe_errno("mq_send", errno);
        return {Io::error, 0, errc_from_errno(errno)};
      }
      sent += chunk;
    }
    return {Io::ok};
  }

  IoResult welcome(std::span<const std::byte> got) noexcept {
    auto r = wire::read_rendezvous(got);
    if (!r || got.size() != wire::kRendezvousSize) {
      fault_ = "the server's first message is not a rendezvous record";
      return {Io::error, 0, Errc::protocol_violation};
    }
    if (!wire::compatible(options_.socket_type, static_cast<wire::SocketType>(r->socket_type))) {
      fault_ = "the server's socket type cannot talk to ours";
      return {Io::error, 0, Errc::protocol_violation};
    }
    Fd pidfd(sys::pidfd_open(static_cast<pid_t>(r->pid)));
    if (!pidfd || !poller_.add_readable(pidfd.get())) {
      fault_ = "the server exited during the handshake";
      return {Io::closed, 0, Errc::peer_closed};
    }
    peer_.pid = static_cast<int>(r->pid);
    peer_pidfd_ = std::move(pidfd);
    unlink_names();  // the server holds both queues now
    return {Io::ok};
  }

  void unlink_names() noexcept {
    for (const auto& name : names_) ::mq_unlink(name.c_str());
    names_.clear();
  }

  Fd in_;
  Fd out_;
  PollSet poller_;
  PeerInfo peer_;
  LinkOptions options_;
  Fd peer_pidfd_;
  std::vector<std::string> names_;  // ours to unlink until the server has opened them
  wire::CompactAssembler assembler_;
  Clock::time_point opened_;
  std::size_t in_bytes_;
  std::size_t out_bytes_;
  std::vector<std::byte> buffer_;
  std::vector<std::byte> fragment_;
  std::deque<Outbound> outbound_;
  std::size_t queued_ = 0;
  bool skip_read_ = false;
  std::string fault_;
};

class MqListener final : public Listener {
 public:
  MqListener(Fd queue, std::string name, Endpoint bound, ListenOptions options) noexcept
      : queue_(std::move(queue)),
        name_(std::move(name)),
        bound_(std::move(bound)),
        options_(std::move(options)) {}
  ~MqListener() override { close(); }
  int fd() const noexcept override { return queue_.get(); }
  const Endpoint& bound() const noexcept override { return bound_; }

  Result<std::unique_ptr<Link>> accept() noexcept override {
    std::string why;
    return without_throwing<std::unique_ptr<Link>>(why, [&]() -> Result<std::unique_ptr<Link>> {
      std::byte record[kLargestServerMessageBytes];
      ssize_t n = sys::mq_receive(queue_.get(), record, sizeof record);
      if (n < 0) {
        if (errno == EAGAIN) return unexpected(Errc::would_block);
        // EMSGSIZE: the queue was made by someone else with larger messages: not ours to read.
        return unexpected(errc_from_errno(errno));
      }
      auto hello = wire::read_rendezvous({record, static_cast<std::size_t>(n)});
      if (!hello || n != static_cast<ssize_t>(wire::kRendezvousSize))
        return unexpected(Errc::protocol_violation);
      return open_client(*hello);
    });
  }

  void close() noexcept override {
    if (!queue_) return;
    // Unlink the name only while it is still our queue.
    Fd current(sys::mq_open(name_.c_str(), O_RDONLY | O_NONBLOCK, 0, nullptr));
    struct stat a {
    }, b{};
    if (current && ::fstat(current.get(), &a) == 0 && ::fstat(queue_.get(), &b) == 0 &&
        a.st_ino == b.st_ino)
      ::mq_unlink(name_.c_str());
    queue_.reset();
  }

 private:
  Result<std::unique_ptr<Link>> open_client(const wire::Rendezvous& hello) {
    wire::PrivateNames names = wire::private_names(name_, hello);
    Fd from_client = open_queue(names.c2s, O_RDONLY);
    Fd to_client = open_queue(names.s2c, O_WRONLY);
    ::mq_unlink(names.c2s.c_str());
    ::mq_unlink(names.s2c.c_str());
    if (!from_client || !to_client) return unexpected(Errc::refused);  // gone, or a stale record
    struct stat st {};
    ::fstat(from_client.get(), &st);
    const auto& allowed = options_.allow_uids;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), st.st_uid) == allowed.end())
      return unexpected(Errc::permission_denied);
    Fd pidfd(sys::pidfd_open(static_cast<pid_t>(hello.pid)));
    if (!pidfd) return unexpected(Errc::refused);
    std::string why;
    auto poller = PollSet::make({from_client.get(), pidfd.get()}, to_client.get(), why);
    if (!poller) return unexpected(Errc::resource_exhausted);
    PeerInfo peer;
    peer.mechanism = "mq";
    peer.pid = static_cast<int>(hello.pid);
    peer.uid = static_cast<int>(st.st_uid);
    peer.gid = static_cast<int>(st.st_gid);
    peer.address = bound_.url();
    auto link = std::make_unique<MqLink>(std::move(from_client), std::move(to_client),
                                         std::move(*poller), std::move(peer), options_.link,
                                         std::move(pidfd), std::vector<std::string>{});
    if (!link->usable()) return unexpected(Errc::protocol_violation);
    if (!link->send_welcome(hello)) return unexpected(Errc::refused);
    // A pair that cannot talk (a PUSH calling a server) learns it from our welcome; we close.
    if (!wire::compatible(options_.link.socket_type,
                          static_cast<wire::SocketType>(hello.socket_type)))
      return unexpected(Errc::protocol_violation);
    return std::unique_ptr<Link>(std::move(link));
  }

  Fd queue_;
  std::string name_;
  Endpoint bound_;
  ListenOptions options_;
};

Result<std::unique_ptr<Listener>> listen_mq(const Endpoint& ep, const ListenOptions& options,
                                            std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Listener>>(
      why, [&]() -> Result<std::unique_ptr<Listener>> {
        std::string name = "/" + ep.path;
        mq_attr attr{};
        attr.mq_maxmsg = queue_depth();
        attr.mq_msgsize = kServerMessageBytes;
        Fd queue(
            sys::mq_open(name.c_str(), O_CREAT | O_RDONLY | O_NONBLOCK, options.file_mode, &attr));
        if (!queue) {
          why = describe_mq_failure(name, errno);
          return unexpected(mq_errc(errno));
        }
        if (::flock(queue.get(), LOCK_EX | LOCK_NB) != 0) {
          why = "a live server holds the queue " + name;
          return unexpected(Errc::address_in_use);
        }
        long bytes = message_bytes_of(queue.get());
        if (bytes < static_cast<long>(wire::kRendezvousSize) ||
            bytes > kLargestServerMessageBytes) {
          why = "the queue " + name + " exists with messages of " + std::to_string(bytes) +
                " bytes: not an ipcx server queue";
          return unexpected(Errc::address_in_use);
        }
        ::fchmod(queue.get(), options.file_mode);  // the umask applied; a reused queue kept its
        return std::unique_ptr<Listener>(
            std::make_unique<MqListener>(std::move(queue), std::move(name), ep, options));
      });
}

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
    ::fstat(server.get(), &server_st);
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
    struct stat st {};
    if (::fstat(server.get(), &st) == 0) peer.uid = static_cast<int>(st.st_uid);
    auto link = std::make_unique<MqLink>(std::move(ends[1]), std::move(ends[0]), std::move(*poller),
                                         std::move(peer), options, Fd{}, std::move(made));
    return std::unique_ptr<Link>(std::move(link));
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
  m.listen = &listen_mq;
  m.dial = &dial_mq;
  return m;
}

}  // namespace ipcx::transport
