// The shm ring on its own: records of every size through many laps, wrap markers, a full ring,
// nothing read past what was published, impossible indices, and a consumer on another thread.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "transport/shm/ring.hpp"

namespace ipcx::transport {
namespace {

constexpr std::size_t kCapacity = 64 * 1024;

struct Ring {
  // 8-byte aligned storage, as the real mapping is page aligned.
  std::vector<std::uint64_t> storage =
      std::vector<std::uint64_t>((sizeof(RingControl) + kCapacity) / 8);
  RingControl* control = new (storage.data()) RingControl{};
  std::byte* data = reinterpret_cast<std::byte*>(storage.data()) + sizeof(RingControl);
  RingWriter writer{control, data, kCapacity};
  RingReader reader{control, data, kCapacity};
};

std::vector<std::byte> pattern(std::size_t size, unsigned seed) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>((seed * 131 + i) & 0xff);
  return bytes;
}

bool write_record(Ring& r, const std::vector<std::byte>& body) {
  bool corrupt = false;
  std::byte* at = r.writer.reserve(body.size(), &corrupt);
  EXPECT_FALSE(corrupt);
  if (at == nullptr) return false;
  std::memcpy(at, body.data(), body.size());
  r.writer.commit();
  return true;
}

std::vector<std::byte> read_record(Ring& r) {
  bool corrupt = false;
  auto view = r.reader.peek(&corrupt);
  EXPECT_FALSE(corrupt);
  std::vector<std::byte> out(view.begin(), view.end());
  if (!view.empty()) r.reader.release();
  return out;
}

// With and without the writer's prefetch of the lines ahead (a hint that wraps with the ring).
class ShmRingLaps : public testing::TestWithParam<bool> {};

TEST_P(ShmRingLaps, RecordsOfEverySizeThroughManyLaps) {
  Ring r;
  r.writer.set_write_prefetch(GetParam());
  // Bytes no record wrote must never be read as one.
  std::memset(r.data, 0x5a, kCapacity);
  std::mt19937 random(7);
  std::uniform_int_distribution<std::size_t> size(1, 3000);
  std::size_t written = 0, read = 0;
  unsigned seed = 0;
  std::vector<std::vector<std::byte>> in_flight;
  while (written < 20 * kCapacity) {  // twenty laps, wrapping at varying offsets
    auto body = pattern(size(random), ++seed);
    if (write_record(r, body)) {
      written += body.size();
      in_flight.push_back(std::move(body));
      continue;
    }
    // Full: drain it, checking each record, then find the ring empty.
    for (auto& expected : in_flight) {
      ASSERT_EQ(read_record(r), expected);
      read += expected.size();
    }
    in_flight.clear();
    ASSERT_TRUE(read_record(r).empty());
  }
  EXPECT_GT(read, 10 * kCapacity);
}

INSTANTIATE_TEST_SUITE_P(WritePrefetch, ShmRingLaps, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Prefetching" : "Plain";
                         });

TEST(ShmRing, FullRingRefusesThenAcceptsAfterRelease) {
  Ring r;
  auto body = pattern(1000, 1);
  int records = 0;
  while (write_record(r, body)) ++records;
  EXPECT_GT(records, 50);
  EXPECT_LE(static_cast<std::size_t>(records) * record_size(1000), kCapacity);
  EXPECT_FALSE(write_record(r, body));
  // Freeing one record may not be enough: the next one wraps and wastes the end's remnant.
  EXPECT_EQ(read_record(r), body);
  EXPECT_EQ(read_record(r), body);
  ASSERT_TRUE(write_record(r, body));
  for (int i = 2; i < records; ++i) EXPECT_EQ(read_record(r), body);
  EXPECT_EQ(read_record(r), body);  // the one written after the wrap
  EXPECT_TRUE(read_record(r).empty());
}

TEST(ShmRing, NothingIsVisibleBeforeCommit) {
  Ring r;
  bool corrupt = false;
  std::byte* at = r.writer.reserve(100, &corrupt);
  ASSERT_NE(at, nullptr);
  std::memset(at, 1, 100);
  EXPECT_TRUE(read_record(r).empty());
  r.writer.commit();
  EXPECT_EQ(read_record(r).size(), 100u);
}

TEST(ShmRing, ImpossibleLengthsAndIndicesAreReportedNotFollowed) {
  struct Case {
    std::uint32_t word;  // the first record's length word
    std::uint64_t tail;  // the producer's published position
  };
  auto largest = static_cast<std::uint32_t>(max_record_body(kCapacity));
  for (Case c : {Case{kRingWrap, 64}, Case{largest + 1, kCapacity}, Case{0x7fffffffu, 64},
                 Case{40, 8}, Case{40, kCapacity + 8}}) {
    Ring r;
    std::memcpy(r.data, &c.word, 4);
    r.control->tail.store(c.tail);
    bool corrupt = false;
    EXPECT_TRUE(r.reader.peek(&corrupt).empty());
    EXPECT_TRUE(corrupt) << c.word << " " << c.tail;
  }
}

TEST(ShmRing, HeadMovingBackwardsIsCorruption) {
  Ring r;
  auto body = pattern(4000, 2);
  while (write_record(r, body)) {
  }
  for (int i = 0; i < 4; ++i) read_record(r);
  ASSERT_TRUE(write_record(r, body));  // reads the consumer's head
  r.control->head.store(0);            // and now it runs backwards
  bool corrupt = false;
  while (r.writer.reserve(4000, &corrupt) != nullptr && !corrupt) r.writer.commit();
  EXPECT_TRUE(corrupt);
}

TEST(ShmRing, ConsumerOnAnotherThreadSeesEveryRecordInOrder) {
  Ring r;
  constexpr unsigned kRecords = 200000;
  std::thread consumer([&] {
    for (unsigned n = 0; n < kRecords;) {
      bool corrupt = false;
      auto view = r.reader.peek(&corrupt);
      ASSERT_FALSE(corrupt);
      if (view.empty()) continue;
      unsigned got;
      ASSERT_GE(view.size(), sizeof got);
      std::memcpy(&got, view.data(), sizeof got);
      ASSERT_EQ(got, n);
      ASSERT_EQ(view.size(), 4 + n % 500);
      r.reader.release();
      ++n;
    }
  });
  for (unsigned n = 0; n < kRecords;) {
    bool corrupt = false;
    std::byte* at = r.writer.reserve(4 + n % 500, &corrupt);
    ASSERT_FALSE(corrupt);
    if (at == nullptr) continue;
    std::memcpy(at, &n, sizeof n);
    r.writer.commit();
    ++n;
  }
  consumer.join();
}

}  // namespace
}  // namespace ipcx::transport
