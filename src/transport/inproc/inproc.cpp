// inproc:// (transport layer): ZeroMQ's in-process transport, between threads of one process.
// A bound name lives in a table of this process; a client dialling it checks the socket types
// as a handshake would, makes a Channel and leaves it with the listener, whose fd (an eventfd)
// is then readable. The client may send at once: its messages wait in the channel until the
// server accepts it. Nothing touches the kernel but the doorbells of sleepers: messages are
// moved from one thread's Message to the other's.
#include <sys/eventfd.h>
#include <unistd.h>

#include <deque>
#include <map>
#include <mutex>

#include "core/errno_map.hpp"
#include "transport/address.hpp"
#include "transport/faults.hpp"
#include "transport/inproc/inproc_link.hpp"
#include "transport/mechanism.hpp"
#include "transport/test_hooks.hpp"

namespace ipcx::transport {
namespace {

using inproc::Channel;
using inproc::Side;

constexpr std::size_t kMaxName = 200;

// What a bound name and its listener share: the channels waiting to be accepted.
struct Doorstep {
  std::mutex mutex;
  std::deque<std::shared_ptr<Channel>> waiting;
  Fd ready;  // an eventfd, readable while channels wait
  wire::SocketType type = wire::SocketType::router;
  bool open = true;
};

// The names bound in this process.
struct Names {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Doorstep>, std::less<>> bound;
};
Names& names() {
  static Names table;
  return table;
}

PeerInfo inproc_peer(const std::string& address) {
  PeerInfo peer;
  peer.mechanism = "inproc";
  peer.pid = static_cast<int>(::getpid());
  peer.uid = static_cast<int>(::geteuid());
  peer.gid = static_cast<int>(::getegid());
  peer.address = address;
  return peer;
}

class InprocListener final : public Listener {
 public:
  InprocListener(std::shared_ptr<Doorstep> door, Endpoint bound, LinkOptions options)
      : door_(std::move(door)), bound_(std::move(bound)), options_(options) {}
  ~InprocListener() override { close(); }
  int fd() const noexcept override { return door_ ? door_->ready.get() : -1; }
  const Endpoint& bound() const noexcept override { return bound_; }

  Result<std::unique_ptr<Link>> accept() noexcept override {
    if (!door_) return unexpected(Errc::would_block);
    std::shared_ptr<Channel> channel;
    {
      std::lock_guard lock(door_->mutex);
      if (door_->waiting.empty()) {
        std::uint64_t count;
        [[maybe_unused]] auto n = sys::read(door_->ready.get(), &count, sizeof count);
        return unexpected(Errc::would_block);
      }
      channel = std::move(door_->waiting.front());
      door_->waiting.pop_front();
    }
    // A client whose socket type ours cannot talk to was refused when it dialled.
    if (channel->refused) return unexpected(Errc::protocol_violation);
    std::string why;
    return without_throwing<std::unique_ptr<Link>>(why, [&] {
      return inproc::make_inproc_link(channel, Side::server, inproc_peer(bound_.url()), options_);
    });
  }

  void close() noexcept override {
    if (!door_) return;
    // Taken out first so that the doorstep outlives the lock held on it below.
    auto door = std::move(door_);
    {
      std::lock_guard lock(names().mutex);
      auto it = names().bound.find(bound_.path);
      if (it != names().bound.end() && it->second == door) names().bound.erase(it);
    }
    std::lock_guard lock(door->mutex);
    door->open = false;
    for (auto& channel : door->waiting) {
      channel->gone[static_cast<int>(Side::server)] = true;
      channel->ring(Side::client);
    }
    door->waiting.clear();
  }

 private:
  std::shared_ptr<Doorstep> door_;
  Endpoint bound_;
  LinkOptions options_;
};

Result<std::unique_ptr<Listener>> listen_inproc(const Endpoint& ep, const ListenOptions& options,
                                                std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Listener>>(
      why, [&]() -> Result<std::unique_ptr<Listener>> {
        auto door = std::make_shared<Doorstep>();
        door->ready.reset(sys::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        if (!door->ready) {
          why = describe_errno("eventfd", errno);
          return unexpected(errc_from_errno(errno));
        }
        door->type = options.link.socket_type;
        std::lock_guard lock(names().mutex);
        if (!names().bound.emplace(ep.path, door).second) {
          why = "the name is bound already in this process";
          return unexpected(Errc::address_in_use);
        }
        return std::unique_ptr<Listener>(
            std::make_unique<InprocListener>(std::move(door), ep, options.link));
      });
}

Result<std::unique_ptr<Link>> dial_inproc(const Endpoint& ep, const LinkOptions& options,
                                          std::string& why) noexcept {
  return without_throwing<std::unique_ptr<Link>>(why, [&]() -> Result<std::unique_ptr<Link>> {
    std::shared_ptr<Doorstep> door;
    {
      std::lock_guard lock(names().mutex);
      auto it = names().bound.find(ep.path);
      if (it != names().bound.end()) door = it->second;
    }
    if (!door) {
      why = "nothing is bound at " + ep.url() + " in this process";
      return unexpected(Errc::refused);
    }
    auto channel = std::make_shared<Channel>();
    channel->client_type = options.socket_type;
    // What a handshake checks: our socket type must be one the server's talks to.
    channel->refused = !wire::compatible(door->type, options.socket_type);
    for (auto& bell : channel->bell) {
      bell.reset(sys::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
      if (!bell) {
        why = describe_errno("eventfd", errno);
        return unexpected(errc_from_errno(errno));
      }
    }
    auto link = inproc::make_inproc_link(channel, Side::client, inproc_peer(ep.url()), options);
    {
      std::lock_guard lock(door->mutex);
      if (!door->open) {
        why = "the server at " + ep.url() + " is closing";
        return unexpected(Errc::refused);
      }
      door->waiting.push_back(std::move(channel));
    }
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = sys::write(door->ready.get(), &one, sizeof one);
    return link;
  });
}

std::string parse_inproc(std::string_view rest, Endpoint& ep) {
  return address::parse_name(rest, ep, kMaxName, "the in-process name");
}

std::string private_inproc_url(const std::string& dir, const std::string& tag) {
  return "inproc://" + test_hooks::private_name(dir, tag);
}

}  // namespace

Mechanism inproc_mechanism() {
  Mechanism m;
  m.info.scheme = "inproc";
  m.info.summary = "threads of one process; no syscall while both are awake";
  m.info.caps.request_reply = m.info.caps.push_pull = m.info.caps.publish_subscribe = true;
  m.info.caps.lossless_publish = true;
  m.info.caps.credentials = true;  // our own
  m.info.caps.boundaries = Boundaries::message;
  m.info.caps.crosses_processes = false;
  m.info.private_url = &private_inproc_url;
  m.info.leftovers = &test_hooks::nothing_left;
  m.info.remove_stale = &test_hooks::nothing_stale;
  m.parse = &parse_inproc;
  m.format = &address::format_path;
  m.listen = &listen_inproc;
  m.dial = &dial_inproc;
  return m;
}

}  // namespace ipcx::transport
