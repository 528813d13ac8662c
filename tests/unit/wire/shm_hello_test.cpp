// The shm hello's 16 bytes: every field survives a round trip, flags sit in their own byte
// beside the ring size and socket type, and what is not exactly one hello is refused.
#include "wire/shm_hello.hpp"

#include <gtest/gtest.h>

#include <array>

namespace ipcx::wire {
namespace {

std::array<std::byte, kShmHelloSize> encode(const ShmHello& h) {
  std::array<std::byte, kShmHelloSize> bytes{};
  write_shm_hello(bytes.data(), h);
  return bytes;
}

TEST(ShmHello, EveryFieldRoundTrips) {
  ShmHello h{kShmVersion, ShmStatus::pairing_refused, std::uint64_t{1} << 30, 9,
             kShmFenceBeforeSleep};
  auto bytes = encode(h);
  auto back = read_shm_hello(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->version, kShmVersion);
  EXPECT_EQ(back->status, ShmStatus::pairing_refused);
  EXPECT_EQ(back->ring_bytes, std::uint64_t{1} << 30);
  EXPECT_EQ(back->socket_type, 9);
  EXPECT_EQ(back->flags, kShmFenceBeforeSleep);
}

TEST(ShmHello, FlagsHaveTheirOwnByte) {
  ShmHello h;
  h.ring_bytes = kRingBytesMask;  // every ring-size bit set
  h.socket_type = 0xff;
  auto none = read_shm_hello(encode(h));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->flags, 0);
  EXPECT_EQ(none->ring_bytes, kRingBytesMask);
  h.flags = 0xff;
  h.ring_bytes = 0;
  h.socket_type = 0;
  auto all = read_shm_hello(encode(h));
  ASSERT_TRUE(all);
  EXPECT_EQ(all->flags, 0xff);
  EXPECT_EQ(all->ring_bytes, 0u);
  EXPECT_EQ(all->socket_type, 0);
  // Byte 14 of the little-endian second word.
  EXPECT_EQ(encode(h)[14], std::byte{0xff});
}

TEST(ShmHello, OnlyExactlyOneHelloIsAccepted) {
  auto bytes = encode(ShmHello{});
  EXPECT_FALSE(read_shm_hello(std::span(bytes).first(kShmHelloSize - 1)));
  bytes[0] ^= std::byte{1};
  EXPECT_FALSE(read_shm_hello(bytes));
}

}  // namespace
}  // namespace ipcx::wire
