// ZMTP 3.1 session (wire layer): the whole connection as a sans-I/O machine, under the NULL or
// the CURVE mechanism. Bytes from the peer go in through feed(); bytes for the peer come out of
// output(). Under NULL it sends greeting and READY at once; under CURVE it runs the handshake
// (wire/curve.hpp), which carries the same properties, then boxes every frame. It validates the
// peer's greeting (37/ZMTP "Greeting", its mechanism against ours) and properties
// (socket-type pairing), answers PING with PONG, and holds outgoing messages until the
// handshake is done, so no message leaves before the peer has accepted the connection. A PUB or
// XPUB session hands SUBSCRIBE and CANCEL commands up as messages in the 3.0 form
// ([0x01 or 0x00][topic]), so its owner sees one form whichever its subscribers speak.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "ipcx/error.hpp"
#include "ipcx/message.hpp"
#include "ipcx/result.hpp"
#include "wire/byte_queue.hpp"
#include "wire/curve.hpp"
#include "wire/socket_type.hpp"
#include "wire/zmtp_decoder.hpp"
#include "wire/zmtp_encoder.hpp"

namespace ipcx::wire {

struct ZmtpConfig {
  SocketType type = SocketType::dealer;
  std::string identity;
  std::size_t max_message_size = 64u << 20;
  bool announce_request_ids = false;  // send kRequestIdsProperty in our READY
  // The connecting side: send the greeting's first 11 octets (signature and major version), and
  // the rest, with READY, once the peer's greeting has shown its mechanism. A libzmq peer sends
  // its mechanism on seeing our version, but hangs up without a word on seeing a mechanism it
  // does not expect; this way we learn which one it wanted. It delays nothing: our READY could
  // only be answered once the peer's greeting had come anyway.
  bool staged_greeting = false;
  // The CURVE mechanism, with our role and keys; none: NULL.
  std::optional<CurveConfig> curve = std::nullopt;
};

class ZmtpSession {
 public:
  enum class Event : std::uint8_t { need_more, message, error };

  explicit ZmtpSession(ZmtpConfig config);

  // Consumes bytes, stopping after one complete message. Commands are handled inside
  // (a PING queues a PONG). After Event::error the session stays failed; see error().
  Event feed(std::span<const std::byte> in, std::size_t& consumed) {
    return feed(in, consumed, decoder_.message());
  }
  // After Event::message: the message; the caller may move it out.
  Message& message() noexcept { return decoder_.message(); }
  // The same, with Event::message meaning the message is in `out` (replaced), decoded there.
  // With `envelope`: split as ZmtpDecoder::feed does.
  Event feed(std::span<const std::byte> in, std::size_t& consumed, Message& out,
             Message* envelope = nullptr) {
    // Established in the clear, a whole message at the front: the usual case, inline.
    if (clear_ && (consumed = decoder_.try_whole(in, out, envelope)) != 0) {
      return Event::message;
    }
    return feed_steps(in, consumed, out, envelope);
  }

  // Encodes head's frames then tail's frames as one message. message_too_large when their
  // bodies exceed the limit. Before the handshake completes the message is held back.
  Result<void> send(const Message& head, const Message& tail) {
    if (send_plain(head, tail)) return {};
    return send_other(head, tail);
  }
  // send()'s usual case alone: established in the clear, not a SUB (whose messages are
  // commands), within the limit. True when encoded; false, with nothing done, otherwise.
  bool send_plain(const Message& head, const Message& tail) {
    if (!clear_ || subscriber_ || head.bytes() + tail.bytes() > config_.max_message_size) {
      return false;
    }
    encode_message(out_, head, tail);
    return true;
  }
  void send_ping(std::uint16_t ttl_deciseconds);
  // A SUB's subscription (or its cancellation) for topics starting with `topic`: the 3.1
  // SUBSCRIBE/CANCEL command to peers at minor version 1 or more, the 3.0 message form
  // ([0x01 or 0x00][topic]) to minor-0 peers. Only once ready; false before.
  bool send_subscription(bool subscribe, std::span<const std::byte> topic);
  // Sends an ERROR command (for a handshake we refuse); the caller closes after flushing.
  void send_error(std::string_view reason);

  // Bytes waiting to be written to the peer; the caller consume()s what it wrote.
  ByteQueue& output() noexcept { return out_; }
  const ByteQueue& output() const noexcept { return out_; }
  std::size_t queued_bytes() const noexcept {
    return out_.size() + held_.size() + held_message_bytes_;
  }

  bool ready() const noexcept { return state_ == State::ready; }
  bool failed() const noexcept { return state_ == State::failed; }
  Errc error() const noexcept { return error_; }
  const std::string& error_detail() const noexcept { return detail_; }
  SocketType peer_type() const noexcept { return peer_type_; }
  const std::string& peer_identity() const noexcept { return peer_identity_; }
  int peer_minor_version() const noexcept { return peer_minor_; }
  // The TTL of the peer's last PING (37/ZMTP): close the connection after this long without
  // traffic from the peer. 0: none asked for.
  std::chrono::milliseconds peer_ttl() const noexcept { return peer_ttl_; }
  // Why a peer that hung up during the handshake did so, when that tells something: a libzmq
  // peer that sent only its signature and version hangs up on our NULL mechanism when it needs
  // CURVE or PLAIN; a libzmq CURVE server hangs up on a HELLO sealed for another key. Empty
  // reason otherwise.
  struct Hangup {
    Errc code = Errc::ok;
    std::string why;
  };
  Hangup hangup_reason() const;
  // Under CURVE, once ready on the server's side: the client's long-term public key.
  std::optional<CurveKey> curve_client_key() const;
  // Whether the peer's READY carried kRequestIdsProperty.
  bool peer_takes_request_ids() const noexcept { return peer_request_ids_; }

 private:
  enum class State : std::uint8_t { greeting, ready_command, curve_handshake, ready, failed };
  Event fail(Errc code, std::string detail);
  void become_ready();
  // Writes a command: in the clear, or boxed once CURVE is established.
  void put_command(std::string_view name, std::span<const std::byte> data);
  // ---- CURVE (zmtp_curve_session.cpp)
  Event on_curve_command(std::span<const std::byte> body, Message& out);
  Event on_sealed(const Message& outer, Message& out, Message* envelope);
  void seal_message(const Message& head, const Message& tail);
  ByteQueue our_properties() const;
  Event feed_steps(std::span<const std::byte> in, std::size_t& consumed, Message& out,
                   Message* envelope);
  Result<void> send_other(const Message& head, const Message& tail);
  void send_rest_of_greeting();
  Event feed_greeting(std::span<const std::byte> in, std::size_t& consumed);
  Event on_command(std::span<const std::byte> body, Message& out);
  Event on_ready(std::span<const std::byte> props);
  Event on_ping(std::span<const std::byte> data);

  ZmtpConfig config_;
  State state_ = State::greeting;
  bool clear_ = false;  // ready under NULL: frames go in and out as they are
  std::array<std::byte, kGreetingSize> greeting_{};
  std::size_t greeting_got_ = 0;
  bool rest_of_greeting_owed_ = false;  // staged_greeting: octets 11-63 and READY
  ZmtpDecoder decoder_;
  ByteQueue out_;
  ByteQueue held_;  // NULL: messages sent before the peer's READY, encoded
  std::unique_ptr<CurveMechanism> curve_;
  std::deque<Message> held_messages_;  // CURVE: messages sent before the handshake was done
  std::size_t held_message_bytes_ = 0;
  Message opening_;  // CURVE: the frames of a message being received
  Message outer_;    // CURVE: an outer frame just decoded
  SocketType peer_type_ = SocketType::pair;
  std::string peer_identity_;
  bool peer_request_ids_ = false;
  int peer_minor_ = 1;
  std::chrono::milliseconds peer_ttl_{0};
  Errc error_ = Errc::ok;
  std::string detail_;
  bool subscriber_ = false;  // a SUB or XSUB: its messages are subscriptions
};

// Checks the first got.size() bytes of a peer's greeting (all 64 or fewer): signature, version,
// mechanism, as-server. Errc::ok when they are acceptable so far; not_supported for a peer that
// requires a security mechanism other than NULL (CURVE, PLAIN), which is no fault of the peer's;
// protocol_violation for the rest.
struct GreetingFault {
  Errc code = Errc::ok;
  std::string why;
};
// With `curve`, for a socket whose own mechanism is CURVE: a peer of the other of NULL and CURVE
// is auth_failed either way. The as-server octet is not checked under CURVE: libzmq always
// sends 0.
GreetingFault check_greeting(std::span<const std::byte> got, bool curve = false);

}  // namespace ipcx::wire
