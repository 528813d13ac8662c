// Two hosts: a server in one network namespace and clients in another, joined by a veth pair
// with private test addresses (only inside namespaces this test makes and deletes). The link is
// cut (`ip link set down`) under a call: over tcp the heartbeat turns the silence into
// peer_closed and the client reconnects once the link is back; over udp, which has no
// heartbeat and resends, a call completes once the link is back, or fails with timeout at its
// deadline. Needs root (CAP_NET_ADMIN) and iproute2, and skips, saying so, without them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;

bool run(const std::string& command) {
  return std::system((command + " 2>/dev/null").c_str()) == 0;
}

// Moves the calling (forked) process into a namespace made with `ip netns add`.
bool enter(const std::string& ns) {
  int fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::setns(fd, CLONE_NEWNET) == 0;
  ::close(fd);
  return ok;
}

// Prints one line for the parent, which asserts on it.
void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

std::string outcome(const Result<Message>& r) {
  return r ? "ok " + std::string(r->text(0)) : std::string(to_string(r.error()));
}

class TwoHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root (CAP_NET_ADMIN)";
    std::string tag = std::to_string(::getpid());
    server_ns_ = "ipcx-test-" + tag + "-s";
    client_ns_ = "ipcx-test-" + tag + "-c";
    server_if_ = "ixs" + tag;
    client_if_ = "ixc" + tag;
    made_ = run("ip netns add " + server_ns_) && run("ip netns add " + client_ns_);
    if (!made_) GTEST_SKIP() << "cannot make network namespaces here (ip netns add failed)";
    ASSERT_TRUE(run("ip link add " + server_if_ + " type veth peer name " + client_if_));
    ASSERT_TRUE(run("ip link set " + server_if_ + " netns " + server_ns_));
    ASSERT_TRUE(run("ip link set " + client_if_ + " netns " + client_ns_));
    ASSERT_TRUE(run("ip -n " + server_ns_ + " addr add 10.231.0.1/30 dev " + server_if_));
    ASSERT_TRUE(run("ip -n " + client_ns_ + " addr add 10.231.0.2/30 dev " + client_if_));
    ASSERT_TRUE(run("ip -n " + server_ns_ + " link set " + server_if_ + " up"));
    ASSERT_TRUE(run("ip -n " + client_ns_ + " link set " + client_if_ + " up"));
  }

  void TearDown() override {
    if (server_) {
      server_->kill(SIGKILL);
      server_->wait();
    }
    // Deleting a namespace deletes the veth end in it, and with it the pair.
    if (!server_ns_.empty()) run("ip netns del " + server_ns_);
    if (!client_ns_.empty()) run("ip netns del " + client_ns_);
  }

  // An echo server in the server's namespace on tcp and udp, with a 200 ms heartbeat.
  void start_server() {
    std::string ns = server_ns_;
    server_ = std::make_unique<Child>(Child::fork([ns] {
      if (!enter(ns)) return 2;
      ServerOptions options;
      options.heartbeat = 200ms;
      Server server(options);
      server.on_request([](Request& r) { r.reply(r.body()); });
      server.bind("tcp://10.231.0.1:7100");
      server.bind("udp://10.231.0.1:7101");
      say("bound");
      server.run();
      return 0;
    }));
    ASSERT_EQ(server_->read_line(30s).value_or("nothing"), "bound");
  }

  // Cuts or restores the link, from the client's side.
  std::string link(bool up) const {
    return "ip -n " + client_ns_ + " link set " + client_if_ + (up ? " up" : " down");
  }

  std::string server_ns_, client_ns_, server_if_, client_if_;
  bool made_ = false;
  std::unique_ptr<Child> server_;
};

TEST_F(TwoHosts, TcpHeartbeatTurnsACutLinkIntoPeerClosedAndReconnects) {
  start_server();
  std::string ns = client_ns_, down = link(false), up = link(true);
  Child client = Child::fork([ns, down, up] {
    if (!enter(ns)) return 2;
    ClientOptions options;
    options.heartbeat = 200ms;
    Client client("tcp://10.231.0.1:7100", options);
    say(outcome(client.call(Message{"before"}, 20s)));
    if (!run(down)) return 3;
    // The deadline is 300 heartbeat intervals: only a hang would reach it.
    say(outcome(client.call(Message{"cut"}, 60s)));
    if (!run(up)) return 3;
    say(outcome(client.call(Message{"after"}, 60s)));
    return 0;
  });
  EXPECT_EQ(client.read_line(60s).value_or("nothing"), "ok before");
  EXPECT_EQ(client.read_line(90s).value_or("nothing"), "peer_closed");
  EXPECT_EQ(client.read_line(90s).value_or("nothing"), "ok after");
  EXPECT_EQ(client.wait(), 0);
}

TEST_F(TwoHosts, UdpResendsAcrossACutLinkUntilItsDeadline) {
  start_server();
  std::string ns = client_ns_, down = link(false), up = link(true);
  Child client = Child::fork([ns, down, up] {
    if (!enter(ns)) return 2;
    Client client("udp://10.231.0.1:7101");
    say(outcome(client.call(Message{"before"}, 20s)));
    if (!run(down)) return 3;
    // Down throughout: the call ends at its deadline.
    say(outcome(client.call(Message{"lost"}, 1s)));
    // Down when the call starts, back while it resends: the call completes. The pause only
    // orders the cut before the call; nothing is asserted about time.
    std::thread restore([up] {
      std::this_thread::sleep_for(500ms);
      run(up);
    });
    say(outcome(client.call(Message{"resent"}, 25s)));
    restore.join();
    return 0;
  });
  EXPECT_EQ(client.read_line(60s).value_or("nothing"), "ok before");
  EXPECT_EQ(client.read_line(60s).value_or("nothing"), "timeout");
  EXPECT_EQ(client.read_line(60s).value_or("nothing"), "ok resent");
  EXPECT_EQ(client.wait(), 0);
}

}  // namespace
}  // namespace ipcx
