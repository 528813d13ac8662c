// Push/pull on every mechanism of the registry that carries it: a pusher deals round robin over
// every puller it has, whatever the timing of their handshakes (a pusher once gave one of two
// pullers everything when the other's greeting came late). Many rounds in one test, so that a
// race would show: pullers bound before the pusher connects to them, and pullers connecting to
// a bound pusher.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "ipcx/ipcx.hpp"
#include "support/eventually.hpp"
#include "support/leftovers.hpp"
#include "support/mechanisms.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;

constexpr int kRounds = 20;
constexpr int kHalf = 10;  // messages each of the two pullers must get

// "c3-1", built by appending: GCC 12 warns falsely (-Wrestrict) on "c" + std::to_string(3).
std::string tag(const char* prefix, int round, int index = -1) {
  std::string out = prefix;
  out += std::to_string(round);
  if (index >= 0) {
    out += '-';
    out += std::to_string(index);
  }
  return out;
}

class PipelineConformance : public ::testing::TestWithParam<std::string> {
 protected:
  std::string url(const std::string& what) { return test::private_url(GetParam(), dir, what); }
  test::TempDir dir;
};

// Counts what each puller receives (on threads of their own) until 2 * kHalf arrived in all.
std::vector<int> shares(std::vector<Puller>& pullers, const std::function<void()>& send_all) {
  std::atomic<int> total{0};
  std::vector<int> counts(pullers.size(), 0);
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < pullers.size(); ++i) {
    readers.emplace_back([&, i] {
      auto deadline = std::chrono::steady_clock::now() + 30s;
      while (total < 2 * kHalf && std::chrono::steady_clock::now() < deadline) {
        if (pullers[i].receive(20ms)) {
          ++counts[i];
          ++total;
        }
      }
    });
  }
  send_all();
  for (auto& r : readers) r.join();
  return counts;
}

TEST_P(PipelineConformance, APusherConnectingToTwoPullersDealsEvenlyWhateverTheirHandshakes) {
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Puller> pullers(2);
    std::vector<std::string> at;
    for (int i = 0; i < 2; ++i) {
      at.push_back(pullers[i].bind(url(tag("c", round, i))).url());
    }
    Pusher pusher;
    auto counts = shares(pullers, [&] {
      for (const auto& u : at) pusher.connect(u);
      // At once: both pullers are dealt to while their handshakes are under way.
      for (int m = 0; m < 2 * kHalf; ++m) ASSERT_TRUE(pusher.send(Message{"w"}, 10s));
      ASSERT_TRUE(pusher.flush(10s));
    });
    ASSERT_EQ(counts, (std::vector<int>{kHalf, kHalf})) << "round " << round;
  }
}

TEST_P(PipelineConformance, ABoundPusherDealsEvenlyToPullersThatConnected) {
  for (int round = 0; round < kRounds; ++round) {
    Pusher pusher;
    auto ep = pusher.bind(url(tag("b", round)));
    std::vector<Puller> pullers(2);
    for (auto& p : pullers) p.connect(ep.url());
    // Once it has both (their handshakes may still be under way), it deals to both.
    ASSERT_TRUE(test::eventually([&] {
      (void)pusher.flush(1ms);
      for (auto& p : pullers) (void)p.receive(0ms);
      return pusher.stats().peers == 2;
    }));
    auto counts = shares(pullers, [&] {
      for (int m = 0; m < 2 * kHalf; ++m) ASSERT_TRUE(pusher.send(Message{"w"}, 10s));
      ASSERT_TRUE(pusher.flush(10s));
    });
    ASSERT_EQ(counts, (std::vector<int>{kHalf, kHalf})) << "round " << round;
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, PipelineConformance,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.push_pull && c.reach == Reach::url;
                         })),
                         test::SchemeName());

}  // namespace
}  // namespace ipcx
