// The connection engine on its own, over inproc:// (the in-memory mechanism: no OS in the way):
// fair reading across peers, a peer closed in the middle of a turn never served again, messages
// dealt to a connect()ed peer before it exists delivered once it does, the high-water mark, and
// the events a pattern hears.
#include "engine/engine.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "support/eventually.hpp"

namespace ipcx::engine {
namespace {

using namespace std::chrono_literals;

std::string name(const char* what) {
  static int counter = 0;
  return "inproc://engine-" + std::string(what) + "-" + std::to_string(++counter);
}

EngineOptions pulling() {
  EngineOptions o;
  o.type = wire::SocketType::pull;
  o.use = pattern::Use::Kind::push_pull;
  return o;
}

EngineOptions pushing() {
  EngineOptions o = pulling();
  o.type = wire::SocketType::push;
  o.reader = false;
  return o;
}

struct Recorder final : PeerEvents {
  int ready = 0;
  int lost = 0;
  void on_ready(Peer&) override { ++ready; }
  void on_lost(Peer&) override { ++lost; }
};

// Drives `engine` until `done` or a generous deadline.
template <class Done>
bool drive(Engine& engine, Done&& done) {
  auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    engine.progress();
    if (done()) return true;
    engine.sleep(Clock::now() + 1ms);
  }
  return false;
}

TEST(Engine, ReadsItsPeersInTurnOneMessageEach) {
  Engine reader(pulling(), nullptr);
  std::string url = reader.bind(name("fair")).url();
  std::vector<std::unique_ptr<Engine>> writers;
  for (int w = 0; w < 3; ++w) {
    writers.push_back(std::make_unique<Engine>(pushing(), nullptr));
    Peer& p = writers.back()->connect(url);
    for (int m = 0; m < 5; ++m) {
      ASSERT_EQ(writers.back()->send(p, Message{std::to_string(w)}).status, transport::Io::ok);
    }
  }
  // Every writer's five messages wait; once all three peers are readable, reads take turns.
  ASSERT_TRUE(drive(reader, [&] {
    int with_data = 0;
    for (auto& p : reader.peers()) with_data += p->link && !p->link->extensions().polled->quiet();
    return with_data == 3;
  }));
  reader.poll_rings();
  std::vector<std::string> order;
  Message m;
  while (Peer* from = reader.next_message(m)) {
    (void)from;
    order.push_back(m.str(0));
  }
  ASSERT_EQ(order.size(), 15u);
  for (std::size_t i = 0; i + 2 < 6; ++i) {
    // Any three in a row come from three different peers.
    EXPECT_NE(order[i], order[i + 1]);
    EXPECT_NE(order[i], order[i + 2]);
  }
}

TEST(Engine, APeerClosedInTheMiddleOfATurnIsNotServedAgain) {
  Recorder events;
  Engine reader(pulling(), &events);
  std::string url = reader.bind(name("closed")).url();
  Engine a(pushing(), nullptr), b(pushing(), nullptr);
  Peer& to_reader_a = a.connect(url);
  Peer& to_reader_b = b.connect(url);
  ASSERT_EQ(a.send(to_reader_a, Message{"a1"}).status, transport::Io::ok);
  ASSERT_EQ(a.send(to_reader_a, Message{"a2"}).status, transport::Io::ok);
  ASSERT_EQ(b.send(to_reader_b, Message{"b1"}).status, transport::Io::ok);
  ASSERT_TRUE(drive(reader, [&] { return reader.open_peers() == 2; }));
  reader.poll_rings();
  Message m;
  Peer* first = reader.next_message(m);
  ASSERT_NE(first, nullptr);
  std::string closed_one = m.str(0).substr(0, 1);
  reader.close(*first, false, "closed by the test");
  EXPECT_EQ(events.lost, 1);
  // The rest of the turn serves the other peer only, and the closed one is freed after it.
  while (reader.next_message(m)) EXPECT_NE(m.str(0).substr(0, 1), closed_one);
  reader.reap();
  EXPECT_EQ(reader.open_peers(), 1u);
}

TEST(Engine, WhatIsDealtToAPeerBeforeItExistsGoesOutOnceItDoes) {
  std::string url = name("later");
  Engine writer(pushing(), nullptr);
  Peer& peer = writer.connect(url);  // nobody bound yet: it keeps redialling
  for (int m = 0; m < 3; ++m) {
    ASSERT_EQ(writer.send(peer, Message{std::to_string(m)}).status, transport::Io::ok);
  }
  EXPECT_EQ(peer.backlog.size(), 3u);
  Engine reader(pulling(), nullptr);
  reader.bind(url);
  ASSERT_TRUE(drive(writer, [&] { return peer.backlog.empty(); }));
  std::vector<std::string> got;
  Message m;
  ASSERT_TRUE(drive(reader, [&] {
    reader.poll_rings();
    while (reader.next_message(m)) got.push_back(m.str(0));
    return got.size() == 3;
  }));
  EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2"}));
}

TEST(Engine, APeerAtItsHighWaterMarkTakesNoMore) {
  EngineOptions o = pushing();
  o.hwm = 4;
  Engine writer(o, nullptr);
  Peer& peer = writer.connect(name("hwm"));  // nobody there: everything waits in its backlog
  int taken = 0;
  while (writer.has_room(peer) && taken < 100) {
    ASSERT_EQ(writer.send(peer, Message{"x"}).status, transport::Io::ok);
    ++taken;
  }
  EXPECT_EQ(taken, 4);
  EXPECT_EQ(writer.send(peer, Message{"x"}).status, transport::Io::would_block);
}

TEST(Engine, APatternHearsOfReadyAndLostLinks) {
  Recorder events;
  std::string url = name("events");
  auto reader = std::make_unique<Engine>(pulling(), nullptr);
  reader->bind(url);
  Engine writer(pushing(), &events);
  writer.connect(url);
  ASSERT_TRUE(drive(writer, [&] { return events.ready == 1; }));
  reader.reset();  // its links close with it
  ASSERT_TRUE(drive(writer, [&] {
    writer.look();
    return events.lost == 1;
  }));
}

}  // namespace
}  // namespace ipcx::engine
