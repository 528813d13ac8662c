// Publish/subscribe through the public API, in one process (threads where needed): every
// mechanism, prefix filtering at the publisher, counted subscriptions, unsubscribe while
// running, a slow subscriber losing messages (at its high-water mark, or overwritten in the shm
// broadcast ring, and told so) without stalling the publisher, a lossless publisher waiting
// for the slowest, messages larger than a ring, and resubscription after a reconnect.
#include <gtest/gtest.h>

#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/eventually.hpp"
#include "support/leftovers.hpp"
#include "support/mechanisms.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::eventually;

class PubSub : public ::testing::TestWithParam<std::string> {
 protected:
  test::TempDir dir;
  const Capabilities& caps() const { return test::caps_of(GetParam()); }
  std::string url(const char* what) {
    static int counter = 0;
    return test::private_url(GetParam(), dir, what + std::to_string(++counter));
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
  if (caps().boundaries == Boundaries::datagram) {
    // One datagram link serves every subscriber, so publish() counts it, not them: watch what
    // arrives instead. Once the empty set reaches the publisher, nothing more does.
    EXPECT_TRUE(eventually([&] {
      (void)pub.publish(Message{"a", "gone"});
      return !sub.receive(50ms);
    }));
    return;
  }
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
  bool udp = caps().boundaries == Boundaries::datagram;
  Message big{"t", std::string(udp ? 60000 : 64 * 1024, 'b')};  // udp: under a datagram's limit
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(pub.publish(big));
  bool shm = caps().broadcast;
  // Own queues: the publisher dropped what did not fit under the mark. A broadcast ring:
  // it overwrote the oldest, and the subscriber learns so. Datagrams: the subscriber's kernel
  // buffer dropped them, and the sequence numbers tell it.
  if (!shm && !udp) {
    EXPECT_GT(pub.stats().dropped, 0u);
  }
  // When it reads again, it gets whole messages and then new ones.
  int got = 0;
  std::uint64_t first_gap = 0;
  while (auto m = slow.receive(100ms)) {
    if (got == 0) first_gap = slow.gap();
    ASSERT_EQ(m->bytes(), big.bytes());
    ++got;
  }
  EXPECT_GT(got, 0);
  EXPECT_LT(got, 2000);
  if (shm) {
    EXPECT_GT(first_gap, 0u);
    EXPECT_EQ(slow.stats().lost, first_gap);  // lost once, in one stretch
    EXPECT_EQ(got + slow.stats().lost, 2000u);
  }
  ASSERT_GT(until_received(pub, slow, Message{"t", "after"}), 0);
  if (udp) {
    EXPECT_GT(slow.stats().lost, 0u);  // the kernel's drops, counted by sequence
  }
}

TEST_P(PubSub, LosslessPublisherWaitsForTheSlowestSubscriber) {
  if (!caps().lossless_publish) {
    SocketOptions lossless;
    lossless.lossless = true;
    Publisher pub(lossless);
    EXPECT_THROW(pub.bind(url("lossless")), Error);  // a publisher that cannot wait: refused
    return;
  }
  SocketOptions options;
  options.lossless = true;
  options.hwm = 4;
  options.shm_ring_bytes = 64 * 1024;
  Publisher pub(options);
  auto ep = pub.bind(url("lossless"));
  Subscriber fast, slow;
  for (auto* s : {&fast, &slow}) {
    s->connect(ep.url());
    s->subscribe("");
  }
  ASSERT_TRUE(eventually([&] {
    (void)fast.receive(0ms);  // sends its subscription
    (void)slow.receive(0ms);
    pub.poll();
    return pub.subscribers() == 2;
  }));
  // Far more than the ring or the marks hold, with a subscriber that dawdles: every message
  // reaches both, in order.
  constexpr int kMessages = 3000;
  auto reader = [](Subscriber& sub, bool dawdle, int& got) {
    got = 0;
    while (got < kMessages) {
      auto m = sub.receive(30s);
      if (!m || m->str(1) != std::to_string(got) + std::string(1000, 'x')) return;
      ++got;
      if (dawdle && got % 100 == 0) std::this_thread::sleep_for(2ms);
    }
  };
  int fast_got = -1, slow_got = -1;
  std::thread a([&] { reader(fast, false, fast_got); });
  std::thread b([&] { reader(slow, true, slow_got); });
  for (int i = 0; i < kMessages; ++i) {
    auto delivered = pub.publish(Message{"t", std::to_string(i) + std::string(1000, 'x')});
    ASSERT_EQ(delivered.value_or(0), 2u);
  }
  ASSERT_TRUE(pub.flush(30s));
  a.join();
  b.join();
  EXPECT_EQ(fast_got, kMessages);
  EXPECT_EQ(slow_got, kMessages);
  EXPECT_EQ(pub.stats().dropped, 0u);
  EXPECT_EQ(slow.stats().lost, 0u);
}

TEST_P(PubSub, BatchedPublisherDeliversEverythingAfterFlush) {
  // Datagrams are dropped by a kernel buffer that fills; elsewhere nothing may be lost. A
  // message mechanism writes each message as it goes (batching holds nothing back there).
  if (caps().boundaries == Boundaries::datagram) GTEST_SKIP() << "datagrams may be dropped";
  SocketOptions options;
  options.batch_bytes = 8 * 1024;
  Publisher pub(options);
  auto ep = pub.bind(url("batched"));
  Subscriber sub;
  sub.connect(ep.url());
  sub.subscribe("t");
  ASSERT_TRUE(eventually([&] {
    (void)sub.receive(0ms);
    pub.poll();
    return pub.subscribers() == 1;
  }));
  constexpr int kCount = 5000;  // fits the high-water mark and the kernel buffers: no drops
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(pub.publish(Message{"t", std::to_string(i)}));
  ASSERT_TRUE(pub.flush(10s));
  for (int i = 0; i < kCount; ++i) {
    auto m = sub.receive(10s);
    ASSERT_TRUE(m) << "at " << i;
    ASSERT_EQ(m->str(1), std::to_string(i));
  }
  EXPECT_EQ(pub.stats().dropped, 0u);
}

TEST_P(PubSub, MessagesLargerThanTheRingArriveWhole) {
  if (caps().boundaries == Boundaries::datagram) GTEST_SKIP() << "a datagram is the limit";
  SocketOptions options;
  options.shm_ring_bytes = 64 * 1024;  // a quarter of it is the largest record
  options.lossless = true;
  Publisher pub(options);
  auto ep = pub.bind(url("large"));
  Subscriber sub;
  sub.connect(ep.url());
  sub.subscribe("big");
  ASSERT_GT(until_received(pub, sub, Message{"big", "warm"}), 0);
  std::thread reader([&] {
    for (int i = 0; i < 20; ++i) {
      auto m = sub.receive(30s);
      ASSERT_TRUE(m);
      if (m->text(1) == "warm") {
        --i;
        continue;
      }
      ASSERT_EQ(m->size(), 3u);
      EXPECT_EQ(m->bytes(), 3 + 300000 + 7u);
      EXPECT_EQ(m->str(1), std::string(300000, static_cast<char>('a' + i)));
    }
  });
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(
        pub.publish(Message{"big", std::string(300000, static_cast<char>('a' + i)), "trailer"}));
  }
  ASSERT_TRUE(pub.flush(30s));
  reader.join();
  EXPECT_EQ(sub.stats().lost, 0u);
}

TEST_P(PubSub, SubscriberResubscribesAfterThePublisherRestarts) {
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
  if (!caps().push_pull) GTEST_SKIP() << GetParam() << " has no push/pull (not_supported)";
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

INSTANTIATE_TEST_SUITE_P(Registry, PubSub,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.publish_subscribe && c.reach == Reach::url;
                         })),
                         test::SchemeName());

}  // namespace
}  // namespace ipcx
