// Proxy (zmq_proxy) across real processes, on every mechanism each pattern applies to:
// request/reply to a server bound in a child process, reached through a proxy whose frontend is
// on tcp:// by clients that pipeline and clients that send plain REQ envelopes, replies reaching
// the client that asked; a pipeline from a pusher process to a puller process, complete and in
// order; publish/subscribe from a publisher process to a subscriber process, with the
// subscriber's subscription forwarded upstream (the publisher sends nothing else) and cancelled
// when it leaves; and a capture socket that sees requests and replies.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/eventually.hpp"
#include "support/leftovers.hpp"
#include "support/mechanisms.hpp"
#include "support/server_child.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;

class ProxyToServer : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override { test::remove_stale_name(url_); }
  test::TempDir dir_;
  std::string url_;
};

TEST_P(ProxyToServer, ClientsOnTcpReachAServerBehindTheProxy) {
  url_ = test::private_url(GetParam(), dir_, "behind");
  test::Child server = test::echo_server(url_);
  ASSERT_EQ(server.read_line(30s).value_or("nothing"), "bound");
  Proxy proxy;
  std::string front = proxy.bind_frontend("tcp://127.0.0.1:0").url();
  proxy.connect_backend(url_);
  proxy.start();

  Client pipelining(front);
  ClientOptions plain_options;
  plain_options.envelope = RequestEnvelope::plain;
  Client plain(front, plain_options);
  std::map<RequestId, std::string> sent;
  for (int i = 0; i < 50; ++i) {
    std::string body = std::to_string(i);  // GCC 12 warns falsely on "p" + std::to_string(i)
    sent[pipelining.send(Message{body}).value()] = body;
  }
  for (int i = 0; i < 5; ++i) {
    std::string body = std::to_string(100 + i);
    EXPECT_EQ(plain.call(Message{body}, 20s).value(), Message{body});
  }
  for (int i = 0; i < 50; ++i) {
    auto reply = pipelining.receive(20s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    ASSERT_EQ(sent.count(reply->id), 1u);
    EXPECT_EQ(reply->body, Message{sent[reply->id]});
    sent.erase(reply->id);
  }
  EXPECT_EQ(pipelining.stats().unmatched_replies, 0u);
  // The proxy counts after it forwarded: the last reply may be here before its count is.
  EXPECT_TRUE(test::eventually([&] { return proxy.stats().to_backend == 55; }));
  EXPECT_TRUE(test::eventually([&] { return proxy.stats().to_frontend == 55; }));
  proxy.stop();
}

INSTANTIATE_TEST_SUITE_P(Registry, ProxyToServer,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.request_reply && c.reach == Reach::url && c.crosses_processes;
                         })),
                         test::SchemeName());

class ProxyPipeline : public ::testing::TestWithParam<std::string> {
 protected:
  test::TempDir dir_;
};
class ProxyPubSub : public ProxyPipeline {};

// "n17": built without operator+ on temporaries, which trips a false -Wrestrict in g++ 12.
std::string numbered(long n) {
  char text[32];
  std::snprintf(text, sizeof text, "n%ld", n);
  return text;
}

TEST_P(ProxyPipeline, APipelineThroughTheProxyArrivesWholeAndInOrder) {
  constexpr long kMessages = 500;
  ProxyOptions options;
  options.pattern = ProxyPattern::pipeline;
  Proxy proxy(options);
  std::string front = proxy.bind_frontend(test::private_url(GetParam(), dir_, "front")).url();
  std::string back = proxy.bind_backend(test::private_url(GetParam(), dir_, "back")).url();
  // Children first: the proxy's thread starts after the last fork.
  test::Child puller = test::Child::fork([back] {
    Puller pull;
    pull.connect(back);
    for (long i = 0; i < kMessages; ++i) {
      auto m = pull.receive(60s);
      if (!m || m->text(0) != numbered(i)) {
        std::printf("gap at %ld\n", i);
        std::fflush(stdout);
        return 1;
      }
    }
    std::printf("ok %ld\n", kMessages);
    std::fflush(stdout);
    return 0;
  });
  test::Child pusher = test::Child::fork([front] {
    Pusher push;
    push.connect(front);
    for (long i = 0; i < kMessages; ++i) {
      if (!push.send(Message{numbered(i)}, 60s)) return 1;
    }
    return push.flush(60s) ? 0 : 2;
  });
  proxy.start();
  EXPECT_EQ(puller.read_line(120s).value_or("nothing"), "ok 500");
  EXPECT_EQ(pusher.wait(), 0);
  EXPECT_EQ(puller.wait(), 0);
  EXPECT_TRUE(test::eventually(
      [&] { return proxy.stats().to_backend == static_cast<std::uint64_t>(kMessages); }));
  proxy.stop();
}

TEST_P(ProxyPubSub, SubscriptionsGoUpstreamAndOnlyWhatTheyMatchComesDown) {
  ProxyOptions options;
  options.pattern = ProxyPattern::publish_subscribe;
  Proxy proxy(options);
  std::string front = proxy.bind_frontend(test::private_url(GetParam(), dir_, "front")).url();
  std::string back = proxy.bind_backend(test::private_url(GetParam(), dir_, "back")).url();
  // Publishes once the proxy has subscribed (for its subscriber), says how many subscribers the
  // other topic reached, and whether the subscription was cancelled once the subscriber left.
  test::Child publisher = test::Child::fork([front] {
    Publisher pub;
    pub.connect(front);
    auto deadline = std::chrono::steady_clock::now() + 60s;
    auto wait_until = [&](auto done) {
      while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        pub.poll();
        std::this_thread::sleep_for(1ms);
      }
      return true;
    };
    if (!wait_until([&] { return pub.subscribers() == 1; })) return 1;
    std::size_t other = 0;
    for (long i = 0; i < 100; ++i) {
      (void)pub.publish(Message{"a", numbered(i)});
      other += pub.publish(Message{"b", numbered(i)}).value_or(1);
    }
    (void)pub.publish(Message{"a", "end"});
    (void)pub.flush(60s);
    std::printf("b reached %zu\n", other);
    std::fflush(stdout);
    if (!wait_until([&] { return pub.subscribers() == 0; })) return 2;
    std::printf("cancelled\n");
    std::fflush(stdout);
    return 0;
  });
  test::Child subscriber = test::Child::fork([back] {
    Subscriber sub;
    sub.connect(back);
    sub.subscribe("a");
    for (long i = 0;; ++i) {
      auto m = sub.receive(60s);
      if (!m || m->text(0) != "a") return 1;
      if (m->text(1) == "end") {
        std::printf("ok %ld\n", i);
        std::fflush(stdout);
        return 0;
      }
      if (m->text(1) != numbered(i)) return 2;
    }
  });
  proxy.start();
  EXPECT_EQ(subscriber.read_line(120s).value_or("nothing"), "ok 100");
  EXPECT_EQ(subscriber.wait(), 0);
  EXPECT_EQ(publisher.read_line(120s).value_or("nothing"), "b reached 0");
  EXPECT_EQ(publisher.read_line(120s).value_or("nothing"), "cancelled");
  EXPECT_EQ(publisher.wait(), 0);
  EXPECT_TRUE(test::eventually([&] { return proxy.stats().to_backend == 101; }));
  // The subscription, then its cancellation.
  EXPECT_TRUE(test::eventually([&] { return proxy.stats().to_frontend == 2; }));
  proxy.stop();
}

INSTANTIATE_TEST_SUITE_P(Registry, ProxyPipeline,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.push_pull && c.reach == Reach::url && c.crosses_processes;
                         })),
                         test::SchemeName());

// In order and complete only where the mechanism is reliable (udp's datagrams may be lost).
INSTANTIATE_TEST_SUITE_P(Registry, ProxyPubSub,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.publish_subscribe && c.reliable && c.reach == Reach::url &&
                                  c.crosses_processes;
                         })),
                         test::SchemeName());

// Two subscribers of one topic behind the proxy: one subscription goes upstream, and its
// cancellation only once both have cancelled.
TEST(ProxyPubSubUnion, ATopicIsCancelledUpstreamOnlyWhenItsLastSubscriberCancels) {
  ProxyOptions options;
  options.pattern = ProxyPattern::publish_subscribe;
  Proxy proxy(options);
  std::string front = proxy.bind_frontend("inproc://union-front").url();
  std::string back = proxy.bind_backend("inproc://union-back").url();
  proxy.start();
  Publisher pub;
  pub.connect(front);
  Subscriber first;
  Subscriber second;
  first.connect(back);
  second.connect(back);
  // Subscribers and the publisher are driven by their callers: each check drives all three.
  auto settled = [&](std::uint64_t upstream, std::size_t subscribed) {
    return test::eventually([&] {
      (void)first.receive(0ms);
      (void)second.receive(0ms);
      pub.poll();
      return proxy.stats().to_frontend == upstream && pub.subscribers() == subscribed;
    });
  };
  first.subscribe("a");
  EXPECT_TRUE(settled(1, 1));
  second.subscribe("a");
  second.subscribe("a");  // counted: twice from one subscriber needs two cancels
  first.unsubscribe("a");
  first.subscribe("y");
  second.unsubscribe("a");
  second.subscribe("z");
  // Each connection's messages are applied in order, and the proxy's go upstream in order: once
  // the publisher has "y" and "z", it has had every change made before them.
  auto has = [&](const char* topic) { return pub.publish(Message{topic, "probe"}).value() == 1; };
  EXPECT_TRUE(test::eventually([&] {
    (void)first.receive(0ms);
    (void)second.receive(0ms);
    return has("y") && has("z");
  }));
  EXPECT_TRUE(has("a")) << "cancelled upstream while a subscriber still wants it";
  EXPECT_TRUE(test::eventually([&] { return proxy.stats().to_frontend == 3; }));
  second.unsubscribe("a");
  first.unsubscribe("y");
  second.unsubscribe("z");
  EXPECT_TRUE(settled(6, 0));
  proxy.stop();
}

TEST(ProxyCapture, TheCaptureSocketSeesEachRequestAndReplyWithTheirEnvelopes) {
  test::TempDir dir;
  std::string url = test::private_url("unix", dir, "worker");
  test::Child server = test::echo_server(url);
  ASSERT_EQ(server.read_line(30s).value_or("nothing"), "bound");
  Proxy proxy;
  std::string front = proxy.bind_frontend("tcp://127.0.0.1:0").url();
  std::string capture = proxy.bind_capture("tcp://127.0.0.1:0").url();
  proxy.connect_backend(url);
  proxy.start();
  Subscriber copies;
  copies.connect(capture);
  copies.subscribe("");
  Client client(front);
  // The capture's subscription arrives in its own time: call until a copy comes.
  Result<Message> copy = unexpected(Errc::timeout);
  for (int i = 0; i < 200 && !copy; ++i) {
    ASSERT_EQ(client.call(Message{"x"}, 20s).value(), Message{"x"});
    copy = copies.receive(100ms);
  }
  ASSERT_TRUE(copy) << "no copy on the capture socket";
  // [the proxy's routing frame][the client's request id][""][body], going either way.
  ASSERT_EQ(copy->size(), 4u);
  EXPECT_EQ(copy->frame(0).size(), 9u);
  EXPECT_EQ(copy->frame(0)[0], std::byte{0});
  EXPECT_EQ(copy->frame(2).size(), 0u);
  EXPECT_EQ(copy->text(3), "x");
  auto next = copies.receive(20s);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->text(3), "x");
  EXPECT_TRUE(test::eventually([&] { return proxy.stats().captured >= 2; }));
  proxy.stop();
}

}  // namespace
}  // namespace ipcx
