// The Link contract, on every mechanism of the registry that carries one-way messages and can
// listen in this process: frames arrive as they were sent, a message of exactly the limit
// passes and one byte more is refused (at the sender) or ends the link (at a receiver with a
// smaller limit: a peer breaking our limit is hostile input, never a crash), a close is seen
// after everything sent before it, a peer that does not read makes send() answer would_block,
// and the link's fd is readable once a message waits for a reader that said it sleeps.
#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

#include "support/leftovers.hpp"
#include "support/mechanisms.hpp"
#include "support/temp_dir.hpp"
#include "transport/registry.hpp"

namespace ipcx::transport {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A PUSH link dialled to a PULL listener, both driven until their handshakes completed.
struct Pair {
  std::unique_ptr<Listener> listener;
  std::unique_ptr<Link> sender;
  std::unique_ptr<Link> receiver;
};

// Lets a link make progress without waiting long: a poll of its fd, or a short nap for a link
// whose peer rings it only when told (polled memory).
void nap(Link& link) {
  if (link.extensions().polled != nullptr) {
    std::this_thread::sleep_for(100us);
    return;
  }
  pollfd p{link.fd(), POLLIN, 0};
  ::poll(&p, 1, 1);
}

// The next message on `link`, driving it until one comes or the deadline; its status.
Io receive(Link& link, Message& out, std::chrono::milliseconds within = 10s) {
  auto deadline = Clock::now() + within;
  for (;;) {
    auto r = link.recv(out);
    if (r.status != Io::would_block) return r.status;
    if (Clock::now() >= deadline) return Io::would_block;
    if (link.wants_write()) (void)link.flush();
    nap(link);
  }
}

class LinkConformance : public ::testing::TestWithParam<std::string> {
 protected:
  const Mechanism& mechanism() { return *builtin_registry().find(GetParam()); }

  Pair open(LinkOptions sender_options = {}, LinkOptions receiver_options = {}) {
    sender_options.socket_type = wire::SocketType::push;
    receiver_options.socket_type = wire::SocketType::pull;
    Pair pair;
    Endpoint ep = Endpoint::parse(test::private_url(GetParam(), dir, "link"));
    std::string why;
    ListenOptions lo;
    lo.link = receiver_options;
    auto listener = mechanism().listen(ep, lo, why);
    EXPECT_TRUE(listener) << why;
    if (!listener) return pair;
    pair.listener = std::move(*listener);
    auto dialled = mechanism().dial(pair.listener->bound(), sender_options, why);
    EXPECT_TRUE(dialled) << why;
    if (!dialled) return pair;
    pair.sender = std::move(*dialled);
    auto deadline = Clock::now() + 10s;
    Message nothing;
    while (Clock::now() < deadline) {
      if (!pair.receiver) {
        auto accepted = pair.listener->accept();
        if (accepted) pair.receiver = std::move(*accepted);
      }
      for (Link* l : {pair.sender.get(), pair.receiver.get()}) {
        if (l == nullptr) continue;
        (void)l->flush();
        EXPECT_NE(l->recv(nothing).status, Io::ok) << "a message before any was sent";
      }
      if (pair.receiver && pair.sender->established() && pair.receiver->established()) break;
      std::this_thread::sleep_for(200us);
    }
    EXPECT_TRUE(pair.receiver && pair.sender->established() && pair.receiver->established());
    return pair;
  }

  test::TempDir dir;
};

TEST_P(LinkConformance, FramesArriveAsTheyWereSentInOrder) {
  auto pair = open();
  ASSERT_TRUE(pair.receiver);
  std::vector<Message> sent = {Message{"one"}, Message{"", "empty first", ""},
                               Message{std::string(1u << 20, 'm'), "after a large one"},
                               Message{""}};
  for (int i = 0; i < 100; ++i) sent.push_back(Message{"n", std::to_string(i)});
  std::thread sender([&] {
    for (const auto& m : sent) {
      IoResult r;
      while ((r = pair.sender->send(m)).status == Io::would_block) nap(*pair.sender);
      ASSERT_EQ(r.status, Io::ok);
      while (pair.sender->flush().status == Io::would_block) nap(*pair.sender);
    }
  });
  for (const auto& expected : sent) {
    Message got;
    ASSERT_EQ(receive(*pair.receiver, got), Io::ok);
    ASSERT_EQ(got, expected);
  }
  sender.join();
}

TEST_P(LinkConformance, ExactlyTheLimitPassesAndOneByteMoreIsRefused) {
  LinkOptions limited;
  limited.max_message_size = 1000;
  auto pair = open(limited, limited);
  ASSERT_TRUE(pair.receiver);
  // The sender refuses its own oversized message before it leaves.
  auto over = pair.sender->send(Message{std::string(1001, 'x')});
  EXPECT_EQ(over.status, Io::error);
  EXPECT_EQ(over.error, Errc::message_too_large);
  ASSERT_EQ(pair.sender->send(Message{std::string(600, 'a'), std::string(400, 'b')}).status,
            Io::ok);
  (void)pair.sender->flush();
  Message got;
  ASSERT_EQ(receive(*pair.receiver, got), Io::ok);
  EXPECT_EQ(got.bytes(), 1000u);
}

TEST_P(LinkConformance, APeerBreakingOurLimitEndsTheLinkWithAnError) {
  LinkOptions generous, strict;
  strict.max_message_size = 1000;
  auto pair = open(generous, strict);
  ASSERT_TRUE(pair.receiver);
  ASSERT_EQ(pair.sender->send(Message{std::string(5000, 'x')}).status, Io::ok);
  (void)pair.sender->flush();
  Message got;
  Io status = receive(*pair.receiver, got);
  EXPECT_EQ(status, Io::error);  // hostile input: reported, never delivered
  EXPECT_FALSE(pair.receiver->fault().empty());
}

TEST_P(LinkConformance, ACloseIsSeenAfterEverythingSentBeforeIt) {
  auto pair = open();
  ASSERT_TRUE(pair.receiver);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(pair.sender->send(Message{std::to_string(i)}).status, Io::ok);
  while (pair.sender->flush().status == Io::would_block) nap(*pair.sender);
  pair.sender->close();
  EXPECT_EQ(pair.sender->fd(), -1);
  for (int i = 0; i < 3; ++i) {
    Message got;
    ASSERT_EQ(receive(*pair.receiver, got), Io::ok);
    EXPECT_EQ(got.text(0), std::to_string(i));
  }
  Message none;
  EXPECT_EQ(receive(*pair.receiver, none), Io::closed);
}

TEST_P(LinkConformance, APeerThatDoesNotReadMakesSendWouldBlock) {
  LinkOptions bounded;
  bounded.max_queued_bytes = 64 * 1024;
  auto pair = open(bounded, {});
  ASSERT_TRUE(pair.receiver);
  Message chunk{std::string(4096, 'c')};
  int sent = 0;
  IoResult r;
  while (sent < 1'000'000 && (r = pair.sender->send(chunk)).status == Io::ok) {
    ++sent;
    (void)pair.sender->flush();
  }
  ASSERT_EQ(r.status, Io::would_block) << "nothing bounds what waits for a peer that never reads";
  // What was taken arrives whole once the reader reads.
  std::thread drain([&] {
    while (pair.sender->wants_write()) {
      if (pair.sender->flush().status == Io::would_block) nap(*pair.sender);
    }
  });
  for (int i = 0; i < sent; ++i) {
    Message got;
    ASSERT_EQ(receive(*pair.receiver, got), Io::ok) << "message " << i << " of " << sent;
    ASSERT_EQ(got.bytes(), chunk.bytes());
  }
  drain.join();
}

TEST_P(LinkConformance, TheFdIsReadableOnceAMessageWaitsForASleepingReader) {
  auto pair = open();
  ASSERT_TRUE(pair.receiver);
  Message nothing;
  (void)pair.receiver->recv(nothing);  // takes in whatever the handshake left
  auto* polled = pair.receiver->extensions().polled;
  ASSERT_TRUE(polled == nullptr || polled->prepare_sleep());
  ASSERT_EQ(pair.sender->send(Message{"wake up"}).status, Io::ok);
  (void)pair.sender->flush();
  pollfd p{pair.receiver->fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 10000), 1);
  if (polled != nullptr) polled->end_sleep();
  Message got;
  ASSERT_EQ(receive(*pair.receiver, got), Io::ok);
  EXPECT_EQ(got.text(0), "wake up");
}

INSTANTIATE_TEST_SUITE_P(Registry, LinkConformance,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.push_pull && c.reach == Reach::url;
                         })),
                         test::SchemeName());

}  // namespace
}  // namespace ipcx::transport
