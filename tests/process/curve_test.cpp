// CURVE across real processes, on every mechanism that carries it (from the registry): a CURVE
// server in a child process serves a client that holds its key and whose key it admits, and its
// handler sees the client's key; a wrong server key, a client key not admitted and a client
// without CURVE all fail with auth_failed, not at the call's deadline; push/pull and
// publish/subscribe run under CURVE too; a proxy's CURVE frontend guards a service on shm.
// CURVE on a mechanism that cannot carry it, and a malformed key, are refused when binding or
// connecting.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>

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

class Curve : public ::testing::TestWithParam<std::string> {
 protected:
  CurveKeyPair server_keys_ = curve_key_pair();
  CurveKeyPair client_keys_ = curve_key_pair();
  test::TempDir dir_;

  // A CURVE server in a child process that admits client_keys_ and answers each request with
  // the caller's CURVE key; returns its bound URL.
  std::string serve(std::optional<Child>& child) {
    std::string url = test::private_url(GetParam(), dir_, "curve");
    child.emplace(Child::fork([this, url] {
      ServerOptions options;
      options.security.curve_secret_key = server_keys_.secret_key;
      options.security.curve_allow = {client_keys_.public_key};
      Server server(options);
      server.on_request([](Request& r) { r.reply(Message{r.peer().curve_key}); });
      std::printf("bound %s\n", server.bind(url).url().c_str());
      std::fflush(stdout);
      server.run();
      return 0;
    }));
    auto line = child->read_line(30s).value_or("nothing");
    EXPECT_EQ(line.rfind("bound ", 0), 0u) << line;
    return line.substr(6);
  }

  ClientOptions client_options(const std::string& server_key, const std::string& secret) {
    ClientOptions o;
    o.security.curve_server_key = server_key;
    o.security.curve_secret_key = secret;
    return o;
  }
};

TEST_P(Curve, AnAdmittedClientIsServedAndItsKeyReachesTheHandler) {
  std::optional<Child> server;
  std::string url = serve(server);
  Client client(url, client_options(server_keys_.public_key, client_keys_.secret_key));
  for (int i = 0; i < 3; ++i) {
    auto reply = client.call(Message{"who am I"}, 60s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    EXPECT_EQ(reply->text(0), client_keys_.public_key);
  }
}

TEST_P(Curve, EveryWrongPairingFailsWithAuthFailed) {
  std::optional<Child> server;
  std::string url = serve(server);
  auto stranger = curve_key_pair();
  struct Case {
    const char* what;
    ClientOptions options;
  } cases[] = {
      {"a wrong server key", client_options(stranger.public_key, client_keys_.secret_key)},
      {"a client key not admitted", client_options(server_keys_.public_key, stranger.secret_key)},
      {"an ephemeral client key", client_options(server_keys_.public_key, "")},
      {"no CURVE at all", ClientOptions{}},
  };
  for (auto& c : cases) {
    Client client(url, c.options);
    // The deadline only turns a hang into a failure: the error must be auth_failed.
    auto reply = client.call(Message{"let me in"}, 120s);
    ASSERT_FALSE(reply) << c.what;
    EXPECT_EQ(reply.error(), Errc::auth_failed) << c.what;
  }
}

TEST_P(Curve, PushPullAndPubSubRunUnderCurve) {
  std::string pull_url = test::private_url(GetParam(), dir_, "pull");
  std::string pub_url = test::private_url(GetParam(), dir_, "pub");
  SocketOptions server_side;
  server_side.security.curve_secret_key = server_keys_.secret_key;
  server_side.security.curve_allow_any = true;  // encryption without authentication, asked for
  Puller puller(server_side);
  pull_url = puller.bind(pull_url).url();
  Publisher publisher(server_side);
  pub_url = publisher.bind(pub_url).url();
  Child remote = Child::fork([this, pull_url, pub_url] {
    SocketOptions client_side;
    client_side.security.curve_server_key = server_keys_.public_key;
    Pusher pusher(client_side);
    pusher.connect(pull_url);
    Subscriber subscriber(client_side);
    subscriber.connect(pub_url);
    subscriber.subscribe("t");
    for (int i = 0; i < 10; ++i) {
      if (!pusher.send(Message{"pushed", std::to_string(i)}, 60s)) return 1;
    }
    auto m = subscriber.receive(60s);
    if (!m || m->text(1) != "published") return 2;
    return pusher.flush(60s) ? 0 : 3;
  });
  for (int i = 0; i < 10; ++i) {
    auto m = puller.receive(60s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->text(1), std::to_string(i));
  }
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (remote.wait_for(1ms) == std::nullopt && std::chrono::steady_clock::now() < deadline) {
    (void)publisher.publish(Message{"t", "published"});
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(remote.wait(), 0);
}

INSTANTIATE_TEST_SUITE_P(Registry, Curve,
                         ::testing::ValuesIn(test::schemes_where([](const Capabilities& c) {
                           return c.zeromq && c.reach == Reach::url;
                         })),
                         test::SchemeName());

// The picture with security: a service on shm (NULL, local) behind a proxy whose tcp
// frontend is a CURVE server; an admitted CURVE client is served, one without CURVE is not.
TEST(CurveProxy, ACurveFrontendGuardsAServiceOnShm) {
  test::TempDir dir;
  std::string url = test::private_url("shm", dir, "guarded");
  Child worker = test::echo_server(url);
  ASSERT_EQ(worker.read_line(30s).value_or("nothing"), "bound");
  auto server_keys = curve_key_pair();
  auto client_keys = curve_key_pair();
  ProxyOptions options;
  options.frontend_security.curve_secret_key = server_keys.secret_key;
  options.frontend_security.curve_allow = {client_keys.public_key};
  Proxy proxy(options);
  std::string front = proxy.bind_frontend("tcp://127.0.0.1:0").url();
  proxy.connect_backend(url);
  proxy.start();
  ClientOptions admitted;
  admitted.security.curve_server_key = server_keys.public_key;
  admitted.security.curve_secret_key = client_keys.secret_key;
  Client client(front, admitted);
  auto reply = client.call(Message{"through"}, 60s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(reply->text(0), "through");
  Client outsider(front);
  EXPECT_EQ(outsider.call(Message{"let me in"}, 120s).error(), Errc::auth_failed);
  proxy.stop();
}

TEST(CurveSetup, MechanismsWithoutCurveAndMalformedKeysAreRefused) {
  test::TempDir dir;
  ServerOptions curve;
  curve.security.curve_secret_key = curve_key_pair().secret_key;
  for (const auto& m : mechanisms()) {
    if (m.caps.zeromq || m.caps.reach != Reach::url) continue;
    Server server(curve);
    std::string url = m.private_url(dir.path().string(), "nope");
    try {
      server.bind(url);
      ADD_FAILURE() << url << " took CURVE";
    } catch (const Error& e) {
      EXPECT_EQ(e.errc(), Errc::not_supported) << url;
    }
  }
  ServerOptions malformed;
  malformed.security.curve_secret_key = "not a key";
  Server server(malformed);
  try {
    server.bind("tcp://127.0.0.1:0");
    ADD_FAILURE() << "a malformed key was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.errc(), Errc::auth_failed);
    EXPECT_EQ(std::string(e.what()).find("not a key"), std::string::npos) << "a secret was echoed";
  }
  auto derived = curve_public_key(curve.security.curve_secret_key);
  ASSERT_TRUE(derived);
  EXPECT_EQ(derived->size(), 40u);
  EXPECT_FALSE(curve_public_key("short"));
}

}  // namespace
}  // namespace ipcx
