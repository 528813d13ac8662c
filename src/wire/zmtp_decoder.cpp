// ZMTP 3.1 frame decoder (wire layer), 37/ZMTP "Framing" and "Commands".
#include "wire/zmtp_decoder.hpp"

#include <algorithm>

#include "core/copy_bytes.hpp"
#include "wire/delimiter.hpp"
#include "wire/socket_type.hpp"

namespace ipcx::wire {

ZmtpDecoder::Event ZmtpDecoder::fail(Errc code, std::string detail) {
  state_ = State::failed;
  error_ = code;
  detail_ = std::move(detail);
  return Event::error;
}

bool ZmtpDecoder::over_limit() const noexcept {
  // The limit covers all frames of one message; compare without overflowing.
  std::size_t so_far = in_message_ ? message_.bytes() : 0;
  return frame_size_ > max_ - std::min<std::size_t>(so_far, max_);
}

ZmtpDecoder::Event ZmtpDecoder::begin_body() {
  bool command = (flags_ & kFlagCommand) != 0;
  if (command) {
    if (frame_size_ == 0) return fail(Errc::protocol_violation, "empty command frame");
    if (frame_size_ > kMaxCommandSize) {
      return fail(Errc::protocol_violation,
                  "command of " + std::to_string(frame_size_) + " bytes exceeds the limit");
    }
    command_.clear();
  } else {
    if (over_limit()) return too_large();
    if (!in_message_) message_.clear();
    message_.add_empty_frame();
    in_message_ = true;
  }
  body_left_ = frame_size_;
  state_ = State::body;
  return body_left_ == 0 ? finish_frame() : Event::need_more;
}

ZmtpDecoder::Event ZmtpDecoder::too_large() {
  return fail(Errc::message_too_large,
              "message exceeds the maximum size of " + std::to_string(max_) + " bytes");
}

ZmtpDecoder::Event ZmtpDecoder::finish_frame() {
  state_ = State::flags;
  if (flags_ & kFlagCommand) return Event::command;
  if (flags_ & kFlagMore) return Event::need_more;
  in_message_ = false;
  return Event::message;
}

namespace {

// Copies `frames` short frames holding `bytes` body bytes, whose headers start `at` bytes into
// a whole message already checked, into `into` (replaced); returns the offset after them.
[[gnu::always_inline]] inline std::size_t copy_frames(const std::byte* p, std::size_t at,
                                                      std::size_t frames, std::size_t bytes,
                                                      Message& into) {
  auto [data, ends] = into.reset_layout(bytes, frames);
  std::size_t written = 0;
  for (std::size_t i = 0; i < frames; ++i) {
    std::size_t size = static_cast<std::uint8_t>(p[at + 1]);
    copy_bytes(data + written, p + at + 2, size);
    written += size;
    ends[i] = written;
    at += 2 + size;
  }
  return at;
}

}  // namespace

std::size_t ZmtpDecoder::take_whole(std::span<const std::byte> in, Message& out,
                                    Message* envelope) {
  // Headers first: every frame short, a plain message frame, and all of it here. The envelope
  // ends at the first empty frame.
  const std::byte* p = in.data();
  std::size_t n = in.size(), pos = 0, body = 0, frames = 0;
  std::size_t envelope_frames = 0, envelope_bytes = 0;
  for (;;) {
    if (n - pos < 2) return 0;
    auto flags = static_cast<std::uint8_t>(p[pos]);
    std::size_t size = static_cast<std::uint8_t>(p[pos + 1]);
    if ((flags & ~kFlagMore) != 0 || size > n - pos - 2) return 0;
    body += size;
    pos += 2 + size;
    ++frames;
    if (size == 0 && envelope_frames == 0) {
      envelope_frames = frames;
      envelope_bytes = body;
    }
    if ((flags & kFlagMore) == 0) break;
  }
  if (body > max_) return 0;  // the step machine reports it
  std::size_t at = 0;
  if (envelope != nullptr) {
    at = copy_frames(p, 0, envelope_frames, envelope_bytes, *envelope);
    frames -= envelope_frames;
    body -= envelope_bytes;
  }
  copy_frames(p, at, frames, body, out);
  return pos;
}

std::size_t ZmtpDecoder::take_routed(std::span<const std::byte> in, Message& out,
                                     Message& envelope) {
  // [route][""][body], every frame short and the body last: what an ipcx request and reply
  // look like on the wire, and a DEALER's envelope. Read with a few fixed loads instead of the
  // frame walk; any other shape goes on to it.
  const std::byte* p = in.data();
  std::size_t n = in.size();
  if (n < 7 || static_cast<std::uint8_t>(p[0]) != kFlagMore) return 0;
  std::size_t route = static_cast<std::uint8_t>(p[1]);
  if (route == 0 || route + 6 > n) return 0;  // an empty first frame is the delimiter itself
  const std::byte* delimiter = p + 2 + route;
  if (static_cast<std::uint8_t>(delimiter[0]) != kFlagMore || delimiter[1] != std::byte{0} ||
      delimiter[2] != std::byte{0}) {
    return 0;
  }
  std::size_t body = static_cast<std::uint8_t>(delimiter[3]);
  if (body > n - (route + 6) || route + body > max_) return 0;
  set_routed({p + 2, route}, {delimiter + 4, body}, envelope, out);
  return route + 6 + body;
}

ZmtpDecoder::Event ZmtpDecoder::feed_steps(std::span<const std::byte> in, std::size_t& consumed,
                                           Message& out, Message* envelope) {
  Event e = step(in, consumed);
  if (e == Event::message) {
    if (&out != &message_) out = std::move(message_);
    if (envelope != nullptr) split_at_delimiter(out, *envelope);
  }
  return e;
}

ZmtpDecoder::Event ZmtpDecoder::step(std::span<const std::byte> in, std::size_t& consumed) {
  consumed = 0;
  if (state_ == State::failed) return Event::error;
  // Short message frames whose bodies have arrived whole are added straight from the buffer.
  // Anything else (long or command frames, reserved bits, a partial frame, a limit reached)
  // goes to the step machine below.
  if (state_ == State::flags) {
    while (in.size() - consumed >= 2) {
      auto flags = static_cast<std::uint8_t>(in[consumed]);
      std::size_t size = static_cast<std::uint8_t>(in[consumed + 1]);
      if ((flags & ~kFlagMore) != 0 || size > in.size() - consumed - 2) break;
      std::size_t so_far = in_message_ ? message_.bytes() : 0;
      if (so_far + size > max_) break;
      if (!in_message_) message_.clear();
      message_.add(in.subspan(consumed + 2, size));
      consumed += 2 + size;
      in_message_ = (flags & kFlagMore) != 0;
      if (!in_message_) return Event::message;
    }
  }
  while (consumed < in.size()) {
    switch (state_) {
      case State::flags: {
        flags_ = static_cast<std::uint8_t>(in[consumed++]);
        if (flags_ & 0xf8) return fail(Errc::protocol_violation, "reserved frame flag bits set");
        bool command = (flags_ & kFlagCommand) != 0;
        if (command && (flags_ & kFlagMore)) {
          return fail(Errc::protocol_violation, "command frame with the MORE flag");
        }
        if (command && in_message_) {
          return fail(Errc::protocol_violation, "command inside a multipart message");
        }
        size_bytes_needed_ = (flags_ & kFlagLong) ? 8 : 1;
        size_bytes_got_ = 0;
        frame_size_ = 0;
        state_ = State::size;
        break;
      }
      case State::size: {
        frame_size_ = (frame_size_ << 8) | static_cast<std::uint8_t>(in[consumed++]);
        if (++size_bytes_got_ < size_bytes_needed_) break;
        // Fast path: a message frame whose whole body has arrived is added in one step.
        if (!(flags_ & kFlagCommand) && frame_size_ <= in.size() - consumed) {
          if (over_limit()) return too_large();
          if (!in_message_) message_.clear();
          auto size = static_cast<std::size_t>(frame_size_);
          message_.add(in.subspan(consumed, size));
          consumed += size;
          in_message_ = true;
          Event e = finish_frame();
          if (e != Event::need_more) return e;
          break;
        }
        Event e = begin_body();
        if (e != Event::need_more) return e;
        break;
      }
      case State::body: {
        std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, in.size() - consumed));
        auto chunk = in.subspan(consumed, take);
        if (flags_ & kFlagCommand) {
          command_.insert(command_.end(), chunk.begin(), chunk.end());
        } else {
          message_.extend_last(chunk);
        }
        consumed += take;
        body_left_ -= take;
        if (body_left_ == 0) {
          Event e = finish_frame();
          if (e != Event::need_more) return e;
        }
        break;
      }
      case State::failed:
        return Event::error;
    }
  }
  return Event::need_more;
}

}  // namespace ipcx::wire
