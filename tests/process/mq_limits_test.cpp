// mq:// within the machine's queue limits: all queues of one user share RLIMIT_MSGQUEUE
// (819,200 bytes here, also the hard limit), so the defaults must let 16 clients hold their
// queues at once, and a client the limit stops must be told which limit, and its value.
// Runs alone (RUN_SERIAL): another test's queues would count against the same limit.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;

TEST(MqLimits, SixteenClientsAtOnceAndTheLimitThatStopsMoreIsNamed) {
  std::string url = "mq://ipcx-limits-" + std::to_string(::getpid());
  Server server;
  server.on_request([](Request& r) { r.reply(r.body()); });
  server.bind(url);
  server.start();
  std::mutex mutex;
  std::vector<std::string> logged;
  ClientOptions options;
  options.log = [&](std::string_view line) {
    std::lock_guard lock(mutex);
    logged.emplace_back(line);
  };
  std::vector<std::unique_ptr<Client>> clients;
  std::size_t connected = 0;
  for (int i = 0; i < 64; ++i) {
    clients.push_back(std::make_unique<Client>(url, options));
    if (!clients.back()->call(Message{"hold my queues"}, 2s)) break;
    ++connected;
  }
  std::printf("%zu clients held their queues at once\n", connected);
  EXPECT_GE(connected, 16u);
  EXPECT_LT(connected, 64u) << "the per-user limit should stop some client";
  std::lock_guard lock(mutex);
  bool named = false;
  rlimit limit{};
  ::getrlimit(RLIMIT_MSGQUEUE, &limit);
  for (const auto& line : logged) {
    if (line.find("RLIMIT_MSGQUEUE (" + std::to_string(limit.rlim_cur)) != std::string::npos)
      named = true;
  }
  EXPECT_TRUE(named) << (logged.empty() ? "nothing logged" : logged.front());
  // The first clients still work after others were refused.
  auto reply = clients.front()->call(Message{"still here"}, 10s);
  ASSERT_TRUE(reply) << to_string(reply.error());
}

}  // namespace
}  // namespace ipcx
