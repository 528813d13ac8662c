// Publish/subscribe with real processes on shm: eight subscriber processes with different
// prefixes at a steady rate, each receiving exactly its messages in order; a subscriber
// stopped with SIGSTOP while the publisher completes 1,000,000 publishes, which after SIGCONT
// reports how many it lost and receives new messages; a subscriber killed with kill -9 stops
// holding up even a lossless publisher and leaves no descriptor behind; a lossless publisher
// feeding subscriber processes faster than they read, none losing anything.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/fd_count.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;
using Clock = std::chrono::steady_clock;

std::string shm_url(const char* what) {
  return "shm://ipcx-ps-" + std::string(what) + "-" + std::to_string(::getpid());
}

// Subscribes to `topic`, checks that the bodies count 0, 1, 2... and prints "ok N" at the
// "end" body, or "gap at N" on the first message out of order.
Child checking_subscriber(const std::string& url, const std::string& topic) {
  return Child::fork([url, topic] {
    Subscriber sub;
    sub.connect(url);
    sub.subscribe(topic);
    long expected = 0;
    for (;;) {
      auto m = sub.receive(60s);
      if (!m) return 1;
      if (m->text(0) != topic) {
        std::printf("wrong topic %s\n", m->str(0).c_str());
        return 1;
      }
      if (m->text(1) == "end") break;
      if (std::stol(m->str(1)) != expected) {
        std::printf("gap at %ld\n", expected);
        std::fflush(stdout);
        return 1;
      }
      ++expected;
    }
    std::printf("ok %ld\n", expected);
    std::fflush(stdout);
    return 0;
  });
}

// "t3", "ok 5000": built without operator+ on temporaries, which trips a false -Wrestrict in
// g++ 12.
std::string numbered(const char* prefix, long n) {
  char text[64];
  std::snprintf(text, sizeof text, "%s%ld", prefix, n);
  return text;
}

bool wait_for_subscribers(Publisher& pub, std::size_t n) {
  auto deadline = Clock::now() + 30s;
  while (pub.subscribers() < n) {
    if (Clock::now() > deadline) return false;
    pub.poll();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(PubSubProcess, EightSubscribersEachGetExactlyTheirTopicInOrder) {
  std::string url = shm_url("eight");
  constexpr int kSubscribers = 8;
  std::vector<Child> subs;
  for (int k = 0; k < kSubscribers; ++k) subs.push_back(checking_subscriber(url, numbered("t", k)));
  Publisher pub;
  pub.bind(url);
  ASSERT_TRUE(wait_for_subscribers(pub, kSubscribers));
  // 40,000 messages at 20,000 a second, round robin over the topics.
  constexpr int kMessages = 40000;
  auto start = Clock::now();
  std::vector<long> next(kSubscribers, 0);
  for (int i = 0; i < kMessages; ++i) {
    std::this_thread::sleep_until(start + i * 50us);
    int k = i % kSubscribers;
    auto delivered = pub.publish(Message{numbered("t", k), std::to_string(next[k]++)});
    ASSERT_TRUE(delivered);
  }
  for (int k = 0; k < kSubscribers; ++k) {
    ASSERT_EQ(pub.publish(Message{numbered("t", k), "end"}).value_or(0), 1u);
  }
  ASSERT_TRUE(pub.flush(30s));
  EXPECT_EQ(pub.stats().dropped, 0u);
  for (int k = 0; k < kSubscribers; ++k) {
    EXPECT_EQ(subs[k].read_line(60s).value_or("nothing"), numbered("ok ", next[k]));
    EXPECT_EQ(subs[k].wait(), 0);
  }
}

TEST(PubSubProcess, StoppedSubscriberNeverBlocksThePublisher) {
  std::string url = shm_url("stop");
  // A subscriber that prints "gap N" for the first loss it is told of, then "after" when that
  // message arrives. It counts what it received, so received + lost must be all published.
  Child stopped = Child::fork([url] {
    Subscriber sub;
    sub.connect(url);
    sub.subscribe("");
    long received = 0;
    bool told = false;
    for (;;) {
      auto m = sub.receive(60s);
      if (!m) return 1;
      if (sub.gap() > 0 && !told) {
        told = true;
        std::printf("gap %llu\n", static_cast<unsigned long long>(sub.gap()));
      }
      if (m->text(1) == "after") {
        std::printf("after %ld\n", received + static_cast<long>(sub.stats().lost));
        std::fflush(stdout);
        return 0;
      }
      if (m->text(1) == "warm") {
        std::printf("warm\n");
        std::fflush(stdout);
      } else {
        ++received;
      }
    }
  });
  Publisher pub;
  pub.bind(url);
  ASSERT_TRUE(wait_for_subscribers(pub, 1));
  // Stopped once it is surely reading.
  ASSERT_TRUE(pub.publish(Message{"t", "warm"}));
  ASSERT_EQ(stopped.read_line(60s).value_or("nothing"), "warm");
  stopped.kill(SIGSTOP);
  auto deadline = Clock::now() + 120s;  // generous: a publisher that blocks fails here
  constexpr int kMessages = 1000000;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(pub.publish(Message{"t", std::to_string(i)}));
    if ((i & 1023) == 0) {
      ASSERT_LT(Clock::now(), deadline) << "publisher stalled at " << i;
    }
  }
  stopped.kill(SIGCONT);
  // It reads what the ring still holds, learns how much it lost, then gets new messages.
  ASSERT_TRUE(pub.publish(Message{"t", "after"}));
  auto gap = stopped.read_line(60s).value_or("nothing");
  ASSERT_EQ(gap.rfind("gap ", 0), 0u) << gap;
  EXPECT_GT(std::stol(gap.substr(4)), 0);
  EXPECT_LT(std::stol(gap.substr(4)), kMessages);
  // Every message is accounted for: received, or lost and counted.
  EXPECT_EQ(stopped.read_line(60s).value_or("nothing"), numbered("after ", kMessages));
  EXPECT_EQ(stopped.wait(), 0);
}

TEST(PubSubProcess, KilledSubscriberLeavesNothingBehind) {
  std::string url = shm_url("kill");
  Child doomed = Child::fork([url] {
    Subscriber sub;
    sub.connect(url);
    sub.subscribe("");
    for (;;) {
      if (!sub.receive(60s)) return 1;
    }
  });
  Child survivor = checking_subscriber(url, "t");
  std::size_t fds = test::open_fd_count();
  {
    // Lossless, so the survivor misses nothing of the burst, and so a dead subscriber that
    // held the publisher up must release it.
    SocketOptions options;
    options.lossless = true;
    Publisher pub(options);
    pub.bind(url);
    ASSERT_TRUE(wait_for_subscribers(pub, 2));
    for (int i = 0; i < 20000; ++i) {
      if (i == 5000) doomed.kill(SIGKILL);
      ASSERT_TRUE(pub.publish(Message{"t", std::to_string(i)}));
    }
    // The dead one is noticed while the survivor is still connected (it leaves after "end").
    auto gone = Clock::now() + 20s;
    while (pub.stats().peers > 1 && Clock::now() < gone) {
      pub.poll();
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(pub.stats().peers, 1u);
    ASSERT_TRUE(pub.publish(Message{"t", "end"}));
    ASSERT_TRUE(pub.flush(30s));
    EXPECT_EQ(survivor.read_line(60s).value_or("nothing"), "ok 20000");
  }
  EXPECT_EQ(test::open_fd_count(), fds);
  EXPECT_EQ(doomed.wait(), 128 + SIGKILL);
}

TEST(PubSubProcess, LosslessPublisherOutrunsNoSubscriber) {
  std::string url = shm_url("lossless");
  constexpr int kSubscribers = 4;
  std::vector<Child> subs;
  for (int k = 0; k < kSubscribers; ++k) subs.push_back(checking_subscriber(url, "t"));
  SocketOptions options;
  options.lossless = true;
  options.shm_ring_bytes = 64 * 1024;  // a ring far smaller than the stream
  Publisher pub(options);
  pub.bind(url);
  ASSERT_TRUE(wait_for_subscribers(pub, kSubscribers));
  constexpr int kMessages = 200000;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_EQ(pub.publish(Message{"t", std::to_string(i)}).value_or(0), std::size_t{kSubscribers});
  }
  ASSERT_TRUE(pub.publish(Message{"t", "end"}));
  for (auto& sub : subs) {
    EXPECT_EQ(sub.read_line(60s).value_or("nothing"), numbered("ok ", kMessages));
    EXPECT_EQ(sub.wait(), 0);
  }
}

}  // namespace
}  // namespace ipcx
