// The transport interface (transport layer): what every mechanism gives the engine above it.
// Byte-stream mechanisms (unix, tcp, pipe, stdio) implement ByteStream and get ZMTP framing
// from stream_link.cpp; message mechanisms (shm, mq, udp, inproc) implement Link directly, on
// MessageLink where they share its outbound queue and compact fragments. What only some
// mechanisms do (polled memory, zero copy, broadcast rings, datagram accounting, timers of
// their own) is an optional capability a link offers through extensions(). Nothing here throws:
// setup faults come back as Result with a detail string, I/O as IoResult.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ipcx/endpoint.hpp"
#include "ipcx/error.hpp"
#include "ipcx/message.hpp"
#include "ipcx/peer.hpp"
#include "ipcx/result.hpp"
#include "transport/capabilities.hpp"
#include "transport/socket_scope.hpp"
#include "wire/curve.hpp"
#include "wire/delimiter.hpp"
#include "wire/socket_type.hpp"

namespace ipcx::transport {

using Clock = std::chrono::steady_clock;

enum class Io : std::uint8_t { ok, would_block, closed, error };
struct IoResult {
  Io status = Io::ok;
  std::size_t bytes = 0;
  Errc error = Errc::ok;
};

// What a socket asks of each link it opens or accepts.
struct LinkOptions {
  wire::SocketType socket_type = wire::SocketType::dealer;
  std::size_t max_message_size = 64u << 20;
  std::size_t max_queued_bytes = 64u << 20;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds heartbeat{0};  // 0: off (heartbeat_for() resolves "automatic")
  std::size_t shm_ring_bytes = 1u << 20;   // shm: each ring's data bytes (a power of two)
  bool lossless_publish = false;           // a publisher's shared rings never overwrite
  bool announce_request_ids = false;       // ZMTP: an ipcx Server's READY says it takes them
  bool dialled = false;                    // ZMTP: we connected, so our greeting is staged
  // A dialling link on a local name: the uids its server may run as (server_identity.hpp).
  // Empty: the defaults there.
  std::vector<std::uint32_t> server_uids;
  // ZMTP links: the CURVE mechanism in our role, with our keys; none: NULL.
  std::optional<wire::CurveConfig> curve;
  // CURVE server: whether a client's long-term key, from this peer, is admitted.
  std::function<bool(const wire::CurveKey&, const PeerInfo&)> curve_admit;
  // Objects the mechanism shares among the links of one socket (a publisher's broadcast ring);
  // owned by the socket, which outlives its links. May be null (then nothing is shared).
  SocketScope* scope = nullptr;
};

// A socket's heartbeat option as the links of one endpoint use it: "automatic" (negative) is
// kTcpHeartbeat over tcp://, where a peer can vanish without a FIN, and off on the other
// mechanisms, which see a peer's end (a hang-up, a pidfd, a resend that fails) by themselves.
inline constexpr std::chrono::milliseconds kTcpHeartbeat{5000};
inline std::chrono::milliseconds heartbeat_for(std::chrono::milliseconds option,
                                               const Endpoint& ep) noexcept {
  if (option.count() >= 0) return option;
  return ep.scheme == "tcp" ? kTcpHeartbeat : std::chrono::milliseconds(0);
}

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
  // Whether read_waiting() works: a stream that can block in its read with a timeout.
  virtual bool can_wait_in_read() const noexcept { return false; }
  // read_some(), blocking up to `timeout` (at least 1 ms) when nothing is there: would_block
  // when it timed out. Only where can_wait_in_read().
  virtual IoResult read_waiting(std::span<std::byte> into,
                                std::chrono::milliseconds timeout) noexcept {
    (void)timeout;
    return read_some(into);
  }
  virtual PeerInfo peer() const noexcept = 0;
};

// A connected, message-oriented channel. Single-threaded: one owner drives it.
class Link {
 public:
  virtual ~Link() = default;  // releases everything; never blocks beyond one syscall

  // The one descriptor to wait on: readable for recv(), writable when wants_write() is true.
  virtual int fd() const noexcept = 0;
  // Queues head's frames then tail's frames as one message, copied; the caller keeps both.
  // ok; would_block when the outbound queue is over max_queued_bytes, or the link cannot take
  // messages yet (some links hold them until their handshake completes, others refuse); or
  // error (message_too_large, or the link's fault). Never blocks; flush() does the writing.
  // A SUB link's messages are its subscriptions, [0x01 or 0x00][topic]: each mechanism puts
  // them on the wire in the form its peer understands.
  virtual IoResult send(const Message& head, const Message& tail) noexcept = 0;
  IoResult send(const Message& message) noexcept {
    static const Message kNoFrames;
    return send(message, kNoFrames);
  }
  // Writes what is queued: ok when all of it left, would_block when the medium is full (wait
  // for writable), closed when the peer went away, error otherwise.
  virtual IoResult flush() noexcept = 0;
  virtual bool wants_write() const noexcept = 0;
  // Bytes taken by send() and not yet written; 0 whenever wants_write() is false.
  virtual std::size_t queued_bytes() const noexcept = 0;
  // ok with a whole message in `out`; would_block; closed when the peer went away; error when
  // the peer broke the protocol or a limit (the link is then unusable: close it).
  // At most one read syscall per call; after a read that came up short and completed a
  // message, the next call that finds nothing buffered answers would_block without reading
  // (level-triggered readiness reports anything newer), so a caller that must see the state
  // now calls twice.
  virtual IoResult recv(Message& out) noexcept = 0;
  // recv(), with the message's envelope (its frames up to and including the first empty one,
  // 28/REQREP) in `envelope` and only the body in `out`; without an empty frame `envelope` is
  // left empty. Links that decode whole messages split them as they decode, with no copy.
  virtual IoResult recv_split(Message& envelope, Message& out) noexcept {
    auto r = recv(out);
    if (r.status == Io::ok) {
      try {
        wire::split_at_delimiter(out, envelope);
      } catch (const std::bad_alloc&) {
        return {Io::error, 0, Errc::resource_exhausted};
      }
    }
    return r;
  }
  // After a recv() that returned a message: true when another recv() now would surely find
  // nothing (nothing buffered, and the read came up short). The owner then reads again only
  // once readiness says so, and that next recv() reads. False when the link cannot tell
  // cheaply (then the owner asks recv() until it says would_block).
  virtual bool take_drained() noexcept { return false; }
  // Enforces the handshake deadline and heartbeats; the owner calls it every so often (a
  // quarter of the shorter of the two, at least). error(timeout) means: close this link. May
  // queue a PING, so flush() afterwards.
  virtual IoResult tick(Clock::time_point now) noexcept = 0;
  // True once the peer completed its handshake.
  virtual bool established() const noexcept = 0;
  // Once established: whether the peer answers ipcx request ids (pattern/req_rep/envelope.hpp)
  // in any order. Links that only ipcx speaks do; a ZMTP peer does when its READY says so.
  virtual bool takes_request_ids() const noexcept { return true; }
  // Idempotent, non-blocking; fd() is -1 afterwards.
  virtual void close() noexcept = 0;
  virtual const PeerInfo& peer() const noexcept = 0;
  // Why the last error or close happened, for logs.
  virtual std::string_view fault() const noexcept = 0;

  // The optional capabilities this link has (null pointers for the rest).
  const Extensions& extensions() const noexcept { return extensions_; }

 protected:
  Extensions extensions_;
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
