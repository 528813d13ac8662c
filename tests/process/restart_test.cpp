// kill -9 mid-traffic, on every mechanism. A server killed in the middle of a burst from
// several client processes, then restarted on the same endpoint: each call ends in its own
// reply or an error, never in someone else's reply, and every client is served again. A client
// killed while its 32 MiB request is half sent: the server drops that link only and serves
// the others.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/leftovers.hpp"
#include "support/mechanisms.hpp"
#include "support/server_child.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;

// Calls with bodies only it could have sent. Prints "running" after 100 replies, then goes on
// until it has seen the server fail (an error) and then 50 more replies; prints how many
// replies were wrong. A wrong reply or no recovery within a generous minute fails it.
// `restarted` is a file the test creates once the new server is up: udp:// retries hide the
// restart from the caller (no call fails), so there the file marks when recovery is counted.
Child burst_client(const std::string& url, int id, const std::string& restarted) {
  return Child::fork([url, id, restarted] {
    Client client(url);
    long ok = 0, wrong = 0, errors = 0, after = 0;
    auto give_up = std::chrono::steady_clock::now() + 60s;
    for (long n = 0; std::chrono::steady_clock::now() < give_up; ++n) {
      char body[64];
      std::snprintf(body, sizeof body, "client %d call %ld", id, n);
      auto reply = client.call(Message{body}, 2s);
      if (!reply) {
        ++errors;
        continue;
      }
      if (reply->size() != 1 || reply->text(0) != body) {
        ++wrong;
      } else if (++ok == 100) {
        std::printf("running\n");
        std::fflush(stdout);
      }
      bool after_restart = errors > 0 || ::access(restarted.c_str(), F_OK) == 0;
      if (after_restart && ++after == 50) break;
    }
    std::printf("wrong %ld recovered %d\n", wrong, after >= 50 ? 1 : 0);
    std::fflush(stdout);
    return 0;
  });
}

class Restart : public ::testing::TestWithParam<std::string> {
 protected:
  // The killed servers leave their well-known names (as designed): remove them.
  void TearDown() override {
    for (const auto& u : made_) test::remove_stale_name(u);
  }
  std::string url() { return made_.emplace_back(make_url()); }
  std::string make_url() { return test::private_url(GetParam(), dir, "restart"); }
  test::TempDir dir;
  std::vector<std::string> made_;
};

TEST_P(Restart, ServerKilledMidBurstThenRestarted) {
  std::string where = url();
  Child server = test::echo_server(where);
  ASSERT_EQ(server.read_line(30s).value_or("nothing"), "bound");
  std::vector<Child> clients;
  std::string restarted_flag = dir / "restarted";
  for (int id = 0; id < 3; ++id) clients.push_back(burst_client(where, id, restarted_flag));
  for (auto& c : clients) ASSERT_EQ(c.read_line(60s).value_or("nothing"), "running");
  server.kill(SIGKILL);  // mid-burst: every client has calls in flight or about to be
  EXPECT_EQ(server.wait(), 128 + SIGKILL);
  Child restarted = test::echo_server(where);
  ASSERT_EQ(restarted.read_line(30s).value_or("nothing"), "bound");
  std::fclose(std::fopen(restarted_flag.c_str(), "w"));
  for (auto& c : clients) {
    EXPECT_EQ(c.read_line(90s).value_or("nothing"), "wrong 0 recovered 1");
    EXPECT_EQ(c.wait(), 0);
  }
  restarted.kill(SIGTERM);
  restarted.wait();
}

TEST_P(Restart, ClientKilledMidSendOthersStillServed) {
  std::string where = url();
  Child server = test::echo_server(where);
  ASSERT_EQ(server.read_line(30s).value_or("nothing"), "bound");
  // 32 MiB requests: over sockets many writes each, over shm many fragments through the ring.
  Child victim = Child::fork([where]() -> int {
    Client client(where);
    Message big{std::string(32u << 20, 'v')};
    std::printf("sending\n");
    std::fflush(stdout);
    for (;;) (void)client.call(big, 60s);
  });
  ASSERT_EQ(victim.read_line(30s).value_or("nothing"), "sending");
  std::this_thread::sleep_for(20ms);  // well into a send; the outcome does not depend on it
  victim.kill(SIGKILL);
  victim.wait();
  Client survivor(where);
  for (int i = 0; i < 100; ++i) {
    auto reply = survivor.call(Message{std::to_string(i)}, 20s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    EXPECT_EQ(reply->text(0), std::to_string(i));
  }
  server.kill(SIGTERM);
  server.wait();
}

// Every mechanism a server process and client processes reach by URL.
INSTANTIATE_TEST_SUITE_P(Registry, Restart,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.request_reply && c.crosses_processes && c.reach == Reach::url;
                         })),
                         test::SchemeName());

}  // namespace
}  // namespace ipcx
