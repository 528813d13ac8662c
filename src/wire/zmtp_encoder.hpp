// ZMTP 3.1 encoder (wire layer): greeting, frames, commands and READY into a ByteQueue.
// Short size form up to 255 bytes, long form above (37/ZMTP "Framing").
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "ipcx/message.hpp"
#include "wire/byte_queue.hpp"
#include "wire/socket_type.hpp"

namespace ipcx::wire {

// Our 64-byte greeting: version 3.1, the NULL mechanism (as-server 0), or CURVE with our role.
std::array<std::byte, kGreetingSize> make_greeting(bool curve = false,
                                                   bool as_server = false) noexcept;

void encode_frame_header(ByteQueue& out, std::size_t size, std::uint8_t flags);
// All frames of head, then all frames of tail, as one ZMTP message.
void encode_message(ByteQueue& out, const Message& head, const Message& tail);
void encode_command(ByteQueue& out, std::string_view name, std::span<const std::byte> data);
// The READY property by which an ipcx Server says it answers envelopes that carry ipcx request
// ids (pattern/req_rep/envelope.hpp) in any order; libzmq ignores properties it does not know.
inline constexpr std::string_view kRequestIdsProperty = "X-Ipcx-Request-Ids";

// The metadata a READY carries (NULL) or the CURVE handshake boxes: Socket-Type, Identity where
// libzmq sends it, and with `request_ids` the property an ipcx Server announces.
void encode_properties(ByteQueue& out, SocketType type, std::string_view identity,
                       bool request_ids);
// With `request_ids`, also the property an ipcx Server announces (kRequestIdsProperty).
void encode_ready(ByteQueue& out, SocketType type, std::string_view identity,
                  bool request_ids = false);
// An ERROR command with `reason` (cut to 255 bytes).
void encode_error(ByteQueue& out, std::string_view reason);
// What a listener sends a peer it will not admit before closing: our greeting, then ERROR.
void encode_refusal(ByteQueue& out, std::string_view reason);

}  // namespace ipcx::wire
