// Z85 against RFC 32's vector and the zmq_curve(7) test keys; the CURVE mechanism between a
// client and a server: the handshake, metadata both ways, messages both ways with their flags,
// replayed, reordered and altered MESSAGEs, a wrong server key, a refused client key, and every
// handshake command cut short or grown.
#include "wire/curve.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "wire/socket_type.hpp"

namespace ipcx::wire {
namespace {

using Step = CurveMechanism::Step;

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

TEST(Z85, EncodesAndDecodesTheRfcVector) {
  const std::uint8_t raw[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
  auto frame = std::as_bytes(std::span(raw));
  EXPECT_EQ(z85_encode(frame), "HelloWorld");
  auto back = z85_decode("HelloWorld");
  ASSERT_TRUE(back);
  EXPECT_TRUE(std::equal(back->begin(), back->end(), frame.begin(), frame.end()));
}

TEST(Z85, RefusesWhatIsNotZ85) {
  EXPECT_FALSE(z85_decode("Hell"));         // not a multiple of 5
  EXPECT_FALSE(z85_decode("Hello Worl"));   // a space is not in the alphabet
  EXPECT_FALSE(z85_decode("#####"));        // above 2^32 - 1
  EXPECT_EQ(z85_encode(bytes("abc")), "");  // not a multiple of 4
  EXPECT_FALSE(z85_key("HelloWorld"));      // not 40 characters
}

// zmq_curve(7)'s test keys: each secret key gives its public key.
TEST(Z85, TheTestKeysOfZmqCurveBelongTogether) {
  struct Pair {
    const char* public_key;
    const char* secret_key;
  } pairs[] = {
      {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"},
      {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"}};
  for (const auto& p : pairs) {
    auto secret = z85_key(p.secret_key);
    ASSERT_TRUE(secret);
    EXPECT_EQ(z85_key(curve_public_of(*secret)), p.public_key);
  }
}

// The body of each ZMTP frame in `out` (command or not), in order; `out` is emptied.
std::vector<std::vector<std::byte>> frames_of(ByteQueue& out, std::vector<std::uint8_t>* flags) {
  std::vector<std::vector<std::byte>> bodies;
  auto all = out.readable();
  std::size_t at = 0;
  while (at < all.size()) {
    auto f = static_cast<std::uint8_t>(all[at]);
    std::size_t size = 0;
    std::size_t header = (f & kFlagLong) ? 9 : 2;
    for (std::size_t i = 1; i < header; ++i)
      size = (size << 8) | static_cast<std::uint8_t>(all[at + i]);
    bodies.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(at + header),
                        all.begin() + static_cast<std::ptrdiff_t>(at + header + size));
    if (flags) flags->push_back(f);
    at += header + size;
  }
  out.consume(all.size());
  return bodies;
}

std::vector<std::byte> only_frame(ByteQueue& out) {
  auto frames = frames_of(out, nullptr);
  EXPECT_EQ(frames.size(), 1u);
  return frames.empty() ? std::vector<std::byte>{} : frames[0];
}

struct Pair {
  CurveKeyPair server_keys = curve_key_pair();
  CurveKeyPair client_keys = curve_key_pair();
  CurveMechanism client{client_config()};
  CurveMechanism server{server_config()};
  bool admit_client = true;
  ByteQueue to_server, to_client;
  std::vector<std::byte> hello, welcome, initiate, ready;

  CurveConfig client_config() {
    CurveConfig c;
    c.server_public = server_keys.public_key;
    c.ours = client_keys;
    c.have_ours = true;
    return c;
  }
  CurveConfig server_config() {
    CurveConfig c;
    c.as_server = true;
    c.server_public = server_keys.public_key;
    c.ours = server_keys;
    c.have_ours = true;
    c.admit = [this](const CurveKey& k) { return admit_client && k == client_keys.public_key; };
    return c;
  }
  // Runs the handshake, keeping each command's body.
  bool handshake() {
    client.start(to_server);
    hello = only_frame(to_server);
    if (server.on_command(hello, bytes("server-meta"), to_client) != Step::more) return false;
    welcome = only_frame(to_client);
    if (client.on_command(welcome, bytes("client-meta"), to_server) != Step::more) return false;
    initiate = only_frame(to_server);
    if (server.on_command(initiate, bytes("server-meta"), to_client) != Step::ready) return false;
    ready = only_frame(to_client);
    return client.on_command(ready, {}, to_server) == Step::ready;
  }
};

TEST(CurveMechanism, HandshakeThenMessagesBothWays) {
  Pair p;
  ASSERT_TRUE(p.handshake()) << p.client.error_detail() << p.server.error_detail();
  EXPECT_EQ(p.hello.size(), 200u);
  EXPECT_EQ(p.welcome.size(), 168u);
  EXPECT_EQ(p.initiate.size(), 257u + std::string_view("client-meta").size());
  EXPECT_EQ(p.client.peer_metadata().size(), 11u);
  EXPECT_EQ(std::memcmp(p.client.peer_metadata().data(), "server-meta", 11), 0);
  EXPECT_EQ(std::memcmp(p.server.peer_metadata().data(), "client-meta", 11), 0);
  EXPECT_EQ(p.server.client_key(), p.client_keys.public_key);

  p.client.seal(p.to_server, bytes("first"), 1);
  p.client.seal(p.to_server, bytes(""), 0);
  std::vector<std::uint8_t> outer;
  auto boxed = frames_of(p.to_server, &outer);
  ASSERT_EQ(boxed.size(), 2u);
  EXPECT_EQ(outer[0], 0);  // the outer frame is a plain one, as libzmq sends it
  std::span<const std::byte> frame;
  std::uint8_t flags = 9;
  ASSERT_TRUE(p.server.open(boxed[0], frame, flags));
  EXPECT_EQ(flags, 1);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(frame.data()), frame.size()), "first");
  ASSERT_TRUE(p.server.open(boxed[1], frame, flags));
  EXPECT_EQ(flags, 0);
  EXPECT_TRUE(frame.empty());

  p.server.seal(p.to_client, bytes("\x04PING"), 2);
  auto back = frames_of(p.to_client, nullptr);
  ASSERT_TRUE(p.client.open(back[0], frame, flags));
  EXPECT_EQ(flags, 2);
}

TEST(CurveMechanism, ReplayedReorderedAndAlteredMessagesAreRefused) {
  for (int fault = 0; fault < 3; ++fault) {
    Pair p;
    ASSERT_TRUE(p.handshake());
    p.client.seal(p.to_server, bytes("one"), 0);
    p.client.seal(p.to_server, bytes("two"), 0);
    auto boxed = frames_of(p.to_server, nullptr);
    std::span<const std::byte> frame;
    std::uint8_t flags = 0;
    if (fault == 0) {  // replayed
      ASSERT_TRUE(p.server.open(boxed[0], frame, flags));
      EXPECT_FALSE(p.server.open(boxed[0], frame, flags));
    } else if (fault == 1) {  // reordered
      ASSERT_TRUE(p.server.open(boxed[1], frame, flags));
      EXPECT_FALSE(p.server.open(boxed[0], frame, flags));
    } else {  // one bit of the box altered
      boxed[0].back() ^= std::byte{1};
      EXPECT_FALSE(p.server.open(boxed[0], frame, flags));
    }
    EXPECT_EQ(p.server.error(), Errc::protocol_violation);
    EXPECT_FALSE(p.server.open(boxed[1], frame, flags)) << "a failed mechanism stays failed";
  }
}

TEST(CurveMechanism, MalformedMessagesAreRefused) {
  auto refused = [](auto mutate, const char* what) {
    Pair p;
    ASSERT_TRUE(p.handshake());
    p.client.seal(p.to_server, bytes("body"), 0);
    auto boxed = frames_of(p.to_server, nullptr)[0];
    mutate(p, boxed);
    std::span<const std::byte> frame;
    std::uint8_t flags = 0;
    EXPECT_FALSE(p.server.open(boxed, frame, flags)) << what;
    EXPECT_EQ(p.server.error(), Errc::protocol_violation) << what;
  };
  refused([](Pair&, std::vector<std::byte>& b) { b.resize(32); }, "shorter than a MESSAGE");
  refused([](Pair&, std::vector<std::byte>& b) { b[1] = std::byte{'m'}; }, "not named MESSAGE");
  refused([](Pair&, std::vector<std::byte>& b) { b[15] ^= std::byte{1}; }, "another nonce");
  refused(
      [](Pair& p, std::vector<std::byte>& b) {
        p.client.seal(p.to_server, bytes("body"), 4);  // a reserved flag, boxed genuinely
        b = frames_of(p.to_server, nullptr)[0];
      },
      "a reserved flag");
}

TEST(CurveMechanism, AWrongServerKeyFailsAtTheServersFirstCommand) {
  Pair p;
  CurveConfig wrong = p.client_config();
  wrong.server_public = curve_key_pair().public_key;
  CurveMechanism client(wrong);
  client.start(p.to_server);
  auto hello = only_frame(p.to_server);
  EXPECT_EQ(p.server.on_command(hello, {}, p.to_client), Step::error);
  EXPECT_EQ(p.server.error(), Errc::auth_failed);
  EXPECT_TRUE(p.to_client.empty()) << "nothing goes back to a client that cannot prove anything";
}

TEST(CurveMechanism, ARefusedClientKeyGetsAnErrorAndNoReady) {
  Pair p;
  p.admit_client = false;
  EXPECT_FALSE(p.handshake());
  EXPECT_EQ(p.server.error(), Errc::auth_failed);
  EXPECT_NE(p.server.error_detail().find(z85_key(p.client_keys.public_key)), std::string::npos);
  auto answer = only_frame(p.to_client);
  ASSERT_FALSE(answer.empty());
  EXPECT_EQ(std::memcmp(answer.data(),
                        "\x05"
                        "ERROR",
                        6),
            0);
}

TEST(CurveMechanism, EveryHandshakeCommandCutShortOrGrownIsRefused) {
  Pair reference;
  ASSERT_TRUE(reference.handshake());
  // HELLO and WELCOME have fixed sizes; INITIATE and READY have a minimum.
  for (int which = 0; which < 4; ++which) {
    for (int delta : {-1, +1, -40}) {
      Pair p;
      p.client.start(p.to_server);
      auto hello = only_frame(p.to_server);
      auto cut = [&](std::vector<std::byte> v) {
        auto less = static_cast<std::size_t>(-delta);
        if (delta < 0) {
          v.resize(v.size() > less ? v.size() - less : 0);
        } else {
          v.push_back(std::byte{0});
        }
        return v;
      };
      Step got = Step::more;
      if (which == 0) {
        got = p.server.on_command(cut(hello), {}, p.to_client);
      } else {
        ASSERT_EQ(p.server.on_command(hello, {}, p.to_client), Step::more);
        auto welcome = only_frame(p.to_client);
        if (which == 1) {
          got = p.client.on_command(cut(welcome), {}, p.to_server);
        } else {
          ASSERT_EQ(p.client.on_command(welcome, {}, p.to_server), Step::more);
          auto initiate = only_frame(p.to_server);
          if (which == 2) {
            got = p.server.on_command(cut(initiate), {}, p.to_client);
          } else {
            ASSERT_EQ(p.server.on_command(initiate, {}, p.to_client), Step::ready);
            got = p.client.on_command(cut(only_frame(p.to_client)), {}, p.to_server);
          }
        }
      }
      EXPECT_EQ(got, Step::error) << "command " << which << " changed by " << delta;
    }
  }
}

}  // namespace
}  // namespace ipcx::wire
