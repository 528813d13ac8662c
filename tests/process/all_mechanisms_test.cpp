// One server process bound on every mechanism of the registry that crosses processes, a client
// on each: the same handler and the same data answer every one of them. The server is the ipcx
// CLI's kv server, started as our child (ipcx::spawn); when its pipes close it stops and
// removes every endpoint.
#include <gtest/gtest.h>
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
  std::string spawned_url;
  std::vector<std::string> urls;
  std::vector<const MechanismInfo*> bound;
  for (const MechanismInfo& m : mechanisms()) {
    if (!m.caps.request_reply || !m.caps.crosses_processes) continue;
    bound.push_back(&m);
    std::string url = m.private_url(dir.path().string(), "kv");
    if (m.caps.reach == Reach::spawn) {
      spawned_url = url;
    } else {
      urls.push_back(url);
    }
  }
  ASSERT_FALSE(spawned_url.empty()) << "no mechanism reaches a spawned child";
  std::vector<std::string> argv = {IPCX_CLI_PATH, "serve",  "--quiet",  "--handler",
                                   "kv",          "--bind", spawned_url};
  for (const auto& u : urls) {
    argv.push_back("--bind");
    argv.push_back(u);
  }
  {
    std::vector<std::unique_ptr<Client>> clients;
    clients.push_back(std::make_unique<Client>(spawn(argv)));
    for (const auto& u : urls) clients.push_back(std::make_unique<Client>(u));
    // The spawned child's call returns once it has bound everything.
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
  for (const MechanismInfo* m : bound) {
    auto left = test::all_leftovers(std::string(m->scheme), dir, "kv");
    EXPECT_TRUE(left.empty()) << m->scheme << ": " << left.front();
  }
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
