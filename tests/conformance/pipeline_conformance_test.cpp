// Push/pull on every mechanism of the registry that carries it: a pusher deals round robin over
// every puller it has, whatever the timing of their handshakes (a pusher once gave one of two
// pullers everything when the other's greeting came late). Many rounds in one test, so that a
// race would show: pullers bound before the pusher connects to them, and pullers connecting to
// a bound pusher. A pusher that coalesces a burst still delivers a lone message at once, and
// all of a burst whether it then sits idle or is destroyed. A puller driven from its caller's
// own event loop (receive(0ms), then poll on fd()) is woken for each message.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
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

// A pusher in a child process and a puller here: what the child sends, and when, is what a
// coalescing pusher must not get wrong (hold a lone message, or lose what it held).
class PushDelivery : public PipelineConformance {
 protected:
  // Runs `body(pusher)` in a child whose pusher connected to the bound puller; the pusher is
  // destroyed as body returns, and the child ends with body's status.
  test::Child start(const std::function<int(Pusher&)>& body) {
    at = puller.bind(url("d")).url();
    if (::pipe(go) != 0) throw std::runtime_error("pipe");
    auto child = test::Child::fork([this, body] {
      ::close(go[1]);
      Pusher pusher;
      pusher.connect(at);
      return body(pusher);
    });
    ::close(go[0]);
    return child;
  }
  ~PushDelivery() override {
    if (go[1] >= 0) ::close(go[1]);
  }
  void release() {
    char byte = 1;
    (void)!::write(go[1], &byte, 1);
    ::close(go[1]);
    go[1] = -1;
  }
  // Waits for the parent's release, making no call into the pusher meanwhile.
  static int wait_released(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 60000) == 1 ? 0 : 3;
  }
  // kBurst messages numbered from 0, back to back: the case a pusher coalesces.
  static bool send_burst(Pusher& pusher) {
    for (int i = 0; i < kBurst; ++i) {
      if (!pusher.send(Message{std::to_string(i)}, 10s)) return false;
    }
    return true;
  }
  static constexpr int kBurst = 3000;
  // Receives `n` messages numbered from `first` in order.
  void expect_numbered(int first, int n) {
    for (int i = first; i < first + n; ++i) {
      auto m = puller.receive(30s);
      ASSERT_TRUE(m) << "message " << i << ": " << to_string(m.error());
      ASSERT_EQ(m->text(0), std::to_string(i));
    }
  }

  Puller puller;
  std::string at;
  int go[2] = {-1, -1};
};

TEST_P(PushDelivery, ALoneMessageArrivesWithoutALaterSendOrFlush) {
  auto child = start([&](Pusher& pusher) -> int {
    if (!pusher.send(Message{"0"}, 10s)) return 4;
    ::usleep(20000);  // a pause: the next message is on its own, not part of a burst
    if (!pusher.send(Message{"1"}, 10s)) return 4;
    return wait_released(go[0]);
  });
  expect_numbered(0, 2);
  release();
  EXPECT_EQ(child.wait(), 0);
}

TEST_P(PushDelivery, APullerInAUserEventLoopIsWokenByItsFd) {
  auto child = start([&](Pusher& pusher) -> int {
    for (int i = 0; i < 5; ++i) {
      ::usleep(20000);  // each message comes while the puller sleeps on its fd()
      if (!pusher.send(Message{std::to_string(i)}, 10s)) return 4;
    }
    return wait_released(go[0]);
  });
  for (int i = 0; i < 5; ++i) {
    auto m = puller.receive(0ms);  // polls
    for (int wakes = 0; !m && wakes < 1000; ++wakes) {
      ASSERT_EQ(m.error(), Errc::timeout);
      pollfd p{puller.fd(), POLLIN, 0};
      ASSERT_EQ(::poll(&p, 1, 20000), 1) << "fd() did not become readable for message " << i;
      m = puller.receive(0ms);
    }
    ASSERT_TRUE(m);
    EXPECT_EQ(m->text(0), std::to_string(i));
  }
  release();
  EXPECT_EQ(child.wait(), 0);
}

TEST_P(PushDelivery, ABurstArrivesWholeWhileThePusherSitsIdle) {
  auto child = start([&](Pusher& pusher) -> int {
    if (!send_burst(pusher)) return 4;
    return wait_released(go[0]);  // no flush, no further call: what it held must still go
  });
  expect_numbered(0, kBurst);
  release();
  EXPECT_EQ(child.wait(), 0);
}

TEST_P(PushDelivery, APusherDestroyedRightAfterABurstLosesNothing) {
  auto child = start([&](Pusher& pusher) -> int {
    return send_burst(pusher) ? 0 : 4;  // the pusher is destroyed at once, and the process ends
  });
  expect_numbered(0, kBurst);
  EXPECT_EQ(child.wait(), 0);
}

INSTANTIATE_TEST_SUITE_P(Registry, PushDelivery,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.push_pull && c.reach == Reach::url && c.crosses_processes;
                         })),
                         test::SchemeName());

INSTANTIATE_TEST_SUITE_P(Registry, PipelineConformance,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.push_pull && c.reach == Reach::url;
                         })),
                         test::SchemeName());

}  // namespace
}  // namespace ipcx
