// Compact message encoding (wire layer) for the message transports: shm now, mq and udp later.
// A message's payload is its frames, [u32 count] then [u32 length][bytes] per frame, little
// endian. The payload travels in one or more fragments, each led by a 24-byte CompactHeader.
// docs/PROTOCOL.md is the specification. No syscalls: fuzzers and unit tests need no OS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ipcx/error.hpp"
#include "ipcx/message.hpp"
#include "wire/byte_queue.hpp"

namespace ipcx::wire {

inline constexpr std::uint16_t kCompactMagic = 0x5849;  // "IX" in little-endian byte order
inline constexpr std::uint8_t kCompactVersion = 1;
inline constexpr std::size_t kCompactHeaderSize = 24;
inline constexpr std::uint8_t kFragmentFirst = 0x01;  // first fragment of a message
inline constexpr std::uint8_t kFragmentLast = 0x02;   // last fragment of a message

struct CompactHeader {
  std::uint8_t flags = 0;
  std::uint32_t chunk_bytes = 0;    // payload bytes in this fragment, after the header
  std::uint64_t payload_bytes = 0;  // payload bytes of the whole message
  std::uint64_t request_id = 0;     // 0: none (shm carries ids as frames)
};

void write_compact_header(std::byte* out, const CompactHeader& h) noexcept;
// The header of the fragment carrying payload bytes [sent, sent + chunk) of a `payload`-byte
// message: first and last flags follow from the positions.
void write_fragment_header(std::byte* out, std::size_t payload, std::size_t sent,
                           std::size_t chunk) noexcept;
// Rewrites the request id of a header written already: one message encoded once, sent under
// several ids (udp:// publish, one sequence per subscriber).
void rewrite_request_id(std::byte* header, std::uint64_t request_id) noexcept;
// nullopt and *why set when the bytes are not a header of this version.
std::optional<CompactHeader> read_compact_header(std::span<const std::byte> in,
                                                 const char** why) noexcept;

// Payload size of a message: 4 + sum over frames of (4 + length).
inline std::size_t payload_size(const Message& head, const Message& tail) noexcept {
  return 4 + 4 * (head.size() + tail.size()) + head.bytes() + tail.bytes();
}
// Writes the payload of head's frames then tail's frames; out must hold payload_size().
void write_payload(std::byte* out, const Message& head, const Message& tail) noexcept;
// A whole message as one fragment, written at `out`: the header (FIRST and LAST, request id 0)
// then the payload, which is `payload` = payload_size(head, tail) bytes. A message of one
// frame, and the request/reply shape [route][""][body], are written with fixed stores.
void write_whole_fragment(std::byte* out, std::size_t payload, const Message& head,
                          const Message& tail) noexcept;
// A whole message as one fragment (header with FIRST and LAST, then the payload), replacing
// `out`'s contents: what a udp:// datagram carries.
void write_single_fragment(std::vector<std::byte>& out, const Message& head, const Message& tail,
                           std::uint64_t request_id);
// Writes bytes [offset, offset + length) of that payload, so a large message can go out in
// fragments straight from the Message, never serialised whole.
void write_payload_range(std::byte* out, const Message& head, const Message& tail,
                         std::size_t offset, std::size_t length) noexcept;

// Rebuilds messages from fragments, checking every field against what came before and every
// length against the limit before storing anything. Frames are decoded as the fragment bytes
// arrive, straight into the message: one copy, and no buffer for the whole payload.
class CompactAssembler {
 public:
  enum class Event : std::uint8_t { need_more, message, error };

  explicit CompactAssembler(std::size_t max_body_bytes) noexcept : max_(max_body_bytes) {}

  // One whole fragment: header then chunk; after Event::message the message is in `out`
  // (decoded straight into it when it came in one fragment; `out` may be cleared on the way
  // to an error). After Event::error the assembler stays failed.
  // With `envelope`, the message's envelope (wire/delimiter.hpp) goes there instead, split
  // off as it is decoded.
  Event feed(std::span<const std::byte> fragment, Message& out, Message* envelope = nullptr);
  // The same, keeping the message here for message().
  Event feed(std::span<const std::byte> fragment) { return feed(fragment, message_); }
  // A whole message in one fragment, none being assembled, of the usual shapes (one frame;
  // with `envelope`, the request/reply shape): decoded into `out` (and `envelope`), true.
  // False, with `out` and `envelope` untouched, for anything else, which feed() then decodes
  // or reports. Lengths are read once (the bytes may be memory the peer still writes).
  bool take_whole(std::span<const std::byte> fragment, Message& out, Message* envelope);
  // Zero-copy reading: true when `fragment` is a whole message in one fragment, none is being
  // assembled, and every count and length checks out (each read once); then `frames` holds
  // views of its frames inside `fragment`, whose bytes the peer may still rewrite. False for
  // anything else, which feed() then decodes or reports.
  bool view(std::span<const std::byte> fragment, std::vector<std::span<const std::byte>>& frames);
  Message& message() noexcept { return message_; }
  Errc error() const noexcept { return error_; }
  const std::string& error_detail() const noexcept { return detail_; }
  // Forgets any half-assembled message and any failure: for fragments read from memory the
  // peer may have been overwriting, which turned out torn.
  void reset() noexcept {
    failed_ = false;
    in_message_ = false;
    message_.clear();
  }

 private:
  enum class Field : std::uint8_t { count, length, body, done };
  enum class Fault : std::uint8_t { none, too_large, after_last, inside_frame };
  Event fail(Errc code, std::string detail);
  Event fail(Fault fault);
  // Decodes payload bytes into message_, as they arrive in fragments.
  Fault decode(std::span<const std::byte> chunk);
  // The payload of a whole message in one fragment (its header checked), or empty.
  std::span<const std::byte> whole_payload(std::span<const std::byte> fragment) const noexcept;
  // The body of a one-frame payload (8 bytes or more), or a null span for any other.
  std::span<const std::byte> one_frame(std::span<const std::byte> payload) const noexcept;
  // A whole payload of the request/reply shape, split into `envelope` and `out`; false (and
  // nothing touched) for any other.
  bool take_routed(std::span<const std::byte> payload, Message& out, Message& envelope);
  // Decodes a whole payload (4 bytes or more) into `out` in one pass.
  Fault decode_whole(std::span<const std::byte> payload, Message& out, Message* envelope);
  // The frame table of a whole payload (4 bytes or more), for decode_whole() and view(): each
  // count and length read once and checked before use, each frame handed to on_frame(bytes).
  template <class OnFrame>
  Fault walk_whole(std::span<const std::byte> payload, OnFrame&& on_frame) const;

  std::size_t max_;
  bool in_message_ = false;
  bool failed_ = false;
  std::uint64_t expected_ = 0;  // payload_bytes of the message being assembled
  std::uint64_t received_ = 0;  // payload bytes seen so far
  Field field_ = Field::count;
  std::uint8_t word_[4] = {};  // a count or length split across fragments
  std::size_t word_got_ = 0;
  std::uint64_t frames_left_ = 0;
  std::uint64_t body_left_ = 0;
  Message message_;
  Errc error_ = Errc::ok;
  std::string detail_;
};

}  // namespace ipcx::wire
