// Request/reply on every mechanism of the registry that carries it: the same promises whatever
// the transport. A mechanism reached by URL gets a server in this process, so the tests can
// shape its handler; one reached by spawning its server (stdio://) gets the CLI's echo server
// as a child, and the tests that need a handler of their own skip it, saying so.
#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
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

// For tests that shape the handler: a mechanism reached by spawning runs the CLI's.
#define IPCX_NEEDS_OWN_SERVER() \
  if (spawned()) GTEST_SKIP() << GetParam() << ": its server is a spawned child (the CLI's echo)"

// A server in this process that echoes every request but "slow", which it holds until
// answer_held() answers it.
class SlowEchoServer {
 public:
  explicit SlowEchoServer(const std::string& url) {
    server_.on_request([this](Request& r) {
      if (r.body().text(0) != "slow") return r.reply(r.body());
      std::lock_guard lock(mutex_);
      held_.push_back(r.respond_later());
    });
    server_.bind(url);
    server_.start();
  }
  std::size_t held() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  Result<void> answer_held(Message body) {
    std::lock_guard lock(mutex_);
    return held_.front().reply(std::move(body));
  }

 private:
  std::mutex mutex_;
  std::vector<Responder> held_;
  Server server_;  // declared last: stopped before what its handler touches goes
};

class ReqRepConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override { test::remove_stale_name(url()); }
  const Capabilities& caps() const { return test::caps_of(GetParam()); }
  bool spawned() const { return caps().reach == Reach::spawn; }
  // Made once: a port is a free one found now, and a restarted server needs the same.
  const std::string& url() {
    if (url_.empty()) url_ = test::private_url(GetParam(), dir, "srv");
    return url_;
  }
  // An echo server this test's client reaches, and that client.
  Client echo_client(ClientOptions options = {}) {
    if (spawned()) {
      return spawn({IPCX_CLI_PATH, "serve", "--quiet", "--handler", "echo", "--bind", url()},
                   options);
    }
    server_.emplace();
    server_->on_request([](Request& r) { r.reply(r.body()); });
    server_->bind(url());
    server_->start();
    return Client(url(), options);
  }

  // The largest body a mechanism carries whole (a datagram's payload, else 16 MiB).
  std::size_t large_body() const {
    return caps().boundaries == Boundaries::datagram ? 60000 : std::size_t{16} << 20;
  }

  test::TempDir dir;
  std::string url_;
  std::optional<Server> server_;
};

TEST_P(ReqRepConformance, EchoesSmallMultipartAndEmptyFrames) {
  Client client = echo_client();
  for (int i = 0; i < 50; ++i) {
    Message request{"ping", std::to_string(i), "", "last"};
    auto reply = client.call(request, 10s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    EXPECT_EQ(*reply, request);
  }
}

TEST_P(ReqRepConformance, TheLargestBodyGoesThroughWhole) {
  Client client = echo_client();
  std::string big(large_body(), '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  Message request{"", "part2", big};
  auto reply = client.call(request, 30s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, request);
}

TEST_P(ReqRepConformance, PipelinedRequestsAreMatchedById) {
  Client client = echo_client();
  std::map<RequestId, std::string> sent;
  for (int i = 0; i < 200; ++i) {
    std::string body = std::to_string(i);  // GCC 12 warns falsely on "n" + std::to_string(i)
    auto id = client.send(Message{body});
    ASSERT_TRUE(id);
    sent[*id] = body;
  }
  for (int i = 0; i < 200; ++i) {
    auto reply = client.receive(30s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    ASSERT_EQ(sent.count(reply->id), 1u);
    EXPECT_EQ(reply->body.text(0), sent[reply->id]);
    sent.erase(reply->id);
  }
  EXPECT_EQ(client.receive(10ms).error(), Errc::would_block);  // nothing left in flight
}

TEST_P(ReqRepConformance, OversizedRequestIsRefusedBeforeSending) {
  ClientOptions options;
  options.max_message_size = 1000;
  Client client = echo_client(options);
  EXPECT_EQ(client.call(Message{std::string(1001, 'x')}, 1s).error(), Errc::message_too_large);
  EXPECT_TRUE(client.call(Message{std::string(1000, 'x')}, 10s));
}

TEST_P(ReqRepConformance, RepliesWithIdsMayOvertake) {
  IPCX_NEEDS_OWN_SERVER();
  Server server;
  auto held = std::make_shared<std::vector<Responder>>();
  server.on_request([held](Request& r) {
    held->push_back(r.respond_later());
    if (held->size() == 5) {
      for (std::size_t i = 5; i-- > 0;) (void)(*held)[i].reply(Message{std::to_string(i)});
      held->clear();
    }
  });
  server.bind(url());
  server.start();
  Client client(url());
  std::vector<RequestId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(client.send(Message{"x"}).value());
  std::vector<RequestId> got;
  for (int i = 0; i < 5; ++i) got.push_back(client.receive(30s).value().id);
  EXPECT_EQ(got, std::vector<RequestId>(ids.rbegin(), ids.rend()));
}

TEST_P(ReqRepConformance, AServerAnnouncesRequestIdsAndTheClientUsesThem) {
  Client client = echo_client();
  EXPECT_FALSE(client.plain_envelope());
  ASSERT_EQ(client.call(Message{"x"}, 10s).value(), Message{"x"});
  EXPECT_FALSE(client.plain_envelope());  // every ipcx Server takes ids, on every mechanism
}

TEST_P(ReqRepConformance, APlainEnvelopeKeepsOneRequestInFlight) {
  IPCX_NEEDS_OWN_SERVER();
  Server server;
  std::mutex mutex;
  std::vector<Responder> held;
  server.on_request([&](Request& r) {
    std::lock_guard lock(mutex);
    held.push_back(r.respond_later());
  });
  server.bind(url());
  server.start();
  ClientOptions options;
  options.envelope = RequestEnvelope::plain;
  Client client(url(), options);
  std::vector<RequestId> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(client.send(Message{std::to_string(i)}).value());
  auto waiting = [&] {
    std::lock_guard lock(mutex);
    return held.size();
  };
  for (int i = 0; i < 3; ++i) {
    // The client makes progress only inside its calls: receive() while nothing has come back.
    ASSERT_TRUE(
        eventually([&] { return client.receive(5ms).error() == Errc::timeout && waiting() > 0; }));
    for (int k = 0; k < 5; ++k) EXPECT_EQ(client.receive(5ms).error(), Errc::timeout);
    std::string body = std::to_string(i);
    {
      std::lock_guard lock(mutex);
      ASSERT_EQ(held.size(), 1u) << "request " << i << " had company";
      ASSERT_TRUE(held[0].reply(Message{"re " + body}));
      held.clear();
    }
    auto reply = client.receive(30s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    EXPECT_EQ(reply->id, ids[static_cast<std::size_t>(i)]);
    EXPECT_EQ(reply->body, Message{"re " + body});
  }
  EXPECT_TRUE(client.plain_envelope());
  EXPECT_EQ(client.receive(10ms).error(), Errc::would_block);
}

TEST_P(ReqRepConformance, APlainRequestThatTimesOutTakesItsConnectionWithIt) {
  IPCX_NEEDS_OWN_SERVER();
  SlowEchoServer server(url());
  ClientOptions options;
  options.envelope = RequestEnvelope::plain;
  Client client(url(), options);
  EXPECT_EQ(client.call(Message{"slow"}, 300ms).error(), Errc::timeout);
  ASSERT_EQ(server.held(), 1u);
  (void)server.answer_held(Message{"late"});  // to a connection that is gone
  // A plain envelope cannot tell the late reply from this one's: a new connection carries it.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.call(Message{"next"}, 10s).value(), Message{"next"});
  EXPECT_EQ(client.stats().unmatched_replies, 0u);
}

TEST_P(ReqRepConformance, ConnectionEventsFollowAClientComingAndGoing) {
  IPCX_NEEDS_OWN_SERVER();
  std::mutex mutex;
  std::vector<ConnectionEvent> at_server;
  ServerOptions server_options;
  server_options.on_event = [&](const ConnectionEvent& e) {
    std::lock_guard lock(mutex);
    at_server.push_back(e);
  };
  Server server(server_options);
  server.on_request([](Request& r) { r.reply(r.body()); });
  std::string bound = server.bind(url()).url();
  server.start();
  auto server_saw = [&](EventKind kind) {
    std::lock_guard lock(mutex);
    return std::count_if(at_server.begin(), at_server.end(),
                         [&](const ConnectionEvent& e) { return e.kind == kind; });
  };
  std::vector<ConnectionEvent> at_client;  // the client's events come on this thread
  ClientOptions client_options;
  client_options.on_event = [&](const ConnectionEvent& e) { at_client.push_back(e); };
  {
    Client client(url(), client_options);
    ASSERT_TRUE(client.call(Message{"x"}, 10s));
    ASSERT_EQ(at_client.size(), 1u);
    EXPECT_EQ(at_client[0].kind, EventKind::connected);
    EXPECT_EQ(at_client[0].endpoint, client.endpoint().url());
    ASSERT_TRUE(eventually([&] { return server_saw(EventKind::connected) == 1; }));
    std::lock_guard lock(mutex);
    EXPECT_EQ(at_server[0].endpoint, bound);
    EXPECT_FALSE(at_server[0].peer.empty());
  }
  // Gone: every mechanism that learns of it says so (udp has no hang-up to learn from).
  if (caps().reliable) {
    EXPECT_TRUE(eventually([&] { return server_saw(EventKind::disconnected) == 1; }));
  }
  server.stop();
  EXPECT_EQ(server_saw(EventKind::handshake_failed), 0);
  EXPECT_EQ(server_saw(EventKind::refused), 0);
}

TEST_P(ReqRepConformance, RespondersAndWorkersAnswerFromOtherThreads) {
  IPCX_NEEDS_OWN_SERVER();
  ServerOptions options;
  options.workers = 2;
  Server server(options);
  server.on_request([](Request& r) {
    std::thread([responder = r.respond_later(), body = r.body()]() mutable {
      (void)responder.reply(body);
    }).detach();
  });
  server.bind(url());
  server.start();
  std::vector<std::thread> callers;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      Client client(url());
      for (int i = 0; i < 50; ++i) {
        std::string body = std::to_string(t) + ":" + std::to_string(i);
        auto reply = client.call(Message{body}, 10s);
        if (reply && reply->text(0) == body) ++good;
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(good, 200);
}

TEST_P(ReqRepConformance, HandlerFailuresBecomeErrorReplies) {
  IPCX_NEEDS_OWN_SERVER();
  Server server;
  server.on_request([](Request& r) {
    if (r.body().text(0) == "throw") throw std::runtime_error("boom");
    if (r.body().text(0) == "ignore") return;
    r.reply(Message{"fine"});
  });
  server.bind(url());
  server.start();
  Client client(url());
  EXPECT_EQ(client.call(Message{"throw"}, 10s).value(), Message{"ERR boom"});
  EXPECT_EQ(client.call(Message{"ignore"}, 10s).value(), Message{"ERR no reply"});
  EXPECT_EQ(client.call(Message{"ok"}, 10s).value(), Message{"fine"});
  EXPECT_EQ(server.stats().handler_errors, 2u);
}

TEST_P(ReqRepConformance, TimeoutThenALateReplyIsIgnored) {
  IPCX_NEEDS_OWN_SERVER();
  SlowEchoServer server(url());
  Client client(url());
  EXPECT_EQ(client.call(Message{"slow"}, 300ms).error(), Errc::timeout);
  ASSERT_EQ(server.held(), 1u);
  ASSERT_TRUE(server.answer_held(Message{"late"}));
  EXPECT_EQ(client.call(Message{"next"}, 10s).value(), Message{"next"});
  // The late reply is read before some later one, and counted rather than taken.
  if (caps().reliable) {
    EXPECT_TRUE(eventually([&] {
      EXPECT_TRUE(client.call(Message{"more"}, 10s));
      return client.stats().unmatched_replies == 1;
    }));
  }
}

TEST_P(ReqRepConformance, NobodyThereIsRefusedOrTimesOut) {
  IPCX_NEEDS_OWN_SERVER();
  Client client(url());
  // A mechanism that delivers or fails knows at once; a datagram goes unanswered.
  EXPECT_EQ(client.call(Message{"x"}, 300ms).error(),
            caps().reliable ? Errc::refused : Errc::timeout);
}

TEST_P(ReqRepConformance, StopFailsAHeldCallAndARestartedServerIsReached) {
  IPCX_NEEDS_OWN_SERVER();
  auto held = std::make_shared<std::vector<Responder>>();
  std::atomic<bool> got{false};
  ServerOptions options;
  options.stop_grace = 50ms;
  auto server = std::make_unique<Server>(options);
  server->on_request([&, held](Request& r) {
    held->push_back(r.respond_later());
    got = true;
  });
  server->bind(url());
  server->start();
  Client client(url());
  std::thread stopper([&] {
    ASSERT_TRUE(eventually([&] { return got.load(); }));
    server->stop();
  });
  // A link that can fail tells the caller; a datagram client waits for its deadline.
  EXPECT_EQ(client.call(Message{"hang"}, caps().reliable ? 30s : 500ms).error(),
            caps().reliable ? Errc::peer_closed : Errc::timeout);
  stopper.join();
  auto left = test::all_leftovers(GetParam(), dir, "srv");  // nothing after a graceful stop
  EXPECT_TRUE(left.empty()) << left.front();
  EXPECT_EQ((*held)[0].reply(Message{"too late"}).error(), Errc::cancelled);

  Server second;
  second.on_request([](Request& r) { r.reply(Message{"second"}); });
  second.bind(url());
  second.start();
  auto reply = client.call(Message{"again"}, 10s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, Message{"second"});
}

TEST_P(ReqRepConformance, MessageSizeLimitsOnBothSides) {
  IPCX_NEEDS_OWN_SERVER();
  ServerOptions options;
  options.max_message_size = 1000;
  Server server(options);
  server.on_request([](Request& r) { r.reply(Message{std::to_string(r.body().bytes())}); });
  server.bind(url());
  server.start();
  ClientOptions small;
  small.max_message_size = 1000;
  Client limited(url(), small);
  EXPECT_EQ(limited.call(Message{std::string(1001, 'x')}, 1s).error(), Errc::message_too_large);
  // Exactly the limit passes, counting the bodies of all frames.
  EXPECT_EQ(limited.call(Message{std::string(500, 'x'), std::string(500, 'y')}, 10s).value(),
            Message{"1000"});
  // A client with a larger limit is a faulty peer to the server, which counts it.
  Client big(url());
  EXPECT_FALSE(big.call(Message{std::string(1001, 'x')}, caps().reliable ? 10s : 300ms));
  EXPECT_TRUE(eventually([&] { return server.stats().peer_faults >= 1; }));
  EXPECT_EQ(limited.call(Message{"still"}, 10s).value(), Message{"5"});
}

TEST_P(ReqRepConformance, RunOnceFromAUserEventLoop) {
  IPCX_NEEDS_OWN_SERVER();
  Server server;
  server.on_request([](Request& r) { r.reply(Message{"loop"}); });
  server.bind(url());
  std::atomic<bool> done{false};
  std::thread caller([&] {
    Client client(url());
    auto reply = client.call(Message{"x"}, 10s);
    EXPECT_TRUE(reply && reply->text(0) == "loop");
    done = true;
  });
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    pollfd p{server.fd(), POLLIN, 0};
    ::poll(&p, 1, 50);
    ASSERT_TRUE(server.run_once(0ms));
  }
  caller.join();
  EXPECT_TRUE(done);
  server.stop();
}

TEST_P(ReqRepConformance, AClientInAUserEventLoopIsWokenByItsFd) {
  IPCX_NEEDS_OWN_SERVER();
  Server server;
  std::mutex mutex;
  std::vector<std::thread> answering;
  server.on_request([&](Request& r) {
    // Answered a moment later from another thread: by then the client sleeps on its fd().
    auto responder = std::make_shared<Responder>(r.respond_later());
    std::lock_guard lock(mutex);
    answering.emplace_back([responder, body = r.body()] {
      std::this_thread::sleep_for(20ms);
      (void)responder->reply(body);
    });
  });
  server.bind(url());
  server.start();
  Client client(url());
  ASSERT_TRUE(client.call(Message{"connect"}, 10s));
  for (int i = 0; i < 5; ++i) {
    Message request{std::to_string(i)};
    ASSERT_TRUE(client.send(request));
    Result<Reply> reply = client.receive(0ms);
    for (int wakes = 0; !reply && wakes < 1000; ++wakes) {
      ASSERT_EQ(reply.error(), Errc::timeout);
      pollfd p{client.fd(), POLLIN, 0};
      ASSERT_EQ(::poll(&p, 1, 20000), 1) << "fd() did not become readable for the reply";
      reply = client.receive(0ms);
    }
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, request);
  }
  {
    std::lock_guard lock(mutex);
    for (auto& t : answering) t.join();
  }
  server.stop();
}

TEST_P(ReqRepConformance, NoDescriptorLeaks) {
  IPCX_NEEDS_OWN_SERVER();
  std::size_t before = test::open_fd_count();
  {
    Server server;
    server.on_request([](Request& r) { r.reply(r.body()); });
    server.bind(url());
    server.start();
    for (int i = 0; i < 20; ++i) {
      Client client(url());
      ASSERT_TRUE(client.call(Message{"x"}, 10s));
    }
  }
  EXPECT_EQ(test::open_fd_count(), before);
}

INSTANTIATE_TEST_SUITE_P(Registry, ReqRepConformance,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.request_reply;
                         })),
                         test::SchemeName());

}  // namespace
}  // namespace ipcx
