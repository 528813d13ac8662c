// Compact encoding: round trips through any fragmentation, and every inconsistency a hostile
// peer could write into a fragment header is refused; zero-copy view() lends only what feed()
// would decode whole.
#include "wire/compact_header.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "wire/delimiter.hpp"

namespace ipcx::wire {
namespace {

using Bytes = std::vector<std::byte>;

// Splits a message's payload into fragments of at most `chunk` bytes.
std::vector<Bytes> fragments(const Message& m, std::size_t chunk) {
  Bytes payload(payload_size(m, Message{}));
  write_payload(payload.data(), m, Message{});
  std::vector<Bytes> out;
  for (std::size_t at = 0; at < payload.size(); at += chunk) {
    std::size_t n = std::min(chunk, payload.size() - at);
    Bytes f(kCompactHeaderSize + n);
    CompactHeader h;
    h.flags = static_cast<std::uint8_t>((at == 0 ? kFragmentFirst : 0) |
                                        (at + n == payload.size() ? kFragmentLast : 0));
    h.chunk_bytes = static_cast<std::uint32_t>(n);
    h.payload_bytes = payload.size();
    write_compact_header(f.data(), h);
    std::copy(payload.begin() + static_cast<long>(at), payload.begin() + static_cast<long>(at + n),
              f.begin() + kCompactHeaderSize);
    out.push_back(std::move(f));
  }
  return out;
}

// A single fragment with this payload (count, then length and bytes per frame), FIRST|LAST.
Bytes single_fragment(const Bytes& payload) {
  Bytes f(kCompactHeaderSize + payload.size());
  CompactHeader h;
  h.flags = kFragmentFirst | kFragmentLast;
  h.chunk_bytes = static_cast<std::uint32_t>(payload.size());
  h.payload_bytes = payload.size();
  write_compact_header(f.data(), h);
  std::copy(payload.begin(), payload.end(), f.begin() + kCompactHeaderSize);
  return f;
}

TEST(CompactHeader, RoundTripsThroughAnyFragmentation) {
  Message m{"\x01id", "", std::string(1000, 'b'), "last"};
  for (std::size_t chunk : {1u, 3u, 64u, 1000u, 100000u}) {
    CompactAssembler a(1 << 20);
    auto parts = fragments(m, chunk);
    for (std::size_t i = 0; i < parts.size(); ++i) {
      auto e = a.feed(parts[i]);
      ASSERT_EQ(e, i + 1 == parts.size() ? CompactAssembler::Event::message
                                         : CompactAssembler::Event::need_more)
          << a.error_detail();
    }
    EXPECT_EQ(a.message(), m) << "chunk " << chunk;
  }
}

TEST(CompactHeader, AnyRangeOfThePayloadMatchesTheWholeEncoding) {
  Message head{
      "\x01"
      "abcd",
      ""};
  Message tail{std::string(300, 'x'), "", "end"};
  Bytes whole(payload_size(head, tail));
  write_payload(whole.data(), head, tail);
  for (std::size_t offset = 0; offset <= whole.size(); ++offset) {
    for (std::size_t length : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{7},
                               std::size_t{64}, whole.size()}) {
      length = std::min(length, whole.size() - offset);
      Bytes part(length + 1, std::byte{0xee});
      write_payload_range(part.data(), head, tail, offset, length);
      ASSERT_TRUE(std::equal(part.begin(), part.begin() + static_cast<long>(length),
                             whole.begin() + static_cast<long>(offset)))
          << "offset " << offset << " length " << length;
      ASSERT_EQ(part[length], std::byte{0xee}) << "wrote past the range";
    }
  }
}

// write_fragment_header() spells the header as three words for speed; it must write exactly
// the bytes write_compact_header() writes for the same fragment, first, middle, last or whole.
TEST(CompactHeader, FragmentHeaderIsTheGeneralHeaderWritten) {
  struct Case {
    std::size_t payload, sent, chunk;
  };
  for (Case c : {Case{100, 0, 100}, Case{100, 0, 40}, Case{100, 40, 40}, Case{100, 80, 20},
                 Case{std::size_t{5} << 33, std::size_t{1} << 33, 0xfffffff0}}) {
    CompactHeader h;
    h.flags = static_cast<std::uint8_t>((c.sent == 0 ? kFragmentFirst : 0) |
                                        (c.sent + c.chunk == c.payload ? kFragmentLast : 0));
    h.chunk_bytes = static_cast<std::uint32_t>(c.chunk);
    h.payload_bytes = c.payload;
    Bytes expected(kCompactHeaderSize), got(kCompactHeaderSize, std::byte{0xee});
    write_compact_header(expected.data(), h);
    write_fragment_header(got.data(), c.payload, c.sent, c.chunk);
    EXPECT_EQ(got, expected) << c.payload << " " << c.sent << " " << c.chunk;
    const char* why = nullptr;
    auto back = read_compact_header(got, &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(back->flags, h.flags);
    EXPECT_EQ(back->chunk_bytes, h.chunk_bytes);
    EXPECT_EQ(back->payload_bytes, h.payload_bytes);
    EXPECT_EQ(back->request_id, 0u);
  }
}

TEST(CompactHeader, BodyLimitIsExact) {
  Message at_limit{std::string(60, 'a'), std::string(40, 'b')};
  CompactAssembler ok(100);
  EXPECT_EQ(ok.feed(fragments(at_limit, 1000)[0]), CompactAssembler::Event::message);
  CompactAssembler over(99);
  EXPECT_EQ(over.feed(fragments(at_limit, 1000)[0]), CompactAssembler::Event::error);
  EXPECT_EQ(over.error(), Errc::message_too_large);
}

Errc error_for(std::vector<Bytes> parts, std::size_t max = 1 << 20) {
  CompactAssembler a(max);
  for (const auto& p : parts) {
    if (a.feed(p) == CompactAssembler::Event::error) return a.error();
  }
  return Errc::ok;
}

TEST(CompactHeader, RefusesInconsistentFragments) {
  Message m{std::string(300, 'x')};
  auto good = fragments(m, 100);
  ASSERT_EQ(good.size(), 4u);
  auto mutate = [&](std::size_t index, auto&& change) {
    auto parts = good;
    change(parts[index]);
    return error_for(parts);
  };
  EXPECT_EQ(mutate(0, [](Bytes& f) { f[0] = std::byte{0}; }), Errc::protocol_violation);  // magic
  EXPECT_EQ(mutate(0, [](Bytes& f) { f[2] = std::byte{9}; }), Errc::protocol_violation);  // version
  EXPECT_EQ(mutate(0, [](Bytes& f) { f[3] = std::byte{0x80}; }), Errc::protocol_violation);
  EXPECT_EQ(mutate(1, [](Bytes& f) { f[3] = std::byte{kFragmentFirst}; }),
            Errc::protocol_violation);  // a second first fragment
  EXPECT_EQ(mutate(1, [](Bytes& f) { f[8] = std::byte{0x7f}; }),
            Errc::protocol_violation);  // total size changes mid-message
  EXPECT_EQ(mutate(1, [](Bytes& f) { f[4] = std::byte{0xff}; }),
            Errc::protocol_violation);  // chunk length disagrees
  EXPECT_EQ(mutate(3, [](Bytes& f) { f[3] = std::byte{0}; }),
            Errc::protocol_violation);  // complete but not marked last
  EXPECT_EQ(mutate(1, [](Bytes& f) { f[3] = std::byte{kFragmentLast}; }),
            Errc::protocol_violation);                          // marked last too early
  EXPECT_EQ(error_for({good[1]}), Errc::protocol_violation);    // no first fragment
  EXPECT_EQ(error_for({Bytes(10)}), Errc::protocol_violation);  // shorter than a header
}

TEST(CompactHeader, RefusesHugeAnnouncementsBeforeBuffering) {
  Bytes f(kCompactHeaderSize);
  CompactHeader h;
  h.flags = kFragmentFirst;
  h.payload_bytes = std::uint64_t{1} << 62;
  write_compact_header(f.data(), h);
  EXPECT_EQ(error_for({f}), Errc::message_too_large);
}

TEST(CompactHeader, RefusesFramesRunningPastThePayload) {
  Bytes payload{std::byte{2}, {}, {}, {}, std::byte{5}, {}, {}, {}, std::byte{'a'}};
  EXPECT_EQ(error_for({single_fragment(payload)}), Errc::protocol_violation);
}

TEST(CompactHeader, ViewLendsTheFramesOfAWholeMessageInPlace) {
  Message m{"\x01id", "", std::string(1000, 'b')};
  auto parts = fragments(m, 100000);
  ASSERT_EQ(parts.size(), 1u);
  CompactAssembler a(1 << 20);
  std::vector<std::span<const std::byte>> frames;
  ASSERT_TRUE(a.view(parts[0], frames));
  ASSERT_EQ(frames.size(), m.size());
  for (std::size_t i = 0; i < m.size(); ++i) {
    EXPECT_TRUE(
        std::equal(frames[i].begin(), frames[i].end(), m.frame(i).begin(), m.frame(i).end()));
    EXPECT_GE(frames[i].data(), parts[0].data());  // inside the record: nothing copied
    EXPECT_LE(frames[i].data() + frames[i].size(), parts[0].data() + parts[0].size());
  }
}

TEST(CompactHeader, ViewDeclinesWhatFeedWouldAssembleOrRefuse) {
  std::vector<std::span<const std::byte>> frames;
  // A fragment of a larger message: feed() assembles those.
  auto parts = fragments(Message{std::string(300, 'x')}, 100);
  CompactAssembler a(1 << 20);
  EXPECT_FALSE(a.view(parts[0], frames));
  // Mid-message, even a whole message is left to feed(), which reports the violation.
  ASSERT_EQ(a.feed(parts[0]), CompactAssembler::Event::need_more);
  auto whole = fragments(Message{"w"}, 100);
  EXPECT_FALSE(a.view(whole[0], frames));
  // Frame lengths that run past the payload, or leave bytes after the last frame.
  CompactAssembler b(1 << 20);
  EXPECT_FALSE(
      b.view(single_fragment({std::byte{2}, {}, {}, {}, std::byte{5}, {}, {}, {}, std::byte{'a'}}),
             frames));
  EXPECT_FALSE(b.view(
      single_fragment(
          {std::byte{1}, {}, {}, {}, std::byte{1}, {}, {}, {}, std::byte{'a'}, std::byte{'z'}}),
      frames));
  // A count of frames with no room for their lengths, and a payload under 4 bytes.
  EXPECT_FALSE(b.view(single_fragment({std::byte{0xff}, std::byte{0xff}, {}, {}}), frames));
  EXPECT_FALSE(b.view(single_fragment({std::byte{1}}), frames));
  // Bodies over the assembler's limit, and a bad magic.
  CompactAssembler small(4);
  EXPECT_FALSE(small.view(fragments(Message{"12345"}, 100)[0], frames));
  auto bad_magic = whole[0];
  bad_magic[0] = std::byte{0};
  EXPECT_FALSE(b.view(bad_magic, frames));
  // A view never fails the assembler: feed() still decodes the next whole message.
  EXPECT_EQ(b.feed(whole[0]), CompactAssembler::Event::message);
}

// The request/reply shape and its near misses: split while decoding, each gives what the plain
// decode and split_at_delimiter() give; a payload that does not fill its fragment exactly, or
// a body over the limit, is refused as before.
TEST(CompactHeader, EnvelopeSplitWhileDecodingMatchesThePlainDecode) {
  const std::string id("\x01\x00\x00\x00\x07", 5);
  std::vector<Message> cases = {
      Message{id, "", std::string(64, 'b')},
      Message{id, "", ""},
      Message{std::string(300, 'r'), "", "b"},
      Message{id, "", "two", "frames"},
      Message{"a", "b", "", "body"},
      Message{"", "req shape"},
      Message{id, "no delimiter"},
      Message{id, "x", "y"},
      Message{"body alone"},
  };
  for (const Message& m : cases) {
    Message want_body = m, want_envelope;
    split_at_delimiter(want_body, want_envelope);
    CompactAssembler a(1 << 20);
    Message body, envelope;
    ASSERT_EQ(a.feed(fragments(m, 100000)[0], body, &envelope), CompactAssembler::Event::message)
        << a.error_detail();
    EXPECT_EQ(envelope, want_envelope);
    EXPECT_EQ(body, want_body);
  }
  // The shape with a byte too many after the body, and with a body over the limit.
  Message routed{id, "", "body"};
  Bytes payload(payload_size(routed, Message{}));
  write_payload(payload.data(), routed, Message{});
  Bytes longer = payload;
  longer.push_back(std::byte{0});
  Message body, envelope;
  CompactAssembler a(1 << 20);
  EXPECT_EQ(a.feed(single_fragment(longer), body, &envelope), CompactAssembler::Event::error);
  CompactAssembler small(8);
  EXPECT_EQ(small.feed(single_fragment(payload), body, &envelope), CompactAssembler::Event::error);
  EXPECT_EQ(small.error(), Errc::message_too_large);
}

TEST(CompactHeader, WholeFragmentWriterMatchesTheGeneralEncoding) {
  const std::string id("\x01\x00\x00\x00\x07", 5);
  std::vector<std::pair<Message, Message>> cases = {
      {Message{std::string(64, 'b')}, Message{}},
      {Message{""}, Message{}},
      {Message{std::string(300, 'x')}, Message{}},
      {Message{id, ""}, Message{std::string(64, 'b')}},
      {Message{id, ""}, Message{""}},
      {Message{"a", "b"}, Message{}},
      {Message{id, "x"}, Message{"b"}},
      {Message{}, Message{"t"}},
      {Message{id, ""}, Message{"two", "frames"}},
      {Message{}, Message{}},
  };
  for (const auto& [head, tail] : cases) {
    std::size_t payload = payload_size(head, tail);
    Bytes fast(kCompactHeaderSize + payload + 1, std::byte{0xee});
    Bytes general(fast.size(), std::byte{0xee});
    write_whole_fragment(fast.data(), payload, head, tail);
    write_fragment_header(general.data(), payload, 0, payload);
    write_payload(general.data() + kCompactHeaderSize, head, tail);
    EXPECT_EQ(fast, general) << head.size() << "+" << tail.size() << " frames";
  }
}

// Decodes a whole message's payload in one fragment, and again in two (the incremental
// decoder): the event, and the message after a message event.
struct Outcome {
  CompactAssembler::Event event;
  Message envelope, body;
};
Outcome decode_in(const Bytes& payload, std::size_t pieces, bool split) {
  CompactAssembler a(1 << 10);
  Outcome o{CompactAssembler::Event::error, {}, {}};
  Message* envelope = split ? &o.envelope : nullptr;
  if (pieces == 1) {
    o.event = a.feed(single_fragment(payload), o.body, envelope);
    return o;
  }
  std::size_t half = payload.size() / 2;
  for (auto [at, n] : {std::pair{std::size_t{0}, half}, {half, payload.size() - half}}) {
    Bytes f(kCompactHeaderSize + n);
    write_fragment_header(f.data(), payload.size(), at, n);
    std::copy_n(payload.begin() + static_cast<long>(at), n, f.begin() + kCompactHeaderSize);
    o.event = a.feed(f, o.body, envelope);
    if (o.event != CompactAssembler::Event::need_more) break;
  }
  return o;
}

TEST(CompactHeader, OnePassShapesAgreeWithTheIncrementalDecoder) {
  // The one-frame and request/reply shapes are decoded with fixed loads: every near miss in
  // their counts and lengths, and a byte too few or too many, must come out as the frame walk
  // decides. The limit (1 KiB) is crossed too.
  const std::string id("\x01\x00\x00\x00\x07", 5);
  std::vector<Message> shapes = {
      Message{std::string(64, 'b')}, Message{""},         Message{std::string(1024, 'x')},
      Message{id, "", "body"},       Message{id, "", ""}, Message{std::string(1000, 'r'), "", "b"}};
  int checked = 0;
  for (const Message& m : shapes) {
    Bytes base(payload_size(m, Message{}));
    write_payload(base.data(), m, Message{});
    std::vector<Bytes> variants = {base};
    Bytes shorter(base.begin(), base.end() - 1), longer = base;
    longer.push_back(std::byte{0});
    variants.push_back(shorter);
    variants.push_back(longer);
    for (std::size_t at = 0; at < std::min<std::size_t>(base.size(), 20); ++at) {
      for (unsigned value : {0u, 1u, 2u, 3u, 4u, 5u, 0x7fu, 0xffu}) {
        Bytes v = base;
        v[at] = static_cast<std::byte>(value);
        variants.push_back(v);
      }
    }
    for (const Bytes& payload : variants) {
      if (payload.size() < 2) continue;
      for (bool split : {false, true}) {
        Outcome one = decode_in(payload, 1, split), two = decode_in(payload, 2, split);
        ASSERT_EQ(one.event, two.event) << "payload of " << payload.size() << " split " << split;
        if (one.event == CompactAssembler::Event::message) {
          EXPECT_EQ(one.body, two.body);
          EXPECT_EQ(one.envelope, two.envelope);
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 500);
}

}  // namespace
}  // namespace ipcx::wire
