// One server process bound on all seven mechanisms at once, a client on each: the same handler
// and the same data answer every one of them. The server is the ipcx CLI's kv server, started
// as our child over stdio://; when its pipes close it stops and removes every endpoint.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mqueue.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/leftovers.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;

// "k3", built by appending: GCC 12 warns falsely (-Wrestrict) on "k" + std::to_string(3).
std::string numbered(const char* prefix, std::size_t i) {
  std::string out = prefix;
  out += std::to_string(i);
  return out;
}

TEST(AllMechanisms, OneServerAnswersAClientOnEachFromOneStore) {
  test::TempDir dir;
  std::string tag = std::to_string(::getpid());
  std::vector<std::string> urls = {
      "shm://ipcx-all-" + tag,
      "unix://" + dir / "kv.sock",
      "tcp://127.0.0.1:" + std::to_string(test::free_port(SOCK_STREAM)),
      "udp://127.0.0.1:" + std::to_string(test::free_port(SOCK_DGRAM)),
      "pipe://" + dir / "kv.fifo",
      "mq://ipcx-all-" + tag,
  };
  std::vector<std::string> argv = {IPCX_CLI_PATH, "serve",  "--quiet", "--handler",
                                   "kv",          "--bind", "stdio://"};
  for (const auto& u : urls) {
    argv.push_back("--bind");
    argv.push_back(u);
  }
  {
    std::vector<std::unique_ptr<Client>> clients;
    clients.push_back(std::make_unique<Client>(spawn(argv)));
    for (const auto& u : urls) clients.push_back(std::make_unique<Client>(u));
    ASSERT_EQ(clients.size(), 7u);
    // The stdio call returns once the child has bound everything.
    ASSERT_TRUE(clients[0]->call(Message{"keys"}, 30s));
    for (std::size_t i = 0; i < clients.size(); ++i) {
      auto put = clients[i]->call(Message{"put", numbered("k", i), numbered("v", i)}, 20s);
      ASSERT_TRUE(put) << "client " << i << ": " << to_string(put.error());
    }
    // Every client reads every key, whoever wrote it.
    for (std::size_t reader = 0; reader < clients.size(); ++reader) {
      for (std::size_t writer = 0; writer < clients.size(); ++writer) {
        auto got = clients[reader]->call(Message{"get", numbered("k", writer)}, 20s);
        ASSERT_TRUE(got) << "reader " << reader << ": " << to_string(got.error());
        EXPECT_EQ(got->text(got->size() - 1), numbered("v", writer))
            << "reader " << reader << " writer " << writer;
      }
    }
  }
  // The child is reaped when its Client goes; it removed its endpoints on the way out.
  EXPECT_FALSE(std::filesystem::exists(dir / "kv.sock"));
  EXPECT_FALSE(std::filesystem::exists(dir / "kv.fifo"));
  std::string queue = "/ipcx-all-";
  queue += tag;
  mqd_t q = ::mq_open(queue.c_str(), O_RDONLY);
  EXPECT_EQ(q, static_cast<mqd_t>(-1)) << "the server queue is left";
  if (q != static_cast<mqd_t>(-1)) ::mq_close(q);
}

TEST(AllMechanisms, TheTourRunsAndLeavesNothing) {
  test::Child tour = test::Child::exec({IPCX_CLI_PATH, "tour", "--calls", "50"}, true);
  std::string out = tour.read_all(120s);
  EXPECT_EQ(tour.wait(), 0) << out;
  EXPECT_EQ(out.find("MISMATCH"), std::string::npos) << out;
  EXPECT_NE(out.find("are gone"), std::string::npos) << out;
}

}  // namespace
}  // namespace ipcx
