// Fuzz target: the CURVE mechanism under a hostile peer. The input's first byte picks a part.
// 0: a CURVE server session (greeting, handshake commands, then anything) fed the rest as
// bytes. 1: a CURVE client session the same. Otherwise: a genuine handshake, then eight MESSAGEs
// sealed by the client, delivered to the server in the order the input says (replays and
// reorders included), some with a bit flipped: open() must take exactly the unaltered ones whose
// nonce is above every one taken before, give back what was sealed, and take nothing after its
// first refusal.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "feed_session.hpp"
#include "wire/curve.hpp"

namespace {

using namespace ipcx::wire;

// Keys made once: a fuzzer's runs must not each pay for key generation.
const CurveKeyPair& server_keys() {
  static const CurveKeyPair keys = curve_key_pair();
  return keys;
}

ZmtpConfig session_config(bool as_server) {
  ZmtpConfig c{as_server ? SocketType::router : SocketType::dealer, "", 1 << 16};
  c.curve = CurveConfig{};
  c.curve->as_server = as_server;
  c.curve->server_public = server_keys().public_key;
  if (as_server) {
    c.curve->ours = server_keys();
    c.curve->have_ours = true;
  }
  return c;
}

std::vector<std::byte> only_frame_body(ByteQueue& out) {
  auto all = out.readable();
  std::size_t header = (static_cast<std::uint8_t>(all[0]) & kFlagLong) ? 9 : 2;
  std::vector<std::byte> body(all.begin() + static_cast<std::ptrdiff_t>(header), all.end());
  out.consume(all.size());
  return body;
}

void messages(const std::uint8_t* data, std::size_t size) {
  CurveConfig client_config;
  client_config.server_public = server_keys().public_key;
  CurveConfig server_config;
  server_config.as_server = true;
  server_config.server_public = server_keys().public_key;
  server_config.ours = server_keys();
  server_config.have_ours = true;
  CurveMechanism client(client_config);
  CurveMechanism server(server_config);
  ByteQueue to_server, to_client;
  client.start(to_server);
  if (server.on_command(only_frame_body(to_server), {}, to_client) != CurveMechanism::Step::more ||
      client.on_command(only_frame_body(to_client), {}, to_server) != CurveMechanism::Step::more ||
      server.on_command(only_frame_body(to_server), {}, to_client) != CurveMechanism::Step::ready ||
      client.on_command(only_frame_body(to_client), {}, to_server) != CurveMechanism::Step::ready) {
    __builtin_trap();  // a genuine handshake must complete
  }
  constexpr int kSealed = 8;
  std::vector<std::byte> sealed[kSealed];
  for (int i = 0; i < kSealed; ++i) {
    std::byte payload[2] = {std::byte(i), std::byte(size & 0xff)};
    client.seal(to_server, payload, static_cast<std::uint8_t>(i & 1));
    sealed[i] = only_frame_body(to_server);
  }
  int highest_taken = -1;
  bool refused = false;
  std::span<const std::byte> frame;
  for (std::size_t at = 0; at < size; ++at) {
    int which = data[at] & 7;
    bool flip = (data[at] & 0x80) != 0 && at + 1 < size;
    std::vector<std::byte> body = sealed[which];
    if (flip) body[data[++at] % body.size()] ^= std::byte{1};
    std::uint8_t flags = 0;
    bool taken = server.open(body, frame, flags);
    bool expected = !refused && !flip && which > highest_taken;
    if (taken != expected) __builtin_trap();
    if (taken) {
      highest_taken = which;
      if (frame.size() != 2 || frame[0] != std::byte(which) || flags != (which & 1)) {
        __builtin_trap();
      }
    } else {
      refused = true;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if (data[0] < 2) {
    ZmtpSession session(session_config(data[0] == 0));
    ipcx::fuzz::feed_session(session, data + 1, size - 1, [&](ipcx::Message&) { return true; });
    return 0;
  }
  messages(data + 1, size - 1);
  return 0;
}
