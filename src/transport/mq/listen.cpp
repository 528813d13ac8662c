// mq:// server side (transport layer): the server queue, flock()ed by the live server (a second
// bind gets address_in_use; a stale queue of a killed server is reused), and accepting a
// client's private pair from its rendezvous record.
#include <fcntl.h>
#include <mqueue.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "core/errno_map.hpp"
#include "transport/faults.hpp"
#include "transport/mq/mq.hpp"
#include "wire/socket_type.hpp"

namespace ipcx::transport::mq {
namespace {

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
    auto link = make_link(std::move(from_client), std::move(to_client), std::move(*poller),
                          std::move(peer), options_.link, std::move(pidfd), {});
    if (Errc e = welcome_client(*link, hello); e != Errc::ok) return unexpected(e);
    // A pair that cannot talk (a PUSH calling a server) learns it from our welcome; we close.
    if (!wire::compatible(options_.link.socket_type,
                          static_cast<wire::SocketType>(hello.socket_type)))
      return unexpected(Errc::protocol_violation);
    return link;
  }

  Fd queue_;
  std::string name_;
  Endpoint bound_;
  ListenOptions options_;
};

}  // namespace

Result<std::unique_ptr<Listener>> listen(const Endpoint& ep, const ListenOptions& options,
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

}  // namespace ipcx::transport::mq
