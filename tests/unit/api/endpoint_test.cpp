// Endpoint parser: every scheme, ZeroMQ's forms, and each malformed input named in its error.
#include "ipcx/endpoint.hpp"

#include <gtest/gtest.h>

namespace ipcx {
namespace {

std::string fault_of(std::string_view url) {
  std::string why;
  auto ep = Endpoint::try_parse(url, &why);
  EXPECT_FALSE(ep.has_value()) << url;
  return why;
}

TEST(Endpoint, TcpHostAndPort) {
  auto ep = Endpoint::parse("tcp://127.0.0.1:5555");
  EXPECT_EQ(ep.scheme, "tcp");
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 5555);
  EXPECT_EQ(ep.url(), "tcp://127.0.0.1:5555");
}

TEST(Endpoint, ZeroMqWildcards) {
  auto any_iface = Endpoint::parse("tcp://*:7000");
  EXPECT_TRUE(any_iface.host.empty());
  EXPECT_EQ(any_iface.port, 7000);
  EXPECT_EQ(any_iface.url(), "tcp://*:7000");
  auto any_port = Endpoint::parse("tcp://127.0.0.1:*");
  EXPECT_EQ(any_port.port, 0);
  EXPECT_EQ(Endpoint::parse("tcp://localhost:0").host, "localhost");
}

TEST(Endpoint, Ipv6InBrackets) {
  auto ep = Endpoint::parse("tcp://[::1]:80");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 80);
  EXPECT_EQ(ep.url(), "tcp://[::1]:80");
  EXPECT_EQ(Endpoint::parse("udp://[fe80::1%lo]:9").host, "fe80::1%lo");
}

TEST(Endpoint, UnixPathsAndAbstractNames) {
  auto path = Endpoint::parse("unix:///tmp/x.sock");
  EXPECT_EQ(path.scheme, "unix");
  EXPECT_EQ(path.path, "/tmp/x.sock");
  EXPECT_FALSE(path.abstract);
  auto alias = Endpoint::parse("ipc:///tmp/x.sock");
  EXPECT_EQ(alias, path);
  auto abstract = Endpoint::parse("unix://@name");
  EXPECT_TRUE(abstract.abstract);
  EXPECT_EQ(abstract.path, "name");
  EXPECT_EQ(abstract.url(), "unix://@name");
  EXPECT_EQ(Endpoint::parse("unix://relative.sock").path, "relative.sock");
}

TEST(Endpoint, OtherSchemes) {
  EXPECT_EQ(Endpoint::parse("shm://orders").path, "orders");
  EXPECT_EQ(Endpoint::parse("shm:///run/ipcx/orders.sock").path, "/run/ipcx/orders.sock");
  EXPECT_EQ(Endpoint::parse("udp://127.0.0.1:9000").scheme, "udp");
  EXPECT_EQ(Endpoint::parse("pipe:///tmp/fifo").path, "/tmp/fifo");
  EXPECT_EQ(Endpoint::parse("mq://jobs").path, "jobs");
  EXPECT_EQ(Endpoint::parse("stdio://").scheme, "stdio");
  EXPECT_EQ(Endpoint::parse("stdio://").url(), "stdio://");
}

TEST(Endpoint, RoundTripsThroughUrl) {
  for (const char* url : {"tcp://10.1.2.3:1", "udp://[::1]:65535", "unix://@a.b", "mq://q",
                          "pipe://rel/path", "shm://n", "stdio://", "tcp://*:0"}) {
    EXPECT_EQ(Endpoint::parse(Endpoint::parse(url).url()), Endpoint::parse(url)) << url;
  }
}

TEST(Endpoint, MalformedInputsNameTheFault) {
  EXPECT_NE(fault_of("127.0.0.1:80").find("SCHEME://"), std::string::npos);
  EXPECT_NE(fault_of("http://x:1").find("unknown scheme 'http'"), std::string::npos);
  EXPECT_NE(fault_of("tcp://127.0.0.1").find("port is missing"), std::string::npos);
  EXPECT_NE(fault_of("tcp://127.0.0.1:").find("port is missing"), std::string::npos);
  EXPECT_NE(fault_of("tcp://127.0.0.1:70000").find("out of range"), std::string::npos);
  EXPECT_NE(fault_of("tcp://127.0.0.1:8x").find("not a number"), std::string::npos);
  EXPECT_NE(fault_of("tcp://:80").find("host is empty"), std::string::npos);
  EXPECT_NE(fault_of("tcp://::1:80").find("brackets"), std::string::npos);
  EXPECT_NE(fault_of("tcp://[::1:80").find("closing ']'"), std::string::npos);
  EXPECT_NE(fault_of("tcp://a b:80").find("invalid character"), std::string::npos);
  EXPECT_NE(fault_of("unix://").find("empty"), std::string::npos);
  EXPECT_NE(fault_of("unix://@").find("empty"), std::string::npos);
  EXPECT_NE(fault_of("unix:///" + std::string(200, 'x')).find("the limit is 107"),
            std::string::npos);
  EXPECT_NE(fault_of("unix://@" + std::string(107, 'x')).find("the limit is 106"),
            std::string::npos);
  EXPECT_NE(fault_of(std::string("unix:///a\0b", 11)).find("NUL"), std::string::npos);
  EXPECT_NE(fault_of("mq://a/b").find("only letters"), std::string::npos);
  EXPECT_NE(fault_of("shm://" + std::string(81, 'n')).find("limit is 80"), std::string::npos);
  EXPECT_NE(fault_of("stdio://x").find("nothing after"), std::string::npos);
}

TEST(Endpoint, ParseThrowsErrorNamingTheUrl) {
  try {
    Endpoint::parse("tcp://host:99999");
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.errc(), Errc::bad_endpoint);
    EXPECT_EQ(e.endpoint(), "tcp://host:99999");
    EXPECT_NE(std::string(e.what()).find("tcp://host:99999"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos);
  }
}

}  // namespace
}  // namespace ipcx
