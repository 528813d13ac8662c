// Every mechanism a server process and client processes reach by URL, with real processes:
// several clients at once, large messages, a client killed with kill -9 mid-request while the
// others are served and nothing of it left behind, nothing at all left after a graceful stop;
// and garbage written into a pipe:// FIFO, an mq:// queue or at a udp:// port skipped and
// counted.
// Server kill -9 and restart on the same endpoint is in restart_test.cpp.
#include <gtest/gtest.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/eventually.hpp"
#include "support/leftovers.hpp"
#include "support/mechanisms.hpp"
#include "support/raw_udp.hpp"
#include "support/temp_dir.hpp"
#include "wire/compact_header.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;
using test::RawUdp;
using test::request_datagram;

class OsMechanism : public ::testing::TestWithParam<std::string> {
 protected:
  // Servers killed by the tests leave their well-known names (as designed).
  void TearDown() override {
    if (!url_.empty()) test::remove_stale_name(url_);
  }
  // Made once: a udp endpoint is a free port found now.
  const std::string& url() {
    if (url_.empty()) url_ = test::private_url(GetParam(), dir, "srv");
    return url_;
  }
  std::vector<std::string> leftovers() { return test::leftovers(GetParam(), dir, "srv"); }
  test::TempDir dir;
  std::string url_;
};

Child exec_hold_server(const std::string& url) {
  Child server = Child::exec({IPCX_HOLD_SERVER, url}, true);
  return server;
}

TEST_P(OsMechanism, SeveralClientProcessesAtOnceEachGetTheirOwnReplies) {
  std::string where = url();
  Child server = exec_hold_server(where);
  ASSERT_EQ(server.read_line(30s).value_or("nothing"), "bound");
  std::vector<Child> clients;
  for (int id = 0; id < 6; ++id) {
    clients.push_back(Child::fork([where, id] {
      Client client(where);
      int wrong = 0;
      for (int n = 0; n < 300; ++n) {
        std::string body = "client " + std::to_string(id) + " call " + std::to_string(n);
        auto reply = client.call(Message{body}, 20s);
        if (!reply || reply->text(0) != body) ++wrong;
      }
      std::printf("wrong %d\n", wrong);
      std::fflush(stdout);
      return 0;
    }));
  }
  for (auto& c : clients) EXPECT_EQ(c.read_line(120s).value_or("nothing"), "wrong 0");
  for (auto& c : clients) EXPECT_EQ(c.wait(), 0);
}

TEST_P(OsMechanism, LargeMessagesGoThroughWhole) {
  Server server;
  server.on_request([](Request& r) { r.reply(r.body()); });
  server.bind(url());
  server.start();
  Client client(url());
  bool datagram = test::caps_of(GetParam()).boundaries == Boundaries::datagram;
  std::string big(datagram ? 60000 : (16u << 20), 'x');
  for (std::size_t i = 0; i < big.size(); i += 1000) big[i] = static_cast<char>('a' + i % 26);
  auto reply = client.call(Message{big, "second part"}, 60s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  ASSERT_EQ(reply->size(), 2u);
  EXPECT_EQ(reply->text(0), big);
  EXPECT_EQ(reply->text(1), "second part");
}

TEST_P(OsMechanism, ClientKilledMidRequestLeavesNothingAndOthersAreServed) {
  std::string where = url();
  Child server = exec_hold_server(where);
  ASSERT_EQ(server.read_line(30s).value_or("nothing"), "bound");
  Child victim = Child::fork([where]() -> int {
    Client client(where);
    (void)client.call(Message{"warm up"}, 20s);
    std::printf("holding\n");
    std::fflush(stdout);
    (void)client.call(Message{"hold"}, 600s);
    return 0;
  });
  ASSERT_EQ(victim.read_line(30s).value_or("nothing"), "holding");
  victim.kill(SIGKILL);
  victim.wait();
  Client survivor(where);
  for (int i = 0; i < 50; ++i) {
    auto reply = survivor.call(Message{std::to_string(i)}, 20s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    EXPECT_EQ(reply->text(0), std::to_string(i));
  }
  // The victim's private FIFOs or queues went when both sides held them.
  auto left = leftovers();
  EXPECT_TRUE(left.empty()) << left.front();
}

TEST_P(OsMechanism, GracefulStopLeavesNothing) {
  {
    Server server;
    server.on_request([](Request& r) { r.reply(r.body()); });
    server.bind(url());
    server.start();
    for (int i = 0; i < 3; ++i) {
      Client client(url());
      ASSERT_TRUE(client.call(Message{"hi"}, 20s));
    }
    server.stop();
  }
  // Nothing at all: not even the server's own FIFO or queue.
  auto left = test::all_leftovers(GetParam(), dir, "srv");
  EXPECT_TRUE(left.empty()) << left.front();
}

// Every mechanism a server process and client processes reach by URL.
INSTANTIATE_TEST_SUITE_P(Registry, OsMechanism,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.request_reply && c.crosses_processes && c.reach == Reach::url;
                         })),
                         test::SchemeName());

TEST(FifoRendezvous, GarbageAndShortRecordsAreSkippedAndCounted) {
  test::TempDir dir;
  std::string path = dir / "srv";
  Server server;
  server.on_request([](Request& r) { r.reply(r.body()); });
  server.bind("pipe://" + path);
  server.start();
  Client before("pipe://" + path);
  ASSERT_TRUE(before.call(Message{"before"}, 20s));
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite("IXFH\x01", 1, 5, f);  // a short record that starts like a real one
    std::fflush(f);
    std::string junk(3000, '\0');
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 7 + 3);
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  test::eventually([&] { return server.stats().peer_faults > 0; }, 20s);
  EXPECT_GT(server.stats().peer_faults, 0u);
  Client after("pipe://" + path);
  auto reply = after.call(Message{"after"}, 20s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(reply->text(0), "after");
  ASSERT_TRUE(before.call(Message{"still"}, 20s));
}

TEST(MqRendezvous, GarbageMessagesInTheServerQueueAreSkippedAndCounted) {
  test::TempDir dir;
  std::string url = test::private_url("mq", dir, "srv");
  std::string queue = url.substr(4);  // "mq://NAME" -> "/NAME"
  Server server;
  server.on_request([](Request& r) { r.reply(r.body()); });
  server.bind(url);
  server.start();
  Client before(url);
  ASSERT_TRUE(before.call(Message{"before"}, 20s));
  mqd_t q = ::mq_open(queue.c_str(), O_WRONLY);
  ASSERT_GE(q, 0);
  const char* junk[] = {"x", "IXFH\x01 short", "twenty bytes garbage"};
  for (const char* j : junk) ASSERT_EQ(::mq_send(q, j, std::strlen(j), 0), 0);
  ::mq_close(q);
  EXPECT_TRUE(test::eventually([&] { return server.stats().peer_faults >= 3; }, 20s));
  Client after(url);
  auto reply = after.call(Message{"after"}, 20s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  ASSERT_TRUE(before.call(Message{"still"}, 20s));
}

TEST(UdpAtMostOnce, ARepeatedDatagramIsAnsweredFromTheCacheNotHandledTwice) {
  int handled = 0;
  Server server;
  server.on_request([&](Request& r) {
    ++handled;
    r.reply(Message{"handled " + std::to_string(handled)});
  });
  Endpoint bound = server.bind("udp://127.0.0.1:0");
  server.start();
  RawUdp raw(bound.port);
  Message request = test::client_request({"increment"});
  auto datagram = request_datagram(42, request);
  raw.send(datagram);
  Message first = raw.receive();
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first.text(2), "handled 1");
  raw.send(datagram);  // a retry: same datagram id
  Message second = raw.receive();
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second.text(2), "handled 1");
  raw.send(request_datagram(43, request));  // a new request
  Message third = raw.receive();
  ASSERT_EQ(third.size(), 3u);
  EXPECT_EQ(third.text(2), "handled 2");
}

TEST(UdpBadInput, BadHeadersAndOversizedDatagramsAreCountedAndServingGoesOn) {
  Server server;
  server.on_request([](Request& r) { r.reply(r.body()); });
  Endpoint bound = server.bind("udp://127.0.0.1:0");
  server.start();
  RawUdp raw(bound.port);
  raw.send(std::vector<std::byte>(10, std::byte{0x5a}));  // shorter than a header
  auto good = request_datagram(9, Message{"x"});
  auto lying = good;
  lying[4] = std::byte{0xff};  // chunk length that is not the datagram's
  raw.send(lying);
  raw.send(std::vector<std::byte>(65000, std::byte{0x11}));  // big, and no header at all
  EXPECT_TRUE(test::eventually([&] { return server.stats().peer_faults >= 3; }, 20s));
  Client client(bound.url());
  auto reply = client.call(Message{"fine"}, 20s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(reply->text(0), "fine");
  // A request above the datagram limit fails on the sender, clearly.
  EXPECT_EQ(client.call(Message{std::string(70000, 'z')}, 20s).error(), Errc::message_too_large);
}

TEST(UdpBadInput, GarbageAtAPublisherIsCountedAndItsSubscribersAreServed) {
  Publisher pub;
  Endpoint bound = pub.bind("udp://127.0.0.1:0");
  RawUdp raw(bound.port);
  raw.send(std::vector<std::byte>(7, std::byte{0x33}));           // not a header
  raw.send(request_datagram(5, Message{"\x01not a topic set"}));  // a message, not a set
  Subscriber sub;
  sub.connect(bound.url());
  sub.subscribe("t");
  bool got = false;
  for (int i = 0; i < 2000 && !got; ++i) {
    (void)pub.publish(Message{"t", "hello"});
    auto m = sub.receive(5ms);
    got = m && m->text(1) == "hello";
  }
  EXPECT_TRUE(got);
  EXPECT_TRUE(test::eventually([&] {
    (void)pub.poll();
    return pub.stats().peer_faults >= 2;
  }));
}

}  // namespace
}  // namespace ipcx
