// Optional link capabilities (transport layer): what only some mechanisms do, each its own small
// interface, offered by a link through Link::extensions(). The engine and the patterns ask for
// a capability instead of a scheme; a link without one has a null pointer there.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ipcx/message.hpp"

namespace ipcx::transport {

struct IoResult;

// Links whose input is memory polled by the reader (shm, inproc). Their peer writes without
// a syscall and rings the link's doorbell (its fd) only once told that the owner sleeps.
class Polled {
 public:
  // The owner is about to sleep on fd(); false means something arrived meanwhile: do not sleep.
  virtual bool prepare_sleep() noexcept = 0;
  // The owner woke from (or gave up) sleeping on fd().
  virtual void end_sleep() noexcept = 0;
  // True when serving the link now would find nothing to read, nothing waiting to be written
  // and no bookkeeping due: spin loops poll rings many times a microsecond, and a full recv()
  // per poll costs several times the ring check.
  virtual bool quiet() noexcept = 0;
  // Called now and then (at the owner's ticks, every few dozen sleeps). True when nothing has
  // moved through the link since the last call and it is now armed to ring its doorbell, making
  // fd() readable, when anything comes: the owner stops polling it (and arming it before each
  // sleep) until fd() reports, then calls end_sleep() and polls it again. A server's idle
  // connections then cost its spin loop and its sleeps nothing.
  virtual bool park() noexcept = 0;
  // With doorbell_edges: the owner's wait reported fd(), hung up (or failed) or not.
  virtual void reported(bool hung_up) noexcept { (void)hung_up; }

 protected:
  ~Polled() = default;
};

// Zero-copy sending and receiving, in place in the transport's memory (shm).
class ZeroCopy {
 public:
  // Reserves a message of head's frames then one body frame of `bytes` inside the transport and
  // returns that body's bytes to fill; empty when it cannot lend now (copy instead). Until
  // commit_loan() or cancel_loan() the link sends nothing else.
  virtual std::span<std::byte> loan(const Message& head, std::size_t bytes) noexcept = 0;
  virtual bool commit_loan() noexcept = 0;  // false: the link died meanwhile
  virtual void cancel_loan() noexcept = 0;
  // The next message as views of its frames inside the transport, when it is whole in one
  // record: `lent`, and `frames` holds them until release_view(), which consumes the message;
  // meanwhile recv() reads nothing. `idle`: no message yet, and the link made the checks
  // recv() makes of an empty medium and found it alive. The caller waits rather than calling
  // recv(), which would copy a message that landed a moment later. `declined` for anything
  // else: recv() then copies or reports.
  // A link closed while a view is out keeps its memory mapped until it is destroyed.
  enum class View : std::uint8_t { lent, idle, declined };
  virtual View view(std::vector<std::span<const std::byte>>& frames) noexcept = 0;
  virtual void release_view() noexcept = 0;

 protected:
  ~ZeroCopy() = default;
};

// Many subscribers reading one ring their publisher writes once (shm). Owned by the socket's
// scope; every link whose subscriber reads it says so through Broadcasting::group().
class BroadcastGroup {
 public:
  // Writes the message for every subscriber of the group. Lossy: always true. Lossless: false
  // when a subscriber has not read far enough; what went in stays, and the caller waits (the
  // links' prepare_sleep() ask the laggards to ring) and calls again with the same message.
  virtual bool write(const Message& message) noexcept = 0;

 protected:
  ~BroadcastGroup() = default;
};

// A publisher's link whose subscriber reads a broadcast group instead of this link.
class Broadcasting {
 public:
  // The group, once the subscriber is seated there; null before (and for a subscriber that
  // gets its messages on the link itself).
  virtual BroadcastGroup* group() noexcept = 0;

 protected:
  ~Broadcasting() = default;
};

// A subscriber's link that can tell what its publisher sent and it never got (shm's broadcast
// ring, udp's numbered datagrams).
class Lossy {
 public:
  // Messages lost just before the one recv() last returned, since the last call.
  virtual std::uint64_t take_gap() noexcept = 0;

 protected:
  ~Lossy() = default;
};

// A link that stays open despite bad input (udp's, serving every client of a port): what it
// skipped instead of closing, since the last call.
class Datagrams {
 public:
  struct Dropped {
    std::uint64_t malformed = 0;  // input that was not a message of ours
    std::uint64_t overflow = 0;   // input the kernel dropped for want of buffer space
  };
  virtual Dropped take_dropped() noexcept = 0;

 protected:
  ~Datagrams() = default;
};

// A link with timed work of its own (udp's resends), finer than the owner's periodic tick().
class Timed {
 public:
  // When tick() next has work to do: the owner sleeps no longer, and ticks once it passed.
  virtual std::chrono::steady_clock::time_point wake_by() const noexcept = 0;

 protected:
  ~Timed() = default;
};

// A link that can wait for its next message inside its own read syscall (a connected socket):
// a caller that waits for one reply on one link, with nothing else timed, sleeps in recv()
// itself instead of in epoll_wait() followed by a read, one syscall fewer per round trip.
class DirectWait {
 public:
  // Link::recv_split(), except that with nothing buffered it blocks in one read for up to
  // `timeout` (at least 1 ms): ok with a message, would_block when that read timed out or
  // brought no whole message (a PING, part of one), closed or error as recv() reports them.
  virtual IoResult wait_recv_split(Message& envelope, Message& out,
                                   std::chrono::milliseconds timeout) noexcept = 0;

 protected:
  ~DirectWait() = default;
};

// Links that write a whole message into their medium in one call (shm's ring, a socket's
// write): a pattern's usual send, to a ready peer with nothing queued before it, skips the
// engine's accounting of messages that wait, which a message written at once never needs.
class WholeWrite {
 public:
  enum class Outcome : std::uint8_t {
    declined,  // nothing done: Link::send() takes or reports it
    written,   // all of it is in the medium
    queued,    // a byte stream took it, wrote what the kernel took and queued the rest
  };
  // Writes head's frames then tail's, as one message, straight into the medium. Declined when
  // it cannot go that way: the link is not established, something is queued before it, it
  // needs more than one piece, the medium is full (a ring), or it exceeds max_message_size.
  virtual Outcome write_whole(const Message& head, const Message& tail) noexcept = 0;

 protected:
  ~WholeWrite() = default;
};

// Links that read a whole message straight out of their medium (shm's ring): a pattern's
// usual read skips the engine's ready queue, which only peers read in turn need.
class WholeRead {
 public:
  // The next message, when it lies whole in one piece and has the usual shape (one frame; with
  // `envelope`, the request/reply shape [route][""][body]): decoded into `out` (and
  // `envelope`), and true. False, with nothing consumed, for anything else (nothing there, a
  // message in pieces, another shape, a fault): Link::recv() then reads or reports it.
  virtual bool read_whole(Message& out, Message* envelope) noexcept = 0;

 protected:
  ~WholeRead() = default;
};

struct Extensions {
  Polled* polled = nullptr;
  ZeroCopy* zero_copy = nullptr;
  Broadcasting* broadcasting = nullptr;
  Lossy* lossy = nullptr;
  Datagrams* datagrams = nullptr;
  Timed* timed = nullptr;
  DirectWait* direct_wait = nullptr;
  WholeWrite* whole_write = nullptr;
  WholeRead* whole_read = nullptr;
  // Writes everything queued in one syscall (a byte stream): a burst held back in user space
  // leaves in far fewer writes. Links that write a syscall per message, or none, say false.
  bool gathers_writes = false;
  // fd() is a doorbell: watch it edge-triggered (each ring is a new edge) and tell the Polled
  // link what each wait reported (reported()), so that it need not empty the doorbell after
  // every wake.
  bool doorbell_edges = false;
};

}  // namespace ipcx::transport
