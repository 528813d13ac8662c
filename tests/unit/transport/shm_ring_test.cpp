// The shm ring on its own: records of every size through many laps, wrap markers, a full ring,
// nothing read past what was published, impossible indices, and a consumer on another thread;
// and in a real memfd mapping, pages backed only where written and given back by either side.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "core/fd.hpp"
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

// Ring 0 of a link's memory: an unpopulated shared mapping of a memfd, as ShmLink maps it.
struct MappedRing {
  static constexpr std::size_t kMappedCapacity = 1 << 20;
  Fd memfd{::memfd_create("ring-test", MFD_CLOEXEC)};
  std::size_t size = ring_pair_bytes(kMappedCapacity);
  void* map = nullptr;
  RingControl* control = nullptr;
  std::byte* data = nullptr;
  RingWriter writer;
  RingReader reader;

  MappedRing() {
    if (!memfd || ::ftruncate(memfd.get(), static_cast<off_t>(size)) != 0) return;
    map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd.get(), 0);
    if (map == MAP_FAILED) {
      map = nullptr;
      return;
    }
    control = ring_control(map, 0);
    data = ring_data(map, kMappedCapacity, 0);
    writer = RingWriter(control, data, kMappedCapacity);
    reader = RingReader(control, data, kMappedCapacity);
  }
  ~MappedRing() {
    if (map != nullptr) ::munmap(map, size);
  }
  // Pages of ring 0's data resident in the memfd.
  std::size_t resident_pages() const {
    std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> in((kMappedCapacity + page - 1) / page);
    if (::mincore(data, kMappedCapacity, in.data()) != 0) return ~std::size_t{0};
    std::size_t n = 0;
    for (unsigned char c : in) n += c & 1;
    return n;
  }
  bool write(std::size_t size, unsigned seed) {
    bool corrupt = false;
    std::byte* at = writer.reserve(size, &corrupt);
    EXPECT_FALSE(corrupt);
    if (at == nullptr) return false;
    auto body = pattern(size, seed);
    std::memcpy(at, body.data(), size);
    writer.commit();
    return true;
  }
  // The next record, checked against what write() put there.
  bool read(std::size_t size, unsigned seed) {
    bool corrupt = false;
    auto view = reader.peek(&corrupt);
    EXPECT_FALSE(corrupt);
    if (view.empty()) return false;
    auto want = pattern(size, seed);
    EXPECT_EQ(view.size(), size);
    EXPECT_TRUE(view.size() == size && std::memcmp(view.data(), want.data(), size) == 0);
    reader.release();
    return true;
  }
};

constexpr std::size_t kChunkPages = kRingChunk / 4096;

TEST(ShmRingPages, SmallRecordsReadAsTheyComeKeepToTheFirstChunk) {
  MappedRing r;
  ASSERT_NE(r.map, nullptr);
  EXPECT_EQ(r.resident_pages(), 0u);
  // 20 laps' worth of bytes, each record read before the next is written.
  for (unsigned i = 0; i < 20 * (MappedRing::kMappedCapacity / 80); ++i) {
    ASSERT_TRUE(r.write(72, i));
    ASSERT_TRUE(r.read(72, i));
  }
  EXPECT_LE(r.resident_pages(), kChunkPages + 1);
}

// After a burst has been read, either end gives back what the burst touched; the ring then
// goes on carrying intact records through pages backed afresh.
void burst_then_give_back(bool by_writer) {
  MappedRing r;
  ASSERT_NE(r.map, nullptr);
  unsigned seed = 0;
  for (int i = 0; i < 90; ++i) ASSERT_TRUE(r.write(8000, seed + static_cast<unsigned>(i)));
  for (int i = 0; i < 90; ++i) ASSERT_TRUE(r.read(8000, seed + static_cast<unsigned>(i)));
  seed += 90;
  EXPECT_GE(r.resident_pages(), 170u);
  if (by_writer) {
    r.writer.give_back();
  } else {
    r.reader.give_back();
  }
  // Left: the chunk the writer is in, and the page before it that its last record ended in.
  EXPECT_LE(r.resident_pages(), kChunkPages + 1);
  EXPECT_EQ(r.control->reclaiming.load(), 0u);
  // Bursts of ten: after the writer starts again at the ring's start, the rest of the old lap
  // counts as unread until the reader passes it, so a longer burst could find the ring full.
  for (int lap = 0; lap < 40; ++lap) {
    for (unsigned i = 0; i < 10; ++i) ASSERT_TRUE(r.write(8000 + 8 * i, seed + i));
    for (unsigned i = 0; i < 10; ++i) ASSERT_TRUE(r.read(8000 + 8 * i, seed + i));
    seed += 10;
    if (lap % 8 == 3) r.writer.give_back();
    if (lap % 8 == 7) r.reader.give_back();
  }
}

TEST(ShmRingPages, TheWriterGivesBackWhatABurstTouched) { burst_then_give_back(true); }
TEST(ShmRingPages, TheReaderGivesBackWhatABurstTouched) { burst_then_give_back(false); }

TEST(ShmRingPages, UnreadRecordsAreNeverGivenBack) {
  MappedRing r;
  ASSERT_NE(r.map, nullptr);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(r.write(8000, static_cast<unsigned>(i)));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(r.read(8000, static_cast<unsigned>(i)));
  r.reader.give_back();
  r.writer.give_back();
  for (int i = 50; i < 100; ++i) ASSERT_TRUE(r.read(8000, static_cast<unsigned>(i)));
}

TEST(ShmRingPages, AWriterEntersNoNewChunkWhileItsReaderGivesPagesBack) {
  MappedRing r;
  ASSERT_NE(r.map, nullptr);
  ASSERT_TRUE(r.write(64, 0));  // the writer now holds its first chunk
  r.control->reclaiming.store(1);
  bool corrupt = false;
  // Within the chunk: no need to look.
  EXPECT_NE(r.writer.reserve(64, &corrupt), nullptr);
  r.writer.commit();
  // Past it: refused, without calling the ring corrupt, until the reader is done.
  EXPECT_EQ(r.writer.reserve(kRingChunk, &corrupt), nullptr);
  EXPECT_FALSE(corrupt);
  // It sleeps on it rather than spinning, and the reader's give-back rings it.
  EXPECT_TRUE(r.writer.prepare_wait(kRingChunk));
  EXPECT_EQ(r.control->producer_waiting.load(), 1u);
  EXPECT_TRUE(r.reader.give_back());
  EXPECT_EQ(r.control->reclaiming.load(), 0u);
  EXPECT_NE(r.writer.reserve(kRingChunk, &corrupt), nullptr);
  r.writer.commit();
  EXPECT_GE(r.control->writer_reach.load(), 2 * kRingChunk);
}

// The announce-and-look rule under real concurrency: the reader gives pages back between reads
// while the writer streams records of mixed sizes; every record arrives intact.
TEST(ShmRingPages, GivingBackWhileTheWriterStreamsLosesNothing) {
  MappedRing r;
  ASSERT_NE(r.map, nullptr);
  constexpr unsigned kRecords = 60000;
  auto size_of = [](unsigned n) -> std::size_t { return 16 + (n * 2654435761u) % 12000; };
  std::atomic<bool> consumer_gone{false};  // a failed check ends it early: stop writing then
  std::thread consumer([&] {
    struct Gone {
      std::atomic<bool>& gone;
      ~Gone() { gone = true; }
    } mark{consumer_gone};
    for (unsigned n = 0; n < kRecords;) {
      bool corrupt = false;
      auto view = r.reader.peek(&corrupt);
      ASSERT_FALSE(corrupt);
      if (view.empty()) {
        r.reader.give_back();
        continue;
      }
      unsigned got;
      std::memcpy(&got, view.data(), sizeof got);
      ASSERT_EQ(got, n);
      ASSERT_EQ(view.size(), size_of(n));
      ASSERT_EQ(view[view.size() - 1], static_cast<std::byte>(n & 0xff));
      r.reader.release();
      if (n % 97 == 0) r.reader.give_back();
      ++n;
    }
  });
  for (unsigned n = 0; n < kRecords;) {
    bool corrupt = false;
    std::size_t size = size_of(n);
    std::byte* at = r.writer.reserve(size, &corrupt);
    ASSERT_FALSE(corrupt);
    if (at == nullptr && consumer_gone) break;
    if (at == nullptr) continue;
    std::memcpy(at, &n, sizeof n);
    at[size - 1] = static_cast<std::byte>(n & 0xff);
    r.writer.commit();
    ++n;
  }
  consumer.join();
}

}  // namespace
}  // namespace ipcx::transport
