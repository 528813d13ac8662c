// The shm broadcast ring on its own: records through many laps in order, a reader lapped by
// the writer skipping ahead and counting exactly what it lost, impossible contents reported,
// and a reader thread never accepting a record the writer was overwriting.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "transport/shm/broadcast_ring.hpp"

namespace ipcx::transport {
namespace {

constexpr std::size_t kCapacity = 64 * 1024;

struct Ring {
  std::vector<std::uint64_t> storage =
      std::vector<std::uint64_t>((sizeof(BroadcastControl) + kCapacity) / 8);
  BroadcastControl* control = new (storage.data()) BroadcastControl{};
  std::byte* data = reinterpret_cast<std::byte*>(storage.data()) + sizeof(BroadcastControl);
  BroadcastWriter writer{control, data, kCapacity};
};

// A body whose every byte derives from its number, so a torn copy shows.
std::vector<std::byte> body_for(std::uint64_t n, std::size_t size) {
  std::vector<std::byte> b(size);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::byte>((n * 7 + i) & 0xff);
  if (size >= 8) std::memcpy(b.data(), &n, 8);
  return b;
}

bool consistent(const std::vector<std::byte>& b) {
  if (b.size() < 8) return false;
  std::uint64_t n;
  std::memcpy(&n, b.data(), 8);
  return b == body_for(n, b.size());
}

std::size_t size_for(std::uint64_t n) { return 8 + (n * 37) % 3000; }

TEST(ShmBroadcast, ReadersGetEveryRecordInOrderThroughManyLaps) {
  Ring r;
  BroadcastReader a(r.control, r.data, kCapacity), b(r.control, r.data, kCapacity);
  std::vector<std::byte> out;
  for (std::uint64_t n = 0; n < 5000; ++n) {  // ~ 25 laps of varying sizes
    ASSERT_TRUE(r.writer.publish(body_for(n, size_for(n))));
    for (auto* reader : {&a, &b}) {
      ASSERT_EQ(reader->next(out), BroadcastReader::Read::record);
      ASSERT_EQ(out, body_for(n, size_for(n)));
      ASSERT_EQ(reader->next(out), BroadcastReader::Read::empty);
    }
  }
  EXPECT_EQ(a.gap(), 0u);
  EXPECT_EQ(b.gap(), 0u);
}

TEST(ShmBroadcast, LappedReaderSkipsAheadAndCountsWhatItLost) {
  Ring r;
  BroadcastReader reader(r.control, r.data, kCapacity);
  std::vector<std::byte> out;
  ASSERT_TRUE(r.writer.publish(body_for(0, 100)));
  ASSERT_EQ(reader.next(out), BroadcastReader::Read::record);
  std::uint64_t published = 1;
  while (published < 1 + 5 * kCapacity / 1000) {  // five rings' worth behind its back
    ASSERT_TRUE(r.writer.publish(body_for(published, 1000)));
    ++published;
  }
  std::uint64_t received = 1;
  while (reader.next(out) == BroadcastReader::Read::record) {
    ASSERT_TRUE(consistent(out));
    ++received;
  }
  EXPECT_GT(reader.gap(), 0u);
  EXPECT_LT(received, published);
  EXPECT_EQ(received + reader.gap(), published);
}

TEST(ShmBroadcast, ImpossibleContentsAreReportedNotFollowed) {
  std::vector<std::byte> out;
  {
    Ring r;  // a wrap marker at the ring's start
    BroadcastReader reader(r.control, r.data, kCapacity);
    std::uint32_t wrap = kBroadcastWrap;
    std::memcpy(r.data, &wrap, 4);
    r.control->tail.store(64);
    r.control->claimed.store(64);
    EXPECT_EQ(reader.next(out), BroadcastReader::Read::corrupt);
  }
  {
    Ring r;  // a length past the largest record
    BroadcastReader reader(r.control, r.data, kCapacity);
    auto len = static_cast<std::uint32_t>(broadcast_max_body(kCapacity) + 1);
    std::memcpy(r.data, &len, 4);
    r.control->tail.store(kCapacity / 2);
    r.control->claimed.store(kCapacity / 2);
    EXPECT_EQ(reader.next(out), BroadcastReader::Read::corrupt);
  }
  {
    Ring r;  // sequences that run backwards
    BroadcastReader reader(r.control, r.data, kCapacity);
    ASSERT_TRUE(r.writer.publish(body_for(1, 64)));
    ASSERT_EQ(reader.next(out), BroadcastReader::Read::record);
    ASSERT_TRUE(r.writer.publish(body_for(2, 64)));
    std::uint64_t stale = 0;
    std::memcpy(r.data + broadcast_record_size(64) + 8, &stale, 8);
    EXPECT_EQ(reader.next(out), BroadcastReader::Read::corrupt);
  }
  {
    Ring r;  // a writer position off the 8-byte grid (found by the fuzzer: read past the end)
    BroadcastReader reader(r.control, r.data, kCapacity);
    r.control->tail.store(kCapacity + 2);
    r.control->claimed.store(kCapacity + 2);
    EXPECT_EQ(reader.next(out), BroadcastReader::Read::corrupt);
  }
  {
    Ring r;  // a writer position that runs backwards
    ASSERT_TRUE(r.writer.publish(body_for(1, 64)));
    BroadcastReader reader(r.control, r.data, kCapacity);
    r.control->tail.store(8);
    EXPECT_EQ(reader.next(out), BroadcastReader::Read::corrupt);
  }
}

TEST(ShmBroadcast, ABatchIsJudgedWholeAndCountedWhenOverwritten) {
  Ring r;
  BroadcastReader reader(r.control, r.data, kCapacity);
  std::span<const std::byte> body;
  for (std::uint64_t n = 0; n < 3; ++n) ASSERT_TRUE(r.writer.publish(body_for(n, 100)));
  // Three peeked, then confirmed together.
  for (std::uint64_t n = 0; n < 3; ++n) {
    ASSERT_EQ(reader.peek(body), BroadcastReader::Read::record);
    EXPECT_TRUE(reader.follows());
  }
  EXPECT_EQ(reader.peek(body), BroadcastReader::Read::empty);
  ASSERT_TRUE(reader.confirm());
  // Three more peeked; the writer laps them before the judgement.
  std::uint64_t published = 3;
  for (; published < 6; ++published) ASSERT_TRUE(r.writer.publish(body_for(published, 100)));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(reader.peek(body), BroadcastReader::Read::record);
  for (; published < 6 + 2 * kCapacity / 100; ++published) {
    ASSERT_TRUE(r.writer.publish(body_for(published, 100)));
  }
  EXPECT_FALSE(reader.confirm());
  EXPECT_FALSE(reader.corrupt());
  // What it reads next is whole, and received plus lost is everything.
  std::vector<std::byte> out;
  std::uint64_t received = 3;
  while (reader.next(out) == BroadcastReader::Read::record) {
    ASSERT_TRUE(consistent(out));
    ++received;
  }
  EXPECT_GT(reader.gap(), 3u);
  EXPECT_EQ(received + reader.gap(), published);
}

TEST(ShmBroadcast, OversizedBodiesAreRefused) {
  Ring r;
  EXPECT_FALSE(r.writer.publish(std::vector<std::byte>(broadcast_max_body(kCapacity) + 1)));
  EXPECT_TRUE(r.writer.publish(std::vector<std::byte>(broadcast_max_body(kCapacity))));
}

// The writer laps a slow reader thread over and over; every record the reader accepts must be
// whole, and what it received plus what it counted as lost must be what was published.
// (Not under ThreadSanitizer: the reader copies bytes the writer may be overwriting, by design,
// and discards the copy afterwards; that is the seqlock, and a data race to TSan.)
TEST(ShmBroadcast, ConcurrentReaderNeverAcceptsATornRecord) {
  Ring r;
  constexpr std::uint64_t kRecords = 400000;
  std::atomic<bool> started{false}, done{false};
  std::uint64_t received = 0, torn = 0, gap = 0, first = ~std::uint64_t{0}, last = 0;
  std::thread reader([&] {
    BroadcastReader reader(r.control, r.data, kCapacity);
    started = true;
    std::vector<std::byte> out;
    std::mt19937 random(1);
    for (;;) {
      auto got = reader.next(out);
      ASSERT_NE(got, BroadcastReader::Read::corrupt);
      if (got == BroadcastReader::Read::record) {
        if (!consistent(out)) ++torn;
        std::uint64_t n;
        std::memcpy(&n, out.data(), 8);
        if (first == ~std::uint64_t{0}) first = n;
        last = n;
        ++received;
        if (random() % 64 == 0) std::this_thread::yield();  // fall behind now and then
        continue;
      }
      if (done) {
        if (reader.next(out) == BroadcastReader::Read::empty) break;
      }
    }
    gap = reader.gap();
  });
  while (!started) std::this_thread::yield();
  for (std::uint64_t n = 0; n < kRecords; ++n) {
    ASSERT_TRUE(r.writer.publish(body_for(n, 8 + n % 200)));
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn, 0u);
  ASSERT_GT(received, 0u);
  EXPECT_EQ(last, kRecords - 1);
  EXPECT_EQ(received + gap, last - first + 1);
}

}  // namespace
}  // namespace ipcx::transport
