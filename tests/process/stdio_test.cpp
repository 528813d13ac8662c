// stdio:// with ipcx::spawn: a parent starts a server as its child and talks to it over
// anonymous pipes. The child is the ipcx CLI or tests/support/hold_server, which tells its pid
// and holds a call unanswered so the test can kill it with the call in flight.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "ipcx/ipcx.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

Client spawn_test_child() { return spawn({IPCX_HOLD_SERVER, "stdio://"}); }

TEST(Stdio, SpawnedKvServerKeepsStateAcrossCalls) {
  Client kv = spawn({IPCX_CLI_PATH, "serve", "--handler", "kv", "--bind", "stdio://"});
  auto put = kv.call(Message{"put", "colour", "green"}, 20s);
  ASSERT_TRUE(put) << to_string(put.error());
  auto got = kv.call(Message{"get", "colour"}, 20s);
  ASSERT_TRUE(got) << to_string(got.error());
  EXPECT_EQ(got->text(got->size() - 1), "green");
}

TEST(Stdio, LargeMessagesAndPipelinedCallsGoThrough) {
  Client echo = spawn({IPCX_CLI_PATH, "serve", "--bind", "stdio://"});
  std::string big(8u << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  auto reply = echo.call(Message{big}, 60s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(reply->text(0), big);
  std::vector<RequestId> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(*echo.send(Message{std::to_string(i)}));
  for (int i = 0; i < 100; ++i) {
    auto r = echo.receive(20s);
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(r->body.text(0), std::to_string(r->id - ids.front()));
  }
}

TEST(Stdio, ChildKilledMidCallFailsItWithPeerClosedAndIsReaped) {
  pid_t pid = -1;
  {
    Client child = spawn_test_child();
    auto answer = child.call(Message{"pid"}, 20s);
    ASSERT_TRUE(answer) << to_string(answer.error());
    pid = std::stoi(std::string(answer->text(0)));
    ASSERT_GT(pid, 0);
    auto pending = child.send(Message{"hold"});
    ASSERT_TRUE(pending);
    EXPECT_EQ(child.receive(200ms).error(), Errc::timeout);  // held, not answered
    ::kill(pid, SIGKILL);
    EXPECT_EQ(child.receive(30s).error(), Errc::peer_closed);
    // Nothing can reconnect to a dead child: later calls fail at once.
    EXPECT_EQ(child.call(Message{"again"}, 30s).error(), Errc::peer_closed);
  }
  EXPECT_FALSE(process_exists(pid)) << "the Client reaps its child";
}

TEST(Stdio, DestroyingTheClientEndsTheChildGracefully) {
  pid_t pid = -1;
  {
    Client child = spawn({IPCX_CLI_PATH, "serve", "--bind", "stdio://"});
    ASSERT_TRUE(child.call(Message{"hi"}, 20s));
    Client probe = spawn_test_child();
    auto answer = probe.call(Message{"pid"}, 20s);
    ASSERT_TRUE(answer);
    pid = std::stoi(std::string(answer->text(0)));
  }
  EXPECT_FALSE(process_exists(pid));
}

TEST(Stdio, AProgramThatCannotStartIsAClearError) {
  try {
    spawn({"/nonexistent/ipcx-no-such-program"});
    FAIL() << "spawn should throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-program"), std::string::npos) << e.what();
  }
}

TEST(Stdio, BindingStdioWithoutPipesSaysHowToStartIt) {
  pid_t pid = ::fork();
  if (pid == 0) {
    // A regular file on stdin: not a pipe.
    FILE* f = std::tmpfile();
    ::dup2(::fileno(f), 0);
    try {
      Server server;
      server.bind("stdio://");
      ::_exit(1);
    } catch (const Error& e) {
      ::_exit(e.errc() == Errc::not_supported ? 0 : 2);
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace ipcx
