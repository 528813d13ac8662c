// Many shm clients on one `ipcx serve`: 2,000 Clients in this process, each served twice, while
// the server's resident memory and descriptors grow by what an idle connection may cost (a few
// pages of ring, one socket), not by its rings' full size (not timed; skipped under sanitizers,
// whose shadow memory and quarantines make resident figures meaningless); and idle links that
// the server parked are woken by their clients' next calls.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/fd_count.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;

constexpr int kClients = 2000;
// Generous: an idle connection costs about 20 KiB here, and before rings were backed where
// written it cost 2,057 KiB.
constexpr long kBoundKibPerConnection = 256;

TEST(ShmManyClients, TwoThousandClientsAreServedAndTheServerStaysSmall) {
  if (test::kSanitized) GTEST_SKIP() << "resident memory means little under sanitizers";
  rlimit files{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_cur < 3 * kClients) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 3 * kClients + 100);
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  if (files.rlim_cur < 3 * kClients) GTEST_SKIP() << "RLIMIT_NOFILE below " << 3 * kClients;

  std::string url = "shm://many-" + std::to_string(::getpid());
  Child server = Child::exec(
      {IPCX_CLI_PATH, "serve", "--bind", url, "--handler", "echo", "--max-connections", "20000"});
  auto bound = server.read_line();
  ASSERT_TRUE(bound && bound->rfind("bound ", 0) == 0) << bound.value_or("(nothing)");
  std::string pid = std::to_string(server.pid());

  // The first client pays for what the server holds once (its pools, its first pages).
  ClientOptions options;
  options.spin = 0us;
  std::vector<std::unique_ptr<Client>> clients;
  clients.push_back(std::make_unique<Client>(url, options));
  ASSERT_TRUE(clients.back()->call(Message{"first"}, 10s));
  long base_kib = test::resident_kib(pid);
  std::size_t base_fds = test::open_fd_count(pid);

  for (int i = 1; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>(url, options));
    std::string body = "client " + std::to_string(i);
    auto reply = clients.back()->call(Message{body}, 10s);
    ASSERT_TRUE(reply) << "client " << i << ": " << to_string(reply.error());
    ASSERT_EQ(reply->text(0), body);
  }
  // A second round on the open connections: every one still served.
  for (int i = 0; i < kClients; ++i) {
    std::string body = "again " + std::to_string(i);
    auto reply = clients[static_cast<std::size_t>(i)]->call(Message{body}, 10s);
    ASSERT_TRUE(reply) << "client " << i << ": " << to_string(reply.error());
    ASSERT_EQ(reply->text(0), body);
  }

  long grown_kib = test::resident_kib(pid) - base_kib;
  std::size_t grown_fds = test::open_fd_count(pid) - base_fds;
  RecordProperty("server_kib_per_connection", std::to_string(grown_kib / (kClients - 1)));
  EXPECT_LT(grown_kib, kBoundKibPerConnection * (kClients - 1))
      << "the server grew by " << grown_kib / (kClients - 1) << " KiB per connection";
  // One socket per connection, nothing more (the server may meanwhile have taken the timerfd
  // its engine uses once it has ticked a few times).
  EXPECT_GE(grown_fds, static_cast<std::size_t>(kClients - 1));
  EXPECT_LE(grown_fds, static_cast<std::size_t>(kClients));

  clients.clear();
  server.kill(SIGTERM);
  EXPECT_EQ(server.wait(), 0);
}

// A server stops polling a link that has been still for a tick (it parks it, armed): each
// client's next call must still wake it, on every connection, with the server sleeping or
// spinning on the others. The pause is longer than the server's tick (a second by default).
TEST(ShmManyClients, ClientsStillLongEnoughToBeParkedAreAnsweredWhenTheyCallAgain) {
  std::string url = "shm://parked-" + std::to_string(::getpid());
  Child server = Child::exec({IPCX_CLI_PATH, "serve", "--bind", url, "--handler", "echo"});
  auto bound = server.read_line();
  ASSERT_TRUE(bound && bound->rfind("bound ", 0) == 0) << bound.value_or("(nothing)");
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 50; ++i) {
    ClientOptions options;
    options.spin = i % 2 == 0 ? 0us : 50us;
    clients.push_back(std::make_unique<Client>(url, options));
    ASSERT_TRUE(clients.back()->call(Message{"first"}, 10s));
  }
  for (int round = 0; round < 2; ++round) {
    std::this_thread::sleep_for(2500ms);
    // One client keeps the server busy while the others wake their parked links.
    for (std::size_t i = 0; i < clients.size(); ++i) {
      std::string body = "round " + std::to_string(round) + " client " + std::to_string(i);
      auto reply = clients[i]->call(Message{body}, 10s);
      ASSERT_TRUE(reply) << body << ": " << to_string(reply.error());
      ASSERT_EQ(reply->text(0), body);
      ASSERT_TRUE(clients[0]->call(Message{"busy"}, 10s));
    }
  }
  clients.clear();
  server.kill(SIGTERM);
  EXPECT_EQ(server.wait(), 0);
}

}  // namespace
}  // namespace ipcx
