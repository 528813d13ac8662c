// ZMTP heartbeats against real processes, on the mechanisms that speak ZMTP: a server that
// stops answering (SIGSTOP: its kernel still acknowledges every byte, so only a heartbeat can
// tell) fails the call waiting on it with peer_closed, not timeout, and the client reaches the
// server again once it answers; a server drops a client that stopped, reporting the heartbeat
// timeout as an event.
#include <gtest/gtest.h>
#include <signal.h>

#include <mutex>
#include <vector>

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

class Heartbeat : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override { test::remove_stale_name(url_); }
  test::TempDir dir_;
  std::string url_;
};

TEST_P(Heartbeat, ACallToAServerThatStopsAnsweringFailsWithPeerClosed) {
  url_ = test::private_url(GetParam(), dir_, "hb");
  test::Child server = test::echo_server(url_);
  ASSERT_EQ(server.read_line(), "bound");
  ClientOptions options;
  options.heartbeat = 100ms;
  Client client(url_, options);
  ASSERT_TRUE(client.call(Message{"before"}, 20s));
  server.kill(SIGSTOP);
  // The deadline is 600 heartbeat intervals: only a hang would reach it.
  EXPECT_EQ(client.call(Message{"stopped"}, 60s).error(), Errc::peer_closed);
  server.kill(SIGCONT);
  auto again = client.call(Message{"after"}, 20s);
  ASSERT_TRUE(again) << to_string(again.error());
  EXPECT_EQ(*again, Message{"after"});
}

TEST_P(Heartbeat, AServerClosesAClientThatStopsAnsweringAndServesTheRest) {
  url_ = test::private_url(GetParam(), dir_, "hb");
  ServerOptions options;
  options.heartbeat = 100ms;
  std::mutex mutex;
  std::vector<EventKind> events;
  options.on_event = [&](const ConnectionEvent& e) {
    std::lock_guard lock(mutex);
    events.push_back(e.kind);
  };
  Server server(options);
  server.on_request([](Request& r) { r.reply(r.body()); });
  server.bind(url_);
  server.start();
  std::string url = url_;
  test::Child stopped = test::Child::fork([url] {
    ClientOptions quiet;
    quiet.heartbeat = 0ms;  // it must not ping for itself
    Client client(url, quiet);
    if (!client.call(Message{"hello"}, 20s)) return 1;
    std::printf("called\n");
    std::fflush(stdout);
    ::pause();
    return 0;
  });
  ASSERT_EQ(stopped.read_line(), "called");
  ASSERT_TRUE(test::eventually([&] { return server.stats().open == 1; }));
  stopped.kill(SIGSTOP);
  EXPECT_TRUE(test::eventually([&] { return server.stats().open == 0; }, 60s));
  EXPECT_GE(server.stats().peer_faults, 1u);
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(events, (std::vector<EventKind>{EventKind::connected, EventKind::heartbeat_timeout}));
  }
  Client other(url_);
  EXPECT_EQ(other.call(Message{"still"}, 20s).value(), Message{"still"});
  stopped.kill(SIGKILL);
  stopped.wait();
}

TEST_P(Heartbeat, AClientIdlePastTheServersHeartbeatStillGetsItsNextCallThrough) {
  // Between calls nothing answers the server's PINGs, so the server drops the idle client;
  // the client finds that out before its next request and reconnects.
  url_ = test::private_url(GetParam(), dir_, "hb");
  ServerOptions options;
  options.heartbeat = 50ms;
  Server server(options);
  server.on_request([](Request& r) { r.reply(r.body()); });
  server.bind(url_);
  server.start();
  Client client(url_);
  ASSERT_TRUE(client.call(Message{"first"}, 20s));
  ASSERT_TRUE(test::eventually([&] { return server.stats().open == 0; }));  // dropped, idle
  auto again = client.call(Message{"again"}, 20s);
  ASSERT_TRUE(again) << to_string(again.error());
  EXPECT_EQ(*again, Message{"again"});
}

INSTANTIATE_TEST_SUITE_P(Registry, Heartbeat,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.zeromq;
                         })),
                         test::SchemeName());

}  // namespace
}  // namespace ipcx
