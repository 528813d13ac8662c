// `ipcx serve` and the library across real processes: many client processes on unix and tcp
// sharing one kv store, stale and live socket files, graceful stop, a server killed mid-call,
// connection events on stderr, and the CLI's exit statuses.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/server_child.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;

std::string cli() { return IPCX_CLI_PATH; }

// Starts `ipcx serve` and returns it with the URLs it reported as bound.
Child start_server(std::vector<std::string> args, std::vector<std::string>& bound) {
  std::vector<std::string> argv{cli(), "serve"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::size_t expected = 0;
  for (const auto& a : args) expected += a == "--bind";
  Child child = Child::exec(argv);
  for (std::size_t i = 0; i < expected; ++i) {
    auto line = child.read_line();
    if (!line || line->rfind("bound ", 0) != 0) break;
    bound.push_back(line->substr(6));
  }
  return child;
}

std::pair<int, std::string> run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), cli());
  Child child = Child::exec(args, true);
  std::string out = child.read_all();
  return {child.wait(), out};
}

class ServeProcess : public ::testing::Test {
 protected:
  test::TempDir dir;
};

TEST_F(ServeProcess, ManyClientProcessesShareOneKvStore) {
  std::vector<std::string> bound;
  Child server = start_server(
      {"--handler", "kv", "--bind", "unix://" + dir / "kv.sock", "--bind", "tcp://127.0.0.1:0"},
      bound);
  ASSERT_EQ(bound.size(), 2u);
  std::vector<Child> clients;
  for (int c = 0; c < 6; ++c) {
    std::string url = bound[c % 2];
    clients.push_back(Child::fork([url, c] {
      Client client(url);
      for (int i = 0; i < 100; ++i) {
        char key[32];
        std::snprintf(key, sizeof key, "c%d/%d", c, i);
        auto put = client.call(Message{"put", key, std::to_string(i * c)}, 10s);
        if (!put || put->text(0) != "OK") return 1;
        auto get = client.call(Message{"get", key}, 10s);
        if (!get || get->text(0) != std::to_string(i * c)) return 2;
      }
      return 0;
    }));
  }
  for (auto& c : clients) EXPECT_EQ(c.wait(), 0);
  // Written over both mechanisms, read back through each: one store.
  for (const auto& url : bound) {
    auto [status, out] = run_cli({"call", url, "keys", "c5/"});
    EXPECT_EQ(status, 0);
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 100);
  }
  auto [status, out] = run_cli({"call", bound[1], "get", "c4/7"});
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, "28\n");
  server.kill(SIGTERM);
  EXPECT_EQ(server.wait(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "kv.sock"));
}

TEST_F(ServeProcess, StaleSocketIsReusedLiveOneIsRefused) {
  std::string url = "unix://" + dir / "s.sock";
  std::vector<std::string> bound;
  Child first = start_server({"--bind", url}, bound);
  ASSERT_EQ(bound.size(), 1u);
  auto [rival_status, rival_out] = run_cli({"serve", "--bind", url});
  EXPECT_EQ(rival_status, 1);
  EXPECT_NE(rival_out.find("address_in_use"), std::string::npos) << rival_out;
  EXPECT_NE(rival_out.find("live server"), std::string::npos) << rival_out;

  first.kill(SIGKILL);
  first.wait();
  EXPECT_TRUE(std::filesystem::exists(dir / "s.sock"));  // the kernel cannot remove it
  bound.clear();
  Child second = start_server({"--bind", url}, bound);
  ASSERT_EQ(bound.size(), 1u) << "a stale socket file blocked the bind";
  auto [status, out] = run_cli({"call", url, "after", "restart"});
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, "after\nrestart\n");
}

TEST_F(ServeProcess, ServerKilledMidCallFailsThePendingCallAndARestartIsReached) {
  std::string url = "unix://" + dir / "k.sock";
  Child server = test::echo_server(url, true);
  ASSERT_EQ(server.read_line(), "bound");
  Client client(url);
  test::expect_call_fails_when_server_killed(server, client);

  std::vector<std::string> bound;
  Child restarted = start_server({"--bind", url}, bound);
  ASSERT_EQ(bound.size(), 1u);
  auto reply = client.call(Message{"back"}, 20s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, Message{"back"});
}

// ipcx serve --events writes a line per connection event on stderr as it happens, beside
// the bound lines on stdout.
TEST_F(ServeProcess, EventsArePrintedAsTheyHappen) {
  std::string url = "unix://" + dir / "events.sock";
  Child server = Child::exec({cli(), "serve", "--events", "--bind", url}, true);
  ASSERT_EQ(server.read_line(30s).value_or("nothing"), "bound " + url);
  auto [status, out] = run_cli({"call", url, "hello"});
  EXPECT_EQ(status, 0);
  std::string connected = server.read_line(30s).value_or("nothing");
  std::string prefix = "event connected " + url + " pid:";
  EXPECT_EQ(connected.rfind(prefix, 0), 0u) << connected;
  std::string who = connected.substr(connected.rfind(' ') + 1);  // pid:N, the call's process
  std::string gone = server.read_line(30s).value_or("nothing");
  EXPECT_EQ(gone, "event disconnected " + url + " " + who + " peer closed the connection");
  server.kill(SIGTERM);
  EXPECT_EQ(server.wait(), 0);
}

TEST_F(ServeProcess, CliExitStatuses) {
  std::vector<std::string> bound;
  Child server = start_server({"--handler", "kv", "--bind", "tcp://127.0.0.1:0"}, bound);
  ASSERT_EQ(bound.size(), 1u);
  EXPECT_EQ(run_cli({"call", bound[0], "put", "k", "v"}), std::make_pair(0, std::string("OK\n")));
  EXPECT_EQ(run_cli({"call", bound[0], "get", "nope"}).first, 3);
  EXPECT_EQ(run_cli({"call", "unix://" + dir / "none", "get", "k", "--timeout", "200"}).first, 1);
  auto [bad_status, bad_out] = run_cli({"call", "tcp://host", "x"});
  EXPECT_EQ(bad_status, 2);
  EXPECT_NE(bad_out.find("port is missing"), std::string::npos);
  auto [v_status, v_out] = run_cli({"--version"});
  EXPECT_EQ(v_status, 0);
  EXPECT_NE(v_out.find("ipcx 0."), std::string::npos);
  auto [hex_status, hex_out] = run_cli({"call", bound[0], "get", "k", "--hex"});
  EXPECT_EQ(hex_status, 0);
  EXPECT_EQ(hex_out, "76\n");
}

// ipcx push --batch gathers stdin's lines into large writes and flushes at the end of input;
// ipcx pull prints every one, in order.
TEST_F(ServeProcess, PushInBatchesAndPullPrintsEveryLine) {
  std::string url = "unix://" + dir / "lines.sock";
  Child puller = Child::exec({cli(), "pull", "--bind", url, "--count", "20000"}, true);
  ASSERT_EQ(puller.read_line(30s).value_or("nothing"), "bound " + url);
  Child pusher =
      Child::exec({"/bin/sh", "-c", "seq 20000 | " + cli() + " push --batch 65536 " + url}, true);
  EXPECT_EQ(pusher.wait(), 0);
  std::string out = puller.read_all();
  EXPECT_EQ(puller.wait(), 0);
  std::size_t lines = 0, at = 0;
  for (long expected = 1; at < out.size(); ++expected, ++lines) {
    std::size_t end = out.find('\n', at);
    ASSERT_NE(end, std::string::npos);
    ASSERT_EQ(out.substr(at, end - at), std::to_string(expected));
    at = end + 1;
  }
  EXPECT_EQ(lines, 20000u);
}

}  // namespace
}  // namespace ipcx
