// ZMTP 3.1 encoder (wire layer).
#include "wire/zmtp_encoder.hpp"

#include <cstring>

#include "core/copy_bytes.hpp"

namespace ipcx::wire {
namespace {

void put_be(std::byte* out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<std::byte>(value & 0xff);
    value >>= 8;
  }
}

void append_text(ByteQueue& out, std::string_view text) {
  out.append(std::as_bytes(std::span<const char>(text.data(), text.size())));
}

void append_property(ByteQueue& out, std::string_view name, std::string_view value) {
  out.append_byte(static_cast<std::byte>(name.size()));
  append_text(out, name);
  put_be(out.grow(4), value.size(), 4);
  append_text(out, value);
}

}  // namespace

std::array<std::byte, kGreetingSize> make_greeting(bool curve, bool as_server) noexcept {
  std::array<std::byte, kGreetingSize> g{};
  g[0] = std::byte{0xff};
  g[9] = std::byte{0x7f};
  g[10] = std::byte{3};
  g[11] = std::byte{1};
  if (curve) {
    std::memcpy(&g[12], "CURVE", 5);
    g[32] = std::byte{static_cast<unsigned char>(as_server ? 1 : 0)};
  } else {
    std::memcpy(&g[12], "NULL", 4);
  }
  return g;
}

void encode_frame_header(ByteQueue& out, std::size_t size, std::uint8_t flags) {
  if (size <= 255) {
    std::byte* h = out.grow(2);
    h[0] = static_cast<std::byte>(flags);
    h[1] = static_cast<std::byte>(size);
  } else {
    std::byte* h = out.grow(9);
    h[0] = static_cast<std::byte>(flags | kFlagLong);
    put_be(h + 1, size, 8);
  }
}

namespace {

// The bytes encode_part() writes for one message's frames.
std::size_t encoded_size(const Message& part) noexcept {
  std::size_t total = part.bytes() + 2 * part.size();
  if (part.bytes() <= 255) return total;  // no frame can be long
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part.frame(i).size() > 255) total += 7;  // a long frame's 8-byte size
  }
  return total;
}

[[gnu::always_inline]] inline std::byte* encode_part(std::byte* at, const Message& part,
                                                     bool more_after) noexcept {
  std::size_t frames = part.size();
  for (std::size_t i = 0; i < frames; ++i) {
    auto body = part.frame(i);
    auto more = static_cast<std::uint8_t>(i + 1 < frames || more_after ? kFlagMore : 0);
    if (body.size() <= 255) {
      at[0] = static_cast<std::byte>(more);
      at[1] = static_cast<std::byte>(body.size());
      at += 2;
    } else {
      at[0] = static_cast<std::byte>(more | kFlagLong);
      put_be(at + 1, body.size(), 8);
      at += 9;
    }
    copy_bytes(at, body.data(), body.size());
    at += body.size();
  }
  return at;
}

}  // namespace

void encode_message(ByteQueue& out, const Message& head, const Message& tail) {
  // [route][""][body], all short: nearly every request and reply. Written with fixed stores.
  std::size_t route = head.bytes(), body = tail.bytes();
  if (head.size() == 2 && tail.size() == 1 && route - 1 < 255 && body <= 255 &&
      head.frame(0).size() == route) {
    std::byte* at = out.grow(route + body + 6);
    at[0] = static_cast<std::byte>(kFlagMore);
    at[1] = static_cast<std::byte>(route);
    copy_bytes(at + 2, head.frame(0).data(), route);
    at += 2 + route;
    at[0] = static_cast<std::byte>(kFlagMore);
    at[1] = std::byte{0};
    at[2] = std::byte{0};
    at[3] = static_cast<std::byte>(body);
    copy_bytes(at + 4, tail.frame(0).data(), body);
    return;
  }
  // One pass: size everything, grow the queue once, then write headers and bodies in place.
  std::byte* at = out.grow(encoded_size(head) + encoded_size(tail));
  at = encode_part(at, head, !tail.empty());
  encode_part(at, tail, false);
}

void encode_command(ByteQueue& out, std::string_view name, std::span<const std::byte> data) {
  encode_frame_header(out, 1 + name.size() + data.size(), kFlagCommand);
  out.append_byte(static_cast<std::byte>(name.size()));
  append_text(out, name);
  out.append(data);
}

void encode_properties(ByteQueue& out, SocketType type, std::string_view identity,
                       bool request_ids) {
  append_property(out, "Socket-Type", socket_type_name(type));
  // libzmq sends Identity only from the socket types that route by it.
  if (type == SocketType::req || type == SocketType::dealer || type == SocketType::router) {
    append_property(out, "Identity", identity);
  }
  if (request_ids) append_property(out, kRequestIdsProperty, "1");
}

void encode_ready(ByteQueue& out, SocketType type, std::string_view identity, bool request_ids) {
  ByteQueue props;
  encode_properties(props, type, identity, request_ids);
  encode_command(out, "READY", props.readable());
}

void encode_error(ByteQueue& out, std::string_view reason) {
  std::string_view r = reason.substr(0, 255);
  std::byte data[256];
  data[0] = static_cast<std::byte>(r.size());
  std::memcpy(data + 1, r.data(), r.size());
  encode_command(out, "ERROR", {data, 1 + r.size()});
}

void encode_refusal(ByteQueue& out, std::string_view reason) {
  auto greeting = make_greeting();
  out.append(greeting);
  encode_error(out, reason);
}

}  // namespace ipcx::wire
