// ShmLink (transport layer, shm://): one shared-memory connection. A seqpacket Unix socket
// carries the rendezvous (hellos, then the memfd by SCM_RIGHTS) and afterwards is the doorbell
// each side rings for the other and the sign of liveness; messages travel through two rings in
// the memfd, in compact fragments. The socket is the link's only descriptor.
// The layout, hellos and fragment encoding are specified in docs/PROTOCOL.md. Its code is
// split by concern: shm_link.cpp (ring I/O, doorbells, loans and views), rendezvous.cpp (the
// handshake), subscriber.cpp (publish/subscribe over the publisher's broadcast ring).
#pragma once

#include <array>
#include <memory>
#include <string>

#include "core/fd.hpp"
#include "transport/message_link.hpp"
#include "transport/shm/broadcast_ring.hpp"
#include "transport/shm/broadcast_source.hpp"
#include "transport/shm/rendezvous.hpp"
#include "transport/shm/ring.hpp"
#include "wire/shm_hello.hpp"

namespace ipcx::transport {

enum class ShmRole : std::uint8_t { server, client };

// Takes a connected seqpacket socket. The client side sends its hello at once; the server side
// answers it with the shared memory as soon as it arrives.
std::unique_ptr<Link> make_shm_link(Fd socket, PeerInfo peer, const LinkOptions& options,
                                    ShmRole role);

// ring_bytes rounded to the power of two in [64 KiB, 1 GiB] that a link will use.
std::size_t shm_ring_capacity(std::size_t ring_bytes) noexcept;

class ShmLink final : public MessageLink<ShmLink>,
                      public DirectWait,
                      public Polled,
                      public ZeroCopy,
                      public WholeWrite,
                      public WholeRead,
                      public Broadcasting,
                      public Lossy {
 public:
  ShmLink(Fd socket, PeerInfo peer, const LinkOptions& options, ShmRole role);
  ~ShmLink() override;

  int fd() const noexcept override { return socket_.get(); }
  bool established() const noexcept override { return state_ == State::ready; }
  const PeerInfo& peer() const noexcept override { return peer_; }
  std::string_view fault() const noexcept override { return fault_; }
  IoResult send(const Message& head, const Message& tail) noexcept override;
  IoResult flush() noexcept override;
  IoResult recv(Message& out) noexcept override { return receive(out, nullptr); }
  IoResult recv_split(Message& envelope, Message& out) noexcept override {
    return receive(out, &envelope);
  }
  IoResult tick(Clock::time_point now) noexcept override;
  void close() noexcept override;
  // After a message: nothing more is in the ring now, so the owner need not read again to
  // find that out (the doorbell, if armed, is drained before the next sleep).
  bool take_drained() noexcept override { return plain_ring() && rx_.empty(); }

  // DirectWait: a request/reply client's link sleeps on its own doorbell and socket.
  IoResult wait_recv_split(Message& envelope, Message& out,
                           std::chrono::milliseconds timeout) noexcept override;
  // Polled
  bool prepare_sleep() noexcept override;
  void end_sleep() noexcept override;
  bool quiet() noexcept override;
  bool park() noexcept override;
  void reported(bool hung_up) noexcept override;
  // ZeroCopy
  std::span<std::byte> loan(const Message& head, std::size_t bytes) noexcept override;
  bool commit_loan() noexcept override;
  void cancel_loan() noexcept override { lent_ = false; }
  View view(std::vector<std::span<const std::byte>>& frames) noexcept override;
  void release_view() noexcept override;
  // WholeWrite
  Outcome write_whole(const Message& head, const Message& tail) noexcept override {
    return state_ == State::ready && !lent_ &&
                   head.bytes() + tail.bytes() <= options_.max_message_size && put_whole(head, tail)
               ? Outcome::written
               : Outcome::declined;
  }
  // WholeRead
  bool read_whole(Message& out, Message* envelope) noexcept override;
  // Broadcasting: a publisher's link, once its subscriber is seated at the broadcast ring.
  BroadcastGroup* group() noexcept override {
    return seated_ && state_ == State::ready ? broadcast_.get() : nullptr;
  }
  // Lossy: a subscriber's link.
  std::uint64_t take_gap() noexcept override {
    std::uint64_t gap = bc_.gap() - gap_taken_;
    gap_taken_ = bc_.gap();
    return gap;
  }

  // The medium of MessageLink: the outgoing ring.
  std::size_t max_fragment() const noexcept { return max_record_body(capacity_); }
  std::byte* reserve_fragment(std::size_t bytes) noexcept;
  bool commit_fragment(std::size_t bytes) noexcept;
  bool failed() const noexcept { return state_ == State::failed; }

 private:
  enum class State : std::uint8_t { handshake, ready, failed };

  IoResult fail(Errc code, std::string why) noexcept {
    if (state_ != State::failed) fault_ = std::move(why);
    state_ = State::failed;
    return {Io::error, 0, code};
  }
  // An established request/reply or pipeline ring with its head record free to read (not lent
  // out, no broadcast batch or subscription in the way): what read_whole() and view() serve.
  bool plain_ring() const noexcept {
    return state_ == State::ready && !viewing_ && batch_next_ >= batch_size_ &&
           bc_map_ == nullptr && !expects_offer_ && !seated_;
  }
  IoResult receive(Message& out, Message* envelope) noexcept;
  IoResult found_empty() noexcept;  // receive()'s checks of a ring with nothing to read
  void ring_peer() noexcept { ring_shm_doorbell(socket_.get()); }
  // Takes the doorbells waiting on the socket, and notes a peer that closed.
  void check_socket() noexcept;
  // What take_shm_doorbell() found, noted: true for a doorbell; a peer that closed is marked
  // gone, and one that sent anything else fails the link (a protocol violation).
  bool took_doorbell(Doorbells what) noexcept;
  // DirectWait's sleep, once armed: until a doorbell, a hang-up or about `timeout`.
  void wait_for_doorbell(std::chrono::milliseconds timeout) noexcept;

  // rendezvous.cpp
  bool send_hello(const wire::ShmHello& hello, const int* fds = nullptr, int nfds = 0) noexcept;
  bool send_rendezvous(std::span<const std::byte> bytes, const int* fds, int nfds) noexcept;
  wire::ShmHello our_hello(wire::ShmStatus status, std::uint64_t ring_bytes) const noexcept;
  // Empty when the peer's socket type may talk to ours, else why not.
  std::string pairing_fault(std::uint8_t peer) const;
  IoResult handshake() noexcept;
  IoResult server_answer(const wire::ShmHello& hello) noexcept;
  IoResult client_accept(const wire::ShmHello& hello, Fd* fds, int nfds) noexcept;
  // Maps both rings; the peer's hello says whether our producer may skip its fence.
  IoResult map_rings(int memfd, std::size_t capacity, const wire::ShmHello& peer) noexcept;

  // subscriber.cpp
  // Publisher: hands the subscriber our broadcast ring and seats it there.
  IoResult offer_broadcast() noexcept;
  // Subscriber: maps the publisher's broadcast ring once its offer arrives.
  IoResult take_offer() noexcept;
  IoResult read_broadcast(Message& out);
  void unmap_broadcast() noexcept;

  // Frees the record at our head. Whether the peer waits for room is asked when the ring runs
  // empty (recv), and every so often in a long burst: the question costs a full fence, and a
  // small message should not wait behind it. Large fragments ask at once, or a producer
  // waiting for room would sleep until the whole ring drained instead of refilling it behind
  // us. No wake-up is lost: we always pass through the empty case before we sleep, after our
  // head store.
  void release_record(std::size_t bytes) noexcept;
  void wake_waiting_producer() noexcept;
  // At a tick: gives back ring pages that a burst touched once both rings have been still for
  // a whole tick.
  void give_back_idle_pages() noexcept;

  Fd socket_;
  PeerInfo peer_;
  LinkOptions options_;
  ShmRole role_;
  State state_ = State::handshake;
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::size_t capacity_ = 0;
  RingReader rx_;
  RingWriter tx_;
  bool peer_gone_ = false;
  bool armed_ = false;            // we told the peer we sleep; a doorbell may be waiting
  bool reported_ = false;         // the engine's wait reported the socket, and no record came since
  bool blocking_socket_ = false;  // O_NONBLOCK cleared, for wait_for_doorbell()
  static constexpr unsigned kArmsPerDrain = 16;
  unsigned arms_since_drain_ = 0;  // armings since the socket was last emptied of doorbells
  std::int64_t receive_timeout_ms_ = std::int64_t{1} << 62;  // SO_RCVTIMEO as last set
  bool lent_ = false;     // a record is reserved for a loan: nothing else may be written
  bool viewing_ = false;  // the record at our head is lent out as a view: nothing is read
  int empty_polls_ = 0;
  // Ring positions at the last tick, and where pages were last given back.
  std::uint64_t rx_mark_ = 0, rx_given_ = 0, tx_mark_ = 0, tx_given_ = 0;
  std::uint64_t park_mark_ = ~std::uint64_t{0};  // rx position at the last park()
  unsigned releases_unchecked_ = 0;    // records freed since we last asked about a waiting peer
  std::size_t bytes_unchecked_ = 0;    // and their bytes
  std::size_t viewed_bytes_ = 0;       // the size of the record lent out as a view
  RingControl* rx_control_ = nullptr;  // our incoming ring's control (a subscriber's seat)
  RingControl* tx_control_ = nullptr;  // the peer's incoming ring's control
  // Publisher side: the socket's broadcast ring and our subscriber's seat there.
  std::shared_ptr<BroadcastSource> broadcast_;
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

}  // namespace ipcx::transport
