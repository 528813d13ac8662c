// ShmLink (transport layer, shm://): ring I/O, doorbells, loans and views. See shm_link.hpp.
#include "transport/shm/shm_link.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/errno_map.hpp"
#include "core/remote_fence.hpp"
#include "transport/faults.hpp"
#include "transport/shm/rendezvous.hpp"

namespace ipcx::transport {
namespace {

using wire::kCompactHeaderSize;
constexpr int kLivenessEvery = 256;       // empty polls between socket checks while spinning
constexpr unsigned kWakeCheckEvery = 64;  // records freed between asking about a waiting peer
constexpr std::size_t kWakeCheckBytesShift = 3;  // or an eighth of the ring, whichever first

// The broadcast ring a publisher's links share, under this key in the socket's scope.
const char kBroadcastKey = 0;

bool publishes(wire::SocketType type) noexcept {
  return type == wire::SocketType::pub || type == wire::SocketType::xpub;
}

}  // namespace

ShmLink::ShmLink(Fd socket, PeerInfo peer, const LinkOptions& options, ShmRole role)
    : MessageLink(options.max_message_size),
      socket_(std::move(socket)),
      peer_(std::move(peer)),
      options_(options),
      role_(role),
      expects_offer_(options.socket_type == wire::SocketType::sub ||
                     options.socket_type == wire::SocketType::xsub),
      // A puller's incoming ring is a stream: its producer should not fence per record.
      fence_before_sleep_(options.socket_type == wire::SocketType::pull &&
                          remote_fences_available()),
      bc_assembler_(options.max_message_size),
      opened_(Clock::now()) {
  extensions_.polled = this;
  extensions_.zero_copy = this;
  extensions_.whole_write = this;
  extensions_.whole_read = this;
  extensions_.doorbell_edges = true;
  if (!publishes(options.socket_type) && !expects_offer_) extensions_.direct_wait = this;
  if (publishes(options.socket_type)) extensions_.broadcasting = this;
  if (expects_offer_) extensions_.lossy = this;
  if (publishes(options.socket_type) && options.scope != nullptr) {
    // One broadcast ring per publishing socket, made by its first shm link.
    auto& slot = options.scope->slot(&kBroadcastKey);
    if (!slot) {
      std::string why;
      slot = BroadcastSource::create(options.shm_ring_bytes, options.lossless_publish, why);
      if (!slot) {
        fail(Errc::resource_exhausted, why);
        return;
      }
    }
    broadcast_ = std::static_pointer_cast<BroadcastSource>(slot);
  }
  if (role_ == ShmRole::client && !send_hello(our_hello(wire::ShmStatus::ok, 0)) &&
      errno != EPIPE && errno != ECONNRESET) {
    // A server that refused us on sight (a uid it does not admit) may have answered and
    // closed before our hello went out: the handshake reads its answer, not this error.
    fail(Errc::refused, describe_errno("sending the shm hello", errno));
  }
}

ShmLink::~ShmLink() {
  lent_ = viewing_ = false;  // nothing points into the memory any more
  close();
}

void ShmLink::release_record(std::size_t bytes) noexcept {
  rx_.release();
  reported_ = false;  // the wake brought records: its doorbell is explained
  bytes_unchecked_ += bytes;
  if (++releases_unchecked_ >= kWakeCheckEvery ||
      bytes_unchecked_ >= (capacity_ >> kWakeCheckBytesShift)) {
    wake_waiting_producer();
  }
}

void ShmLink::wake_waiting_producer() noexcept {
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

std::byte* ShmLink::reserve_fragment(std::size_t bytes) noexcept {
  bool corrupt = false;
  std::byte* at = tx_.reserve(bytes, &corrupt);
  if (corrupt) fail(Errc::protocol_violation, "peer corrupted the ring's head index");
  return at;
}

bool ShmLink::commit_fragment(std::size_t) noexcept {
  tx_.commit();
  if (tx_.consumer_needs_wake()) ring_peer();
  return true;
}

IoResult ShmLink::send(const Message& head, const Message& tail) noexcept {
  if (state_ == State::failed) return {Io::error, 0, Errc::peer_closed};
  if (state_ != State::ready || lent_) return {Io::would_block};
  return send_fragments(head, tail, options_.max_message_size, options_.max_queued_bytes);
}

IoResult ShmLink::flush() noexcept {
  if (state_ == State::failed) return {Io::error, 0, Errc::peer_closed};
  if (lent_) return {Io::would_block};  // the reserved record must go first
  return flush_fragments();
}

std::span<std::byte> ShmLink::loan(const Message& head, std::size_t bytes) noexcept {
  if (state_ != State::ready || lent_ || wants_write()) return {};
  if (head.bytes() + bytes > options_.max_message_size) return {};
  std::size_t prefix = 4 + 4 * head.size() + head.bytes() + 4;  // count, head frames, body length
  std::size_t payload = prefix + bytes;
  if (kCompactHeaderSize + payload > max_fragment()) return {};
  std::byte* at = reserve_fragment(kCompactHeaderSize + payload);
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

bool ShmLink::commit_loan() noexcept {
  if (!lent_) return false;
  lent_ = false;
  if (state_ != State::ready) return false;
  return commit_fragment(0);
}

bool ShmLink::quiet() noexcept {
  // Anything but a plain established request/reply ring takes the full path.
  if (viewing_) return true;  // nothing can be read until the view is released
  if (state_ != State::ready || batch_next_ < batch_size_ || wants_write() || lent_ || armed_ ||
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

void ShmLink::reported(bool hung_up) noexcept {
  // A hang-up is read at once, past the doorbells before the end of file; anything else is
  // looked at if the wake finds the ring empty (receive()).
  if (hung_up && state_ == State::ready) check_socket();
  reported_ = !hung_up;
}

bool ShmLink::park() noexcept {
  std::uint64_t in = rx_.position();
  bool still = in == park_mark_;
  park_mark_ = in;
  // Only a plain request/reply or pipeline ring with nothing of ours waiting: a publisher's
  // seat and a subscriber's broadcast ring are read on other terms.
  if (!still || !plain_ring() || wants_write() || lent_ || peer_gone_) return false;
  return prepare_sleep();
}

bool ShmLink::read_whole(Message& out, Message* envelope) noexcept {
  // An empty ring is left to receive(), which disarms and checks liveness then.
  if (!plain_ring()) return false;
  bool corrupt = false;
  auto record = rx_.peek(&corrupt);  // empty when corrupt: receive() reports it
  if (record.empty()) return false;
  try {
    if (!assembler_.take_whole(record, out, envelope)) return false;
  } catch (const std::bad_alloc&) {
    return false;  // receive() tries again, and reports it
  }
  release_record(record.size());
  empty_polls_ = 0;
  return true;
}

IoResult ShmLink::receive(Message& out, Message* envelope) noexcept {
  if (viewing_) return {Io::would_block};  // the head record is lent out
  if (envelope != nullptr && (batch_next_ < batch_size_ || bc_map_ != nullptr)) {
    return Link::recv_split(*envelope, out);  // a subscriber's: split after reading
  }
  if (batch_next_ < batch_size_) {  // broadcast messages already judged intact
    out = std::move(batch_[batch_next_++]);
    return {Io::ok, out.bytes()};
  }
  if (state_ == State::failed) return {Io::error, 0, Errc::peer_closed};
  if (state_ == State::handshake) {
    auto r = handshake();
    if (r.status != Io::ok) return r;
    // Done with this call: the first message then comes from a read of an established link,
    // which can lend it in place (view()). A subscriber goes on to take its publisher's offer.
    if (!expects_offer_) return {Io::would_block};
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
      auto e = assembler_.feed(record, out, envelope);  // copies out of the shared pages
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
  return found_empty();
}

IoResult ShmLink::found_empty() noexcept {
  // Nothing in the ring. Whether the producer waits for room is asked at the second empty poll
  // in a row (or after a sleep), not the first: the first comes straight after a message, when
  // the owner is about to answer it, and the question's fence would delay that answer.
  // prepare_sleep() asks too, so the question is never skipped before a sleep.
  if ((releases_unchecked_ > 0 || bc_unchecked_ > 0) && (empty_polls_ > 0 || armed_)) {
    wake_waiting_producer();
  }
  // After a sleep, disarm. A doorbell left on the socket wakes nobody again (the engine
  // watches it edge-triggered), so doorbells are taken every kArmsPerDrain armings; but a wake
  // the engine reported that brought no record is looked at now: it may be a message that is
  // not a doorbell. While spinning, look at the socket now and then.
  if (armed_) {
    armed_ = false;
    if (reported_) check_socket();
  } else if (!peer_gone_ && ++empty_polls_ >= kLivenessEvery) {
    check_socket();
  }
  if (state_ == State::failed) return {Io::error, 0, Errc::protocol_violation};  // the socket
  if (peer_gone_) {
    fault_ = "peer closed the connection";
    return {Io::closed, 0, Errc::peer_closed};
  }
  return {Io::would_block};
}

ZeroCopy::View ShmLink::view(std::vector<std::span<const std::byte>>& frames) noexcept {
  if (!plain_ring()) return View::declined;  // the rest goes through recv()
  bool corrupt = false;
  auto record = rx_.peek(&corrupt);
  if (corrupt) return View::declined;  // recv() reports it
  if (record.empty()) {
    // recv()'s checks without its read: a record landing now waits for the next view().
    return found_empty().status == Io::would_block ? View::idle : View::declined;
  }
  try {
    if (!assembler_.view(record, frames)) return View::declined;
  } catch (const std::bad_alloc&) {
    return View::declined;
  }
  viewing_ = true;
  viewed_bytes_ = record.size();
  empty_polls_ = 0;
  return View::lent;
}

void ShmLink::release_view() noexcept {
  if (!viewing_) return;
  viewing_ = false;
  if (state_ == State::ready) release_record(viewed_bytes_);
}

void ShmLink::check_socket() noexcept {
  empty_polls_ = 0;
  if (expects_offer_ && bc_map_ == nullptr) {
    // A subscriber before its publisher's offer: only the offer may come, and the next recv()
    // takes it. Nothing rings us before it.
    char byte;
    ssize_t n = sys::recv(socket_.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN)) peer_gone_ = true;
    return;
  }
  arms_since_drain_ = 0;
  reported_ = false;
  took_doorbell(take_waiting_shm_doorbells(socket_.get()));
}

bool ShmLink::took_doorbell(Doorbells what) noexcept {
  switch (what) {
    case Doorbells::rung:
      return true;
    case Doorbells::none:
      return false;
    case Doorbells::closed:
      peer_gone_ = true;
      return false;
    case Doorbells::foreign:  // the link fails: the next receive() reports it as a fault
      fail(Errc::protocol_violation, "a message on the shm socket that is not a doorbell");
      return false;
  }
  return false;
}

bool ShmLink::prepare_sleep() noexcept {
  // While a view is out the head record stays unread: wait for the socket (or the deadline)
  // only, rather than finding "data" and spinning.
  if (state_ != State::ready || viewing_) return true;
  // Still armed from the last sleep: a read that emptied the ring said so (take_drained())
  // instead of reading once more to find nothing.
  armed_ = false;
  // A peer rings at most twice per arming (records, room): emptied every few dozen, the socket
  // never holds more than a few doorbells.
  if (++arms_since_drain_ >= kArmsPerDrain) {
    check_socket();
    if (peer_gone_ || state_ != State::ready) return false;
  }
  if (releases_unchecked_ > 0 || bc_unchecked_ > 0) wake_waiting_producer();
  bool sleep = rx_.prepare_sleep(fence_before_sleep_ ? &remote_fence : nullptr);
  if (sleep && wants_write()) sleep = tx_.prepare_wait(next_fragment_bytes());
  // A subscriber: the flag just stored also covers the broadcast ring.
  if (sleep && bc_map_ != nullptr && (batch_next_ < batch_size_ || bc_.has_more())) sleep = false;
  if (sleep && seated_ && broadcast_->holds_up(seat_)) {
    // A lossless publisher waiting for this subscriber to read: ask to be rung when it has.
    tx_control_->wake_at.store(broadcast_->wanted(), std::memory_order_relaxed);
    tx_control_->producer_waiting.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!broadcast_->holds_up(seat_)) {
      tx_control_->producer_waiting.store(0, std::memory_order_relaxed);
      sleep = false;
    }
  }
  if (!sleep) rx_.end_sleep();
  armed_ |= sleep;
  return sleep;
}

IoResult ShmLink::wait_recv_split(Message& envelope, Message& out,
                                  std::chrono::milliseconds timeout) noexcept {
  // An established ring is only peeked: an empty one is left to the sleep below, which a
  // hang-up ends at once for the read after it to report.
  if (plain_ring()) {
    if (read_whole(out, &envelope)) return {Io::ok, out.bytes()};
  } else {
    auto r = receive(out, &envelope);
    if (r.status != Io::would_block || state_ != State::ready) return r;
  }
  // The same steps as an engine's sleep on this link alone: arm the doorbell, wait on the
  // socket (doorbells and hang-ups alike), disarm.
  if (prepare_sleep()) wait_for_doorbell(timeout);
  end_sleep();
  // Woken, the reply is usually there whole: read straight from the ring.
  if (read_whole(out, &envelope)) return {Io::ok, out.bytes()};
  return receive(out, &envelope);
}

void ShmLink::wait_for_doorbell(std::chrono::milliseconds timeout) noexcept {
  // Clamped: a timeout of weeks would overflow the int poll takes into "forever".
  auto ms = std::clamp<std::int64_t>(timeout.count(), 1, std::int64_t{1} << 30);
  auto poll_socket = [&] {
    pollfd ready{socket_.get(), POLLIN, 0};
    (void)sys::poll(&ready, 1, static_cast<int>(ms));
  };
  if (expects_offer_ && bc_map_ == nullptr) return poll_socket();  // the offer is take_offer()'s
  // Doorbells left from sleeps on the engine would end this wait at once: take them, and
  // return without sleeping, since the one for this arming may have been among them (the
  // caller reads the ring, and arms again).
  if (arms_since_drain_ > 1) {
    check_socket();
    return;
  }
  // A blocking read of the socket waits and takes the doorbell (or sees the hang-up) in one
  // syscall, where poll then read took two. Every other use of the socket passes MSG_DONTWAIT.
  if (!blocking_socket_) {
    int flags = sys::fcntl(socket_.get(), F_GETFL, 0);
    blocking_socket_ = flags >= 0 && sys::fcntl(socket_.get(), F_SETFL, flags & ~O_NONBLOCK) == 0;
    if (!blocking_socket_) return poll_socket();
  }
  // SO_RCVTIMEO is set only when the wait must end sooner than it says, and then to a power of
  // two below what is left: repeated calls with one timeout set it once. Waking early only
  // sends the caller round again.
  if (receive_timeout_ms_ > ms) {
    std::int64_t set = 1;
    while (set * 2 <= ms) set *= 2;
    timeval tv{static_cast<time_t>(set / 1000), static_cast<suseconds_t>((set % 1000) * 1000)};
    if (sys::setsockopt(socket_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
      return poll_socket();
    }
    receive_timeout_ms_ = set;
  }
  if (took_doorbell(take_shm_doorbell(socket_.get(), true))) {
    armed_ = false;  // this arming's doorbell is taken
    arms_since_drain_ = 0;
  }
}

void ShmLink::end_sleep() noexcept {
  // Only the flag: a doorbell left on the socket is taken with the next batch.
  if (state_ == State::ready) rx_.end_sleep();
}

IoResult ShmLink::tick(Clock::time_point now) noexcept {
  if (state_ == State::handshake && now - opened_ > options_.handshake_timeout) {
    return fail(Errc::timeout, "shm handshake timed out");
  }
  if (state_ == State::ready) give_back_idle_pages();
  return {Io::ok};
}

void ShmLink::give_back_idle_pages() noexcept {
  // Still for a whole tick, and more than a chunk has passed through since pages were last
  // given back: a burst is over, and what it touched is given back. Steady traffic never
  // waits here, so it never pays for faulting pages in again. Each ring is ours to give back
  // from either end: as its writer, or as its reader under the announce-and-look rule.
  std::uint64_t in = rx_.position();
  if (in == rx_mark_ && in - rx_given_ > kRingChunk && !viewing_ && rx_.empty()) {
    if (rx_.give_back()) ring_peer();
    rx_given_ = in;
  }
  rx_mark_ = in;
  std::uint64_t out = tx_.position();
  if (out == tx_mark_ && out - tx_given_ > kRingChunk && !lent_) {
    tx_.give_back();
    tx_given_ = out;
  }
  tx_mark_ = out;
}

void ShmLink::close() noexcept {
  if (seated_) broadcast_->leave(&seat_);
  seated_ = false;
  unmap_broadcast();
  // A Loan or a view still points into the rings: they stay mapped until the destructor.
  if (map_ != nullptr && !lent_ && !viewing_) {
    sys::munmap(map_, map_size_);
    map_ = nullptr;
  }
  rx_ = RingReader();
  tx_ = RingWriter();
  socket_.reset();
  state_ = State::failed;
}

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
