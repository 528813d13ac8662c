// udp:// is no amplifier: a server in another process (`ipcx serve --handler kv`) answers a
// 30-byte `get` from an address it has not validated with a challenge, not with the 30,000-byte
// value, and sends the value once the same request comes back with the address's cookie; a
// forged cookie is challenged again. An ipcx Client validates by itself and gets the value. A
// publisher streams nothing to a subscriber address until it proves itself the same way.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/raw_udp.hpp"
#include "wire/datagram_cookie.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;
using test::client_request;
using test::RawUdp;
using test::request_datagram;

std::vector<std::byte> with_trailer(std::vector<std::byte> d, const wire::Cookie& cookie) {
  std::size_t at = d.size();
  d.resize(at + wire::kCookieTrailerBytes);
  wire::write_cookie_trailer(d.data() + at, cookie);
  return d;
}

std::uint16_t port_of(const std::string& url) {
  return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

TEST(UdpValidation, ALargeReplyWaitsUntilTheAddressProvesItself) {
  Child server =
      Child::exec({IPCX_CLI_PATH, "serve", "--handler", "kv", "--bind", "udp://127.0.0.1:0"});
  auto line = server.read_line(30s).value_or("nothing");
  ASSERT_EQ(line.rfind("bound ", 0), 0u) << line;
  std::string url = line.substr(6);
  const std::string value(30000, 'v');

  Client client(url);  // validates itself when it must: the caller never sees it
  ASSERT_EQ(client.call(Message{"put", "big", value}, 20s).value(), Message{"OK"});
  auto got = client.call(Message{"get", "big"}, 20s);
  ASSERT_TRUE(got) << to_string(got.error());
  EXPECT_EQ(got->text(0), value);

  RawUdp raw(port_of(url));
  auto get = request_datagram(1, client_request({"get", "big"}));
  raw.send(get);
  auto answer = raw.receive_bytes();
  ASSERT_TRUE(answer);
  auto challenge = wire::read_challenge(*answer);
  ASSERT_TRUE(challenge) << "a " << answer->size() << "-byte answer to a " << get.size()
                         << "-byte request from an unvalidated address";
  EXPECT_EQ(challenge->request_id, 1u);
  EXPECT_LE(answer->size(), wire::kUnvalidatedFactor * get.size());

  wire::Cookie forged = challenge->cookie;
  forged[0] ^= std::byte{1};
  raw.send(with_trailer(get, forged));
  answer = raw.receive_bytes();
  ASSERT_TRUE(answer);
  EXPECT_TRUE(wire::read_challenge(*answer)) << "a forged cookie was taken";

  raw.send(with_trailer(get, challenge->cookie));
  Message reply = [&] {
    Message m;
    auto d = raw.receive_bytes();
    if (d) wire::CompactAssembler(1 << 20).feed(*d, m);
    return m;
  }();
  ASSERT_EQ(reply.size(), 3u);
  EXPECT_EQ(reply.text(2), value);

  // Small replies need no proof: at most three times the request.
  raw.send(request_datagram(2, client_request({"get", "none"})));
  Message small = raw.receive();
  ASSERT_EQ(small.size(), 3u);
  EXPECT_EQ(small.text(2).rfind("ERR", 0), 0u);
}

TEST(UdpValidation, APublisherStreamsOnlyToASubscriberThatProvedItsAddress) {
  Child publisher = Child::fork([] {
    Publisher pub;
    Endpoint bound = pub.bind("udp://127.0.0.1:0");
    std::printf("%u\n", bound.port);
    std::fflush(stdout);
    for (;;) {
      (void)pub.publish(Message{"t", std::string(1000, 'p')});
      std::this_thread::sleep_for(1ms);
    }
    return 0;
  });
  auto port = static_cast<std::uint16_t>(std::stoi(publisher.read_line(30s).value_or("0")));
  ASSERT_NE(port, 0);
  RawUdp raw(port);
  Message everything;
  everything.add(std::span<const std::byte>{std::array{std::byte{2}}});  // a subscriber's set
  everything.add("");
  auto state = request_datagram(1, everything);
  raw.send(state);
  // Only challenges come back to an address that has not answered one.
  std::optional<wire::Challenge> challenge;
  for (int i = 0; i < 5; ++i) {
    auto d = raw.receive_bytes(i == 0 ? 20s : 50ms);
    if (!d) break;
    auto c = wire::read_challenge(*d);
    ASSERT_TRUE(c) << "a " << d->size() << "-byte datagram to an unvalidated subscriber";
    challenge = c;
  }
  ASSERT_TRUE(challenge);
  raw.send(with_trailer(state, challenge->cookie));
  bool streamed = false;
  for (int i = 0; i < 100 && !streamed; ++i) {
    auto d = raw.receive_bytes(20s);
    ASSERT_TRUE(d);
    streamed = !wire::read_challenge(*d) && d->size() > 1000;
  }
  EXPECT_TRUE(streamed);
}

}  // namespace
}  // namespace ipcx
