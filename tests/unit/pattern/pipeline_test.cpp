// Push/pull through the public API, in one process (threads): every mechanism, order and
// multipart, round robin over pullers, the high-water mark, refusal of illegal pairings,
// limits, and reconnection.
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/eventually.hpp"
#include "support/fd_count.hpp"
#include "support/leftovers.hpp"
#include "support/mechanisms.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::eventually;

// Sends `count` messages, the i-th made by make(i), then flushes: on a thread of its own, so
// that the caller reads meanwhile. Join it before the pusher goes.
template <class Make>
std::thread send_all(Pusher& pusher, int count, Make make) {
  return std::thread([&pusher, count, make] {
    for (int i = 0; i < count; ++i) ASSERT_TRUE(pusher.send(make(i), 10s));
    EXPECT_TRUE(pusher.flush(10s));
  });
}

class Pipeline : public ::testing::TestWithParam<std::string> {
 protected:
  test::TempDir dir;
  const Capabilities& caps() const { return test::caps_of(GetParam()); }
  std::string url(const char* what) { return test::private_url(GetParam(), dir, what); }
};

TEST_P(Pipeline, MessagesArriveInOrderWithTheirFrames) {
  std::size_t fds = test::open_fd_count();
  {
    Puller puller;
    auto ep = puller.bind(url("order"));
    Pusher pusher;
    pusher.connect(ep.url());
    constexpr int kCount = 20000;
    std::thread sender = send_all(pusher, kCount, [](int i) {
      return Message{"n", std::to_string(i)};
    });
    for (int i = 0; i < kCount; ++i) {
      auto m = puller.receive(10s);
      ASSERT_TRUE(m) << to_string(m.error());
      ASSERT_EQ(m->size(), 2u);
      ASSERT_EQ(m->text(1), std::to_string(i));
    }
    sender.join();
    EXPECT_EQ(puller.stats().messages, static_cast<std::uint64_t>(kCount));
    EXPECT_EQ(pusher.stats().messages, static_cast<std::uint64_t>(kCount));
  }
  EXPECT_TRUE(eventually([&] { return test::open_fd_count() == fds; }));
}

// batch_bytes: small messages gather per puller and go out together, in order, none lost; a
// batch short of full waits for flush() on sockets, while shm (a ring, no syscall to save)
// delivers at once.
TEST_P(Pipeline, BatchesGatherUntilFullOrFlushed) {
  SocketOptions options;
  options.batch_bytes = 16 * 1024;
  Puller puller;
  auto ep = puller.bind(url("batch"));
  Pusher pusher(options);
  pusher.connect(ep.url());
  // The puller is driven while the first send waits for it to be ready.
  std::atomic<bool> sent{false};
  std::thread first_send([&] {
    EXPECT_TRUE(pusher.send(Message{"first"}, 10s));
    sent = true;
  });
  std::optional<Message> early;
  while (!sent && !early) {
    if (auto m = puller.receive(1ms)) early = std::move(*m);
  }
  first_send.join();
  // Batches gather bytes for one syscall: on a byte stream. A message mechanism writes each
  // message as it is sent (into a ring, or one queue message each).
  if (caps().boundaries == Boundaries::stream) {
    // Gathered, not written: no wait could make it arrive before the flush.
    EXPECT_FALSE(early);
    EXPECT_FALSE(puller.receive(20ms));
    ASSERT_TRUE(pusher.flush(10s));
  }
  auto first = early ? std::move(early) : std::optional<Message>(puller.receive(10s).value());
  EXPECT_EQ(first->text(0), "first");
  // Many batches' worth, from a thread, then one flush for the tail.
  constexpr int kCount = 50000;
  std::thread sender = send_all(pusher, kCount, [](int i) { return Message{std::to_string(i)}; });
  for (int i = 0; i < kCount; ++i) {
    auto m = puller.receive(10s);
    ASSERT_TRUE(m) << "at " << i << ": " << to_string(m.error());
    ASSERT_EQ(m->str(0), std::to_string(i));
  }
  sender.join();
}

TEST_P(Pipeline, LargeMessagesGoThroughWhole) {
  Puller puller;
  auto ep = puller.bind(url("large"));
  Pusher pusher;
  pusher.connect(ep.url());
  std::string big(5u << 20, 'b');
  big[12345] = 'x';
  std::thread sender = send_all(pusher, 3, [&big](int) { return Message{big}; });
  for (int i = 0; i < 3; ++i) {
    auto m = puller.receive(10s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->text(0), big);
  }
  sender.join();
}

// The usual one-frame message takes a shorter path than the rest; once the transport is full,
// messages wait in order behind the first that could not go. Shapes mixed across a filled
// (small) shm ring and socket buffer must still arrive in order, whole.
TEST_P(Pipeline, ShapesMixedAcrossAFullTransportArriveInOrder) {
  SocketOptions small;
  small.shm_ring_bytes = 64 * 1024;
  Puller puller(small);
  auto ep = puller.bind(url("mixed"));
  Pusher pusher(small);
  pusher.connect(ep.url());
  constexpr int kCount = 600;
  auto make = [](int i) {
    switch (i % 4) {
      case 0:
        return Message{std::to_string(i)};
      case 1:
        return Message{std::to_string(i), "second frame"};
      case 2:
        return Message{std::to_string(i) + std::string(40 * 1024, 'L')};  // in pieces
      default:
        return Message{std::to_string(i), ""};
    }
  };
  std::thread sender = send_all(pusher, kCount, make);
  std::this_thread::sleep_for(50ms);  // let the pusher fill the transport first
  for (int i = 0; i < kCount; ++i) {
    auto m = puller.receive(10s);
    ASSERT_TRUE(m) << "at " << i << ": " << to_string(m.error());
    ASSERT_EQ(*m, make(i)) << "at " << i;
  }
  sender.join();
}

TEST_P(Pipeline, PusherSpreadsMessagesOverItsPullers) {
  Pusher pusher;
  auto ep = pusher.bind(url("spread"));
  constexpr int kPullers = 3;
  constexpr int kCount = 3000;
  std::atomic<int> received{0};
  std::atomic<bool> done{false};
  std::vector<int> per(kPullers, 0);
  std::vector<std::thread> pullers;
  std::atomic<int> ready{0};
  for (int p = 0; p < kPullers; ++p) {
    pullers.emplace_back([&, p] {
      Puller puller;
      puller.connect(ep.url());
      (void)puller.receive(0ms);  // start the handshake
      ready++;
      while (!done) {
        auto m = puller.receive(50ms);
        if (!m) continue;
        per[p]++;
        if (++received == kCount) done = true;
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return ready == kPullers; }));
  // Wait until the pusher has all three handshakes, so round robin covers them all.
  ASSERT_TRUE(eventually([&] {
    (void)pusher.flush(1ms);
    return pusher.stats().ready == kPullers;
  }));
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(pusher.send(Message{"w"}, 10s));
  EXPECT_TRUE(pusher.flush(10s));
  for (auto& t : pullers) t.join();
  EXPECT_EQ(received.load(), kCount);
  for (int p = 0; p < kPullers; ++p) EXPECT_GT(per[p], kCount / 10) << "puller " << p;
}

TEST_P(Pipeline, SendWaitsWhileThePullerIsFullThenTimesOut) {
  Puller puller;
  auto ep = puller.bind(url("full"));
  Pusher pusher;
  pusher.connect(ep.url());
  Message chunk{std::string(256 * 1024, 'h')};
  // The first message is taken once the puller has done its handshake.
  std::thread first([&] { ASSERT_TRUE(puller.receive(10s)); });
  ASSERT_TRUE(pusher.send(chunk, 10s));
  first.join();
  // Now the puller stops reading: the kernel buffer (or ring) fills, and send times out
  // instead of queueing without bound.
  int sent = 0;
  Result<void> r;
  while ((r = pusher.send(chunk, 100ms)) && sent < 1000) ++sent;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::timeout);
  EXPECT_LT(sent, 1000);
  // Reading makes room again, and every message sent arrives whole.
  std::thread reader([&] {
    for (int i = 0; i < sent + 1; ++i) {
      auto m = puller.receive(10s);
      ASSERT_TRUE(m);
      ASSERT_EQ(m->bytes(), chunk.bytes());
    }
  });
  EXPECT_TRUE(pusher.send(chunk, 10s));
  EXPECT_TRUE(pusher.flush(10s));
  reader.join();
}

TEST_P(Pipeline, PullerTimesOutWithNothingToRead) {
  Puller puller;
  puller.bind(url("idle"));
  auto m = puller.receive(30ms);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), Errc::timeout);
}

TEST_P(Pipeline, OversizedMessageIsRefusedBeforeSending) {
  SocketOptions options;
  options.max_message_size = 1000;
  Pusher pusher(options);
  auto r = pusher.send(Message{std::string(1001, 'x')}, 10ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::message_too_large);
}

TEST_P(Pipeline, PusherCannotTalkToAServer) {
  Server server;
  server.on_request([](Request& r) { r.reply(r.body()); });
  auto ep = server.bind(url("pairing"));
  server.start();
  SocketOptions options;
  options.linger = 0ms;
  Pusher pusher(options);
  pusher.connect(ep.url());
  // Dealt to the server's endpoint, whose handshake refuses a PUSH: it waits there for a
  // peer that would take it, and never reaches the handler.
  (void)pusher.send(Message{"x"}, 200ms);
  EXPECT_FALSE(pusher.flush(200ms));
  EXPECT_TRUE(eventually([&] { return server.stats().peer_faults >= 1; }));
  EXPECT_EQ(pusher.stats().ready, 0u);
  EXPECT_EQ(server.stats().requests, 0u);
}

TEST_P(Pipeline, ConnectingPusherReachesAPullerThatComesLater) {
  std::string where = url("later");
  Pusher pusher;
  pusher.connect(where);
  std::thread late([&] {
    std::this_thread::sleep_for(50ms);
    Puller puller;
    puller.bind(where);
    auto m = puller.receive(10s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->text(0), "hello");
  });
  EXPECT_TRUE(pusher.send(Message{"hello"}, 10s));
  EXPECT_TRUE(pusher.flush(10s));
  late.join();
}

// receive_view(): on every mechanism the same messages, in order; in place where the link can
// lend them (shm, one ring record), over a copy elsewhere.
TEST_P(Pipeline, ViewsDeliverTheSameMessagesInOrder) {
  Puller puller;
  auto ep = puller.bind(url("view"));
  Pusher pusher;
  pusher.connect(ep.url());
  constexpr int kCount = 3000;
  std::thread sender = send_all(pusher, kCount, [](int i) {
    return Message{"n", std::string(static_cast<std::size_t>(i % 700), 'v'), std::to_string(i)};
  });
  int in_place = 0;
  for (int i = 0; i < kCount; ++i) {
    auto v = puller.receive_view(10s);
    ASSERT_TRUE(v) << to_string(v.error());
    // On shm a message that lands between the view's look and the copying read's is copied:
    // rare, so most are in place.
    in_place += v->zero_copy() ? 1 : 0;
    ASSERT_EQ(v->size(), 3u);
    ASSERT_EQ(v->frame(1).size(), static_cast<std::size_t>(i % 700));
    ASSERT_EQ(v->text(2), std::to_string(i));
  }
  sender.join();
  if (caps().zero_copy) {
    EXPECT_GT(in_place, kCount / 2) << in_place;
  } else {
    EXPECT_EQ(in_place, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, Pipeline,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.push_pull && c.reach == Reach::url;
                         })),
                         test::SchemeName());

// Views in place: on every mechanism that lends messages in its own memory.
class PipelineViews : public Pipeline {};

TEST_P(PipelineViews, AHeldViewHoldsItsLinkOnlyAndOneViewIsOutAtATime) {
  Puller puller;
  auto ep = puller.bind(url("held"));
  Pusher first, second;
  first.connect(ep.url());
  // Sends wait for the puller to take the connection, which it does inside receive calls.
  std::thread sender([&] {
    EXPECT_TRUE(first.send(Message{"first 1"}, 10s));
    EXPECT_TRUE(first.send(Message{"first 2"}, 10s));
  });
  auto view = puller.receive_view(10s);
  sender.join();
  ASSERT_TRUE(view && view->zero_copy());
  EXPECT_EQ(view->text(0), "first 1");
  EXPECT_EQ(puller.receive_view(10ms).error(), Errc::would_block);
  // Its link delivers nothing more while the view is out; another link does.
  EXPECT_EQ(puller.receive(100ms).error(), Errc::timeout);
  second.connect(ep.url());
  std::thread other_sender([&] { EXPECT_TRUE(second.send(Message{"second 1"}, 10s)); });
  auto other = puller.receive(10s);
  other_sender.join();
  ASSERT_TRUE(other) << to_string(other.error());
  EXPECT_EQ(other->text(0), "second 1");
  EXPECT_EQ(view->text(0), "first 1");
  view->release();
  auto next = puller.receive(10s);
  ASSERT_TRUE(next) << to_string(next.error());
  EXPECT_EQ(next->text(0), "first 2");
}

TEST_P(PipelineViews, LargerThanOneRecordComesAsACopy) {
  Puller puller;
  auto ep = puller.bind(url("large"));
  Pusher pusher;
  pusher.connect(ep.url());
  std::string big(600 * 1024, 'b');
  std::thread sender([&] { EXPECT_TRUE(pusher.send(Message{big}, 10s)); });
  auto view = puller.receive_view(10s);
  sender.join();
  ASSERT_TRUE(view) << to_string(view.error());
  EXPECT_FALSE(view->zero_copy());
  MessageView moved = std::move(*view);
  EXPECT_EQ(moved.text(0), big);
}

TEST_P(PipelineViews, AViewOutlivesItsPushersConnection) {
  Puller puller;
  auto ep = puller.bind(url("gone"));
  std::optional<MessageView> view;
  {
    Pusher pusher;
    pusher.connect(ep.url());
    std::thread sender([&] { EXPECT_TRUE(pusher.send(Message{"last words"}, 10s)); });
    auto v = puller.receive_view(10s);
    sender.join();
    ASSERT_TRUE(v && v->zero_copy());
    view = std::move(*v);
  }
  // The pusher is gone; its link, holding the view, reads nothing until the view ends.
  EXPECT_EQ(puller.receive(50ms).error(), Errc::timeout);
  EXPECT_EQ(view->text(0), "last words");  // still mapped
  view->release();
  EXPECT_EQ(view->size(), 0u);
  EXPECT_TRUE(eventually([&] {
    (void)puller.receive(10ms);
    return puller.stats().peers == 0;  // then the link is found dead and dropped
  }));
}

INSTANTIATE_TEST_SUITE_P(Registry, PipelineViews,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.push_pull && c.zero_copy && c.reach == Reach::url;
                         })),
                         test::SchemeName());

}  // namespace
}  // namespace ipcx
