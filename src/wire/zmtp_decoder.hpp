// ZMTP 3.1 frame decoder (wire layer): an incremental step machine over the bytes after the
// greeting. Any split of the stream gives the same messages. Every announced length is checked
// against the limit before a byte is stored, and bodies grow as their bytes arrive, so a peer
// announcing 2^63 bytes costs nothing. No syscalls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ipcx/error.hpp"
#include "ipcx/message.hpp"

namespace ipcx::wire {

class ZmtpDecoder {
 public:
  enum class Event : std::uint8_t { need_more, message, command, error };

  explicit ZmtpDecoder(std::size_t max_message_size) noexcept : max_(max_message_size) {}

  // Consumes bytes from `in`, stopping right after a complete message or command.
  // *consumed receives how many bytes were taken. After Event::error the decoder stays failed.
  Event feed(std::span<const std::byte> in, std::size_t& consumed) {
    return feed(in, consumed, message_);
  }
  // The same, with Event::message meaning the message is in `out` (replaced): a message that
  // arrived whole is decoded straight into it, with no move out of the decoder's own.
  // With `envelope`, the message's envelope goes there and only its body to `out` (see
  // wire/delimiter.hpp).
  Event feed(std::span<const std::byte> in, std::size_t& consumed, Message& out,
             Message* envelope = nullptr) {
    if ((consumed = try_whole(in, out, envelope)) != 0) return Event::message;  // inline
    return feed_steps(in, consumed, out, envelope);
  }
  // The usual case alone: when no message is under way and `in` starts with a whole message of
  // short frames, decodes it into `out` (and `envelope`, as feed()) and returns the bytes it
  // took; else 0, nothing consumed.
  std::size_t try_whole(std::span<const std::byte> in, Message& out, Message* envelope) {
    if (state_ != State::flags || in_message_) return 0;
    if (envelope != nullptr) {
      if (std::size_t taken = take_routed(in, out, *envelope); taken != 0) return taken;
    }
    return take_whole(in, out, envelope);
  }

  // After Event::message: the message; the caller may move it out.
  Message& message() noexcept { return message_; }
  // After Event::command: the command frame's body (name length, name, data).
  std::span<const std::byte> command() const noexcept { return command_; }
  Errc error() const noexcept { return error_; }
  const std::string& error_detail() const noexcept { return detail_; }

 private:
  enum class State : std::uint8_t { flags, size, body, failed };
  Event fail(Errc code, std::string detail);
  Event begin_body();
  Event too_large();
  bool over_limit() const noexcept;
  Event finish_frame();
  // A whole message of short frames at the front of `in`, decoded into `out`; 0 when `in` does
  // not start with one (the step machine then takes over), else the bytes it took.
  std::size_t take_whole(std::span<const std::byte> in, Message& out, Message* envelope);
  // take_whole() for the one shape of nearly every request and reply; 0 for any other.
  std::size_t take_routed(std::span<const std::byte> in, Message& out, Message& envelope);
  Event step(std::span<const std::byte> in, std::size_t& consumed);
  Event feed_steps(std::span<const std::byte> in, std::size_t& consumed, Message& out,
                   Message* envelope);

  std::size_t max_;
  State state_ = State::flags;
  std::uint8_t flags_ = 0;
  std::uint8_t size_bytes_needed_ = 0;
  std::uint8_t size_bytes_got_ = 0;
  std::uint64_t frame_size_ = 0;
  std::uint64_t body_left_ = 0;
  bool in_message_ = false;  // a frame with MORE was seen; the message is not complete
  Message message_;
  std::vector<std::byte> command_;
  Errc error_ = Errc::ok;
  std::string detail_;
};

}  // namespace ipcx::wire
