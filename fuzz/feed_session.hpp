// Shared by the fuzz targets that drive a ZMTP session: feeds hostile bytes in pieces whose
// size the input's first byte chooses (so split points are explored too), handing every
// message the session produces to on_message. Stops at the first error, or when on_message
// returns false. With `envelope`, the session splits each message's envelope off there as it
// decodes (ZmtpSession::feed's envelope form) and on_message gets the body.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/zmtp_session.hpp"

namespace ipcx::fuzz {

template <class OnMessage>
void feed_session(wire::ZmtpSession& session, const std::uint8_t* data, std::size_t size,
                  OnMessage&& on_message, Message* envelope = nullptr) {
  Message body;
  if (size == 0) return;
  std::size_t step = 1 + data[0] % 64;
  std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  while (!rest.empty()) {
    auto piece = rest.first(std::min(step, rest.size()));
    while (!piece.empty()) {
      std::size_t used = 0;
      auto e = envelope != nullptr ? session.feed(piece, used, body, envelope)
                                   : session.feed(piece, used);
      if (e == wire::ZmtpSession::Event::error) return;
      piece = piece.subspan(used);
      Message& got = envelope != nullptr ? body : session.message();
      if (e == wire::ZmtpSession::Event::message && !on_message(got)) return;
    }
    rest = rest.subspan(std::min(step, rest.size()));
    session.output().clear();
  }
}

}  // namespace ipcx::fuzz
