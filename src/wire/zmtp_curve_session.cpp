// ZMTP 3.1 session under CURVE (wire layer): the handshake commands handed to the mechanism,
// and frames boxed and opened one by one, their MORE and COMMAND flags inside the box.
#include <algorithm>
#include <string_view>

#include "wire/delimiter.hpp"
#include "wire/zmtp_encoder.hpp"
#include "wire/zmtp_session.hpp"

namespace ipcx::wire {

ByteQueue ZmtpSession::our_properties() const {
  ByteQueue props;
  encode_properties(props, config_.type, config_.identity, config_.announce_request_ids);
  return props;
}

// A handshake command: ERROR refuses us; anything else goes to the mechanism, whose last step
// hands over the peer's properties, as a NULL peer's READY would.
ZmtpSession::Event ZmtpSession::on_curve_command(std::span<const std::byte> body, Message& out) {
  constexpr std::string_view kError =
      "\x05"
      "ERROR";
  std::string_view start(reinterpret_cast<const char*>(body.data()),
                         std::min(body.size(), kError.size()));
  if (start == kError) return on_command(body, out);
  ByteQueue props = our_properties();
  auto step = curve_->on_command(body, props.readable(), out_);
  if (step == CurveMechanism::Step::error) return fail(curve_->error(), curve_->error_detail());
  if (step == CurveMechanism::Step::more) return Event::need_more;
  return on_ready(curve_->peer_metadata());
}

// One outer frame, a MESSAGE: opened, its frame added to the message being received; a COMMAND
// frame is handled as a clear one would be.
ZmtpSession::Event ZmtpSession::on_sealed(const Message& outer, Message& out, Message* envelope) {
  if (outer.size() != 1) {
    return fail(Errc::protocol_violation, "a CURVE MESSAGE frame with MORE set");
  }
  std::uint8_t flags = 0;
  std::span<const std::byte> frame;
  if (!curve_->open(outer.frame(0), frame, flags)) {
    return fail(curve_->error(), curve_->error_detail());
  }
  if ((flags & 2) != 0) {
    if (!opening_.empty()) return fail(Errc::protocol_violation, "a command inside a message");
    if (frame.empty()) return fail(Errc::protocol_violation, "an empty command");
    auto c = on_command(frame, out);
    if (c == Event::message && envelope != nullptr) envelope->clear();  // a subscription
    return c;
  }
  if (opening_.bytes() + frame.size() > config_.max_message_size) {
    return fail(Errc::message_too_large, "a message over the size limit");
  }
  opening_.add(frame);
  if ((flags & 1) != 0) return Event::need_more;
  out = std::move(opening_);
  opening_ = Message{};
  if (envelope != nullptr) split_at_delimiter(out, *envelope);
  return Event::message;
}

void ZmtpSession::seal_message(const Message& head, const Message& tail) {
  std::size_t frames = head.size() + tail.size();
  for (std::size_t i = 0; i < frames; ++i) {
    auto frame = i < head.size() ? head.frame(i) : tail.frame(i - head.size());
    curve_->seal(out_, frame, i + 1 < frames ? 1 : 0);
  }
}

}  // namespace ipcx::wire
