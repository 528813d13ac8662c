// ZMTP 3.1 session (wire layer): greeting, NULL handshake, PING/PONG (37/ZMTP).
#include "wire/zmtp_session.hpp"

#include <algorithm>
#include <cstring>

#include "wire/subscriptions.hpp"
#include "wire/zmtp_encoder.hpp"

namespace ipcx::wire {
namespace {

// What a staged greeting sends first: the signature and the major version.
constexpr std::size_t kStagedGreeting = 11;

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::uint8_t octet(std::span<const std::byte> bytes, std::size_t i) {
  return static_cast<std::uint8_t>(bytes[i]);
}

}  // namespace

GreetingFault check_greeting(std::span<const std::byte> got, bool curve) {
  constexpr Errc kBad = Errc::protocol_violation;
  // Signature: octet 0 is 0xFF and octet 9 has its low bit set (not a ZMTP 1.0 peer).
  if (got.size() >= 1 && octet(got, 0) != 0xff) return {kBad, "not a ZMTP peer (bad signature)"};
  if (got.size() >= 10 && (octet(got, 9) & 1) == 0) {
    return {kBad, "not a ZMTP peer (bad signature)"};
  }
  if (got.size() >= 11 && octet(got, 10) < 3) {
    return {kBad, "unsupported ZMTP version " + std::to_string(octet(got, 10)) + " (need 3.x)"};
  }
  if (got.size() >= 32) {
    static constexpr char kNull[20] = {'N', 'U', 'L', 'L'};
    static constexpr char kCurve[20] = {'C', 'U', 'R', 'V', 'E'};
    bool peer_null = std::memcmp(got.data() + 12, kNull, sizeof kNull) == 0;
    bool peer_curve = std::memcmp(got.data() + 12, kCurve, sizeof kCurve) == 0;
    if (!peer_null && !peer_curve) {
      std::string name(as_text(got.subspan(12, 20)).substr(0, 20));
      name = name.substr(0, name.find('\0'));
      for (char& c : name) {
        if (c < 0x20 || c > 0x7e) c = '?';  // the peer's bytes, about to be logged
      }
      return {Errc::not_supported,
              "the peer requires security mechanism " + name + " (ipcx speaks NULL and CURVE)"};
    }
    if (peer_curve && !curve) {
      return {Errc::auth_failed,
              "the peer requires security mechanism CURVE (this socket has no CURVE keys)"};
    }
    if (peer_null && curve) {
      return {Errc::auth_failed, "the peer does not speak CURVE (its mechanism is NULL)"};
    }
  }
  // libzmq sends as-server 0 whatever its CURVE role and reads the role from its own options
  // alone; so do we, and the handshake shows a pairing of two clients or two servers.
  if (got.size() >= 33 && !curve && octet(got, 32) != 0) {
    return {kBad, "as-server must be 0 for NULL"};
  }
  return {};
}

ZmtpSession::ZmtpSession(ZmtpConfig config)
    : config_(std::move(config)),
      // Under CURVE each frame travels alone, boxed: the limit is a frame's plus the box.
      decoder_(config_.max_message_size +
               (config_.curve ? CurveMechanism::kMessageOverhead : std::size_t{0})),
      subscriber_(config_.type == SocketType::sub || config_.type == SocketType::xsub) {
  if (config_.curve) curve_ = std::make_unique<CurveMechanism>(*config_.curve);
  auto greeting = make_greeting(curve_ != nullptr, config_.curve && config_.curve->as_server);
  out_.append(std::span<const std::byte>(greeting).first(kStagedGreeting));
  rest_of_greeting_owed_ = true;
  if (!config_.staged_greeting) send_rest_of_greeting();
}

void ZmtpSession::send_rest_of_greeting() {
  rest_of_greeting_owed_ = false;
  auto greeting = make_greeting(curve_ != nullptr, config_.curve && config_.curve->as_server);
  out_.append(std::span<const std::byte>(greeting).subspan(kStagedGreeting));
  // NULL sends READY right after the greeting without waiting (37/ZMTP; libzmq does the same);
  // a CURVE client its HELLO.
  if (curve_) {
    curve_->start(out_);
    if (curve_->failed()) fail(curve_->error(), curve_->error_detail());
    return;
  }
  encode_ready(out_, config_.type, config_.identity, config_.announce_request_ids);
}

ZmtpSession::Hangup ZmtpSession::hangup_reason() const {
  if (curve_ && state_ == State::curve_handshake && !config_.curve->as_server) {
    return {Errc::auth_failed,
            "the server hung up on our CURVE HELLO: it does not hold the key we expect"};
  }
  if (curve_ || state_ != State::greeting || greeting_got_ < kStagedGreeting - 1 ||
      greeting_got_ >= 32) {
    return {};
  }
  return {Errc::auth_failed,
          "the peer hung up after the start of its greeting, as a ZeroMQ peer that requires "
          "security mechanism CURVE or PLAIN does on meeting NULL (this socket has no CURVE "
          "keys)"};
}

std::optional<CurveKey> ZmtpSession::curve_client_key() const {
  if (!curve_ || state_ != State::ready || !config_.curve->as_server) return std::nullopt;
  return curve_->client_key();
}

void ZmtpSession::become_ready() {
  state_ = State::ready;
  clear_ = !curve_;
  if (curve_) {
    for (const Message& m : held_messages_) seal_message(m, Message{});
    held_messages_.clear();
    held_message_bytes_ = 0;
    return;
  }
  out_.append(held_.readable());
  held_.clear();
}

void ZmtpSession::put_command(std::string_view name, std::span<const std::byte> data) {
  if (!curve_ || state_ != State::ready) {
    encode_command(out_, name, data);
    return;
  }
  // Copied before sealing: `data` may view the mechanism's buffer (a PING's context, answered
  // from the opened frame), which seal() reuses.
  ByteQueue body;
  body.append_byte(static_cast<std::byte>(name.size()));
  body.append(std::as_bytes(std::span<const char>(name.data(), name.size())));
  body.append(data);
  curve_->seal(out_, body.readable(), 2);  // COMMAND
}

ZmtpSession::Event ZmtpSession::fail(Errc code, std::string detail) {
  state_ = State::failed;
  clear_ = false;
  held_messages_.clear();
  held_message_bytes_ = 0;
  error_ = code;
  detail_ = std::move(detail);
  held_.clear();
  return Event::error;
}

Result<void> ZmtpSession::send_other(const Message& head, const Message& tail) {
  if (head.bytes() + tail.bytes() > config_.max_message_size) {
    return unexpected(Errc::message_too_large);
  }
  if (state_ == State::failed) return unexpected(error_);
  // A SUB's messages are its subscriptions: commands to a 3.1 peer.
  if (state_ == State::ready && peer_minor_ >= 1 &&
      (config_.type == SocketType::sub || config_.type == SocketType::xsub)) {
    auto sub = subscription_of(head.empty() ? tail : head);
    if (sub.valid) {
      put_command(sub.subscribe ? "SUBSCRIBE" : "CANCEL", sub.topic);
      return {};
    }
  }
  if (curve_) {
    if (state_ == State::ready) {
      seal_message(head, tail);
    } else {
      Message copy;
      copy.add_frames(head);
      copy.add_frames(tail);
      held_message_bytes_ += copy.bytes();
      held_messages_.push_back(std::move(copy));
    }
    return {};
  }
  encode_message(state_ == State::ready ? out_ : held_, head, tail);
  return {};
}

void ZmtpSession::send_ping(std::uint16_t ttl_deciseconds) {
  std::byte ttl[2] = {static_cast<std::byte>(ttl_deciseconds >> 8),
                      static_cast<std::byte>(ttl_deciseconds & 0xff)};
  put_command("PING", ttl);
}

bool ZmtpSession::send_subscription(bool subscribe, std::span<const std::byte> topic) {
  if (state_ != State::ready) return false;
  std::string_view text(reinterpret_cast<const char*>(topic.data()), topic.size());
  return send(subscription_message(subscribe, text), Message{}).has_value();
}

void ZmtpSession::send_error(std::string_view reason) { encode_error(out_, reason); }

ZmtpSession::Event ZmtpSession::feed_greeting(std::span<const std::byte> in,
                                              std::size_t& consumed) {
  std::size_t take = std::min(in.size(), kGreetingSize - greeting_got_);
  std::memcpy(greeting_.data() + greeting_got_, in.data(), take);
  greeting_got_ += take;
  consumed = take;
  auto fault = check_greeting(std::span(greeting_).first(greeting_got_), curve_ != nullptr);
  if (fault.code != Errc::ok) return fail(fault.code, std::move(fault.why));
  // Octets 12-31 name the peer's mechanism, and it is ours: now the rest of ours may follow.
  if (rest_of_greeting_owed_ && greeting_got_ >= 32) send_rest_of_greeting();
  if (greeting_got_ == kGreetingSize) {
    // A peer at minor 0 speaks 3.0; anything above 3.x is accepted as 3.1 (37/ZMTP).
    peer_minor_ = octet(greeting_, 10) > 3 ? 1 : octet(greeting_, 11);
    state_ = curve_ ? State::curve_handshake : State::ready_command;
  }
  return Event::need_more;
}

ZmtpSession::Event ZmtpSession::feed_steps(std::span<const std::byte> in, std::size_t& consumed,
                                           Message& out, Message* envelope) {
  consumed = 0;
  while (consumed < in.size()) {
    std::size_t used = 0;
    auto rest = in.subspan(consumed);
    switch (state_) {
      case State::failed:
        return Event::error;
      case State::greeting: {
        feed_greeting(rest, used);
        consumed += used;
        if (state_ == State::failed) return Event::error;
        break;
      }
      case State::curve_handshake:
      case State::ready_command:
      case State::ready: {
        if (curve_ && state_ == State::ready) {
          auto e = decoder_.feed(rest, used, outer_);
          consumed += used;
          if (e == ZmtpDecoder::Event::error)
            return fail(decoder_.error(), decoder_.error_detail());
          if (e == ZmtpDecoder::Event::command) {
            return fail(Errc::protocol_violation,
                        "a command in the clear after the CURVE handshake");
          }
          if (e == ZmtpDecoder::Event::message) {
            if (auto s = on_sealed(outer_, out, envelope); s != Event::need_more) return s;
          }
          break;
        }
        auto e = decoder_.feed(rest, used, out, envelope);
        consumed += used;
        if (e == ZmtpDecoder::Event::error) {
          return fail(decoder_.error(), decoder_.error_detail());
        }
        if (e == ZmtpDecoder::Event::command) {
          // A subscription comes back as a message (a PUB's); anything else is handled here.
          auto c = state_ == State::curve_handshake ? on_curve_command(decoder_.command(), out)
                                                    : on_command(decoder_.command(), out);
          if (c != Event::need_more) {
            if (c == Event::message && envelope != nullptr) envelope->clear();  // a subscription
            return c;
          }
        } else if (e == ZmtpDecoder::Event::message) {
          if (state_ != State::ready) {
            return fail(Errc::protocol_violation, "message before the READY command");
          }
          return Event::message;
        }
        break;
      }
    }
  }
  return failed() ? Event::error : Event::need_more;
}

ZmtpSession::Event ZmtpSession::on_command(std::span<const std::byte> body, Message& out) {
  std::size_t name_len = octet(body, 0);
  if (1 + name_len > body.size()) {
    return fail(Errc::protocol_violation, "command name runs past its frame");
  }
  std::string_view name = as_text(body.subspan(1, name_len));
  auto data = body.subspan(1 + name_len);
  if (name == "ERROR") {
    // Also after READY: a peer that accepted our greeting may still refuse our READY.
    std::size_t len = data.empty() ? 0 : std::min<std::size_t>(octet(data, 0), data.size() - 1);
    std::string reason(as_text(data.subspan(data.empty() ? 0 : 1, len)));
    Errc code = reason == kPermissionDeniedReason ? Errc::permission_denied
                : curve_                          ? Errc::auth_failed
                                                  : Errc::refused;
    return fail(code, "peer refused the connection: " + reason);
  }
  if (state_ == State::ready_command) {
    if (name == "READY") return on_ready(data);
    return fail(Errc::protocol_violation, "expected READY, got '" + std::string(name) + "'");
  }
  if (name == "PING") return on_ping(data);
  bool publisher = config_.type == SocketType::pub || config_.type == SocketType::xpub;
  if (publisher && (name == "SUBSCRIBE" || name == "CANCEL")) {
    Message& m = out;
    m.clear();
    m.add_empty_frame();
    std::byte flag{static_cast<unsigned char>(name == "SUBSCRIBE" ? 1 : 0)};
    m.extend_last({&flag, 1});
    m.extend_last(data);
    return Event::message;
  }
  return Event::need_more;  // PONG and unknown commands are ignored, as libzmq does
}

ZmtpSession::Event ZmtpSession::on_ready(std::span<const std::byte> props) {
  std::optional<SocketType> type;
  std::size_t pos = 0;
  while (pos < props.size()) {
    std::size_t name_len = octet(props, pos);
    if (pos + 1 + name_len + 4 > props.size()) {
      return fail(Errc::protocol_violation, "READY property runs past its frame");
    }
    std::string_view name = as_text(props.subspan(pos + 1, name_len));
    pos += 1 + name_len;
    std::uint32_t value_len = 0;
    for (int i = 0; i < 4; ++i) value_len = (value_len << 8) | octet(props, pos + i);
    pos += 4;
    if (value_len > props.size() - pos) {
      return fail(Errc::protocol_violation, "READY property value runs past its frame");
    }
    std::string_view value = as_text(props.subspan(pos, value_len));
    pos += value_len;
    if (name == "Socket-Type") {
      type = parse_socket_type(value);
      if (!type)
        return fail(Errc::protocol_violation, "unknown socket type '" + std::string(value) + "'");
    } else if (name == "Identity") {
      peer_identity_ = std::string(value.substr(0, 255));
    } else if (name == kRequestIdsProperty) {
      peer_request_ids_ = value == "1";
    }
  }
  if (!type) return fail(Errc::protocol_violation, "READY without Socket-Type");
  if (!compatible(config_.type, *type)) {
    std::string reason = "socket type " + std::string(socket_type_name(*type)) +
                         " cannot talk to " + std::string(socket_type_name(config_.type));
    send_error("Invalid socket type");
    return fail(Errc::protocol_violation, std::move(reason));
  }
  peer_type_ = *type;
  become_ready();
  return Event::need_more;
}

ZmtpSession::Event ZmtpSession::on_ping(std::span<const std::byte> data) {
  if (data.size() < 2 || data.size() > 2 + 16) {
    return fail(Errc::protocol_violation, "malformed PING");
  }
  // The TTL is in tenths of a second, big-endian.
  peer_ttl_ = std::chrono::milliseconds(100 * ((octet(data, 0) << 8) | octet(data, 1)));
  put_command("PONG", data.subspan(2));
  return Event::need_more;
}

}  // namespace ipcx::wire
