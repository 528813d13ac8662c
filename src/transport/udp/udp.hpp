// udp:// (transport layer): what the files of this folder share. One message a datagram: a
// compact header (one fragment, its request id set) then the message's frames. Request/reply is
// at most once (client.cpp resends under the same id, server.cpp answers a repeat from a reply
// cache); publish/subscribe sends numbered datagrams (pubsub.cpp). A bound socket has one link
// for all its peers, offered once by its listener (again if it is ever closed); bad datagrams
// are counted, never a reason to close it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "transport/link.hpp"
#include "transport/udp/cookies.hpp"
#include "wire/compact_header.hpp"

namespace ipcx::transport::udp {

inline constexpr std::size_t kMaxDatagram = 65507;  // the IPv4 limit; IPv6's is 20 bytes more
inline constexpr std::size_t kMaxPayload = kMaxDatagram - wire::kCompactHeaderSize;

// Sends `datagram` (to `to`, on a bound socket; else to the connected peer), followed by the
// cookie trailer when there is a cookie. The result of sendmsg.
ssize_t send_datagram(int fd, std::span<const std::byte> datagram, const wire::Cookie* cookie,
                      const void* to = nullptr, std::size_t to_length = 0) noexcept;
// Sends the challenge for request `id` to `to` on a bound socket: the cookie of that address.
void send_challenge(int fd, const AddressCookies& cookies, std::uint64_t id, const void* to,
                    std::size_t to_length) noexcept;

// The datagram of a message: header then payload, into `out`. false if it does not fit.
bool encode(std::vector<std::byte>& out, const Message& head, const Message& tail,
            std::uint64_t id);
// Decodes one datagram into `out`; its id, or nullopt for anything that is not one whole
// message of ours.
std::optional<std::uint64_t> decode(std::span<const std::byte> datagram,
                                    wire::CompactAssembler& assembler, Message& out);
// As large a receive buffer as we may have, and the kernel's count of what it dropped.
void raise_receive_buffer(int fd) noexcept;
bool is_pubsub(wire::SocketType t) noexcept;

// What the listener and its one link share: the socket, the eventfd that offers the link, and
// the key of the socket's address cookies (kept across links, so a client's cookie stays good).
struct Shared {
  Fd socket;
  Fd offer;  // readable while a link is to be taken
  AddressCookies cookies;
  bool taken = false;
  void offer_again() noexcept {
    taken = false;
    std::uint64_t one = 1;
    if (offer) (void)sys::write(offer.get(), &one, sizeof one);
  }
};

// What both links on a bound socket share: the socket (through the listener's Shared), the
// rule that bad input never closes them (it is counted: Datagrams), and giving the socket back
// to the listener on close.
class SocketLink : public Link, public Datagrams {
 public:
  SocketLink(std::shared_ptr<Shared> shared, PeerInfo peer) noexcept
      : shared_(std::move(shared)), peer_(std::move(peer)) {
    extensions_.datagrams = this;
  }
  int fd() const noexcept override { return shared_ ? shared_->socket.get() : -1; }
  bool established() const noexcept override { return true; }
  IoResult flush() noexcept override { return {Io::ok}; }
  bool wants_write() const noexcept override { return false; }
  std::size_t queued_bytes() const noexcept override { return 0; }
  Dropped take_dropped() noexcept override { return std::exchange(dropped_, {}); }
  void close() noexcept override {
    if (!shared_) return;
    shared_->offer_again();
    shared_.reset();
  }
  const PeerInfo& peer() const noexcept override { return peer_; }
  std::string_view fault() const noexcept override { return fault_; }

 protected:
  std::shared_ptr<Shared> shared_;
  PeerInfo peer_;
  Dropped dropped_;
  std::string fault_;
};

// What the links of a connected (dialled) socket share: the socket and what they say of it.
template <class Base>
class Dialled : public Base {
 public:
  template <class... BaseArgs>
  Dialled(Fd fd, PeerInfo peer, BaseArgs&&... base)
      : Base(std::forward<BaseArgs>(base)...), fd_(std::move(fd)), peer_(std::move(peer)) {}
  int fd() const noexcept override { return fd_.get(); }
  bool established() const noexcept override { return fd_.valid(); }
  void close() noexcept override { fd_.reset(); }
  const PeerInfo& peer() const noexcept override { return peer_; }
  std::string_view fault() const noexcept override { return fault_; }

 protected:
  Fd fd_;
  PeerInfo peer_;
  std::string fault_;
};

// A client's link on a connected socket (client.cpp), and a subscriber's (pubsub.cpp).
std::unique_ptr<Link> make_client_link(Fd fd, PeerInfo peer, const LinkOptions& options);
std::unique_ptr<Link> make_subscriber_link(Fd fd, PeerInfo peer, const LinkOptions& options);
// The one link of a bound socket: a server's (server.cpp) or a publisher's (pubsub.cpp).
std::unique_ptr<Link> make_server_link(std::shared_ptr<Shared> shared, PeerInfo peer,
                                       const LinkOptions& options);
std::unique_ptr<Link> make_publisher_link(std::shared_ptr<Shared> shared, PeerInfo peer,
                                          const LinkOptions& options);

}  // namespace ipcx::transport::udp
