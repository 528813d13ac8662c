// ZMTP frame decoder: every split of a stream gives the same messages; each malformed input is
// refused with the right code, and announced lengths are never allocated up front.
#include "wire/zmtp_decoder.hpp"

#include <gtest/gtest.h>

#include "wire/delimiter.hpp"
#include "wire/zmtp_encoder.hpp"

namespace ipcx::wire {
namespace {

using Bytes = std::vector<std::byte>;

Bytes bytes_of(std::initializer_list<int> values) {
  Bytes b;
  for (int v : values) b.push_back(static_cast<std::byte>(v));
  return b;
}

// A stream mixing short, long, empty and multipart messages with commands.
Bytes sample_stream(std::vector<Message>& messages) {
  messages = {Message{"hello"}, Message{"", "routed", std::string(300, 'L')},
              Message{std::string(70000, 'x')}, Message{""}};
  ByteQueue q;
  encode_message(q, messages[0], Message{});
  encode_command(q, "PING", bytes_of({0, 10}));
  encode_message(q, messages[1], Message{});
  encode_message(q, messages[2], Message{});
  encode_command(q, "SUBSCRIBE", bytes_of({'a'}));
  encode_message(q, messages[3], Message{});
  auto r = q.readable();
  return Bytes(r.begin(), r.end());
}

// Feeds `chunks` in order and collects messages and command names.
void decode(const std::vector<std::span<const std::byte>>& chunks, std::vector<Message>& got,
            int& commands) {
  ZmtpDecoder d(1 << 20);
  for (auto chunk : chunks) {
    while (!chunk.empty()) {
      std::size_t used = 0;
      auto e = d.feed(chunk, used);
      ASSERT_NE(e, ZmtpDecoder::Event::error) << d.error_detail();
      chunk = chunk.subspan(used);
      if (e == ZmtpDecoder::Event::message) got.push_back(std::move(d.message()));
      if (e == ZmtpDecoder::Event::command) ++commands;
    }
  }
}

TEST(ZmtpDecoder, EverySplitPointGivesTheSameMessages) {
  std::vector<Message> want;
  Bytes stream = sample_stream(want);
  std::span<const std::byte> all(stream);
  // Every split into two pieces near the frame headers, plus a stride through the big body.
  for (std::size_t cut = 0; cut <= stream.size();
       cut += (cut < 600 || cut > stream.size() - 600) ? 1 : 97) {
    std::vector<Message> got;
    int commands = 0;
    decode({all.first(cut), all.subspan(cut)}, got, commands);
    ASSERT_EQ(got, want) << "split at " << cut;
    ASSERT_EQ(commands, 2);
  }
}

TEST(ZmtpDecoder, ByteAtATime) {
  std::vector<Message> want;
  Bytes stream = sample_stream(want);
  std::vector<std::span<const std::byte>> pieces;
  for (std::size_t i = 0; i < stream.size(); ++i) pieces.emplace_back(&stream[i], 1);
  std::vector<Message> got;
  int commands = 0;
  decode(pieces, got, commands);
  EXPECT_EQ(got, want);
  EXPECT_EQ(commands, 2);
}

Errc error_for(const Bytes& input, std::size_t max = 1 << 20) {
  ZmtpDecoder d(max);
  std::span<const std::byte> rest(input);
  while (!rest.empty()) {
    std::size_t used = 0;
    auto e = d.feed(rest, used);
    if (e == ZmtpDecoder::Event::error) return d.error();
    rest = rest.subspan(used);
  }
  return Errc::ok;
}

TEST(ZmtpDecoder, RefusesMalformedFrames) {
  EXPECT_EQ(error_for(bytes_of({0x08, 0})), Errc::protocol_violation);     // reserved bit
  EXPECT_EQ(error_for(bytes_of({0x80, 0})), Errc::protocol_violation);     // reserved bit
  EXPECT_EQ(error_for(bytes_of({0x05, 1, 1})), Errc::protocol_violation);  // command + MORE
  EXPECT_EQ(error_for(bytes_of({0x04, 0})), Errc::protocol_violation);     // empty command
  EXPECT_EQ(error_for(bytes_of({0x01, 1, 'a', 0x04, 1, 0})),               // command inside
            Errc::protocol_violation);                                     // a multipart
  EXPECT_EQ(error_for(bytes_of({0x06, 0, 0, 0, 0, 0, 2, 0, 0})),           // 128 KiB command
            Errc::protocol_violation);
}

TEST(ZmtpDecoder, HugeAnnouncedLengthIsRefusedBeforeAllocating) {
  // LONG frame announcing 2^63 bytes.
  EXPECT_EQ(error_for(bytes_of({0x02, 0x80, 0, 0, 0, 0, 0, 0, 0})), Errc::message_too_large);
  // Just above the limit, and the same total spread over two frames.
  EXPECT_EQ(error_for(bytes_of({0x02, 0, 0, 0, 0, 0, 0, 4, 1}), 1024), Errc::message_too_large);
  EXPECT_EQ(error_for(bytes_of({0x01, 200}), 100), Errc::message_too_large);
  Bytes two_frames = bytes_of({0x01, 60});
  two_frames.resize(two_frames.size() + 60, std::byte{'a'});
  two_frames.push_back(std::byte{0x00});
  two_frames.push_back(std::byte{41});
  EXPECT_EQ(error_for(two_frames, 100), Errc::message_too_large);
}

TEST(ZmtpDecoder, ExactlyTheLimitPasses) {
  Bytes frame = bytes_of({0x00, 100});
  frame.resize(frame.size() + 100, std::byte{'a'});
  EXPECT_EQ(error_for(frame, 100), Errc::ok);
}

TEST(ZmtpDecoder, BodyGrowsWithArrivingBytesOnly) {
  ZmtpDecoder d(64u << 20);
  // Announce 60 MiB, deliver 10 bytes: the message holds 10 bytes, not 60 MiB.
  Bytes head = bytes_of({0x02, 0, 0, 0, 0, 0x03, 0xc0, 0, 0});
  head.resize(head.size() + 10, std::byte{'p'});
  std::size_t used = 0;
  EXPECT_EQ(d.feed(head, used), ZmtpDecoder::Event::need_more);
  EXPECT_EQ(used, head.size());
  EXPECT_EQ(d.message().bytes(), 10u);
}

TEST(ZmtpDecoder, StaysFailed) {
  ZmtpDecoder d(100);
  Bytes bad = bytes_of({0xff});
  std::size_t used = 0;
  EXPECT_EQ(d.feed(bad, used), ZmtpDecoder::Event::error);
  Bytes good = bytes_of({0x00, 0});
  EXPECT_EQ(d.feed(good, used), ZmtpDecoder::Event::error);
}

// Request/reply shapes, the routed fast paths' and their near misses: split at the delimiter
// while decoding, each gives what the frame walk and split_at_delimiter() give, at every cut.
TEST(ZmtpDecoder, EnvelopeSplitWhileDecodingMatchesTheFrameWalk) {
  const std::string id("\x01\x00\x00\x00\x07", 5);
  std::vector<std::pair<Message, Message>> cases = {
      {Message{id, ""}, Message{std::string(64, 'b')}},
      {Message{id, ""}, Message{""}},
      {Message{std::string(255, 'r'), ""}, Message{std::string(255, 'b')}},
      {Message{std::string(256, 'r'), ""}, Message{"long route"}},
      {Message{id, ""}, Message{std::string(256, 'b')}},
      {Message{id, ""}, Message{"two", "frames"}},
      {Message{"a", "b", ""}, Message{"body"}},
      {Message{""}, Message{"req shape"}},
      {Message{id}, Message{"no delimiter"}},
      {Message{}, Message{"body alone"}},
  };
  for (const auto& [head, tail] : cases) {
    ByteQueue q;
    encode_message(q, head, tail);
    // The encoder's fast path writes what the frame-by-frame encoding of the whole would.
    Message whole = head;
    whole.add_frames(tail);
    ByteQueue plain;
    encode_message(plain, whole, Message{});
    auto bytes = q.readable();
    ASSERT_TRUE(
        std::equal(bytes.begin(), bytes.end(), plain.readable().begin(), plain.readable().end()));
    Message want_body = whole, want_envelope;
    split_at_delimiter(want_body, want_envelope);
    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
      ZmtpDecoder d(1 << 20);
      Message body, envelope;
      bool done = false;
      for (auto chunk : {bytes.first(cut), bytes.subspan(cut)}) {
        while (!chunk.empty()) {
          std::size_t used = 0;
          auto e = d.feed(chunk, used, body, &envelope);
          ASSERT_NE(e, ZmtpDecoder::Event::error) << d.error_detail();
          chunk = chunk.subspan(used);
          if (e == ZmtpDecoder::Event::message) done = true;
        }
      }
      ASSERT_TRUE(done) << "cut " << cut;
      ASSERT_EQ(envelope, want_envelope) << "cut " << cut;
      ASSERT_EQ(body, want_body) << "cut " << cut;
    }
  }
}

// The request/reply shape over the limit (route and body count together) is refused as any
// other message is, split or not.
TEST(ZmtpDecoder, RoutedShapeOverTheLimitIsRefused) {
  ByteQueue q;
  encode_message(q, Message{std::string("\x01\x00\x00\x00\x07", 5), ""}, Message{"body"});
  for (bool split : {false, true}) {
    ZmtpDecoder d(8);
    Message body, envelope;
    std::size_t used = 0;
    EXPECT_EQ(d.feed(q.readable(), used, body, split ? &envelope : nullptr),
              ZmtpDecoder::Event::error);
    EXPECT_EQ(d.error(), Errc::message_too_large);
  }
}

}  // namespace
}  // namespace ipcx::wire
