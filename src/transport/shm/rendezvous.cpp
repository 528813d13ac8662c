// ShmLink's handshake (transport layer, shm://): the hellos on the seqpacket socket, the server
// making and sealing the memfd, the client checking the seals and size before it maps anything,
// and both mapping their rings; then the doorbells on the same socket. docs/PROTOCOL.md
// specifies the hellos.
#include "transport/shm/rendezvous.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/errno_map.hpp"
#include "core/remote_fence.hpp"
#include "transport/faults.hpp"
#include "transport/shm/shm_link.hpp"

namespace ipcx::transport {
namespace {

constexpr unsigned kRequiredSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

// Pub/sub links carry only subscriptions in their own rings (messages go through the
// publisher's broadcast ring), so they get the smallest.
bool publish_subscribe(wire::SocketType type) noexcept {
  using wire::SocketType;
  return type == SocketType::pub || type == SocketType::sub || type == SocketType::xpub ||
         type == SocketType::xsub;
}

}  // namespace

Received receive_rendezvous(int socket, std::span<std::byte> into, std::span<Fd> fds) noexcept {
  iovec iov{into.data(), into.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  Received r;
  r.bytes = sys::recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (r.bytes <= 0) return r;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (static_cast<std::size_t>(r.descriptors) < fds.size()) {
        fds[static_cast<std::size_t>(r.descriptors)].reset(fd);
      } else {
        sys::close(fd);
      }
      ++r.descriptors;
    }
  }
  r.truncated = (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0;
  return r;
}

void ring_shm_doorbell(int socket) noexcept {
  char bell = 1;
  [[maybe_unused]] auto n = sys::send(socket, &bell, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

Doorbells take_shm_doorbell(int socket, bool wait) noexcept {
  // Waiting, not sys::recv, which retries EINTR: a signal returns the thread to its caller.
  char bytes[2];
  ssize_t n = wait ? ::recv(socket, bytes, sizeof bytes, 0)
                   : sys::recv(socket, bytes, sizeof bytes, MSG_DONTWAIT);
  if (n == 1) return Doorbells::rung;
  if (n < 0) return errno == EAGAIN || errno == EINTR ? Doorbells::none : Doorbells::closed;
  return n == 0 ? Doorbells::closed : Doorbells::foreign;  // we never send an empty message
}

Doorbells take_waiting_shm_doorbells(int socket) noexcept {
  constexpr unsigned kBatch = 16;
  char bytes[2];  // every message lands in the same bytes: only the lengths matter
  iovec iov{bytes, sizeof bytes};
  mmsghdr messages[kBatch];
  for (auto& m : messages) {
    m = {};
    m.msg_hdr.msg_iov = &iov;
    m.msg_hdr.msg_iovlen = 1;
  }
  for (;;) {
    int n = sys::recvmmsg(socket, messages, kBatch, MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN ? Doorbells::none : Doorbells::closed;
    for (int i = 0; i < n; ++i) {
      // A closed peer reads as empty messages, one per slot left.
      if (messages[i].msg_len == 0) return Doorbells::closed;
      if (messages[i].msg_len != 1) return Doorbells::foreign;
    }
    if (static_cast<unsigned>(n) < kBatch) return Doorbells::none;
  }
}

wire::ShmHello ShmLink::our_hello(wire::ShmStatus status, std::uint64_t ring_bytes) const noexcept {
  return {wire::kShmVersion, status, ring_bytes,
          static_cast<std::uint8_t>(static_cast<unsigned>(options_.socket_type) + 1),
          fence_before_sleep_ ? wire::kShmFenceBeforeSleep : std::uint8_t{0}};
}

bool ShmLink::send_hello(const wire::ShmHello& hello, const int* fds, int nfds) noexcept {
  std::byte bytes[wire::kShmHelloSize];
  wire::write_shm_hello(bytes, hello);
  return send_rendezvous(bytes, fds, nfds);
}

bool ShmLink::send_rendezvous(std::span<const std::byte> bytes, const int* fds, int nfds) noexcept {
  iovec iov{const_cast<std::byte*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
  if (nfds > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(static_cast<std::size_t>(nfds) * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(static_cast<std::size_t>(nfds) * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds, static_cast<std::size_t>(nfds) * sizeof(int));
  }
  return sys::sendmsg(socket_.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL) ==
         static_cast<ssize_t>(bytes.size());
}

IoResult ShmLink::handshake() noexcept {
  std::byte bytes[wire::kShmHelloSize + 1];
  Fd fds[3];
  Received got = receive_rendezvous(socket_.get(), bytes, fds);
  // A server that closed before reading our hello resets the socket; what it sent before
  // closing (a refusal) is still there to read once the reset has been reported.
  if (got.bytes < 0 && errno == ECONNRESET) got = receive_rendezvous(socket_.get(), bytes, fds);
  if (got.bytes < 0 && errno == EAGAIN) return {Io::would_block};
  if (got.bytes <= 0) {
    fault_ = "peer closed during the shm handshake";
    return {Io::closed, 0, role_ == ShmRole::client ? Errc::refused : Errc::peer_closed};
  }
  if (got.truncated) return fail(Errc::protocol_violation, "oversized shm hello");
  std::size_t n = static_cast<std::size_t>(got.bytes);
  int nfds = got.descriptors;
  auto hello = wire::read_shm_hello({bytes, n});
  if (!hello) return fail(Errc::protocol_violation, "not an ipcx shm hello");
  if (role_ == ShmRole::server) {
    if (nfds != 0) return fail(Errc::protocol_violation, "client hello carried descriptors");
    return server_answer(*hello);
  }
  return client_accept(*hello, fds, nfds);
}

std::string ShmLink::pairing_fault(std::uint8_t peer) const {
  auto ours = options_.socket_type;
  if (peer == 0 || peer > static_cast<unsigned>(wire::SocketType::xsub) + 1) {
    return "peer announced no valid socket type";
  }
  auto theirs = static_cast<wire::SocketType>(peer - 1);
  if (wire::compatible(ours, theirs)) return {};
  return std::string(wire::socket_type_name(ours)) + " cannot talk to " +
         std::string(wire::socket_type_name(theirs));
}

IoResult ShmLink::server_answer(const wire::ShmHello& hello) noexcept {
  if (hello.version != wire::kShmVersion) {
    send_hello(our_hello(wire::ShmStatus::version_refused, 0));
    return fail(Errc::refused, "client speaks shm protocol version " +
                                   std::to_string(hello.version) + ", we speak " +
                                   std::to_string(wire::kShmVersion));
  }
  if (auto why = pairing_fault(hello.socket_type); !why.empty()) {
    send_hello(our_hello(wire::ShmStatus::pairing_refused, 0));
    return fail(Errc::protocol_violation, why);
  }
  capacity_ =
      shm_ring_capacity(publish_subscribe(options_.socket_type) ? 0 : options_.shm_ring_bytes);
  std::size_t total = ring_pair_bytes(capacity_);
  Fd memfd(sys::memfd_create("ipcx-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!memfd || sys::ftruncate(memfd.get(), static_cast<off_t>(total)) != 0 ||
      sys::fcntl(memfd.get(), F_ADD_SEALS, static_cast<int>(kRequiredSeals)) != 0) {
    return fail(errc_from_errno(errno), describe_errno("memfd", errno));
  }
  if (auto r = map_rings(memfd.get(), capacity_, hello); r.status != Io::ok) return r;
  int fds[1] = {memfd.get()};
  if (!send_hello(our_hello(wire::ShmStatus::ok, capacity_), fds, 1)) {
    return fail(Errc::peer_closed, describe_errno("sending the shm hello", errno));
  }
  return offer_broadcast();
}

IoResult ShmLink::client_accept(const wire::ShmHello& hello, Fd* fds, int nfds) noexcept {
  if (hello.status == wire::ShmStatus::version_refused || hello.version != wire::kShmVersion) {
    return fail(Errc::refused, "server speaks shm protocol version " +
                                   std::to_string(hello.version) + ", we speak " +
                                   std::to_string(wire::kShmVersion));
  }
  if (hello.status == wire::ShmStatus::permission_refused) {
    return fail(Errc::permission_denied, "the server does not admit our uid");
  }
  if (hello.status == wire::ShmStatus::pairing_refused) {
    return fail(Errc::refused, "the server's socket type does not talk to " +
                                   std::string(wire::socket_type_name(options_.socket_type)));
  }
  if (hello.status != wire::ShmStatus::ok || nfds != 1) {
    return fail(Errc::protocol_violation, "shm hello without exactly its memory's descriptor");
  }
  if (auto why = pairing_fault(hello.socket_type); !why.empty()) {
    return fail(Errc::refused, why);
  }
  std::size_t capacity = static_cast<std::size_t>(hello.ring_bytes);
  if (shm_ring_capacity(capacity) != capacity) {
    return fail(Errc::protocol_violation, "shm ring size is not a supported power of two");
  }
  // A hostile server could shrink an unsealed memfd under us (SIGBUS): insist on the seals
  // and the exact size before mapping.
  int seals = sys::fcntl(fds[0].get(), F_GET_SEALS, 0);
  struct stat st {};
  if (seals < 0 || (static_cast<unsigned>(seals) & kRequiredSeals) != kRequiredSeals) {
    return fail(Errc::protocol_violation, "shm memory is not sealed against resizing");
  }
  if (::fstat(fds[0].get(), &st) != 0 ||
      static_cast<std::size_t>(st.st_size) != ring_pair_bytes(capacity)) {
    return fail(Errc::protocol_violation, "shm memory has the wrong size");
  }
  if (auto r = map_rings(fds[0].get(), capacity, hello); r.status != Io::ok) return r;
  return offer_broadcast();
}

IoResult ShmLink::map_rings(int memfd, std::size_t capacity, const wire::ShmHello& peer) noexcept {
  map_size_ = ring_pair_bytes(capacity);
  // Not populated: a page is backed where a record is first written, so an idle link holds a
  // few pages rather than its whole rings (docs/decisions/0016-shm-rings-backed-where-written.md).
  void* map = sys::mmap(map_size_, PROT_READ | PROT_WRITE, memfd, false);
  if (map == MAP_FAILED) return fail(errc_from_errno(errno), describe_errno("mmap", errno));
  map_ = map;
  capacity_ = capacity;
  // Ring 0 carries requests (client to server), ring 1 replies.
  int in = role_ == ShmRole::server ? 0 : 1;
  rx_control_ = ring_control(map_, in);
  tx_control_ = ring_control(map_, 1 - in);
  rx_ = RingReader(rx_control_, ring_data(map_, capacity, in), capacity);
  tx_ = RingWriter(tx_control_, ring_data(map_, capacity, 1 - in), capacity);
  if ((peer.flags & wire::kShmFenceBeforeSleep) != 0 && join_remote_fences()) {
    tx_.rely_on_consumer_fences();
  }
  state_ = State::ready;
  return {Io::ok};
}

}  // namespace ipcx::transport
