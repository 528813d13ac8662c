// StreamLink (transport layer): ZMTP framing over a ByteStream, with a bounded outbound queue,
// the handshake deadline and optional heartbeats.
#include "transport/stream_link.hpp"

#include <algorithm>
#include <optional>

#include "wire/zmtp_session.hpp"

namespace ipcx::transport {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

class StreamLink final : public Link, public DirectWait, public WholeWrite {
 public:
  StreamLink(std::unique_ptr<ByteStream> stream, const LinkOptions& options)
      : stream_(std::move(stream)),
        options_(options),
        session_(wire::ZmtpConfig{options.socket_type,
                                  {},
                                  options.max_message_size,
                                  options.announce_request_ids,
                                  options.dialled,
                                  curve_for(options, stream_->peer())}),
        peer_(stream_->peer()),
        opened_(Clock::now()),
        last_rx_(opened_),
        last_ping_(opened_) {
    extensions_.gathers_writes = true;
    if (stream_->can_wait_in_read()) extensions_.direct_wait = this;
    extensions_.whole_write = this;
  }

  int fd() const noexcept override { return stream_ ? stream_->fd() : -1; }

  IoResult send(const Message& head, const Message& tail) noexcept override {
    if (!stream_ || session_.failed()) return {Io::error, 0, Errc::peer_closed};
    if (session_.queued_bytes() >= options_.max_queued_bytes) return {Io::would_block};
    try {
      auto sent = session_.send(head, tail);
      if (!sent) return {Io::error, 0, sent.error()};
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
    return {Io::ok, head.bytes() + tail.bytes()};
  }

  // Encoded and written at once onto an empty queue; what the kernel does not take stays
  // queued (a write error too: flush() reports it).
  Outcome write_whole(const Message& head, const Message& tail) noexcept override {
    auto& out = session_.output();
    if (!stream_ || !out.empty()) return Outcome::declined;
    try {
      if (!session_.send_plain(head, tail)) return Outcome::declined;
    } catch (const std::bad_alloc&) {
      return Outcome::declined;  // send() reports it
    }
    IoResult r = stream_->write_some(out.readable());
    if (r.status != Io::ok) return Outcome::queued;
    out.consume(r.bytes);
    return out.empty() ? Outcome::written : Outcome::queued;
  }

  IoResult flush() noexcept override {
    auto& out = session_.output();
    std::size_t total = 0;
    while (!out.empty()) {
      if (!stream_) return {Io::closed, total, Errc::peer_closed};
      IoResult r = stream_->write_some(out.readable());
      if (r.status != Io::ok) {
        if (r.status != Io::would_block) {
          fault_ = "write failed: " + std::string(to_string(r.error));
          if (auto refused = read_refusal()) return {Io::error, total, *refused};
        }
        r.bytes = total;
        return r;
      }
      out.consume(r.bytes);
      total += r.bytes;
    }
    return {Io::ok, total};
  }

  bool wants_write() const noexcept override { return stream_ && !session_.output().empty(); }
  std::size_t queued_bytes() const noexcept override { return session_.queued_bytes(); }

  IoResult recv(Message& out) noexcept override { return receive(out, nullptr); }
  IoResult recv_split(Message& envelope, Message& out) noexcept override {
    return receive(out, &envelope);
  }

  IoResult wait_recv_split(Message& envelope, Message& out,
                           std::chrono::milliseconds timeout) noexcept override {
    if (!in_.empty() || !stream_) return receive(out, &envelope);
    // With heartbeats, back to the owner's loop by the time a PING may be due: it ticks.
    if (options_.heartbeat.count() > 0) timeout = std::min(timeout, options_.heartbeat);
    return receive(out, &envelope, timeout);
  }

  IoResult tick(Clock::time_point now) noexcept override {
    if (!session_.ready()) {
      if (now - opened_ >= options_.handshake_timeout) {
        fault_ = "handshake timed out";
        return {Io::error, 0, Errc::timeout};
      }
      return {Io::ok};
    }
    // Reads only note that something came; the time is taken here, a tick late at most.
    if (heard_) {
      heard_ = false;
      last_rx_ = now;
    }
    auto ttl = session_.peer_ttl();
    if (ttl.count() > 0 && now - last_rx_ > ttl) {
      fault_ = "peer silent past the TTL of its PING";
      return {Io::error, 0, Errc::timeout};
    }
    auto hb = options_.heartbeat;
    if (hb.count() <= 0) return {Io::ok};
    if (now - last_rx_ > 3 * hb) {
      fault_ = "peer silent past the heartbeat timeout";
      return {Io::error, 0, Errc::timeout};
    }
    // Every interval, whether or not the peer is quiet: the PING carries a TTL, and a peer that
    // honours it (libzmq, ipcx) closes us unless something of ours arrives within it. A link
    // that only receives (a puller's) sends nothing else.
    if (now - last_ping_ >= hb) {
      auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(3 * hb).count() / 100;
      session_.send_ping(static_cast<std::uint16_t>(ttl > 0xffff ? 0xffff : ttl));
      last_ping_ = now;
    }
    return {Io::ok};
  }

  bool established() const noexcept override { return session_.ready(); }
  bool takes_request_ids() const noexcept override { return session_.peer_takes_request_ids(); }
  bool take_drained() noexcept override {
    if (!skip_read_ || !in_.empty()) return false;
    skip_read_ = false;  // the owner waits for readiness: the next recv() must read
    return true;
  }
  void close() noexcept override { stream_.reset(); }
  const PeerInfo& peer() const noexcept override {
    // A CURVE client's key is known once the handshake is done.
    if (peer_.curve_key.empty() && session_.ready()) {
      if (auto key = session_.curve_client_key()) peer_.curve_key = wire::z85_key(*key);
    }
    return peer_;
  }
  std::string_view fault() const noexcept override { return fault_; }

 private:
  // The session's CURVE settings: a server's admission asks about this peer.
  static std::optional<wire::CurveConfig> curve_for(const LinkOptions& options,
                                                    const PeerInfo& peer) {
    std::optional<wire::CurveConfig> curve = options.curve;
    if (curve && curve->as_server && options.curve_admit) {
      curve->admit = [admit = options.curve_admit, peer](const wire::CurveKey& key) {
        return admit(key, peer);
      };
    }
    return curve;
  }

  // With `wait` (DirectWait), the read blocks for up to that long.
  IoResult receive(Message& out, Message* envelope,
                   std::chrono::milliseconds wait = std::chrono::milliseconds(-1)) noexcept {
    try {
      if (auto r = decode_buffered(out, envelope); r.status != Io::would_block) return r;
      if (skip_read_ && wait.count() < 0) {
        // The last read came up short, so the kernel buffer was empty then; level-triggered
        // readiness will report anything newer. Saves an EAGAIN read per message.
        skip_read_ = false;
        return {Io::would_block};
      }
      skip_read_ = false;
      if (!stream_) return {Io::closed, 0, Errc::peer_closed};
      std::byte* space = in_.grow(kReadChunk);
      IoResult r = wait.count() < 0 ? stream_->read_some({space, kReadChunk})
                                    : stream_->read_waiting({space, kReadChunk}, wait);
      in_.shrink_back(kReadChunk - (r.status == Io::ok ? r.bytes : 0));
      if (r.status != Io::ok && r.status != Io::would_block && !session_.ready()) {
        if (auto hangup = session_.hangup_reason(); hangup.code != Errc::ok) {
          fault_ = std::move(hangup.why);
          return {Io::error, 0, hangup.code};
        }
      }
      if (r.status != Io::ok) {
        if (r.status == Io::closed) fault_ = "peer closed the connection";
        return r;
      }
      heard_ = true;  // tick() takes the time
      IoResult decoded = decode_buffered(out, envelope);
      if (decoded.status == Io::ok && r.bytes < kReadChunk) skip_read_ = true;
      return decoded;
    } catch (const std::bad_alloc&) {
      fault_ = "out of memory while reading";
      return {Io::error, 0, Errc::resource_exhausted};
    }
  }

  // A server that refuses us during the handshake writes its reason (a ZMTP ERROR) and closes,
  // so our next write may fail before we have read why. What it wrote is still readable.
  std::optional<Errc> read_refusal() noexcept {
    if (session_.ready()) return std::nullopt;
    skip_read_ = false;
    Message scratch;
    for (int i = 0; i < 4 && !session_.failed(); ++i) {
      if (recv(scratch).status != Io::ok) break;
    }
    if (!session_.failed()) return std::nullopt;
    fault_ = session_.error_detail();
    return session_.error();
  }

  IoResult decode_buffered(Message& out, Message* envelope) {
    while (!in_.empty()) {
      std::size_t used = 0;
      auto e = session_.feed(in_.readable(), used, out, envelope);
      in_.consume(used);
      if (e == wire::ZmtpSession::Event::message) return {Io::ok, out.bytes()};
      if (e == wire::ZmtpSession::Event::error) {
        fault_ = session_.error_detail();
        return {Io::error, 0, session_.error()};
      }
    }
    return {Io::would_block};
  }

  std::unique_ptr<ByteStream> stream_;
  LinkOptions options_;
  wire::ZmtpSession session_;
  wire::ByteQueue in_;
  mutable PeerInfo peer_;
  Clock::time_point opened_;
  Clock::time_point last_rx_;
  Clock::time_point last_ping_;
  bool skip_read_ = false;
  bool heard_ = false;  // bytes came since the last tick()
  std::string fault_;
};

}  // namespace

std::unique_ptr<Link> make_stream_link(std::unique_ptr<ByteStream> stream,
                                       const LinkOptions& options) {
  return std::make_unique<StreamLink>(std::move(stream), options);
}

}  // namespace ipcx::transport
