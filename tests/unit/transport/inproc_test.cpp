// inproc://: threads of one process through the public API. Requests, push/pull and pub/sub go
// through; while the receiver is awake not one doorbell is rung (no read or write syscall:
// counted through the sys.hpp seam); a refused pairing is a fault at the server and a refusal
// at the client; a name is bound once per process and free again once its server stops.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "core/sys.hpp"
#include "ipcx/ipcx.hpp"
#include "support/eventually.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;

std::string name(const char* what) {
  static int counter = 0;
  return "inproc://test-" + std::string(what) + "-" + std::to_string(++counter);
}

TEST(Inproc, RequestsBetweenThreadsWithOurOwnCredentials) {
  Server server;
  server.on_request([](Request& r) {
    r.reply(Message{r.body().text(0), r.peer().mechanism, std::to_string(r.peer().pid)});
  });
  auto ep = server.bind(name("rr"));
  EXPECT_EQ(ep.scheme, "inproc");
  server.start();
  Client client(ep.url());
  for (int i = 0; i < 1000; ++i) {
    auto reply = client.call(Message{std::to_string(i)}, 10s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    EXPECT_EQ(*reply, (Message{std::to_string(i), "inproc", std::to_string(::getpid())}));
  }
}

std::atomic<int> g_doorbells{0};
int count_doorbells(sys::Call call, std::size_t*) {
  if (call == sys::Call::read || call == sys::Call::write) ++g_doorbells;
  return 0;
}

TEST(Inproc, NoSyscallWhileTheReceiverIsAwake) {
  SocketOptions awake;
  awake.spin = 60s;  // neither side sleeps in this test
  Puller puller(awake);
  auto ep = puller.bind(name("awake"));
  Pusher pusher(awake);
  pusher.connect(ep.url());
  // One thread can use both: the pusher's link is ready at once, the message waits for the
  // puller to accept it.
  ASSERT_TRUE(pusher.send(Message{"first"}, 10s));
  ASSERT_TRUE(puller.receive(10s));  // both sides are ready and their doorbells drained
  constexpr int kCount = 20000;
  sys::set_injector(&count_doorbells);
  std::thread sender([&] {
    for (int i = 0; i < kCount; ++i) ASSERT_TRUE(pusher.send(Message{std::to_string(i)}, 10s));
  });
  for (int i = 0; i < kCount; ++i) {
    auto m = puller.receive(10s);
    ASSERT_TRUE(m);
    ASSERT_EQ(m->str(0), std::to_string(i));
  }
  sender.join();
  sys::set_injector(nullptr);
  EXPECT_EQ(g_doorbells.load(), 0);
}

TEST(Inproc, APairingTheServerRefusesIsAFaultThereAndARefusalHere) {
  Server server;
  server.on_request([](Request& r) { r.reply(r.body()); });
  auto ep = server.bind(name("pairing"));
  server.start();
  Publisher wrong;
  wrong.connect(ep.url());
  EXPECT_TRUE(test::eventually([&] {
    (void)wrong.publish(Message{"x"});
    return server.stats().peer_faults >= 1;
  }));
  EXPECT_EQ(server.stats().requests, 0u);
}

TEST(Inproc, ANameIsBoundOncePerProcessAndFreedByItsServer) {
  std::string url = name("once");
  {
    Server first;
    first.bind(url);
    Server second;
    try {
      second.bind(url);
      FAIL() << "bound twice";
    } catch (const Error& e) {
      EXPECT_EQ(e.errc(), Errc::address_in_use);
    }
  }
  Server again;
  again.on_request([](Request& r) { r.reply(r.body()); });
  again.bind(url);
  again.start();
  Client client(url);
  EXPECT_TRUE(client.call(Message{"back"}, 10s));
}

TEST(Inproc, NobodyBoundIsRefusedAndAStoppedServerFailsItsCallers) {
  Client nobody(name("nobody"));
  EXPECT_EQ(nobody.call(Message{"x"}, 200ms).error(), Errc::refused);
  std::string url = name("stopping");
  Server server;
  std::atomic<bool> held{false};
  std::vector<Responder> kept;
  server.on_request([&](Request& r) {
    kept.push_back(r.respond_later());
    held = true;
  });
  server.bind(url);
  server.start();
  Client client(url);
  std::thread stopper([&] {
    while (!held) std::this_thread::sleep_for(1ms);
    server.stop();
  });
  auto r = client.call(Message{"never answered"}, 30s);
  stopper.join();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error() == Errc::peer_closed || r.error() == Errc::cancelled)
      << to_string(r.error());
}

TEST(Inproc, SubscribersGetTheirTopicsOnly) {
  Publisher pub;
  auto ep = pub.bind(name("news"));
  Subscriber sub;
  sub.connect(ep.url());
  sub.subscribe("weather");
  int got = 0;
  for (int i = 0; i < 5000 && got < 10; ++i) {
    (void)pub.publish(Message{"sports", "no"});
    (void)pub.publish(Message{"weather", "rain"});
    while (auto m = sub.receive(1ms)) {
      ASSERT_EQ(m->text(0), "weather");
      ++got;
    }
  }
  EXPECT_GE(got, 10);
}

}  // namespace
}  // namespace ipcx
