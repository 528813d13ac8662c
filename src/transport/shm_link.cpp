// ShmLink (transport layer): rendezvous, ring I/O and doorbells for shm://. The memory layout,
// hellos and fragment encoding are specified in docs/PROTOCOL.md.
#include "transport/shm_link.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>

#include "core/errno_map.hpp"
#include "core/remote_fence.hpp"
#include "transport/shm_broadcast.hpp"
#include "transport/shm_broadcast_source.hpp"
#include "transport/shm_ring.hpp"
#include "transport/socket_stream.hpp"
#include "wire/compact_header.hpp"
#include "wire/shm_hello.hpp"

namespace ipcx::transport {
namespace {

using wire::kCompactHeaderSize;
constexpr unsigned kRequiredSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
constexpr int kLivenessEvery = 256;       // empty polls between socket checks while spinning
constexpr unsigned kWakeCheckEvery = 64;  // records freed between asking about a waiting peer
constexpr std::size_t kWakeCheckBytesShift = 3;  // or an eighth of the ring, whichever first

// Pub/sub links carry only subscriptions in their own rings (messages go through the
// publisher's broadcast ring), so they get the smallest.
bool publish_subscribe(wire::SocketType type) noexcept {
  using wire::SocketType;
  return type == SocketType::pub || type == SocketType::sub || type == SocketType::xpub ||
         type == SocketType::xsub;
}

// One rendezvous message from the seqpacket socket into `into`, and the descriptors that came
// with it, each owned at once so that none can leak (those beyond fds.size() are closed but
// counted). bytes < 0: errno says why (EAGAIN: nothing yet); 0: the peer closed.
struct Received {
  ssize_t bytes = 0;
  int descriptors = 0;
  bool truncated = false;
};
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

// What is left of a message the ring could not take at once: payload bytes [base, size).
struct Pending {
  std::unique_ptr<std::byte[]> payload;
  std::size_t base = 0;
  std::size_t size = 0;
  std::size_t sent = 0;
};

class ShmLink final : public Link {
 public:
  ShmLink(Fd socket, PeerInfo peer, const LinkOptions& options, ShmRole role)
      : socket_(std::move(socket)),
        peer_(std::move(peer)),
        options_(options),
        role_(role),
        assembler_(options.max_message_size),
        expects_offer_(options.socket_type == wire::SocketType::sub ||
                       options.socket_type == wire::SocketType::xsub),
        // A puller's incoming ring is a stream: its producer should not fence per record.
        fence_before_sleep_(options.socket_type == wire::SocketType::pull &&
                            remote_fences_available()),
        bc_assembler_(options.max_message_size),
        opened_(Clock::now()) {
    epoll_.reset(sys::epoll_create());
    // A link whose fd() is -1 would be polled in a busy loop: fail it now instead.
    if (!epoll_ || !watch(socket_.get())) {
      fail(errc_from_errno(errno), describe_errno("epoll for the shm link", errno));
    } else if (role_ == ShmRole::client && !send_hello(our_hello(wire::ShmStatus::ok, 0)) &&
               errno != EPIPE && errno != ECONNRESET) {
      // A server that refused us on sight (a uid it does not admit) may have answered and
      // closed before our hello went out: the handshake reads its answer, not this error.
      fail(Errc::refused, describe_errno("sending the shm hello", errno));
    }
  }
  ~ShmLink() override {
    lent_ = viewing_ = false;  // nothing points into the memory any more
    close();
  }

  int fd() const noexcept override { return epoll_.get(); }
  bool established() const noexcept override { return state_ == State::ready; }
  const PeerInfo& peer() const noexcept override { return peer_; }
  std::string_view fault() const noexcept override { return fault_; }
  bool wants_write() const noexcept override { return !pending_.empty(); }
  std::size_t queued_bytes() const noexcept override { return queued_; }
  bool quiet() noexcept override;
  bool has_sleep_hooks() const noexcept override { return true; }
  std::span<std::byte> loan(const Message& head, std::size_t bytes) noexcept override;
  IoResult commit_loan() noexcept override;
  void cancel_loan() noexcept override { lent_ = false; }
  IoResult view(std::vector<std::span<const std::byte>>& frames) noexcept override;
  void release_view() noexcept override;

  IoResult send(const Message& head, const Message& tail) noexcept override;
  IoResult flush() noexcept override;
  IoResult recv(Message& out) noexcept override;
  IoResult tick(Clock::time_point now) noexcept override;
  bool prepare_sleep() noexcept override;
  void end_sleep() noexcept override;
  void close() noexcept override;
  bool broadcasting() const noexcept override { return seated_ && state_ == State::ready; }
  std::uint64_t take_gap() noexcept override {
    std::uint64_t gap = bc_.gap() - gap_taken_;
    gap_taken_ = bc_.gap();
    return gap;
  }

 private:
  enum class State : std::uint8_t { handshake, ready, failed };

  IoResult fail(Errc code, std::string why) noexcept {
    if (state_ != State::failed) fault_ = std::move(why);
    state_ = State::failed;
    return {Io::error, 0, code};
  }
  bool watch(int fd) noexcept {
    epoll_event ev{};
    ev.events = EPOLLIN;
    return sys::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
  }
  void ring_peer() noexcept {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = sys::write(peer_bell_.get(), &one, sizeof one);
  }
  bool send_hello(const wire::ShmHello& hello, const int* fds = nullptr, int nfds = 0) noexcept;
  bool send_rendezvous(std::span<const std::byte> bytes, const int* fds, int nfds) noexcept;
  wire::ShmHello our_hello(wire::ShmStatus status, std::uint64_t ring_bytes) const noexcept {
    return {wire::kShmVersion, status, ring_bytes,
            static_cast<std::uint8_t>(static_cast<unsigned>(options_.socket_type) + 1),
            fence_before_sleep_ ? wire::kShmFenceBeforeSleep : std::uint8_t{0}};
  }
  // Empty when the peer's socket type may talk to ours, else why not.
  std::string pairing_fault(std::uint8_t peer) const;
  IoResult handshake() noexcept;
  IoResult server_answer(const wire::ShmHello& hello) noexcept;
  IoResult client_accept(const wire::ShmHello& hello, Fd* fds, int nfds) noexcept;
  // Maps both rings; the peer's hello says whether our producer may skip its fence.
  IoResult map_rings(int memfd, std::size_t capacity, const wire::ShmHello& peer) noexcept;
  // Publisher: hands the subscriber our broadcast ring and seats it there.
  IoResult offer_broadcast() noexcept;
  // Subscriber: maps the publisher's broadcast ring once its offer arrives.
  IoResult take_offer() noexcept;
  IoResult read_broadcast(Message& out);
  bool write_fragment(Pending& p) noexcept;
  // Writes the fragment of a `size`-byte payload that starts at `sent`, its bytes produced by
  // copy(destination, offset, length). The fragment's length, or 0 when the ring is full (or
  // its head index is corrupt: then the link has failed).
  template <class Copy>
  std::size_t put_fragment(std::size_t size, std::size_t sent, Copy&& copy) noexcept;
  void check_socket() noexcept;

  Fd socket_;
  Fd epoll_;
  Fd own_bell_;   // we sleep on it
  Fd peer_bell_;  // we ring it
  PeerInfo peer_;
  LinkOptions options_;
  ShmRole role_;
  State state_ = State::handshake;
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::size_t capacity_ = 0;
  RingReader rx_;
  RingWriter tx_;
  wire::CompactAssembler assembler_;
  std::deque<Pending> pending_;
  std::size_t queued_ = 0;
  bool peer_gone_ = false;
  bool armed_ = false;    // we told the peer we sleep; the doorbell may hold a count
  bool lent_ = false;     // a record is reserved for a loan: nothing else may be written
  bool viewing_ = false;  // the record at our head is lent out as a view: nothing is read
  int empty_polls_ = 0;
  unsigned releases_unchecked_ = 0;  // records freed since we last asked about a waiting peer
  std::size_t bytes_unchecked_ = 0;  // and their bytes
  // Frees the record at our head. Whether the peer waits for room is asked when the ring runs
  // empty (recv), and every so often in a long burst: the question costs a full fence, and a
  // small message should not wait behind it. Large fragments ask at once, or a producer
  // waiting for room would sleep until the whole ring drained instead of refilling it behind
  // us. No wake-up is lost: we always pass through the empty case before we sleep, after our
  // head store.
  void release_record(std::size_t bytes) noexcept {
    rx_.release();
    bytes_unchecked_ += bytes;
    if (++releases_unchecked_ >= kWakeCheckEvery ||
        bytes_unchecked_ >= (capacity_ >> kWakeCheckBytesShift)) {
      wake_waiting_producer();
    }
  }
  std::size_t viewed_bytes_ = 0;  // the size of the record lent out as a view
  void wake_waiting_producer() noexcept {
    releases_unchecked_ = 0;
    bytes_unchecked_ = 0;
    bc_unchecked_ = 0;
    bc_bytes_unchecked_ = 0;
    // A publisher waiting on our broadcast position wants waking only once we pass wake_at.
    if (bc_map_ != nullptr) {
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (rx_control_->producer_waiting.load(std::memory_order_relaxed) == 0 ||
          bc_.cursor() < rx_control_->wake_at.load(std::memory_order_relaxed)) {
        return;
      }
    }
    if (rx_.producer_needs_wake()) ring_peer();
  }
  RingControl* rx_control_ = nullptr;  // our incoming ring's control (a subscriber's seat)
  RingControl* tx_control_ = nullptr;  // the peer's incoming ring's control
  // Publisher side: our subscriber's seat at the broadcast ring.
  BroadcastSource::Seat seat_;
  bool seated_ = false;
  // Subscriber side: the publisher's broadcast ring, read-only.
  bool expects_offer_;
  bool fence_before_sleep_;  // we promised kShmFenceBeforeSleep in our hello
  void* bc_map_ = nullptr;
  std::size_t bc_map_size_ = 0;
  BroadcastReader bc_;
  wire::CompactAssembler bc_assembler_;
  bool bc_resync_ = false;  // records were lost: skip to the first fragment of a message
  // Messages decoded from the broadcast ring beyond the one recv() returned, judged intact.
  static constexpr std::size_t kBatchMessages = 16;
  static constexpr std::size_t kBatchBytes = 64 * 1024;
  std::array<Message, kBatchMessages - 1> batch_;
  std::size_t batch_size_ = 0;
  std::size_t batch_next_ = 0;
  std::uint64_t gap_taken_ = 0;
  unsigned bc_unchecked_ = 0;  // broadcast records read since we asked about a waiting producer
  std::size_t bc_bytes_unchecked_ = 0;
  Clock::time_point opened_;
  std::string fault_;
};

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
  std::size_t total = 2 * kRingBytesFor(capacity_);
  Fd memfd(sys::memfd_create("ipcx-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!memfd || sys::ftruncate(memfd.get(), static_cast<off_t>(total)) != 0 ||
      sys::fcntl(memfd.get(), F_ADD_SEALS, static_cast<int>(kRequiredSeals)) != 0) {
    return fail(errc_from_errno(errno), describe_errno("memfd", errno));
  }
  own_bell_.reset(sys::eventfd(0, EFD_NONBLOCK));
  peer_bell_.reset(sys::eventfd(0, EFD_NONBLOCK));
  if (!own_bell_ || !peer_bell_) return fail(errc_from_errno(errno), "eventfd failed");
  if (auto r = map_rings(memfd.get(), capacity_, hello); r.status != Io::ok) return r;
  // The client sleeps on what is our peer bell, and rings what is our own.
  int fds[3] = {memfd.get(), peer_bell_.get(), own_bell_.get()};
  if (!send_hello(our_hello(wire::ShmStatus::ok, capacity_), fds, 3)) {
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
  if (hello.status != wire::ShmStatus::ok || nfds != 3) {
    return fail(Errc::protocol_violation, "shm hello without its three descriptors");
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
      static_cast<std::size_t>(st.st_size) != 2 * kRingBytesFor(capacity)) {
    return fail(Errc::protocol_violation, "shm memory has the wrong size");
  }
  own_bell_ = std::move(fds[1]);
  peer_bell_ = std::move(fds[2]);
  if (auto r = map_rings(fds[0].get(), capacity, hello); r.status != Io::ok) return r;
  return offer_broadcast();
}

IoResult ShmLink::offer_broadcast() noexcept {
  BroadcastSource* source = options_.broadcast.get();
  if (source == nullptr) return {Io::ok};
  std::byte bytes[wire::kShmOfferSize];
  wire::write_shm_offer(bytes, {source->capacity(), source->tail()});
  int memfd = source->memfd();
  if (!send_rendezvous(bytes, &memfd, 1)) {
    return fail(Errc::peer_closed, describe_errno("offering the broadcast ring", errno));
  }
  seat_.control = tx_control_;
  seat_.bell = peer_bell_.get();
  try {
    source->join(&seat_);
  } catch (const std::bad_alloc&) {
    return fail(Errc::resource_exhausted, "out of memory seating a subscriber");
  }
  seated_ = true;
  return {Io::ok};
}

IoResult ShmLink::take_offer() noexcept {
  std::byte bytes[wire::kShmOfferSize + 1];
  Fd memfd[1];
  Received got = receive_rendezvous(socket_.get(), bytes, memfd);
  if (got.bytes < 0 && errno == EAGAIN) return {Io::ok};  // not yet
  if (got.bytes <= 0) {
    peer_gone_ = true;
    return {Io::ok};
  }
  auto offer = wire::read_shm_offer({bytes, static_cast<std::size_t>(got.bytes)});
  if (!offer || got.descriptors != 1 || got.truncated) {
    return fail(Errc::protocol_violation, "not a broadcast offer with its memory");
  }
  std::size_t capacity = static_cast<std::size_t>(offer->ring_bytes);
  if (shm_ring_capacity(capacity) != capacity || (offer->start & 7) != 0) {
    return fail(Errc::protocol_violation, "broadcast ring of an unsupported size or position");
  }
  // As for the link's own memory: a publisher must not be able to shrink it under us.
  constexpr unsigned kSizeSeals = F_SEAL_SHRINK | F_SEAL_GROW;
  int seals = sys::fcntl(memfd[0].get(), F_GET_SEALS, 0);
  struct stat st {};
  if (seals < 0 || (static_cast<unsigned>(seals) & kSizeSeals) != kSizeSeals ||
      ::fstat(memfd[0].get(), &st) != 0 ||
      static_cast<std::size_t>(st.st_size) != sizeof(BroadcastControl) + capacity) {
    return fail(Errc::protocol_violation, "broadcast memory unsealed or of the wrong size");
  }
  std::size_t size = sizeof(BroadcastControl) + capacity;
  void* map = sys::mmap(size, PROT_READ, memfd[0].get());
  if (map == MAP_FAILED) return fail(errc_from_errno(errno), describe_errno("mmap", errno));
  bc_map_ = map;
  bc_map_size_ = size;
  auto* base = static_cast<const std::byte*>(map);
  bc_ = BroadcastReader(reinterpret_cast<const BroadcastControl*>(base),
                        base + sizeof(BroadcastControl), capacity, offer->start);
  rx_control_->broadcast_cursor.store(offer->start, std::memory_order_release);
  return {Io::ok};
}

IoResult ShmLink::map_rings(int memfd, std::size_t capacity, const wire::ShmHello& peer) noexcept {
  map_size_ = 2 * kRingBytesFor(capacity);
  void* map = sys::mmap(map_size_, PROT_READ | PROT_WRITE, memfd);
  if (map == MAP_FAILED) return fail(errc_from_errno(errno), describe_errno("mmap", errno));
  map_ = map;
  capacity_ = capacity;
  auto* base = static_cast<std::byte*>(map_);
  auto ring = [&](int i) { return base + static_cast<std::size_t>(i) * kRingBytesFor(capacity); };
  // Ring 0 carries requests (client to server), ring 1 replies.
  int in = role_ == ShmRole::server ? 0 : 1;
  rx_control_ = reinterpret_cast<RingControl*>(ring(in));
  tx_control_ = reinterpret_cast<RingControl*>(ring(1 - in));
  rx_ = RingReader(rx_control_, ring(in) + sizeof(RingControl), capacity);
  tx_ = RingWriter(tx_control_, ring(1 - in) + sizeof(RingControl), capacity);
  if ((peer.flags & wire::kShmFenceBeforeSleep) != 0 && join_remote_fences()) {
    tx_.rely_on_consumer_fences();
  }
  if (!watch(own_bell_.get())) return fail(errc_from_errno(errno), "cannot watch the doorbell");
  state_ = State::ready;
  return {Io::ok};
}

IoResult ShmLink::send(const Message& head, const Message& tail) noexcept {
  if (state_ == State::failed) return {Io::error, 0, Errc::peer_closed};
  if (state_ != State::ready || lent_) return {Io::would_block};
  if (head.bytes() + tail.bytes() > options_.max_message_size) {
    return {Io::error, 0, Errc::message_too_large};
  }
  std::size_t payload = wire::payload_size(head, tail);
  // Fast path: the whole message as one record, written straight into the ring.
  if (pending_.empty() && kCompactHeaderSize + payload <= max_record_body(capacity_)) {
    bool corrupt = false;
    std::byte* at = tx_.reserve(kCompactHeaderSize + payload, &corrupt);
    if (corrupt) return fail(Errc::protocol_violation, "peer corrupted the ring's head index");
    if (at != nullptr) {
      wire::write_fragment_header(at, payload, 0, payload);
      wire::write_payload(at + kCompactHeaderSize, head, tail);
      tx_.commit();
      if (tx_.consumer_needs_wake()) ring_peer();
      return {Io::ok, head.bytes() + tail.bytes()};
    }
  }
  if (queued_ >= options_.max_queued_bytes) return {Io::would_block};
  // Fragments straight from the message while the ring has room; only the rest is copied
  // aside, to go out as the consumer frees room.
  std::size_t sent = 0;
  if (pending_.empty()) {
    while (sent < payload) {
      std::size_t n =
          put_fragment(payload, sent, [&](std::byte* to, std::size_t at, std::size_t len) {
            wire::write_payload_range(to, head, tail, at, len);
          });
      if (n == 0) break;
      sent += n;
    }
    if (state_ == State::failed) return {Io::error, 0, Errc::protocol_violation};
    if (sent == payload) return {Io::ok, head.bytes() + tail.bytes()};
  }
  try {
    Pending p;
    p.payload.reset(new std::byte[payload - sent]);
    p.base = p.sent = sent;
    p.size = payload;
    wire::write_payload_range(p.payload.get(), head, tail, sent, payload - sent);
    pending_.push_back(std::move(p));
    queued_ += payload - sent;
  } catch (const std::bad_alloc&) {
    return {Io::error, 0, Errc::resource_exhausted};
  }
  auto r = flush();
  if (r.status == Io::error) return r;
  return {Io::ok, head.bytes() + tail.bytes()};
}

std::span<std::byte> ShmLink::loan(const Message& head, std::size_t bytes) noexcept {
  if (state_ != State::ready || lent_ || !pending_.empty()) return {};
  if (head.bytes() + bytes > options_.max_message_size) return {};
  std::size_t prefix = 4 + 4 * head.size() + head.bytes() + 4;  // count, head frames, body length
  std::size_t payload = prefix + bytes;
  if (kCompactHeaderSize + payload > max_record_body(capacity_)) return {};
  bool corrupt = false;
  std::byte* at = tx_.reserve(kCompactHeaderSize + payload, &corrupt);
  if (corrupt) {
    fail(Errc::protocol_violation, "peer corrupted the ring's head index");
    return {};
  }
  if (at == nullptr) return {};
  wire::write_fragment_header(at, payload, 0, payload);
  // The payload of head plus an empty body frame, then the body's true length over it.
  Message empty_body;
  empty_body.add_empty_frame();
  std::byte* p = at + kCompactHeaderSize;
  wire::write_payload(p, head, empty_body);
  for (int i = 0; i < 4; ++i) {  // little endian, as the payload format says
    p[prefix - 4 + static_cast<std::size_t>(i)] = static_cast<std::byte>(bytes >> (8 * i));
  }
  lent_ = true;
  return {p + prefix, bytes};
}

IoResult ShmLink::commit_loan() noexcept {
  if (!lent_) return {Io::error, 0, Errc::io_error};
  lent_ = false;
  if (state_ != State::ready) return {Io::error, 0, Errc::peer_closed};
  tx_.commit();
  if (tx_.consumer_needs_wake()) ring_peer();
  return {Io::ok};
}

template <class Copy>
std::size_t ShmLink::put_fragment(std::size_t size, std::size_t sent, Copy&& copy) noexcept {
  std::size_t chunk = std::min(size - sent, max_record_body(capacity_) - kCompactHeaderSize);
  bool corrupt = false;
  std::byte* at = tx_.reserve(kCompactHeaderSize + chunk, &corrupt);
  if (corrupt) {
    fail(Errc::protocol_violation, "peer corrupted the ring's head index");
    return 0;
  }
  if (at == nullptr) return 0;
  wire::write_fragment_header(at, size, sent, chunk);
  copy(at + kCompactHeaderSize, sent, chunk);
  tx_.commit();
  if (tx_.consumer_needs_wake()) ring_peer();
  return chunk;
}

bool ShmLink::write_fragment(Pending& p) noexcept {
  std::size_t n = put_fragment(p.size, p.sent, [&](std::byte* to, std::size_t at, std::size_t len) {
    std::memcpy(to, p.payload.get() + (at - p.base), len);
  });
  p.sent += n;
  queued_ -= n;
  return n != 0;
}

IoResult ShmLink::flush() noexcept {
  if (state_ == State::failed) return {Io::error, 0, Errc::peer_closed};
  if (lent_) return {Io::would_block};  // the reserved record must go first
  while (!pending_.empty()) {
    if (!write_fragment(pending_.front())) {
      if (state_ == State::failed) return {Io::error, 0, Errc::protocol_violation};
      return {Io::would_block};
    }
    if (pending_.front().sent == pending_.front().size) pending_.pop_front();
  }
  return {Io::ok};
}

bool ShmLink::quiet() noexcept {
  // Anything but a plain established request/reply ring takes the full path.
  if (viewing_) return true;  // nothing can be read until the view is released
  if (state_ != State::ready || batch_next_ < batch_size_ || !pending_.empty() || lent_ || armed_ ||
      releases_unchecked_ > 0 || bc_unchecked_ > 0 || bc_map_ != nullptr || expects_offer_ ||
      seated_ || peer_gone_) {
    return false;
  }
  // The liveness check recv() makes while spinning is due here as well.
  if (++empty_polls_ >= kLivenessEvery) {
    check_socket();
    if (peer_gone_ || state_ != State::ready) return false;
  }
  return rx_.empty();
}

IoResult ShmLink::recv(Message& out) noexcept {
  if (viewing_) return {Io::would_block};  // the head record is lent out
  if (batch_next_ < batch_size_) {         // broadcast messages already judged intact
    out = std::move(batch_[batch_next_++]);
    return {Io::ok, out.bytes()};
  }
  if (state_ == State::failed) return {Io::error, 0, Errc::peer_closed};
  if (state_ == State::handshake) {
    auto r = handshake();
    if (r.status != Io::ok) return r;
  }
  if (seated_ && seat_.faulty) {
    return fail(Errc::protocol_violation, "subscriber reported an impossible broadcast position");
  }
  if (expects_offer_ && bc_map_ == nullptr) {
    if (auto r = take_offer(); r.status != Io::ok) return r;
  }
  try {
    for (;;) {
      bool corrupt = false;
      auto record = rx_.peek(&corrupt);
      if (corrupt) return fail(Errc::protocol_violation, "peer corrupted the request ring");
      if (record.empty()) break;
      auto e = assembler_.feed(record, out);  // copies out of the shared pages
      release_record(record.size());
      if (e == wire::CompactAssembler::Event::error) {
        return fail(assembler_.error(), assembler_.error_detail());
      }
      if (e == wire::CompactAssembler::Event::message) {
        empty_polls_ = 0;
        return {Io::ok, out.bytes()};
      }
    }
    if (bc_map_ != nullptr) {
      auto r = read_broadcast(out);
      if (r.status != Io::would_block) return r;
    }
  } catch (const std::bad_alloc&) {
    return fail(Errc::resource_exhausted, "out of memory while reading");
  }
  // Nothing in the ring. Whether the producer waits for room is asked at the second empty poll
  // in a row (or after a sleep), not the first: the first comes straight after a message, when
  // the owner is about to answer it, and the question's fence would delay that answer.
  // prepare_sleep() asks too, so the question is never skipped before a sleep.
  if ((releases_unchecked_ > 0 || bc_unchecked_ > 0) && (empty_polls_ > 0 || armed_)) {
    wake_waiting_producer();
  }
  // After a sleep, drain the doorbell; if it was silent, the wake came
  // from the socket (a peer that went away). While spinning, look at the socket now and then.
  if (armed_) {
    armed_ = false;
    std::uint64_t count = 0;
    if (sys::read(own_bell_.get(), &count, sizeof count) != sizeof count) check_socket();
  } else if (!peer_gone_ && ++empty_polls_ >= kLivenessEvery) {
    check_socket();
  }
  if (peer_gone_) {
    fault_ = "peer closed the connection";
    return {Io::closed, 0, Errc::peer_closed};
  }
  return {Io::would_block};
}

IoResult ShmLink::read_broadcast(Message& out) {
  for (;;) {
    // Decode up to a batch of messages, then judge them all at once: each judgement loads
    // the publisher's line, which it rewrites with every message.
    batch_size_ = batch_next_ = 0;
    std::size_t records = 0, bytes = 0, messages = 0;
    bool failed = false;
    while (messages < kBatchMessages && bytes < kBatchBytes) {
      std::span<const std::byte> record;
      auto got = bc_.peek(record);
      if (got == BroadcastReader::Read::corrupt) {
        return fail(Errc::protocol_violation, "publisher corrupted the broadcast ring");
      }
      if (got == BroadcastReader::Read::empty) break;
      ++records;
      bytes += record.size();
      // After lost records, whatever was half assembled is gone, and so is the start of the
      // message the next fragments belong to: skip to one that starts a message.
      bool skip = false;
      if (bc_resync_ || !bc_.follows()) {
        bc_assembler_.reset();
        const char* why = nullptr;
        auto h = wire::read_compact_header(record, &why);
        skip = h && (h->flags & wire::kFragmentFirst) == 0;
      }
      bc_resync_ = skip;
      if (skip) continue;
      Message& into = messages == 0 ? out : batch_[messages - 1];
      auto e = bc_assembler_.feed(record, into);
      if (e == wire::CompactAssembler::Event::error) {
        failed = true;  // real only if the ring held it: judged below
        break;
      }
      if (e == wire::CompactAssembler::Event::message) ++messages;
    }
    if (!bc_.confirm()) {  // the publisher overwrote them while we copied: what we built is void
      if (bc_.corrupt()) return fail(Errc::protocol_violation, "broadcast sequence broke");
      bc_assembler_.reset();
      bc_resync_ = true;
      continue;
    }
    if (records == 0) return {Io::would_block};
    rx_control_->broadcast_cursor.store(bc_.cursor(), std::memory_order_release);
    bc_unchecked_ += static_cast<unsigned>(records);
    bc_bytes_unchecked_ += bytes;
    if (bc_unchecked_ >= kWakeCheckEvery ||
        bc_bytes_unchecked_ >= (bc_.capacity() >> kWakeCheckBytesShift)) {
      wake_waiting_producer();  // a lossless publisher may wait for us to pass
    }
    if (failed) return fail(bc_assembler_.error(), bc_assembler_.error_detail());
    if (messages == 0) continue;  // fragments of a message still arriving
    batch_size_ = messages - 1;
    empty_polls_ = 0;
    return {Io::ok, out.bytes()};
  }
}

IoResult ShmLink::view(std::vector<std::span<const std::byte>>& frames) noexcept {
  // Only a plain request/reply or pipeline ring; the rest goes through recv().
  if (state_ != State::ready || viewing_ || batch_next_ < batch_size_ || bc_map_ != nullptr ||
      expects_offer_ || seated_) {
    return {Io::error, 0, Errc::not_supported};
  }
  bool corrupt = false;
  auto record = rx_.peek(&corrupt);
  // Empty or corrupt: recv() runs the empty path's checks (doorbell, liveness) or reports.
  if (corrupt || record.empty()) return {Io::error, 0, Errc::not_supported};
  try {
    if (!assembler_.view(record, frames)) return {Io::error, 0, Errc::not_supported};
  } catch (const std::bad_alloc&) {
    return {Io::error, 0, Errc::not_supported};
  }
  viewing_ = true;
  viewed_bytes_ = record.size();
  empty_polls_ = 0;
  return {Io::ok, record.size()};
}

void ShmLink::release_view() noexcept {
  if (!viewing_) return;
  viewing_ = false;
  if (state_ == State::ready) release_record(viewed_bytes_);
}

void ShmLink::check_socket() noexcept {
  empty_polls_ = 0;
  char byte;
  ssize_t n = sys::recv(socket_.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN)) peer_gone_ = true;
  if (n > 0 && expects_offer_ && bc_map_ == nullptr) return;  // the offer: the next recv() takes it
  if (n > 0) {
    fail(Errc::protocol_violation, "data on the shm socket after the handshake");
    peer_gone_ = true;
  }
}

bool ShmLink::prepare_sleep() noexcept {
  // While a view is out the head record stays unread: wait for the socket (or the deadline)
  // only, rather than finding "data" and spinning.
  if (state_ != State::ready || viewing_) return true;
  if (releases_unchecked_ > 0 || bc_unchecked_ > 0) wake_waiting_producer();
  bool sleep = rx_.prepare_sleep(fence_before_sleep_ ? &remote_fence : nullptr);
  if (sleep && !pending_.empty()) {
    const Pending& p = pending_.front();
    std::size_t chunk = std::min(p.size - p.sent, max_record_body(capacity_) - kCompactHeaderSize);
    sleep = tx_.prepare_wait(kCompactHeaderSize + chunk);
  }
  // A subscriber: the flag just stored also covers the broadcast ring.
  if (sleep && bc_map_ != nullptr && (batch_next_ < batch_size_ || bc_.has_more())) sleep = false;
  if (sleep && seated_ && options_.broadcast->holds_up(seat_)) {
    // A lossless publisher waiting for this subscriber to read: ask to be rung when it has.
    tx_control_->wake_at.store(options_.broadcast->wanted(), std::memory_order_relaxed);
    tx_control_->producer_waiting.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!options_.broadcast->holds_up(seat_)) {
      tx_control_->producer_waiting.store(0, std::memory_order_relaxed);
      sleep = false;
    }
  }
  if (!sleep) rx_.end_sleep();
  armed_ |= sleep;
  return sleep;
}

void ShmLink::end_sleep() noexcept {
  // Only the flag: the doorbell is drained by the next recv() that finds the ring empty.
  if (state_ == State::ready) rx_.end_sleep();
}

IoResult ShmLink::tick(Clock::time_point now) noexcept {
  if (state_ == State::handshake && now - opened_ > options_.handshake_timeout) {
    return fail(Errc::timeout, "shm handshake timed out");
  }
  return {Io::ok};
}

void ShmLink::close() noexcept {
  if (seated_) options_.broadcast->leave(&seat_);
  seated_ = false;
  if (bc_map_ != nullptr) sys::munmap(bc_map_, bc_map_size_);
  bc_map_ = nullptr;
  bc_ = BroadcastReader();
  // A Loan or a view still points into the rings: they stay mapped until the destructor.
  if (map_ != nullptr && !lent_ && !viewing_) {
    sys::munmap(map_, map_size_);
    map_ = nullptr;
  }
  rx_ = RingReader();
  tx_ = RingWriter();
  socket_.reset();
  epoll_.reset();
  own_bell_.reset();
  peer_bell_.reset();
  state_ = State::failed;
}

}  // namespace

std::size_t shm_ring_capacity(std::size_t ring_bytes) noexcept {
  std::size_t capacity = 64 * 1024;
  while (capacity < ring_bytes && capacity < (std::size_t{1} << 30)) capacity *= 2;
  return capacity;
}

std::unique_ptr<Link> make_shm_link(Fd socket, PeerInfo peer, const LinkOptions& options,
                                    ShmRole role) {
  return std::make_unique<ShmLink>(std::move(socket), std::move(peer), options, role);
}

}  // namespace ipcx::transport
