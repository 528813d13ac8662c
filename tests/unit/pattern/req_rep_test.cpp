// Request/reply through the public API, server on a thread of its own: unix and tcp, multipart
// and 16 MiB bodies, pipelining, reply order, Responders, workers, errors, stop and reconnect.
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

TEST_F(ReqRep, MultipartAndSixteenMebibyteBodies) {
  Server server;
  server.on_request([](Request& r) { r.reply(r.body()); });
  auto ep = server.bind("tcp://127.0.0.1:0");
  server.start();
  Client client(ep.url());
  std::string big(16u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  Message request{"", "part2", big, ""};
  auto reply = client.call(request, 30s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, request);
}

TEST_F(ReqRep, PipelinedRequestsAreMatchedById) {
  Server server;
  server.on_request([](Request& r) { r.reply(r.body()); });
  server.bind(unix_url());
  server.start();
  Client client(unix_url());
  std::map<RequestId, std::string> sent;
  for (int i = 0; i < 200; ++i) {
    auto id = client.send(Message{"n" + std::to_string(i)});
    ASSERT_TRUE(id);
    sent[*id] = "n" + std::to_string(i);
  }
  for (int i = 0; i < 200; ++i) {
    auto reply = client.receive(10s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    ASSERT_EQ(sent.count(reply->id), 1u);
    EXPECT_EQ(reply->body.text(0), sent[reply->id]);
    sent.erase(reply->id);
  }
  EXPECT_EQ(client.receive(10ms).error(), Errc::would_block);  // nothing left in flight
}

// Handler that answers in reverse order once `batch` requests are held.
void reverse_order_handler(Server& server, std::size_t batch) {
  auto held = std::make_shared<std::vector<Responder>>();
  server.on_request([held, batch](Request& r) {
    std::string body = r.body().str(0);
    held->push_back(r.respond_later());
    (void)body;
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

TEST_F(ReqRep, RepliesWithIdsMayOvertake) {
  Server server;
  reverse_order_handler(server, 5);
  server.bind(unix_url());
  server.start();
  Client client(unix_url());
  std::vector<RequestId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(client.send(Message{"x"}).value());
  std::vector<RequestId> got;
  for (int i = 0; i < 5; ++i) got.push_back(client.receive(10s).value().id);
  EXPECT_EQ(got, std::vector<RequestId>(ids.rbegin(), ids.rend()));
}

TEST_F(ReqRep, ResponderRepliesFromAnotherThreadAndWorkersRunConcurrently) {
  ServerOptions options;
  options.workers = 2;
  Server server(options);
  server.on_request([](Request& r) {
    std::thread([responder = r.respond_later(), body = r.body()]() mutable {
      (void)responder.reply(body);
    }).detach();
  });
  server.bind(unix_url());
  server.start();
  std::vector<std::thread> callers;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      Client client(unix_url());
      for (int i = 0; i < 50; ++i) {
        std::string body = std::to_string(t) + ":" + std::to_string(i);
        auto reply = client.call(Message{body}, 10s);
        if (reply && reply->text(0) == body) ++good;
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(good, 200);
}

TEST_F(ReqRep, HandlerFailuresBecomeErrorReplies) {
  Server server;
  server.on_request([](Request& r) {
    if (r.body().text(0) == "throw") throw std::runtime_error("boom");
    if (r.body().text(0) == "ignore") return;
    r.reply(Message{"fine"});
  });
  server.bind(unix_url());
  server.start();
  Client client(unix_url());
  EXPECT_EQ(client.call(Message{"throw"}, 10s).value(), Message{"ERR boom"});
  EXPECT_EQ(client.call(Message{"ignore"}, 10s).value(), Message{"ERR no reply"});
  EXPECT_EQ(client.call(Message{"ok"}, 10s).value(), Message{"fine"});
  EXPECT_EQ(server.stats().handler_errors, 2u);
}

TEST_F(ReqRep, TimeoutThenLateReplyIsIgnored) {
  Server server;
  auto held = std::make_shared<std::vector<Responder>>();
  std::mutex mutex;
  server.on_request([&, held](Request& r) {
    if (r.body().text(0) == "slow") {
      std::lock_guard lock(mutex);
      held->push_back(r.respond_later());
    } else {
      r.reply(r.body());
    }
  });
  server.bind(unix_url());
  server.start();
  Client client(unix_url());
  EXPECT_EQ(client.call(Message{"slow"}, 100ms).error(), Errc::timeout);
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(held->size(), 1u);
    ASSERT_TRUE((*held)[0].reply(Message{"late"}));
  }
  EXPECT_EQ(client.call(Message{"next"}, 10s).value(), Message{"next"});
}

TEST_F(ReqRep, NobodyListeningIsRefused) {
  Client client("unix://" + dir / "nobody.sock");
  EXPECT_EQ(client.call(Message{"x"}, 200ms).error(), Errc::refused);
  Client tcp("tcp://127.0.0.1:1");
  EXPECT_EQ(tcp.call(Message{"x"}, 200ms).error(), Errc::refused);
}

TEST_F(ReqRep, StopFailsHeldCallWithPeerClosedAndRestartedServerIsReached) {
  auto held = std::make_shared<std::vector<Responder>>();
  std::atomic<bool> got{false};
  ServerOptions options;
  options.stop_grace = 50ms;
  auto server = std::make_unique<Server>(options);
  server->on_request([&, held](Request& r) {
    held->push_back(r.respond_later());
    got = true;
  });
  server->bind(unix_url());
  server->start();
  Client client(unix_url());
  std::thread stopper([&] {
    ASSERT_TRUE(eventually([&] { return got.load(); }));
    server->stop();
  });
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(client.call(Message{"hang"}, 30s).error(), Errc::peer_closed);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 25s);  // a hang turned into a failure
  stopper.join();
  EXPECT_FALSE(std::filesystem::exists(dir / "s.sock"));  // removed on a graceful stop
  EXPECT_EQ((*held)[0].reply(Message{"too late"}).error(), Errc::cancelled);

  Server second;
  second.on_request([](Request& r) { r.reply(Message{"second"}); });
  second.bind(unix_url());
  second.start();
  auto reply = client.call(Message{"again"}, 10s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, Message{"second"});
}

TEST_F(ReqRep, MessageSizeLimits) {
  ServerOptions options;
  options.max_message_size = 1000;
  Server server(options);
  server.on_request([](Request& r) { r.reply(Message{std::to_string(r.body().bytes())}); });
  server.bind(unix_url());
  server.start();
  ClientOptions small;
  small.max_message_size = 1000;
  Client limited(unix_url(), small);
  EXPECT_EQ(limited.call(Message{std::string(1001, 'x')}, 1s).error(), Errc::message_too_large);
  // Exactly the limit passes, counting the bodies of all frames.
  EXPECT_EQ(limited.call(Message{std::string(500, 'x'), std::string(500, 'y')}, 10s).value(),
            Message{"1000"});
  // A client with a larger limit gets its link closed by the server, which counts the fault.
  Client big(unix_url());
  EXPECT_EQ(big.call(Message{std::string(1001, 'x')}, 10s).error(), Errc::peer_closed);
  EXPECT_TRUE(eventually([&] { return server.stats().peer_faults == 1; }));
  EXPECT_EQ(limited.call(Message{"still"}, 10s).value(), Message{"5"});
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

TEST_F(ReqRep, RunOnceFromAUserEventLoop) {
  Server server;
  server.on_request([](Request& r) { r.reply(Message{"loop"}); });
  server.bind(unix_url());
  std::atomic<bool> done{false};
  std::thread caller([&] {
    Client client(unix_url());
    auto reply = client.call(Message{"x"}, 10s);
    EXPECT_TRUE(reply && reply->text(0) == "loop");
    done = true;
  });
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    pollfd p{server.fd(), POLLIN, 0};
    ::poll(&p, 1, 50);
    ASSERT_TRUE(server.run_once(0ms));
  }
  caller.join();
  EXPECT_TRUE(done);
  server.stop();
}

TEST_F(ReqRep, NoDescriptorLeaks) {
  std::size_t before = test::open_fd_count();
  {
    Server server;
    server.on_request([](Request& r) { r.reply(r.body()); });
    server.bind(unix_url());
    auto t = server.bind("tcp://127.0.0.1:0");
    server.start();
    for (int i = 0; i < 20; ++i) {
      Client a(unix_url());
      Client b(t.url());
      ASSERT_TRUE(a.call(Message{"x"}, 10s));
      ASSERT_TRUE(b.call(Message{"y"}, 10s));
    }
  }
  EXPECT_EQ(test::open_fd_count(), before);
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
