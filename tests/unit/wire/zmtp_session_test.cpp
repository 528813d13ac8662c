// ZMTP session: handshake between two sessions, socket-type pairing, greeting faults, PING/PONG,
// messages held until READY, the request-id announcement.
#include "wire/zmtp_session.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "wire/zmtp_encoder.hpp"

namespace ipcx::wire {
namespace {

using Event = ZmtpSession::Event;

// Moves everything a's output holds into b; returns the messages b completed.
std::vector<Message> pump(ZmtpSession& from, ZmtpSession& to, Event* last = nullptr) {
  std::vector<Message> got;
  auto& out = from.output();
  while (!out.empty()) {
    std::size_t used = 0;
    Event e = to.feed(out.readable(), used);
    out.consume(used);
    if (last) *last = e;
    if (e == Event::message) got.push_back(std::move(to.message()));
    if (e == Event::error) break;
  }
  return got;
}

TEST(ZmtpSession, DealerAndRouterExchangeMessages) {
  ZmtpSession dealer({SocketType::dealer, "", 1 << 20});
  ZmtpSession router({SocketType::router, "", 1 << 20});
  // Sent before the handshake: held back until the router's READY arrives.
  ASSERT_TRUE(dealer.send(Message{"", "early"}, Message{}));
  EXPECT_FALSE(dealer.ready());
  auto at_router = pump(dealer, router);
  EXPECT_TRUE(at_router.empty());
  EXPECT_TRUE(router.ready());
  EXPECT_EQ(router.peer_type(), SocketType::dealer);
  pump(router, dealer);
  EXPECT_TRUE(dealer.ready());
  at_router = pump(dealer, router);
  ASSERT_EQ(at_router.size(), 1u);
  EXPECT_EQ(at_router[0], (Message{"", "early"}));
  ASSERT_TRUE(router.send(Message{""}, Message{"reply", "two"}));
  auto at_dealer = pump(router, dealer);
  ASSERT_EQ(at_dealer.size(), 1u);
  EXPECT_EQ(at_dealer[0], (Message{"", "reply", "two"}));
}

TEST(ZmtpSession, OnlyAnAnnouncingPeerTakesRequestIds) {
  ZmtpSession dealer({SocketType::dealer, "", 1 << 20});
  ZmtpSession server({SocketType::router, "", 1 << 20, true});
  ZmtpSession broker({SocketType::router, "", 1 << 20});  // a libzmq ROUTER's READY
  ZmtpSession dealer2({SocketType::dealer, "", 1 << 20});
  pump(dealer, server);
  pump(server, dealer);
  pump(dealer2, broker);
  pump(broker, dealer2);
  ASSERT_TRUE(dealer.ready() && dealer2.ready());
  EXPECT_TRUE(dealer.peer_takes_request_ids());
  EXPECT_FALSE(dealer2.peer_takes_request_ids());
  EXPECT_FALSE(server.peer_takes_request_ids());  // the client announces nothing
}

TEST(ZmtpSession, AStagedGreetingWaitsForThePeersMechanism) {
  ZmtpSession dealer({SocketType::dealer, "", 1 << 20, false, true});
  EXPECT_EQ(dealer.output().size(), 11u);  // signature and major version only
  ZmtpSession router({SocketType::router, "", 1 << 20});
  pump(dealer, router);
  pump(router, dealer);  // the router's greeting names NULL: the dealer sends the rest
  ASSERT_TRUE(dealer.ready());
  pump(dealer, router);
  EXPECT_TRUE(router.ready());
  ASSERT_TRUE(dealer.send(Message{"", "x"}, Message{}));
  auto got = pump(dealer, router);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (Message{"", "x"}));
}

TEST(ZmtpSession, AStagedGreetingLearnsWhichMechanismThePeerRequires) {
  ZmtpSession dealer({SocketType::dealer, "", 1 << 20, false, true});
  dealer.output().consume(dealer.output().size());
  auto curve = make_greeting();
  std::memcpy(&curve[12], "CURVE", 5);
  std::size_t used = 0;
  EXPECT_EQ(dealer.feed(curve, used), Event::error);
  EXPECT_EQ(dealer.error(), Errc::auth_failed);
  EXPECT_NE(dealer.error_detail().find("requires security mechanism CURVE"), std::string::npos);
  EXPECT_TRUE(dealer.output().empty());  // nothing of ours beyond the version went out
}

TEST(ZmtpSession, AHangupAfterTheSignatureIsExplained) {
  ZmtpSession router({SocketType::router, "", 1 << 20});
  EXPECT_EQ(router.hangup_reason().why, "");  // nothing came: nothing to tell
  auto g = make_greeting();
  std::size_t used = 0;
  router.feed(std::span(g).first(10), used);
  EXPECT_EQ(router.hangup_reason().code, Errc::auth_failed);
  EXPECT_NE(router.hangup_reason().why.find("CURVE or PLAIN"), std::string::npos);
  router.feed(std::span(g).subspan(10), used);
  EXPECT_EQ(router.hangup_reason().why, "");  // a whole NULL greeting came: some other reason
}

TEST(ZmtpSession, IllegalPairingIsRefusedWithAnErrorCommand) {
  ZmtpSession pub({SocketType::pub, "", 1 << 20});
  ZmtpSession router({SocketType::router, "", 1 << 20});
  Event last{};
  pump(pub, router, &last);
  EXPECT_EQ(last, Event::error);
  EXPECT_EQ(router.error(), Errc::protocol_violation);
  EXPECT_NE(router.error_detail().find("PUB"), std::string::npos);
  // The router queued an ERROR command after its own greeting and READY.
  auto out = router.output().readable();
  std::string text(reinterpret_cast<const char*>(out.data()), out.size());
  EXPECT_NE(text.find("\x05"
                      "ERROR"),
            std::string::npos);
  // A peer that is itself compatible reads that ERROR as a refusal.
  ZmtpSession strict_router({SocketType::router, "", 1 << 20});
  ZmtpSession dealer({SocketType::dealer, "", 1 << 20});
  strict_router.send_error("go away");
  pump(strict_router, dealer, &last);
  EXPECT_EQ(last, Event::error);
  EXPECT_EQ(dealer.error(), Errc::refused);
  EXPECT_NE(dealer.error_detail().find("go away"), std::string::npos);
}

// What a listener sends a peer whose uid it refuses: a greeting and ERROR "permission
// denied", which the peer reports as permission_denied rather than a plain refusal.
TEST(ZmtpSession, ListenerRefusalReadsAsPermissionDenied) {
  ByteQueue refusal;
  encode_refusal(refusal, kPermissionDeniedReason);
  ZmtpSession client({SocketType::dealer, "", 1 << 20});
  auto in = refusal.readable();
  Event last = Event::need_more;
  while (!in.empty() && last != Event::error) {
    std::size_t used = 0;
    last = client.feed(in, used);
    in = in.subspan(used);
  }
  EXPECT_EQ(last, Event::error);
  EXPECT_EQ(client.error(), Errc::permission_denied);
}

std::string greeting_fault(std::function<void(std::array<std::byte, 64>&)> mutate) {
  auto g = make_greeting();
  mutate(g);
  return check_greeting(g).why;
}

TEST(ZmtpSession, GreetingFaults) {
  EXPECT_EQ(check_greeting(make_greeting()).code, Errc::ok);
  EXPECT_NE(greeting_fault([](auto& g) { g[0] = std::byte{0x01}; }).find("signature"),
            std::string::npos);
  EXPECT_NE(greeting_fault([](auto& g) { g[9] = std::byte{0x7e}; }).find("signature"),
            std::string::npos);
  EXPECT_NE(greeting_fault([](auto& g) { g[10] = std::byte{2}; }).find("version 2"),
            std::string::npos);
  EXPECT_NE(greeting_fault([](auto& g) {
              std::memcpy(&g[12], "PLAIN", 5);
            }).find("the peer requires security mechanism PLAIN"),
            std::string::npos);
  auto curve = make_greeting();
  std::memcpy(&curve[12], "CURVE", 5);
  // No fault of the peer's: a socket without CURVE keys meets a CURVE peer.
  EXPECT_EQ(check_greeting(curve).code, Errc::auth_failed);
  EXPECT_EQ(check_greeting(make_greeting(), true).code, Errc::auth_failed);  // and back
  // libzmq's CURVE server says as-server 0: the role is not read from the greeting.
  EXPECT_EQ(check_greeting(make_greeting(true, false), true).code, Errc::ok);
  auto bad = curve;
  bad[0] = std::byte{0x01};
  EXPECT_EQ(check_greeting(bad).code, Errc::protocol_violation);
  EXPECT_NE(greeting_fault([](auto& g) { g[32] = std::byte{1}; }).find("as-server"),
            std::string::npos);
  // Higher versions are accepted (37/ZMTP), and a partial greeting is judged on what arrived.
  EXPECT_EQ(greeting_fault([](auto& g) { g[10] = std::byte{4}; }), "");
  auto g = make_greeting();
  EXPECT_EQ(check_greeting(std::span(g).first(5)).code, Errc::ok);
}

TEST(ZmtpSession, PingIsAnsweredWithPongCarryingTheContext) {
  ZmtpSession a({SocketType::dealer, "", 1 << 20});
  ZmtpSession b({SocketType::router, "", 1 << 20});
  pump(a, b);
  pump(b, a);
  ASSERT_TRUE(a.ready() && b.ready());
  ByteQueue ping;
  encode_command(
      ping, "PING",
      std::vector<std::byte>{std::byte{0}, std::byte{30}, std::byte{'c'}, std::byte{'x'}});
  std::size_t used = 0;
  EXPECT_EQ(b.feed(ping.readable(), used), Event::need_more);
  ByteQueue pong;
  encode_command(pong, "PONG", std::vector<std::byte>{std::byte{'c'}, std::byte{'x'}});
  auto out = b.output().readable();
  ASSERT_EQ(out.size(), pong.size());
  EXPECT_TRUE(std::equal(out.begin(), out.end(), pong.readable().begin()));
}

TEST(ZmtpSession, MessageBeforeReadyIsAViolation) {
  ZmtpSession b({SocketType::router, "", 1 << 20});
  ByteQueue in;
  in.append(make_greeting());
  encode_message(in, Message{"x"}, Message{});
  std::size_t used = 0;
  EXPECT_EQ(b.feed(in.readable(), used), Event::error);
  EXPECT_EQ(b.error(), Errc::protocol_violation);
}

TEST(ZmtpSession, SendAboveLimitIsRefused) {
  ZmtpSession a({SocketType::dealer, "", 10});
  EXPECT_TRUE(a.send(Message{"12345"}, Message{"67890"}));
  EXPECT_EQ(a.send(Message{"12345"}, Message{"678901"}).error(), Errc::message_too_large);
}

TEST(ZmtpSession, MalformedReadyProperties) {
  for (auto body : std::vector<std::vector<int>>{
           {5, 'R', 'E', 'A', 'D', 'Y'},                      // no Socket-Type
           {5, 'R', 'E', 'A', 'D', 'Y', 11, 'S'},             // name past the end
           {5, 'R', 'E', 'A', 'D', 'Y', 1, 'x', 0, 0, 1, 0},  // value past the end
           {5,   'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e', 't',
            '-', 'T', 'y', 'p', 'e', 0,   0,  0,   3,   'B', 'A', 'D'}}) {  // unknown type
    ZmtpSession b({SocketType::router, "", 1 << 20});
    ByteQueue in;
    in.append(make_greeting());
    std::vector<std::byte> data;
    for (int v : body) data.push_back(static_cast<std::byte>(v));
    encode_frame_header(in, data.size(), kFlagCommand);
    in.append(data);
    std::size_t used = 0;
    EXPECT_EQ(b.feed(in.readable(), used), Event::error);
    EXPECT_EQ(b.error(), Errc::protocol_violation);
  }
}

}  // namespace
}  // namespace ipcx::wire

namespace ipcx::wire {
namespace {

// Two sessions under CURVE: the handshake carries the properties, then every message, its
// frames, a PING and a subscription travel boxed; nothing readable crosses the wire.
struct CurvePair {
  CurveKeyPair server_keys = curve_key_pair();
  ZmtpConfig server_config(SocketType type) {
    ZmtpConfig c{type, "", 1 << 20};
    c.curve = CurveConfig{};
    c.curve->as_server = true;
    c.curve->server_public = server_keys.public_key;
    c.curve->ours = server_keys;
    c.curve->have_ours = true;
    return c;
  }
  ZmtpConfig client_config(SocketType type, CurveKey expected) {
    ZmtpConfig c{type, "", 1 << 20};
    c.curve = CurveConfig{};
    c.curve->server_public = expected;
    return c;
  }
};

std::string wire_text(ZmtpSession& s) {
  auto r = s.output().readable();
  return std::string(reinterpret_cast<const char*>(r.data()), r.size());
}

TEST(ZmtpSessionCurve, MessagesPingsAndSubscriptionsTravelBoxed) {
  CurvePair keys;
  ZmtpSession router(keys.server_config(SocketType::router));
  ZmtpSession dealer(keys.client_config(SocketType::dealer, keys.server_keys.public_key));
  ASSERT_TRUE(dealer.send(Message{"", "early secret"}, Message{}));  // held until ready
  for (int i = 0; i < 4 && !(router.ready() && dealer.ready()); ++i) {
    EXPECT_EQ(wire_text(dealer).find("secret"), std::string::npos);
    pump(dealer, router);
    pump(router, dealer);
  }
  ASSERT_TRUE(router.ready() && dealer.ready()) << router.error_detail() << dealer.error_detail();
  EXPECT_EQ(router.peer_type(), SocketType::dealer);
  ASSERT_TRUE(router.curve_client_key());
  EXPECT_EQ(wire_text(dealer).find("secret"), std::string::npos);
  auto got = pump(dealer, router);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (Message{"", "early secret"}));
  ASSERT_TRUE(router.send(Message{"a", "", "reply secret"}, Message{}));
  router.send_ping(30);
  EXPECT_EQ(wire_text(router).find("secret"), std::string::npos);
  EXPECT_EQ(wire_text(router).find("PING"), std::string::npos);
  got = pump(router, dealer);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (Message{"a", "", "reply secret"}));
  EXPECT_EQ(dealer.peer_ttl(), std::chrono::milliseconds(3000));
  EXPECT_FALSE(dealer.output().empty());  // the PONG, boxed
  pump(dealer, router);
  EXPECT_FALSE(router.failed());

  ZmtpSession pub(keys.server_config(SocketType::pub));
  ZmtpSession sub(keys.client_config(SocketType::sub, keys.server_keys.public_key));
  for (int i = 0; i < 4; ++i) {
    pump(sub, pub);
    pump(pub, sub);
  }
  ASSERT_TRUE(sub.ready() && pub.ready());
  ASSERT_TRUE(sub.send(Message{"\x01weather"}, Message{}));
  got = pump(sub, pub);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], Message{"\x01weather"});
}

TEST(ZmtpSessionCurve, AWrongServerKeyIsAuthFailedAndNothingIsSent) {
  CurvePair keys;
  ZmtpSession router(keys.server_config(SocketType::router));
  ZmtpSession dealer(keys.client_config(SocketType::dealer, curve_key_pair().public_key));
  ASSERT_TRUE(dealer.send(Message{"", "secret"}, Message{}));
  Event last = Event::need_more;
  pump(dealer, router, &last);
  EXPECT_EQ(last, Event::error);
  EXPECT_EQ(router.error(), Errc::auth_failed);
  EXPECT_EQ(wire_text(dealer).find("secret"), std::string::npos);
}

}  // namespace
}  // namespace ipcx::wire
