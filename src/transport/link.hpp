// The transport interface (transport layer): what every OS mechanism provides to the patterns.
// Byte-stream mechanisms (unix, tcp, later fifo and stdio) implement ByteStream and get ZMTP
// framing from stream_link.cpp; message mechanisms (later shm, mq, udp) implement Link directly.
// Nothing here throws: setup faults come back as Result with a detail string, I/O as IoResult.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ipcx/endpoint.hpp"
#include "ipcx/error.hpp"
#include "ipcx/message.hpp"
#include "ipcx/peer.hpp"
#include "ipcx/result.hpp"
#include "wire/zmtp.hpp"

namespace ipcx::transport {

using Clock = std::chrono::steady_clock;

class BroadcastSource;  // shm_broadcast_source.hpp

enum class Io : std::uint8_t { ok, would_block, closed, error };
struct IoResult {
  Io status = Io::ok;
  std::size_t bytes = 0;
  Errc error = Errc::ok;
};

// What a pattern asks of each link it opens or accepts.
struct LinkOptions {
  wire::SocketType socket_type = wire::SocketType::dealer;
  std::size_t max_message_size = 64u << 20;
  std::size_t max_queued_bytes = 64u << 20;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds heartbeat{0};  // 0: off
  std::size_t shm_ring_bytes = 1u << 20;   // shm: each ring's data bytes (a power of two)
  // shm, a publisher's links: the broadcast ring they hand their subscribers.
  std::shared_ptr<BroadcastSource> broadcast;
};

struct ListenOptions {
  LinkOptions link;
  std::uint32_t file_mode = 0600;
  std::vector<std::uint32_t> allow_uids;
};

// A connected byte stream. Non-blocking; never raises SIGPIPE.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  virtual int fd() const noexcept = 0;
  // ok with bytes > 0; would_block; closed at end of stream or reset; error otherwise.
  virtual IoResult read_some(std::span<std::byte> into) noexcept = 0;
  // ok with bytes > 0 (possibly fewer than offered); would_block; closed; error.
  virtual IoResult write_some(std::span<const std::byte> from) noexcept = 0;
  virtual PeerInfo peer() const noexcept = 0;
};

// A connected, message-oriented channel. Single-threaded: one owner drives it.
class Link {
 public:
  virtual ~Link() = default;  // releases everything; never blocks beyond one syscall

  // The one descriptor to wait on: readable for recv(), writable when wants_write() is true.
  virtual int fd() const noexcept = 0;
  // Queues head's frames then tail's frames as one message, copied; the caller keeps both.
  // ok, or would_block when the outbound queue is over max_queued_bytes, or error
  // (message_too_large, or the link's fault). Never blocks; flush() does the writing.
  virtual IoResult send(const Message& head, const Message& tail) noexcept = 0;
  IoResult send(const Message& message) noexcept {
    static const Message kNoFrames;
    return send(message, kNoFrames);
  }
  // Writes what is queued: ok when all of it left, would_block when the kernel is full
  // (wait for writable), closed when the peer went away, error otherwise.
  virtual IoResult flush() noexcept = 0;
  virtual bool wants_write() const noexcept = 0;
  virtual std::size_t queued_bytes() const noexcept = 0;
  // ok with a whole message in `out`; would_block; closed when the peer went away; error when
  // the peer broke the protocol or a limit (the link is then unusable: close it).
  // At most one read syscall per call; after a read that came up short and completed a
  // message, the next call that finds nothing buffered answers would_block without reading
  // (level-triggered readiness reports anything newer), so a caller that must see the socket
  // state now calls twice.
  virtual IoResult recv(Message& out) noexcept = 0;
  // Enforces the handshake deadline and heartbeats. error(timeout) means: close this link.
  // May queue a PING, so flush() afterwards.
  virtual IoResult tick(Clock::time_point now) noexcept = 0;
  // True once the peer completed its handshake.
  virtual bool established() const noexcept = 0;
  // The owner is about to sleep on fd(). Links whose peer must be told to ring a doorbell
  // (shm) say so here; false means something arrived meanwhile: do not sleep. Stream links
  // have nothing to do: the kernel wakes fd() by itself.
  virtual bool prepare_sleep() noexcept { return true; }
  // The owner woke from (or gave up) sleeping on fd().
  virtual void end_sleep() noexcept {}
  // Zero-copy sending (shm): reserves, inside the transport, a message of head's frames then
  // one body frame of `bytes`, and returns that body's bytes for the caller to fill. An empty
  // span means the link cannot lend now (copy instead). Until commit_loan() or cancel_loan()
  // the link sends nothing else, so the owner must finish one loan before its next send.
  virtual std::span<std::byte> loan(const Message& head, std::size_t bytes) noexcept {
    (void)head;
    (void)bytes;
    return {};
  }
  virtual IoResult commit_loan() noexcept { return {Io::error, 0, Errc::not_supported}; }
  virtual void cancel_loan() noexcept {}
  // Zero-copy receiving (shm): the next message as views of its frames inside the transport,
  // when it is whole in one record. Io::ok: `frames` holds them until release_view(), which
  // consumes the message; meanwhile recv() reads nothing. Anything else (not_supported here,
  // nothing there, a fragmented message, a fault): call recv() for this one, which copies or
  // reports. A link closed while a view is out keeps its memory mapped until it is destroyed.
  virtual IoResult view(std::vector<std::span<const std::byte>>& frames) noexcept {
    (void)frames;
    return {Io::error, 0, Errc::not_supported};
  }
  virtual void release_view() noexcept {}
  // A SUB's subscription or its cancellation, in whatever form the peer understands. By
  // default the 3.0 message form, [0x01 or 0x00][topic], which a PUB link hands up as it is.
  virtual IoResult send_subscription(bool subscribe, std::span<const std::byte> topic) noexcept {
    try {
      Message m;
      m.add_empty_frame();
      std::byte flag{static_cast<unsigned char>(subscribe ? 1 : 0)};
      m.extend_last({&flag, 1});
      m.extend_last(topic);
      return send(m);
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
  }
  // A publisher's link: whether its subscriber reads the publisher's broadcast ring (shm), so
  // messages are written there once for all instead of sent on this link.
  virtual bool broadcasting() const noexcept { return false; }
  // A subscriber's link: how many records the publisher sent that were lost before we read
  // them (overwritten in a broadcast ring), since the last call.
  virtual std::uint64_t take_gap() noexcept { return 0; }
  // When tick() next has work of its own to do (udp:// retries, a handshake's deadline): the
  // owner sleeps no longer, and calls tick() once it has passed.
  virtual Clock::time_point wake_by() const noexcept { return Clock::time_point::max(); }
  // What a link that stays open despite bad input (udp://, whose one link serves every client)
  // dropped since the last call: malformed input, and input the kernel dropped for want of
  // buffer space.
  struct Dropped {
    std::uint64_t malformed = 0;
    std::uint64_t overflow = 0;
  };
  virtual Dropped take_dropped() noexcept { return {}; }
  // Whether prepare_sleep()/end_sleep() do anything, so owners can skip calling them.
  virtual bool has_sleep_hooks() const noexcept { return false; }
  // True when serving the link now would find nothing to read, nothing waiting to be written
  // and no bookkeeping due. Spin loops poll shm rings many times a microsecond, and a full
  // recv()/flush() per poll costs several times the ring check: they skip quiet links. A link
  // without a cheap answer says false and is served every poll.
  virtual bool quiet() noexcept { return false; }
  // Idempotent, non-blocking; fd() is -1 afterwards.
  virtual void close() noexcept = 0;
  virtual const PeerInfo& peer() const noexcept = 0;
  // Why the last error or close happened, for logs.
  virtual std::string_view fault() const noexcept = 0;
};

class Listener {
 public:
  virtual ~Listener() = default;        // close()s
  virtual int fd() const noexcept = 0;  // readable when a peer waits
  // A new link; would_block when none is waiting; permission_denied when the peer was refused
  // (already closed); resource_exhausted (EMFILE...) when the caller should back off.
  virtual Result<std::unique_ptr<Link>> accept() noexcept = 0;
  virtual const Endpoint& bound() const noexcept = 0;
  // Stops listening and removes what it created on disk. Idempotent.
  virtual void close() noexcept = 0;
};

}  // namespace ipcx::transport
