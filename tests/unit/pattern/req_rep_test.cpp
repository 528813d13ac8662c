// Request/reply over ZMTP (unix and tcp) through the public API, server on a thread of its own:
// one server on both at once, reply order for libzmq-style requests without ids, socket files,
// abstract names, ZeroMQ's address forms, heartbeats and reconnecting. What every mechanism
// promises is in tests/conformance/req_rep_conformance_test.cpp.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <optional>
#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/eventually.hpp"
#include "support/fd_count.hpp"
#include "support/raw_peer.hpp"
#include "support/temp_dir.hpp"
#include "wire/zmtp_session.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;

using test::eventually;

class ReqRep : public ::testing::Test {
 protected:
  test::TempDir dir;
  std::string unix_url() { return "unix://" + dir / "s.sock"; }
};

TEST_F(ReqRep, EchoOverUnixAndTcp) {
  Server server;
  server.on_request([](Request& r) { r.reply(r.body()); });
  auto u = server.bind(unix_url());
  auto t = server.bind("tcp://127.0.0.1:0");
  EXPECT_NE(t.port, 0);
  server.start();
  for (const auto& ep : {u, t}) {
    Client client(ep.url());
    for (int i = 0; i < 50; ++i) {
      auto reply = client.call(Message{"ping", std::to_string(i)}, 10s);
      ASSERT_TRUE(reply) << ep.url() << ": " << to_string(reply.error());
      EXPECT_EQ(*reply, (Message{"ping", std::to_string(i)}));
    }
  }
  EXPECT_EQ(server.stats().requests, 100u);
}

// Handler that answers in reverse order once `batch` requests are held.
void reverse_order_handler(Server& server, std::size_t batch) {
  auto held = std::make_shared<std::vector<Responder>>();
  server.on_request([held, batch](Request& r) {
    held->push_back(r.respond_later());
    if (held->size() == batch) {
      for (std::size_t i = batch; i-- > 0;) (void)(*held)[i].reply(Message{std::to_string(i)});
      held->clear();
    }
  });
}

TEST_F(ReqRep, RepliesWithoutIdsKeepRequestOrder) {
  Server server;
  reverse_order_handler(server, 10);
  auto ep = server.bind(unix_url());
  server.start();
  // A DEALER that sends no request id, as libzmq's REQ does: [empty][body].
  test::RawPeer raw(ep);
  ASSERT_TRUE(raw.connected());
  wire::ZmtpSession session({wire::SocketType::dealer, "", 1 << 20});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(session.send(Message{""}, Message{std::to_string(i)}));
  std::vector<std::string> order;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (order.size() < 10 && std::chrono::steady_clock::now() < deadline) {
    auto out = session.output().readable();
    std::vector<unsigned char> bytes(
        reinterpret_cast<const unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(out.data()) + out.size());
    if (!bytes.empty()) {
      ASSERT_TRUE(raw.send(bytes));
      session.output().consume(bytes.size());
    }
    pollfd p{raw.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    std::byte buf[4096];
    ssize_t n = ::recv(raw.fd(), buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    std::span<const std::byte> in(buf, static_cast<std::size_t>(n));
    while (!in.empty()) {
      std::size_t used = 0;
      auto e = session.feed(in, used);
      ASSERT_NE(e, wire::ZmtpSession::Event::error) << session.error_detail();
      in = in.subspan(used);
      if (e == wire::ZmtpSession::Event::message) {
        ASSERT_EQ(session.message().size(), 2u);
        order.push_back(session.message().str(1));
      }
    }
  }
  EXPECT_EQ(order, (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));
}

TEST_F(ReqRep, SocketFileModeAndAddressInUse) {
  ServerOptions options;
  options.file_mode = 0640;
  Server server(options);
  server.bind(unix_url());
  struct stat st {};
  ASSERT_EQ(::stat((dir / "s.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  Server rival;
  try {
    rival.bind(unix_url());
    FAIL() << "a second bind of a live socket succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.errc(), Errc::address_in_use);
    EXPECT_NE(std::string(e.what()).find("live server"), std::string::npos);
  }
  Server defaults;
  defaults.bind("unix://" + dir / "d.sock");
  ASSERT_EQ(::stat((dir / "d.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ReqRep, AbstractSocketAdmitsOwnUid) {
  Server server;
  server.on_request([](Request& r) {
    r.reply(Message{std::to_string(r.peer().uid), std::to_string(r.peer().pid)});
  });
  std::string name = "unix://@ipcx-test-" + std::to_string(::getpid());
  server.bind(name);
  server.start();
  Client client(name);
  auto reply = client.call(Message{"who"}, 10s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->text(0), std::to_string(::geteuid()));
  EXPECT_EQ(reply->text(1), std::to_string(::getpid()));
}

TEST_F(ReqRep, UnknownSchemesAndImpossibleUsesFailClearly) {
  Server server;
  try {
    Client client("stdio://");  // a stdio server is reached by spawning it
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.errc(), Errc::not_supported);
    EXPECT_NE(std::string(e.what()).find("spawn"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Client("bogus://x"), Error);
  EXPECT_THROW(server.bind("tcp://127.0.0.1:99999"), Error);
}

}  // namespace
}  // namespace ipcx

namespace ipcx {
namespace {

TEST_F(ReqRep, HeartbeatsCloseSilentPeersAndIdleClientsReconnect) {
  ServerOptions options;
  options.heartbeat = 50ms;
  Server server(options);
  server.on_request([](Request& r) { r.reply(r.body()); });
  auto ep = server.bind(unix_url());
  server.start();
  // A peer that completes the handshake, then never answers PING.
  test::RawPeer silent(ep);
  ASSERT_TRUE(silent.connected());
  auto hello = test::RawPeer::greeting();
  auto ready = test::RawPeer::ready("DEALER");
  hello.insert(hello.end(), ready.begin(), ready.end());
  silent.send(hello);
  EXPECT_TRUE(silent.closed_by_server());
  EXPECT_TRUE(eventually([&] { return server.stats().peer_faults >= 1; }));
  // An ipcx client idle past the heartbeat timeout was dropped too; its next call reconnects
  // instead of failing.
  Client client(unix_url());
  auto first = client.call(Message{"first"}, 10s);
  ASSERT_TRUE(first) << to_string(first.error());
  EXPECT_TRUE(eventually([&] { return server.stats().open == 0; }));
  auto reply = client.call(Message{"after idle"}, 10s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, Message{"after idle"});
}

// A client waiting for a slow reply sleeps in its socket's read (DirectWait); the server's
// heartbeat PINGs arrive there instead of the reply. The wait goes on, the PINGs are answered
// (the server keeps the connection), and the reply still comes.
TEST_F(ReqRep, PingsDuringAWaitInTheReadAreAnsweredAndTheReplyComes) {
  ServerOptions options;
  options.heartbeat = 20ms;
  options.workers = 1;  // the loop keeps pinging while the handler sleeps
  Server server(options);
  server.on_request([](Request& r) {
    std::this_thread::sleep_for(300ms);  // several heartbeat periods of silence
    r.reply(r.body());
  });
  auto ep = server.bind(unix_url());
  server.start();
  Client client(ep.url());
  for (int i = 0; i < 3; ++i) {
    auto reply = client.call(Message{"slow", std::to_string(i)}, 30s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    EXPECT_EQ(*reply, (Message{"slow", std::to_string(i)}));
  }
  EXPECT_EQ(server.stats().peer_faults, 0u);
  EXPECT_EQ(server.stats().accepted, 1u);  // never dropped and redialled
}

// A peer that takes the connection and never greets, as a pipe:// server killed after taking a
// client's rendezvous (its FIFOs then show the client nothing at all): the client gives up on
// it at its handshake timeout and dials again, and reaches a real server once there is one.
TEST_F(ReqRep, ClientGivesUpOnAPeerThatNeverGreets) {
  std::string path = dir / "s.sock";
  int silent = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(silent, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(silent, 64), 0);  // connections wait in the backlog, never answered
  ClientOptions options;
  options.handshake_timeout = 200ms;
  Client client(unix_url(), options);
  auto lost = client.call(Message{"nobody answers"}, 2s);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error(), Errc::timeout);
  // More than one connection: the client let the first go at its handshake timeout.
  int dialled = 0;
  for (int fd; (fd = ::accept4(silent, nullptr, nullptr, SOCK_CLOEXEC)) >= 0; ++dialled) {
    ::close(fd);
  }
  EXPECT_GE(dialled, 2);
  ::close(silent);
  ::unlink(path.c_str());
  Server server;
  server.on_request([](Request& r) { r.reply(r.body()); });
  server.bind(unix_url());
  server.start();
  auto reply = client.call(Message{"now"}, 10s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, Message{"now"});
}

TEST_F(ReqRep, IdleClientSurvivesAServerRestart) {
  auto first = std::make_unique<Server>();
  first->on_request([](Request& r) { r.reply(Message{"one"}); });
  first->bind(unix_url());
  first->start();
  Client client(unix_url());
  EXPECT_EQ(client.call(Message{"x"}, 10s).value(), Message{"one"});
  first.reset();
  Server second;
  second.on_request([](Request& r) { r.reply(Message{"two"}); });
  second.bind(unix_url());
  second.start();
  std::this_thread::sleep_for(60ms);  // idle past the client's liveness check
  auto reply = client.call(Message{"x"}, 10s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, Message{"two"});
}

}  // namespace
}  // namespace ipcx

namespace ipcx {
namespace {

TEST_F(ReqRep, TcpAddressFormsOfZeroMq) {
  Server server;
  server.on_request([](Request& r) { r.reply(Message{r.peer().address}); });
  auto wildcard = server.bind("tcp://*:0");  // every interface, reported as 0.0.0.0
  EXPECT_EQ(wildcard.host, "0.0.0.0");
  auto named = server.bind("tcp://localhost:*");  // a host name, resolved once, IPv4 first
  EXPECT_EQ(named.host, "localhost");
  EXPECT_NE(named.port, 0);
  std::optional<Endpoint> v6;
  try {
    v6 = server.bind("tcp://[::1]:0");
  } catch (const Error& e) {
    // A machine without IPv6 on loopback cannot bind it; say so rather than pass silently.
    std::cerr << "IPv6 loopback unavailable: " << e.what() << '\n';
  }
  server.start();
  std::vector<std::string> urls{"tcp://127.0.0.1:" + std::to_string(wildcard.port), named.url()};
  if (v6) urls.push_back(v6->url());
  for (const auto& url : urls) {
    Client client(url);
    auto reply = client.call(Message{"who am i"}, 10s);
    ASSERT_TRUE(reply) << url << ": " << to_string(reply.error());
    EXPECT_FALSE(reply->text(0).empty()) << url;  // the peer address the server saw
  }
  if (v6) {
    EXPECT_EQ(v6->url().rfind("tcp://[::1]:", 0), 0u);
  }
}

}  // namespace
}  // namespace ipcx
