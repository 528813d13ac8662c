// Publish/subscribe through the public API, in one process (threads where needed): every
// mechanism, prefix filtering at the publisher, counted subscriptions, unsubscribe while
// running, a slow subscriber dropping at its high-water mark without stalling the publisher,
// and resubscription after a reconnect.
#include <gtest/gtest.h>

#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::eventually;

class PubSub : public ::testing::TestWithParam<std::string> {
 protected:
  test::TempDir dir;
  std::string url(const char* what) {
    static int counter = 0;
    if (GetParam() == "unix") return "unix://" + dir / (std::string(what) + ".sock");
    if (GetParam() == "tcp") return "tcp://127.0.0.1:0";
    return "shm://ipcx-pubsub-" + std::string(what) + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(++counter);
  }

  // Publishes `probe` until the subscriber has it (subscriptions travel asynchronously), and
  // returns how many publishes that took.
  static int until_received(Publisher& pub, Subscriber& sub, const Message& probe) {
    for (int i = 1; i <= 2000; ++i) {
      (void)pub.publish(probe);
      auto m = sub.receive(5ms);
      if (m && *m == probe) return i;
    }
    return -1;
  }
};

TEST_P(PubSub, SubscribersGetWhatTheirPrefixesMatch) {
  Publisher pub;
  auto ep = pub.bind(url("prefix"));
  Subscriber prices, all, none;
  for (auto* s : {&prices, &all, &none}) s->connect(ep.url());
  prices.subscribe("price.");
  all.subscribe("");
  ASSERT_GT(until_received(pub, prices, Message{"price.warmup", "0"}), 0);
  ASSERT_GT(until_received(pub, all, Message{"price.warmup", "1"}), 0);
  // Drain the warm-up copies the other subscriber may hold.
  while (prices.receive(20ms)) {
  }
  while (all.receive(20ms)) {
  }
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(pub.publish(Message{i % 2 ? "price.eur" : "news.x", std::to_string(i)}));
  }
  ASSERT_TRUE(pub.flush(5s));
  for (int i = 1; i < 100; i += 2) {
    auto m = prices.receive(5s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->text(0), "price.eur");
    EXPECT_EQ(m->text(1), std::to_string(i));  // in order, and only its topic
  }
  for (int i = 0; i < 100; ++i) {
    auto m = all.receive(5s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->text(1), std::to_string(i));
  }
  EXPECT_FALSE(prices.receive(50ms));
  EXPECT_FALSE(none.receive(50ms));  // never subscribed: receives nothing
}

TEST_P(PubSub, SubscriptionsAreCountedAndCanBeCancelled) {
  Publisher pub;
  auto ep = pub.bind(url("count"));
  Subscriber sub;
  sub.connect(ep.url());
  sub.subscribe("a");
  sub.subscribe("a");
  ASSERT_GT(until_received(pub, sub, Message{"a", "warm"}), 0);
  sub.unsubscribe("a");  // one left
  std::this_thread::sleep_for(50ms);
  ASSERT_GT(until_received(pub, sub, Message{"a", "still"}), 0);
  sub.unsubscribe("a");  // none left
  // Once the cancel reaches the publisher, it stops sending: deliveries drop to zero.
  EXPECT_TRUE(eventually([&] {
    auto delivered = pub.publish(Message{"a", "gone"});
    while (sub.receive(1ms)) {
    }
    return delivered && *delivered == 0;
  }));
}

TEST_P(PubSub, SlowSubscriberLosesMessagesWithoutStallingThePublisher) {
  SocketOptions options;
  options.hwm = 10;
  Publisher pub(options);
  auto ep = pub.bind(url("slow"));
  Subscriber slow;
  slow.connect(ep.url());
  slow.subscribe("");
  ASSERT_GT(until_received(pub, slow, Message{"t", "warm"}), 0);
  // It stops reading; the publisher goes on and never waits.
  Message big{"t", std::string(64 * 1024, 'b')};
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(pub.publish(big));
  EXPECT_GT(pub.stats().dropped, 0u);
  // When it reads again, it gets whole messages and then new ones.
  int got = 0;
  while (auto m = slow.receive(100ms)) {
    ASSERT_EQ(m->bytes(), big.bytes());
    ++got;
  }
  EXPECT_GT(got, 0);
  EXPECT_LT(got, 2000);
  ASSERT_GT(until_received(pub, slow, Message{"t", "after"}), 0);
}

TEST_P(PubSub, SubscriberResubscribesAfterThePublisherRestarts) {
  if (GetParam() == "tcp") GTEST_SKIP() << "needs a fixed port";
  std::string where = url("restart");
  Subscriber sub;
  sub.connect(where);
  sub.subscribe("x");
  {
    Publisher pub;
    pub.bind(where);
    ASSERT_GT(until_received(pub, sub, Message{"x", "first"}), 0);
  }
  Publisher again;
  again.bind(where);
  ASSERT_GT(until_received(again, sub, Message{"x", "second"}), 0);
}

TEST_P(PubSub, PublisherCannotTalkToAPuller) {
  Puller puller;
  auto ep = puller.bind(url("pairing"));
  Publisher pub;
  pub.connect(ep.url());
  EXPECT_TRUE(eventually([&] {
    pub.poll();
    (void)puller.receive(1ms);
    return puller.stats().peer_faults + pub.stats().peer_faults >= 1;
  }));
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, PubSub, ::testing::Values("unix", "tcp", "shm"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace ipcx
