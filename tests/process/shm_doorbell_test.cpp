// The shm doorbell protocol on its own, across two processes: a producer publishing bursts with
// pauses of every length, into a consumer that never spins and sleeps in a blocking eventfd
// read with no timeout. A lost wake-up leaves the consumer asleep for good, which the test's
// deadline turns into a failure. Run with both fences, and with the producer's fence replaced
// by the consumer's remote fence (membarrier), as PUSH links to a PULL do. What this catches
// is a flaw in the protocol's logic (a flag not set, cleared or read when it must be); the
// hardware reordering the fences exist for has a window of nanoseconds on x86, and a run
// with the consumer's remote fence removed too passed 3 million records here.

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "core/remote_fence.hpp"
#include "support/child.hpp"
#include "support/fd_count.hpp"
#include "transport/shm/ring.hpp"

namespace ipcx::transport {
namespace {

using namespace std::chrono_literals;
using test::Child;

constexpr std::size_t kCapacity = 64 * 1024;

struct SharedRing {
  void* map = MAP_FAILED;
  std::size_t size = sizeof(RingControl) + kCapacity;
  RingControl* control = nullptr;
  std::byte* data = nullptr;

  SharedRing() {
    map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) return;
    control = new (map) RingControl{};
    data = static_cast<std::byte*>(map) + sizeof(RingControl);
  }
  ~SharedRing() {
    if (map != MAP_FAILED) ::munmap(map, size);
  }
};

// Deterministic bursts of 1-8 records, then a pause: a busy wait of up to ~3 us or a sleep of
// up to 40 us, so the consumer's announcement races the next record at every distance.
int produce(SharedRing& ring, int bell, std::uint64_t records, bool remote) {
  RingWriter writer(ring.control, ring.data, kCapacity);
  if (remote) {
    if (!join_remote_fences()) return 10;
    writer.rely_on_consumer_fences();
  }
  std::uint64_t state = 99991;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<unsigned>(state >> 33);
  };
  std::uint64_t sent = 0;
  while (sent < records) {
    for (unsigned k = 0; k <= next() % 8 && sent < records; ++k) {
      bool corrupt = false;
      std::byte* at = nullptr;
      while ((at = writer.reserve(sizeof sent, &corrupt)) == nullptr) {
        if (corrupt) return 11;
        std::this_thread::yield();  // full: the consumer was rung for what is there
      }
      std::memcpy(at, &sent, sizeof sent);
      writer.commit();
      if (writer.consumer_needs_wake()) {
        std::uint64_t one = 1;
        if (::write(bell, &one, sizeof one) != sizeof one) return 12;
      }
      ++sent;
    }
    unsigned pause = next() % 100;
    if (pause < 60) {
      auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(pause * 50);
      while (std::chrono::steady_clock::now() < until) {
      }
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(pause - 60));
    }
  }
  return 0;
}

// Returns 0 when every record arrived in order; hangs on a lost wake-up.
int consume(SharedRing& ring, int bell, std::uint64_t records, bool remote) {
  RingReader reader(ring.control, ring.data, kCapacity);
  std::uint64_t got = 0;
  while (got < records) {
    bool corrupt = false;
    auto record = reader.peek(&corrupt);
    if (corrupt) return 20;
    if (!record.empty()) {
      std::uint64_t value;
      if (record.size() != sizeof value) return 21;
      std::memcpy(&value, record.data(), sizeof value);
      if (value != got) return 22;
      reader.release();
      ++got;
      continue;
    }
    if (reader.prepare_sleep(remote ? &remote_fence : nullptr)) {
      std::uint64_t count;
      if (::read(bell, &count, sizeof count) != sizeof count) return 23;  // blocks, no timeout
    }
    reader.end_sleep();
  }
  return 0;
}

void doorbell_stress(bool remote) {
  if (remote && !remote_fences_available()) GTEST_SKIP() << "no membarrier global expedited";
  const std::uint64_t records = test::kSanitized ? 20000 : 300000;
  SharedRing ring;
  ASSERT_NE(ring.map, MAP_FAILED);
  int bell = ::eventfd(0, EFD_CLOEXEC);  // blocking: the consumer sleeps in read()
  ASSERT_GE(bell, 0);
  Child consumer = Child::fork([&] { return consume(ring, bell, records, remote); });
  Child producer = Child::fork([&] { return produce(ring, bell, records, remote); });
  auto produced = producer.wait_for(5min);
  auto consumed = consumer.wait_for(2min);
  ::close(bell);
  ASSERT_TRUE(produced.has_value()) << "producer hung";
  EXPECT_EQ(*produced, 0);
  ASSERT_TRUE(consumed.has_value()) << "consumer never woke for a record: a lost wake-up";
  EXPECT_EQ(*consumed, 0);
}

TEST(ShmDoorbell, BothSidesFenceAndNoWakeUpIsLost) { doorbell_stress(false); }
TEST(ShmDoorbell, RemoteFenceReplacesTheProducersAndNoWakeUpIsLost) { doorbell_stress(true); }

}  // namespace
}  // namespace ipcx::transport
