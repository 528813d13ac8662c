// Proxy (zmq_proxy for request/reply) across real processes: a server bound on each mechanism
// in a child process, reached through a proxy whose frontend is on tcp://, by clients that
// pipeline and clients that send plain REQ envelopes; replies reach the client that asked.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/leftovers.hpp"
#include "support/mechanisms.hpp"
#include "support/server_child.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;

class ProxyToServer : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override { test::remove_stale_name(url_); }
  test::TempDir dir_;
  std::string url_;
};

TEST_P(ProxyToServer, ClientsOnTcpReachAServerBehindTheProxy) {
  url_ = test::private_url(GetParam(), dir_, "behind");
  test::Child server = test::echo_server(url_);
  ASSERT_EQ(server.read_line(30s).value_or("nothing"), "bound");
  Proxy proxy;
  std::string front = proxy.bind_frontend("tcp://127.0.0.1:0").url();
  proxy.connect_backend(url_);
  proxy.start();

  Client pipelining(front);
  ClientOptions plain_options;
  plain_options.envelope = RequestEnvelope::plain;
  Client plain(front, plain_options);
  std::map<RequestId, std::string> sent;
  for (int i = 0; i < 50; ++i) {
    std::string body = std::to_string(i);  // GCC 12 warns falsely on "p" + std::to_string(i)
    sent[pipelining.send(Message{body}).value()] = body;
  }
  for (int i = 0; i < 5; ++i) {
    std::string body = std::to_string(100 + i);
    EXPECT_EQ(plain.call(Message{body}, 20s).value(), Message{body});
  }
  for (int i = 0; i < 50; ++i) {
    auto reply = pipelining.receive(20s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    ASSERT_EQ(sent.count(reply->id), 1u);
    EXPECT_EQ(reply->body, Message{sent[reply->id]});
    sent.erase(reply->id);
  }
  EXPECT_EQ(pipelining.stats().unmatched_replies, 0u);
  auto stats = proxy.stats();
  EXPECT_EQ(stats.requests, 55u);
  EXPECT_EQ(stats.replies, 55u);
  proxy.stop();
}

INSTANTIATE_TEST_SUITE_P(Registry, ProxyToServer,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.request_reply && c.reach == Reach::url && c.crosses_processes;
                         })),
                         test::SchemeName());

}  // namespace
}  // namespace ipcx
