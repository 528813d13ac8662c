// The OS mechanisms of their own kind (pipe:// FIFOs, mq:// queues, udp:// datagrams) with real
// processes: several clients at once, large messages, a client killed with kill -9 mid-request
// while the others are served and nothing of it left behind, nothing at all left after a
// graceful stop, and garbage written into the server's well-known name skipped and counted.
// Server kill -9 and restart on the same endpoint is in restart_test.cpp.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/eventually.hpp"
#include "support/leftovers.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;

class OsMechanism : public ::testing::TestWithParam<std::string> {
 protected:
  std::string url() { return test::private_url(GetParam(), dir, "srv"); }
  std::vector<std::string> leftovers() { return test::leftovers(GetParam(), dir, "srv"); }
  test::TempDir dir;
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
  std::string big(GetParam() == "udp" ? 60000 : (16u << 20), 'x');
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
  auto left = leftovers();
  EXPECT_TRUE(left.empty()) << left.front();
  if (GetParam() == "pipe") {
    EXPECT_FALSE(std::filesystem::exists(dir / "srv"));
  }
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, OsMechanism, ::testing::Values("pipe", "mq"),
                         [](const auto& info) { return info.param; });

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

}  // namespace
}  // namespace ipcx
