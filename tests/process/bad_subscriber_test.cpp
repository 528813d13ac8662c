// Bad peers against a live Publisher, while a well-behaved subscriber process keeps receiving:
// a wrong greeting, a greeting never finished (closed at the handshake deadline even though the
// publisher never waits), a subscriber flooding subscriptions past the bound, and more peers
// than max_peers. Each is closed and counted; the good subscriber's stream has no gap.
#include <gtest/gtest.h>

#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/raw_peer.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<unsigned char>;
using Clock = std::chrono::steady_clock;

Bytes subscribe_command(const std::string& topic) {
  Bytes body{9};
  for (char c : std::string("SUBSCRIBE")) body.push_back(static_cast<unsigned char>(c));
  body.insert(body.end(), topic.begin(), topic.end());
  Bytes out;
  if (body.size() <= 255) {
    out = {0x04, static_cast<unsigned char>(body.size())};
  } else {
    out = {0x06,
           0,
           0,
           0,
           0,
           0,
           0,
           static_cast<unsigned char>(body.size() >> 8),
           static_cast<unsigned char>(body.size() & 0xff)};
  }
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

TEST(BadSubscriber, PublisherClosesBadPeersAndKeepsPublishing) {
  test::TempDir dir;
  std::string url = "unix://" + dir / "pub.sock";
  // The good subscriber counts 0, 1, 2... and prints "ok N" at "end", or the first gap.
  test::Child good = test::Child::fork([url] {
    Subscriber sub;
    sub.connect(url);
    sub.subscribe("t");
    for (long expected = 0;; ++expected) {
      auto m = sub.receive(60s);
      if (!m) return 1;
      if (m->text(1) == "end") {
        std::printf("ok %ld\n", expected);
        std::fflush(stdout);  // Child::fork ends with _exit, which flushes nothing
        return 0;
      }
      if (std::stol(m->str(1)) != expected) {
        std::printf("gap at %ld\n", expected);
        std::fflush(stdout);
        return 1;
      }
    }
  });
  SocketOptions options;
  options.handshake_timeout = 300ms;
  options.max_peers = 8;
  Publisher pub(options);
  Endpoint ep = pub.bind(url);
  auto deadline = Clock::now() + 30s;
  while (pub.subscribers() < 1 && Clock::now() < deadline) pub.poll();
  ASSERT_EQ(pub.subscribers(), 1u);

  long sent = 0;
  auto publish_for = [&](std::chrono::milliseconds how_long) {
    auto until = Clock::now() + how_long;
    while (Clock::now() < until) {
      ASSERT_TRUE(pub.publish(Message{"t", std::to_string(sent++)}));
      std::this_thread::sleep_for(100us);
    }
  };
  auto faults_before = pub.stats().peer_faults;

  test::RawPeer wrong(ep);
  wrong.send({0x00, 0x01, 0x02, 0x03});
  test::RawPeer unfinished(ep);
  Bytes partial = test::RawPeer::greeting();
  partial.resize(20);
  unfinished.send(partial);
  test::RawPeer flood(ep);
  Bytes hello = test::RawPeer::greeting();
  Bytes ready = test::RawPeer::ready("SUB");
  hello.insert(hello.end(), ready.begin(), ready.end());
  // The flood blocks once the socket buffer is full, until the publisher reads (it reads as
  // it publishes): a thread of its own.
  std::thread flooding([&] {
    if (!flood.send(hello)) return;
    for (int i = 0; i < 600; ++i) {  // 600 distinct 2 KiB topics: past the 1 MiB bound
      std::string topic(2048, 'f');
      std::snprintf(topic.data(), topic.size(), "%d", i);
      if (!flood.send(subscribe_command(topic))) return;  // closed by the publisher
    }
  });
  publish_for(1500ms);  // past the handshake deadline, publishing all along
  flooding.join();
  EXPECT_TRUE(wrong.closed_by_server(5s));
  EXPECT_TRUE(unfinished.closed_by_server(5s));
  EXPECT_TRUE(flood.closed_by_server(5s));
  EXPECT_GE(pub.stats().peer_faults, faults_before + 3);

  // More peers than max_peers: the extra ones are refused.
  std::vector<std::unique_ptr<test::RawPeer>> crowd;
  for (int i = 0; i < 12; ++i) crowd.push_back(std::make_unique<test::RawPeer>(ep));
  publish_for(200ms);
  EXPECT_GT(pub.stats().rejected, 0u);
  crowd.clear();
  publish_for(200ms);

  ASSERT_TRUE(pub.publish(Message{"t", "end"}));
  ASSERT_TRUE(pub.flush(10s));
  char expected[32];
  std::snprintf(expected, sizeof expected, "ok %ld", sent);
  EXPECT_EQ(good.read_line(30s).value_or("nothing"), expected);
  EXPECT_EQ(good.wait(), 0);
}

}  // namespace
}  // namespace ipcx
