// Compact message encoding (wire layer): see compact_header.hpp and docs/PROTOCOL.md.
#include "wire/compact_header.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "core/copy_bytes.hpp"
#include "wire/delimiter.hpp"

namespace ipcx::wire {
namespace {

template <class T>
T swap_bytes(T value) noexcept {
  unsigned char bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  for (std::size_t i = 0; i < sizeof value / 2; ++i)
    std::swap(bytes[i], bytes[sizeof value - 1 - i]);
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

// Little-endian fields through memcpy, which compiles to one load or store on x86 and ARM.
template <class T>
void put_le(std::byte* out, T value) noexcept {
  if constexpr (std::endian::native == std::endian::big) value = swap_bytes(value);
  std::memcpy(out, &value, sizeof value);
}

template <class T>
T get_le(const std::byte* in) noexcept {
  T value;
  std::memcpy(&value, in, sizeof value);
  if constexpr (std::endian::native == std::endian::big) value = swap_bytes(value);
  return value;
}

}  // namespace

void write_compact_header(std::byte* out, const CompactHeader& h) noexcept {
  put_le<std::uint16_t>(out, kCompactMagic);
  out[2] = static_cast<std::byte>(kCompactVersion);
  out[3] = static_cast<std::byte>(h.flags);
  put_le<std::uint32_t>(out + 4, h.chunk_bytes);
  put_le<std::uint64_t>(out + 8, h.payload_bytes);
  put_le<std::uint64_t>(out + 16, h.request_id);
}

void rewrite_request_id(std::byte* header, std::uint64_t request_id) noexcept {
  put_le<std::uint64_t>(header + 16, request_id);
}

void write_fragment_header(std::byte* out, std::size_t payload, std::size_t sent,
                           std::size_t chunk) noexcept {
  // The bytes write_compact_header() writes, as three little-endian words: magic, version,
  // flags and chunk length; payload length; request id 0. It runs once per shm message.
  std::uint64_t flags =
      (sent == 0 ? kFragmentFirst : 0) | (sent + chunk == payload ? kFragmentLast : 0);
  put_le<std::uint64_t>(out, std::uint64_t{kCompactMagic} | (std::uint64_t{kCompactVersion} << 16) |
                                 (flags << 24) |
                                 (std::uint64_t{static_cast<std::uint32_t>(chunk)} << 32));
  put_le<std::uint64_t>(out + 8, payload);
  put_le<std::uint64_t>(out + 16, 0);
}

void write_whole_fragment(std::byte* out, std::size_t payload, const Message& head,
                          const Message& tail) noexcept {
  put_le<std::uint64_t>(out, std::uint64_t{kCompactMagic} | (std::uint64_t{kCompactVersion} << 16) |
                                 (std::uint64_t{kFragmentFirst | kFragmentLast} << 24) |
                                 (std::uint64_t{static_cast<std::uint32_t>(payload)} << 32));
  put_le<std::uint64_t>(out + 8, payload);
  put_le<std::uint64_t>(out + 16, 0);
  out += kCompactHeaderSize;
  // One frame (a push, a publish), or [route][""][body] (every request and reply): the counts
  // and lengths are known without walking the frames.
  if (tail.empty() && head.size() == 1) {
    put_le<std::uint64_t>(out, 1 | (std::uint64_t{static_cast<std::uint32_t>(head.bytes())} << 32));
    copy_bytes(out + 8, head.frame(0).data(), head.bytes());
    return;
  }
  std::size_t route = head.bytes();
  if (head.size() == 2 && tail.size() == 1 && head.frame(0).size() == route) {
    put_le<std::uint64_t>(out, 3 | (std::uint64_t{static_cast<std::uint32_t>(route)} << 32));
    copy_bytes(out + 8, head.frame(0).data(), route);
    out += 8 + route;
    put_le<std::uint64_t>(out, std::uint64_t{static_cast<std::uint32_t>(tail.bytes())} << 32);
    copy_bytes(out + 8, tail.frame(0).data(), tail.bytes());
    return;
  }
  write_payload(out, head, tail);
}

void write_single_fragment(std::vector<std::byte>& out, const Message& head, const Message& tail,
                           std::uint64_t request_id) {
  std::size_t payload = payload_size(head, tail);
  out.resize(kCompactHeaderSize + payload);
  CompactHeader h;
  h.flags = kFragmentFirst | kFragmentLast;
  h.chunk_bytes = static_cast<std::uint32_t>(payload);
  h.payload_bytes = payload;
  h.request_id = request_id;
  write_compact_header(out.data(), h);
  write_payload(out.data() + kCompactHeaderSize, head, tail);
}

std::optional<CompactHeader> read_compact_header(std::span<const std::byte> in,
                                                 const char** why) noexcept {
  auto fail = [why](const char* text) -> std::optional<CompactHeader> {
    if (why) *why = text;
    return std::nullopt;
  };
  if (in.size() < kCompactHeaderSize) return fail("fragment shorter than its header");
  if (get_le<std::uint16_t>(in.data()) != kCompactMagic) {
    return fail("bad magic in fragment header");
  }
  if (static_cast<std::uint8_t>(in[2]) != kCompactVersion) {
    return fail("unsupported compact header version");
  }
  CompactHeader h;
  h.flags = static_cast<std::uint8_t>(in[3]);
  if (h.flags & ~(kFragmentFirst | kFragmentLast)) return fail("unknown fragment flags");
  h.chunk_bytes = get_le<std::uint32_t>(in.data() + 4);
  h.payload_bytes = get_le<std::uint64_t>(in.data() + 8);
  h.request_id = get_le<std::uint64_t>(in.data() + 16);
  return h;
}

void write_payload(std::byte* out, const Message& head, const Message& tail) noexcept {
  put_le(out, static_cast<std::uint32_t>(head.size() + tail.size()));
  out += 4;
  // One loop over both parts, in this function: it runs once per message on shm, and a call
  // per part cost more than the frames of a small message.
  const Message* part = &head;
  for (int p = 0; p < 2; ++p, part = &tail) {
    for (std::size_t i = 0, n = part->size(); i < n; ++i) {
      auto f = part->frame(i);
      put_le(out, static_cast<std::uint32_t>(f.size()));
      copy_bytes(out + 4, f.data(), f.size());  // request ids and delimiters: no libc call
      out += 4 + f.size();
    }
  }
}

void write_payload_range(std::byte* out, const Message& head, const Message& tail,
                         std::size_t offset, std::size_t length) noexcept {
  // The payload is a sequence of pieces (the count, then each frame's length and bytes); copy
  // the part of each piece that overlaps the range.
  std::size_t at = 0;  // payload offset of the current piece
  std::size_t end = offset + length;
  auto piece = [&](const std::byte* bytes, std::size_t size) {
    std::size_t from = std::max(at, offset), to = std::min(at + size, end);
    if (from < to) std::memcpy(out + (from - offset), bytes + (from - at), to - from);
    at += size;
  };
  std::byte word[4];
  put_le(word, static_cast<std::uint32_t>(head.size() + tail.size()));
  piece(word, 4);
  for (const Message* part : {&head, &tail}) {
    for (std::size_t i = 0; i < part->size() && at < end; ++i) {
      auto f = part->frame(i);
      put_le(word, static_cast<std::uint32_t>(f.size()));
      piece(word, 4);
      piece(f.data(), f.size());
    }
  }
}

CompactAssembler::Event CompactAssembler::fail(Errc code, std::string detail) {
  failed_ = true;
  error_ = code;
  detail_ = std::move(detail);
  message_.clear();
  return Event::error;
}

namespace {
std::uint32_t load_le32(const std::byte* in) noexcept { return get_le<std::uint32_t>(in); }
}  // namespace

CompactAssembler::Event CompactAssembler::fail(Fault fault) {
  if (fault == Fault::too_large) {
    return fail(Errc::message_too_large,
                "message exceeds the maximum size of " + std::to_string(max_) + " bytes");
  }
  return fail(Errc::protocol_violation, fault == Fault::after_last ? "bytes after the last frame"
                                                                   : "payload ends inside a frame");
}

std::span<const std::byte> CompactAssembler::whole_payload(
    std::span<const std::byte> fragment) const noexcept {
  // The header of a whole message in one fragment (as write_whole_fragment() writes it),
  // compared as two words.
  if (fragment.size() < kCompactHeaderSize + 8 || in_message_ || failed_) return {};
  std::uint64_t payload = fragment.size() - kCompactHeaderSize;
  std::uint64_t expected = std::uint64_t{kCompactMagic} | (std::uint64_t{kCompactVersion} << 16) |
                           (std::uint64_t{kFragmentFirst | kFragmentLast} << 24) | (payload << 32);
  if (get_le<std::uint64_t>(fragment.data()) != expected ||
      get_le<std::uint64_t>(fragment.data() + 8) != payload) {
    return {};
  }
  return fragment.subspan(kCompactHeaderSize);
}

std::span<const std::byte> CompactAssembler::one_frame(
    std::span<const std::byte> payload) const noexcept {
  // [1][length][body], filling the payload exactly: a push, a publish. Read once.
  std::uint64_t first = get_le<std::uint64_t>(payload.data());
  std::size_t body = static_cast<std::size_t>(first >> 32);
  if (static_cast<std::uint32_t>(first) != 1 || body != payload.size() - 8 || body > max_) {
    return {};
  }
  return payload.subspan(8, body);
}

bool CompactAssembler::take_whole(std::span<const std::byte> fragment, Message& out,
                                  Message* envelope) {
  auto payload = whole_payload(fragment);
  if (payload.empty()) return false;
  if (envelope != nullptr) return take_routed(payload, out, *envelope);
  auto body = one_frame(payload);
  if (body.data() == nullptr) return false;
  auto [data, ends] = out.reset_layout(body.size(), 1);
  copy_bytes(data, body.data(), body.size());
  ends[0] = body.size();
  return true;
}

CompactAssembler::Event CompactAssembler::feed(std::span<const std::byte> fragment, Message& out,
                                               Message* envelope) {
  if (take_whole(fragment, out, envelope)) return Event::message;
  if (failed_) return Event::error;
  const char* why = "";
  auto h = read_compact_header(fragment, &why);
  if (!h) return fail(Errc::protocol_violation, why);
  auto chunk = fragment.subspan(kCompactHeaderSize);
  if (h->chunk_bytes != chunk.size()) {
    return fail(Errc::protocol_violation, "fragment length disagrees with its header");
  }
  bool first = (h->flags & kFragmentFirst) != 0;
  if (first == in_message_) {
    return fail(Errc::protocol_violation,
                first ? "new message before the last one ended" : "fragment of no message");
  }
  if (first) {
    if (h->payload_bytes < 4) return fail(Errc::protocol_violation, "payload shorter than 4");
    // Bodies are checked exactly as frames arrive, but empty frames cost memory without
    // counting as body bytes: the announced payload bounds them. Each frame adds a 4-byte
    // length, hence the allowance over the body limit.
    if (h->payload_bytes > max_ + max_ / 2 + 64 * 1024) {
      return fail(Errc::message_too_large, "message of " + std::to_string(h->payload_bytes) +
                                               " bytes exceeds the maximum size");
    }
    expected_ = h->payload_bytes;
    if ((h->flags & kFragmentLast) && chunk.size() == expected_) {
      // The whole message in one fragment, the usual case: decoded in one pass, straight into
      // the caller's message.
      out.clear();
      out.reserve(chunk.size());
      if (Fault f = decode_whole(chunk, out, envelope); f != Fault::none) {
        out.clear();
        return fail(f);
      }
      return Event::message;
    }
    received_ = 0;
    field_ = Field::count;
    word_got_ = 0;
    message_.clear();
    in_message_ = true;
    // Room for the whole body at once rather than doubling as fragments arrive; but never more
    // than a few times what the peer has actually sent, so an announcement costs it something.
    message_.reserve(std::min<std::uint64_t>(
        {expected_, max_, std::max<std::uint64_t>(4 * chunk.size(), 64 * 1024)}));
  } else if (h->payload_bytes != expected_) {
    return fail(Errc::protocol_violation, "fragments disagree on the message size");
  }
  if (chunk.size() > expected_ - received_) {
    return fail(Errc::protocol_violation, "fragments exceed the announced message size");
  }
  received_ += chunk.size();
  if (Fault f = decode(chunk); f != Fault::none) return fail(f);
  bool complete = received_ == expected_;
  bool last = (h->flags & kFragmentLast) != 0;
  if (complete != last) {
    return fail(Errc::protocol_violation, "last-fragment flag disagrees with the sizes");
  }
  if (!last) return Event::need_more;
  in_message_ = false;
  if (field_ != Field::done) return fail(Fault::inside_frame);
  if (&out != &message_) out = std::move(message_);
  if (envelope != nullptr) split_at_delimiter(out, *envelope);
  return Event::message;
}

template <class OnFrame>
CompactAssembler::Fault CompactAssembler::walk_whole(std::span<const std::byte> payload,
                                                     OnFrame&& on_frame) const {
  // Each count and length is read once into a local and checked before it is used: the bytes
  // may be shared memory that the peer is still writing.
  const std::byte* at = payload.data();
  std::size_t left = payload.size() - 4;
  std::uint32_t frames = load_le32(at);
  at += 4;
  std::size_t body = 0;
  for (std::uint32_t i = 0; i < frames; ++i) {
    if (left < 4) return Fault::inside_frame;
    std::uint32_t length = load_le32(at);
    at += 4;
    left -= 4;
    if (length > max_ - body) return Fault::too_large;
    if (length > left) return Fault::inside_frame;
    on_frame(std::span<const std::byte>(at, length));
    body += length;
    at += length;
    left -= length;
  }
  return left == 0 ? Fault::none : Fault::after_last;
}

CompactAssembler::Fault CompactAssembler::decode_whole(std::span<const std::byte> payload,
                                                       Message& out, Message* envelope) {
  if (envelope == nullptr) {
    return walk_whole(payload, [&](std::span<const std::byte> frame) { out.add(frame); });
  }
  // Frames go to the envelope up to and including the first empty one, the rest to `out`.
  envelope->clear();
  Message* into = envelope;
  Fault f = walk_whole(payload, [&](std::span<const std::byte> frame) {
    into->add(frame);
    if (frame.empty()) into = &out;
  });
  if (f == Fault::none && into == envelope) std::swap(*envelope, out);  // no delimiter: all body
  return f;
}

bool CompactAssembler::take_routed(std::span<const std::byte> payload, Message& out,
                                   Message& envelope) {
  // [3][route length][route][0][body length][body], filling the payload exactly: an ipcx
  // request or reply. Each length is read once (the bytes may be shared memory the peer still
  // writes); anything else goes to decode_whole(), which also reports what is wrong.
  const std::byte* p = payload.data();
  std::size_t n = payload.size();
  if (n < 16 || load_le32(p) != 3) return false;
  std::size_t route = load_le32(p + 4);
  if (route == 0 || route > n - 16) return false;
  const std::byte* after_route = p + 8 + route;
  if (load_le32(after_route) != 0) return false;
  std::size_t body = load_le32(after_route + 4);
  if (body != n - 16 - route || route + body > max_) return false;
  set_routed({p + 8, route}, {after_route + 8, body}, envelope, out);
  return true;
}

bool CompactAssembler::view(std::span<const std::byte> fragment,
                            std::vector<std::span<const std::byte>>& frames) {
  frames.clear();
  if (auto payload = whole_payload(fragment); !payload.empty()) {
    if (auto body = one_frame(payload); body.data() != nullptr) {
      frames.push_back(body);
      return true;
    }
  }
  if (failed_ || in_message_) return false;
  auto h = read_compact_header(fragment, nullptr);
  if (!h || h->flags != (kFragmentFirst | kFragmentLast)) return false;
  auto payload = fragment.subspan(kCompactHeaderSize);
  if (h->chunk_bytes != payload.size() || h->payload_bytes != payload.size() ||
      payload.size() < 4 || payload.size() > max_ + max_ / 2 + 64 * 1024) {  // as feed()
    return false;
  }
  return walk_whole(payload, [&](std::span<const std::byte> frame) { frames.push_back(frame); }) ==
         Fault::none;
}

CompactAssembler::Fault CompactAssembler::decode(std::span<const std::byte> chunk) {
  while (!chunk.empty()) {
    if (field_ == Field::done) return Fault::after_last;
    if (field_ == Field::body) {
      std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, chunk.size()));
      message_.extend_last(chunk.first(take));
      chunk = chunk.subspan(take);
      body_left_ -= take;
    } else {
      std::size_t take = std::min(4 - word_got_, chunk.size());
      std::memcpy(word_ + word_got_, chunk.data(), take);
      chunk = chunk.subspan(take);
      word_got_ += take;
      if (word_got_ < 4) break;
      word_got_ = 0;
      std::uint64_t value = load_le32(reinterpret_cast<const std::byte*>(word_));
      if (field_ == Field::count) {
        frames_left_ = value;
        field_ = value == 0 ? Field::done : Field::length;
        continue;
      }
      // Checked before a byte of the body is stored.
      if (value > max_ - std::min<std::size_t>(message_.bytes(), max_)) return Fault::too_large;
      message_.add_empty_frame();
      body_left_ = value;
      field_ = Field::body;
    }
    if (field_ == Field::body && body_left_ == 0) {
      field_ = --frames_left_ == 0 ? Field::done : Field::length;
    }
  }
  return Fault::none;
}

}  // namespace ipcx::wire
