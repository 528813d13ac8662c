// shm:// through the public API, server on a thread of its own: small and fragmented messages,
// pipelining, the exact size limit, credentials, spin and sleep modes, and no descriptor leaks.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <functional>
#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/fd_count.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;

std::string unique_name(const char* what) {
  static int counter = 0;
  return std::string("shm://ipcx-test-") + what + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(++counter);
}

struct Modes {
  std::chrono::microseconds server_spin;
  std::chrono::microseconds client_spin;
};

class Shm : public ::testing::TestWithParam<Modes> {
 protected:
  std::unique_ptr<Server> serve(const std::string& url, ServerOptions options = {}) {
    options.spin = GetParam().server_spin;
    auto server = std::make_unique<Server>(options);
    server->on_request([](Request& r) { r.reply(r.body()); });
    server->bind(url);
    server->start();
    return server;
  }
  ClientOptions client_options() {
    ClientOptions o;
    o.spin = GetParam().client_spin;
    return o;
  }
};

TEST_P(Shm, EchoSmallMultipartAndFragmentedMessages) {
  std::string url = unique_name("echo");
  ServerOptions options;
  options.shm_ring_bytes = 64 * 1024;  // small rings: 1 MiB messages need many fragments
  auto server = serve(url, options);
  Client client(url, client_options());
  for (int i = 0; i < 200; ++i) {
    auto reply = client.call(Message{"ping", std::to_string(i)}, 10s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    EXPECT_EQ(*reply, (Message{"ping", std::to_string(i)}));
  }
  std::string big(1u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 % 253);
  Message multipart{"", big, "tail", std::string(100000, 'q')};
  auto reply = client.call(multipart, 30s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, multipart);
}

TEST_P(Shm, PipelinedRequests) {
  std::string url = unique_name("pipe");
  auto server = serve(url);
  Client client(url, client_options());
  std::map<RequestId, int> sent;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 100; ++i) sent[client.send(Message{std::to_string(i)}).value()] = i;
    for (int i = 0; i < 100; ++i) {
      auto reply = client.receive(10s);
      ASSERT_TRUE(reply) << to_string(reply.error());
      ASSERT_EQ(reply->body.text(0), std::to_string(sent.at(reply->id)));
      sent.erase(reply->id);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SpinAndSleep, Shm,
                         ::testing::Values(Modes{0us, 0us}, Modes{50us, 50us}, Modes{1us, 0us}),
                         [](const auto& info) {
                           return "server" + std::to_string(info.param.server_spin.count()) +
                                  "us_client" + std::to_string(info.param.client_spin.count()) +
                                  "us";
                         });

TEST(ShmLimits, ExactlyTheMaximumPassesOneMoreByteFails) {
  std::string url = unique_name("max");
  Server server;
  server.on_request([](Request& r) { r.reply(Message{std::to_string(r.body().bytes())}); });
  server.bind(url);
  server.start();
  Client client(url);
  std::size_t max = ServerOptions{}.max_message_size;  // 64 MiB
  Message at_limit{std::string(max - 10, 'm'), std::string(10, 'n')};
  auto reply = client.call(at_limit, 60s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(reply->text(0), std::to_string(max));
  at_limit.add("x");
  EXPECT_EQ(client.call(at_limit, 10s).error(), Errc::message_too_large);
}

TEST(ShmPeer, CredentialsAndNothingLeft) {
  std::size_t fds_before = test::open_fd_count();
  {
    std::string url = unique_name("peer");
    Server server;
    server.on_request([](Request& r) {
      r.reply(
          Message{std::to_string(r.peer().pid), std::to_string(r.peer().uid), r.peer().mechanism});
    });
    server.bind(url);
    server.start();
    for (int i = 0; i < 10; ++i) {
      Client client(url);
      auto reply = client.call(Message{"who"}, 10s);
      ASSERT_TRUE(reply) << to_string(reply.error());
      EXPECT_EQ(*reply, (Message{std::to_string(::getpid()), std::to_string(::geteuid()), "shm"}));
    }
  }
  EXPECT_EQ(test::open_fd_count(), fds_before);
}

TEST(ShmPeer, SocketFileRendezvous) {
  test::TempDir dir;
  std::string url = "shm://" + dir / "rv.sock";
  {
    Server server;
    server.on_request([](Request& r) { r.reply(Message{"via file"}); });
    server.bind(url);
    server.start();
    EXPECT_TRUE(std::filesystem::exists(dir / "rv.sock"));
    Client client(url);
    EXPECT_EQ(client.call(Message{"x"}, 10s).value(), Message{"via file"});
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "rv.sock"));
}

TEST(ShmPeer, NobodyListeningIsRefused) {
  Client client(unique_name("nobody"));
  EXPECT_EQ(client.call(Message{"x"}, 200ms).error(), Errc::refused);
}

}  // namespace
}  // namespace ipcx

namespace ipcx {
namespace {

// Serves echo on a server the test drives itself; a client thread makes `calls` calls of its
// own (no spinning on either side), then stops the server. Returns how many were answered.
int serve_with_user_loop(const std::function<bool(Server&, const std::atomic<bool>&)>& turn,
                         int calls) {
  std::string url = unique_name("userloop");
  ServerOptions options;
  options.spin = 0us;
  Server server(options);
  server.on_request([](Request& r) { r.reply(r.body()); });
  server.bind(url);
  std::atomic<bool> done{false};
  std::atomic<int> good{0};
  std::thread caller([&] {
    ClientOptions client_options;
    client_options.spin = 0us;
    Client client(url, client_options);
    for (int i = 0; i < calls; ++i) {
      auto reply = client.call(Message{std::to_string(i)}, 20s);
      if (reply && reply->text(0) == std::to_string(i)) ++good;
    }
    done = true;
    server.stop();  // thread-safe: ends the loop below
  });
  while (!done && turn(server, done)) {
  }
  caller.join();
  return good;
}

// A user's own event loop: sleep on server.fd() (no safety timeout to speak of), then
// run_once(0). A doorbell the server forgot to ask for leaves the loop asleep and the call
// times out, so every call answered proves the arming.
TEST(ShmUserLoop, RunOnceArmsDoorbellsForTheCallersSleep) {
  auto turn = [](Server& server, const std::atomic<bool>&) {
    pollfd p{server.fd(), POLLIN, 0};
    ::poll(&p, 1, 30000);
    return server.run_once(0ms).has_value();
  };
  EXPECT_EQ(serve_with_user_loop(turn, 2000), 2000);
}

// The same with run_once(wait) sleeping inside: that wait must be armed as well; a wake-up
// lost inside it would outlast the 20 s call.
TEST(ShmUserLoop, RunOnceWithItsOwnWait) {
  auto turn = [](Server& server, const std::atomic<bool>&) {
    return server.run_once(30000ms).has_value();
  };
  EXPECT_EQ(serve_with_user_loop(turn, 2000), 2000);
}

}  // namespace
}  // namespace ipcx

namespace ipcx {
namespace {

void fill(std::span<std::byte> bytes, int seed) {
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * seed % 251);
}

std::string pattern(std::size_t n, int seed) {
  std::string s(n, '\0');
  fill(std::as_writable_bytes(std::span<char>(s)), seed);
  return s;
}

class Loans : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.on_request([](Request& r) { r.reply(r.body()); });
    server_.bind(url_);
    server_.start();
  }
  std::string url_ = unique_name("loan");
  Server server_;
};

TEST_F(Loans, ShmLendsTheRingItself) {
  Client client(url_);
  ASSERT_TRUE(client.call(Message{"connect"}, 10s));
  for (int round = 1; round <= 50; ++round) {
    auto loan = client.loan(1000);
    ASSERT_TRUE(loan);
    EXPECT_TRUE(loan->zero_copy());
    fill(loan->data(), round);
    auto reply = client.call(std::move(*loan), 10s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    EXPECT_EQ(*reply, Message{pattern(1000, round)});
  }
}

TEST_F(Loans, TooLargeForOneRecordFallsBackToACopy) {
  Client client(url_);
  ASSERT_TRUE(client.call(Message{"connect"}, 10s));
  auto loan = client.loan(600 * 1024);  // a quarter of the 1 MiB ring is the record limit
  ASSERT_TRUE(loan);
  EXPECT_FALSE(loan->zero_copy());
  fill(loan->data(), 3);
  EXPECT_EQ(client.call(std::move(*loan), 20s).value(), Message{pattern(600 * 1024, 3)});
}

TEST_F(Loans, DroppedLoanAndSendsBehindALoan) {
  Client client(url_);
  ASSERT_TRUE(client.call(Message{"connect"}, 10s));
  { auto dropped = client.loan(64); }  // discarded unsent
  EXPECT_EQ(client.call(Message{"after drop"}, 10s).value(), Message{"after drop"});
  auto loan = client.loan(64);
  ASSERT_TRUE(loan && loan->zero_copy());
  auto queued = client.send(Message{"queued behind the loan"});  // waits for the loan
  ASSERT_TRUE(queued);
  fill(loan->data(), 5);
  EXPECT_EQ(client.call(std::move(*loan), 10s).value(), Message{pattern(64, 5)});
  auto reply = client.receive(10s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(reply->id, *queued);
  EXPECT_EQ(reply->body, Message{"queued behind the loan"});
}

// An echo server on a unix socket, for what loans and views do off shm.
struct UnixEcho {
  test::TempDir dir;
  std::string url = "unix://" + dir / "echo.sock";
  Server server;
  UnixEcho() {
    server.on_request([](Request& r) { r.reply(r.body()); });
    server.bind(url);
    server.start();
  }
};

TEST(LoansElsewhere, UnixLoansAreBuffersOfTheirOwn) {
  UnixEcho echo;
  Client client(echo.url);
  auto loan = client.loan(40);  // inline-sized: must survive being moved around
  ASSERT_TRUE(loan);
  EXPECT_FALSE(loan->zero_copy());
  Loan moved = std::move(*loan);
  fill(moved.data(), 7);
  EXPECT_EQ(client.call(std::move(moved), 10s).value(), Message{pattern(40, 7)});
}

TEST_F(Loans, ALoanOutlivesItsDeadConnection) {
  Client client(url_);
  ASSERT_TRUE(client.call(Message{"connect"}, 10s));
  auto loan = client.loan(4096);
  ASSERT_TRUE(loan && loan->zero_copy());
  server_.stop();
  // This call waits behind the loan, and meets the dead connection meanwhile.
  EXPECT_FALSE(client.call(Message{"after stop"}, 2s));
  fill(loan->data(), 11);  // still mapped: writing it must not fault
  auto late = client.call(std::move(*loan), 2s);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), Errc::peer_closed);
}

// call_view(): the reply read where it lies in the ring.
class ReplyViews : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.on_request([](Request& r) {
      if (r.body().text(0) == "slow") std::this_thread::sleep_for(300ms);
      r.reply(r.body());
    });
    server_.bind(url_);
    server_.start();
  }
  // A client whose link is up: a reply that arrives in the same read as the handshake's
  // completion is read before the link lends anything, so it comes as a copy.
  Client connected() {
    Client client(url_);
    EXPECT_TRUE(client.call(Message{"connect"}, 10s));
    return client;
  }
  std::string url_ = unique_name("view");
  Server server_;
};

Message two_frames(std::size_t bytes, int seed) {
  Message m;
  m.add("head");
  m.add(pattern(bytes, seed));
  return m;
}

TEST_F(ReplyViews, ShmRepliesAreReadInPlaceLapAfterLap) {
  Client client = connected();
  for (int round = 1; round <= 200; ++round) {  // 200 x 20 KB: the 1 MiB ring laps
    auto view = client.call_view(two_frames(20000, round), 10s);
    ASSERT_TRUE(view) << to_string(view.error());
    ASSERT_TRUE(view->zero_copy());
    ASSERT_EQ(view->size(), 2u);
    EXPECT_EQ(view->text(0), "head");
    EXPECT_EQ(view->text(1), pattern(20000, round));
    EXPECT_EQ(view->copy(), two_frames(20000, round));
  }
}

TEST_F(ReplyViews, ALoanedRequestAndAViewedReplyCopyNothingOnTheClient) {
  Client client(url_);
  ASSERT_TRUE(client.call(Message{"connect"}, 10s));  // a loan lends the ring of a live link
  for (int round = 1; round <= 100; ++round) {
    auto loan = client.loan(30000);
    ASSERT_TRUE(loan && loan->zero_copy());
    fill(loan->data(), round);
    auto view = client.call_view(std::move(*loan), 10s);
    ASSERT_TRUE(view) << to_string(view.error());
    ASSERT_TRUE(view->zero_copy());
    ASSERT_EQ(view->size(), 1u);
    EXPECT_EQ(view->text(0), pattern(30000, round));
  }
}

TEST_F(ReplyViews, AHeldViewKeepsItsBytesWhileLaterRepliesQueueBehindIt) {
  Client client = connected();
  auto view = client.call_view(two_frames(1000, 1), 10s);
  ASSERT_TRUE(view && view->zero_copy());
  // Replies the server writes meanwhile go behind the viewed record, never over it.
  std::vector<RequestId> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(client.send(two_frames(30000, 100 + i)).value());
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(view->text(1), pattern(1000, 1));
  EXPECT_EQ(client.call_view(Message{"x"}, 1s).error(), Errc::would_block);  // one at a time
  view->release();
  EXPECT_EQ(view->size(), 0u);
  for (int i = 0; i < 20; ++i) {
    auto reply = client.receive(10s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    EXPECT_EQ(reply->id, ids[static_cast<std::size_t>(i)]);
    EXPECT_EQ(reply->body, two_frames(30000, 100 + i));
  }
}

TEST_F(ReplyViews, AStaleReplyIsSkippedAndAMovedViewStaysValid) {
  Client client(url_);
  EXPECT_EQ(client.call(Message{"slow"}, 50ms).error(), Errc::timeout);
  // The late answer to "slow" reaches the ring first; the view is of our own reply.
  auto view = client.call_view(Message{"fast"}, 10s);
  ASSERT_TRUE(view) << to_string(view.error());
  MessageView moved = std::move(*view);
  EXPECT_EQ(view->size(), 0u);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved.text(0), "fast");
}

TEST_F(ReplyViews, TooLargeForOneRecordComesAsACopy) {
  Client client(url_);
  auto view = client.call_view(two_frames(600 * 1024, 4), 20s);  // a record is a quarter ring
  ASSERT_TRUE(view) << to_string(view.error());
  EXPECT_FALSE(view->zero_copy());
  EXPECT_EQ(view->copy(), two_frames(600 * 1024, 4));
  MessageView moved = std::move(*view);  // an owned body moves with its frames
  EXPECT_EQ(moved.text(1), pattern(600 * 1024, 4));
}

TEST_F(ReplyViews, AViewOutlivesItsDeadConnection) {
  Client client = connected();
  auto view = client.call_view(two_frames(5000, 8), 10s);
  ASSERT_TRUE(view && view->zero_copy());
  server_.stop();
  EXPECT_FALSE(client.call(Message{"after stop"}, 2s));  // finds the connection dead
  EXPECT_EQ(view->text(1), pattern(5000, 8));            // still mapped
  view->release();
}

TEST(ReplyViewsElsewhere, UnixRepliesAreCopiesInAView) {
  UnixEcho echo;
  Client client(echo.url);
  auto view = client.call_view(Message{"a", "bc"}, 10s);
  ASSERT_TRUE(view) << to_string(view.error());
  EXPECT_FALSE(view->zero_copy());
  MessageView moved = std::move(*view);  // inline-sized: must survive being moved
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_EQ(moved.text(0), "a");
  EXPECT_EQ(moved.text(1), "bc");
}

}  // namespace
}  // namespace ipcx
