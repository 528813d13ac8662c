// Compact encoding: round trips through any fragmentation, and every inconsistency a hostile
// peer could write into a fragment header is refused.
#include "wire/compact_header.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

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
  Bytes f(kCompactHeaderSize + payload.size());
  CompactHeader h;
  h.flags = kFragmentFirst | kFragmentLast;
  h.chunk_bytes = static_cast<std::uint32_t>(payload.size());
  h.payload_bytes = payload.size();
  write_compact_header(f.data(), h);
  std::copy(payload.begin(), payload.end(), f.begin() + kCompactHeaderSize);
  EXPECT_EQ(error_for({f}), Errc::protocol_violation);
}

}  // namespace
}  // namespace ipcx::wire
