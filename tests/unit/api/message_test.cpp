// Message: frames, equality, and the promise that small messages stay off the heap.
#include "ipcx/message.hpp"

#include <gtest/gtest.h>

#include "ipcx/result.hpp"

namespace ipcx {
namespace {

TEST(Message, FramesKeepTheirBoundaries) {
  Message m{"put", "", "value"};
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m.text(0), "put");
  EXPECT_TRUE(m.frame(1).empty());
  EXPECT_EQ(m.text(2), "value");
  EXPECT_EQ(m.bytes(), 8u);
}

TEST(Message, SmallMessagesAreInline) {
  // A 64-byte body with a request id and delimiter in front, as it travels.
  Message m{
      "\x01"
      "abcd",
      "", std::string(64, 'x')};
  EXPECT_TRUE(m.is_inline());
  Message copy = m;
  EXPECT_TRUE(copy.is_inline());
  m.add(std::string(30, 'y'));
  EXPECT_FALSE(m.is_inline());  // 99 bytes no longer fit in 96
}

TEST(Message, GrowsLastFrameAsBytesArrive) {
  Message m;
  m.add_empty_frame();
  std::string big(100000, 'z');
  for (std::size_t i = 0; i < big.size(); i += 1000) {
    m.extend_last(std::as_bytes(std::span<const char>(big.data() + i, 1000)));
  }
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m.text(0), big);
}

TEST(Message, CopyMoveAndEquality) {
  Message a{"one", std::string(500, 'b')};
  Message b = a;
  EXPECT_EQ(a, b);
  Message c = std::move(b);
  EXPECT_EQ(a, c);
  EXPECT_TRUE(b.empty());
  c.add("more");
  EXPECT_FALSE(a == c);
  Message d;
  d.add_frames(a, 1);
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(d.text(0), std::string(500, 'b'));
}

// A megabyte freed by one message is the next one's: fresh pages would be faulted in and zeroed
// by the kernel every time, which cost most of a large round trip.
TEST(Message, LargeBuffersAreReusedByTheNextLargeMessage) {
  const std::byte* first = nullptr;
  {
    Message a{std::string(1 << 20, 'a')};
    first = a.frame(0).data();
  }
  Message b{std::string(1 << 20, 'b')};
  EXPECT_EQ(b.frame(0).data(), first);
  EXPECT_EQ(b.text(0), std::string(1 << 20, 'b'));
  Message small{std::string(100, 's')};  // a small message is not handed a large block
  EXPECT_NE(small.frame(0).data(), first);
}

TEST(Result, CarriesValueOrCode) {
  Result<int> ok = 5;
  EXPECT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 5);
  EXPECT_EQ(ok.error(), Errc::ok);
  Result<int> bad = unexpected(Errc::timeout);
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error(), Errc::timeout);
  EXPECT_EQ(bad.value_or(7), 7);
  EXPECT_THROW((void)bad.value(), Error);
  Result<void> done;
  EXPECT_TRUE(done);
  Result<void> failed = unexpected(Errc::peer_closed);
  EXPECT_EQ(failed.error(), Errc::peer_closed);
  EXPECT_EQ(make_error_code(Errc::peer_closed).message(), "peer_closed");
}

}  // namespace
}  // namespace ipcx
