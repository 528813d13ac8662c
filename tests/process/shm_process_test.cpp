// shm:// across real processes: many client processes, kill -9 of the server mid-call (kill -9
// of a client mid-send is in restart_test, for every mechanism), a wake-up stress test in
// sleep-only and minimal-spin modes, and hostile peers (garbage ring indices; an unsealed or
// undersized memfd; a subscriber writing the broadcast ring or lying about its place in it).
// Nothing may hang, crash or leak.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/eventually.hpp"
#include "support/fd_count.hpp"
#include "support/server_child.hpp"
#include "transport/shm/ring.hpp"
#include "wire/shm_hello.hpp"
#include "wire/socket_type.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;
using test::eventually;

std::string unique_name(const char* what) {
  static int counter = 0;
  return std::string("ipcx-ptest-") + what + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(++counter);
}

using test::echo_server;

TEST(ShmProcess, ManyClientProcessesOneServer) {
  std::string url = "shm://" + unique_name("many");
  Child server = echo_server(url);
  ASSERT_EQ(server.read_line(), "bound");
  std::vector<Child> clients;
  for (int c = 0; c < 6; ++c) {
    clients.push_back(Child::fork([url, c] {
      Client client(url);
      for (int i = 0; i < 500; ++i) {
        std::string body = std::to_string(c) + ":" + std::to_string(i);
        auto reply = client.call(Message{body}, 20s);
        if (!reply || reply->text(0) != body) return 1;
      }
      return 0;
    }));
  }
  for (auto& c : clients) EXPECT_EQ(c.wait(), 0);
}

TEST(ShmProcess, ServerKilledMidCallThenRestarted) {
  std::size_t fds_before = test::open_fd_count();
  std::string url = "shm://" + unique_name("kill");
  {
    Child server = echo_server(url, true);
    ASSERT_EQ(server.read_line(), "bound");
    Client client(url);
    test::expect_call_fails_when_server_killed(server, client);

    Child restarted = echo_server(url);
    ASSERT_EQ(restarted.read_line(), "bound");
    auto reply = client.call(Message{"again"}, 20s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    EXPECT_EQ(*reply, Message{"again"});
  }
  // Client, links and memfd mappings are all gone with their owners.
  EXPECT_EQ(test::open_fd_count(), fds_before);
}

// Two processes ping-pong many messages; a lost wake-up would hang one side past its deadline.
void stress(std::chrono::microseconds spin, int round_trips) {
  std::string url = "shm://" + unique_name("stress");
  Child server = echo_server(url, false, spin);
  ASSERT_EQ(server.read_line(), "bound");
  Child client = Child::fork([url, spin, round_trips] {
    ClientOptions options;
    options.spin = spin;
    Client c(url, options);
    for (int i = 0; i < round_trips; ++i) {
      if (!c.call(Message{"s"}, 30s)) return 1;
    }
    // Also pipelined: both rings busy in both directions at once.
    for (int i = 0; i < round_trips; i += 64) {
      for (int k = 0; k < 64; ++k) {
        if (!c.send(Message{"p"})) return 2;
      }
      for (int k = 0; k < 64; ++k) {
        if (!c.receive(30s)) return 3;
      }
    }
    return 0;
  });
  auto status = client.wait_for(10min);
  ASSERT_TRUE(status.has_value()) << "ping-pong hung";
  EXPECT_EQ(*status, 0);
}

int stress_round_trips() {
  const char* n = std::getenv("IPCX_STRESS_ROUND_TRIPS");
  return n ? std::atoi(n) : (test::kSanitized ? 20000 : 1000000);
}

TEST(ShmProcess, WakeUpStressSleepOnly) { stress(0us, stress_round_trips() / 4); }
TEST(ShmProcess, WakeUpStressShortestSpin) { stress(1us, stress_round_trips()); }

// The abstract rendezvous address ipcx uses for shm://NAME.
std::pair<sockaddr_un, socklen_t> rendezvous_address(const std::string& name) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::string abstract = "ipcx-shm-" + std::to_string(::geteuid()) + "-" + name;
  std::memcpy(a.sun_path + 1, abstract.data(), abstract.size());
  return {a, static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract.size())};
}

// A raw shm client: completes the handshake like ipcx, then does what the test wants.
struct RawShmClient {
  int sock = -1;
  void* map = nullptr;
  std::size_t map_size = 0;
  std::size_t capacity = 0;
  int memfd = -1;

  explicit RawShmClient(const std::string& name, wire::SocketType type = wire::SocketType::dealer) {
    sock = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    auto [a, len] = rendezvous_address(name);
    ::connect(sock, reinterpret_cast<sockaddr*>(&a), len);
    std::byte hello[wire::kShmHelloSize];
    wire::ShmHello ours;
    ours.socket_type = static_cast<std::uint8_t>(type) + 1;
    wire::write_shm_hello(hello, ours);
    ::send(sock, hello, sizeof hello, MSG_NOSIGNAL);
    std::byte answer[wire::kShmHelloSize];
    iovec iov{answer, sizeof answer};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != sizeof answer) return;
    std::memcpy(&memfd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof memfd);
    auto h = wire::read_shm_hello(answer);
    capacity = h->ring_bytes;
    map_size = transport::ring_pair_bytes(capacity);
    map = ::mmap(nullptr, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  }
  ~RawShmClient() {
    if (map) ::munmap(map, map_size);
    ::close(memfd);
    ::close(sock);
  }
  transport::RingControl* request_ring() { return transport::ring_control(map, 0); }
  std::byte* request_data() { return transport::ring_data(map, capacity, 0); }
  // Ours: where a subscriber keeps its broadcast position.
  transport::RingControl* reply_ring() { return transport::ring_control(map, 1); }
  void ring_server() {
    char bell = 1;
    (void)::send(sock, &bell, 1, MSG_NOSIGNAL);
  }
};

// An echo server on shm://NAME in this process, sleeping rather than spinning, so that a
// hostile client's doings reach it by doorbells.
std::unique_ptr<Server> sleeping_echo_server(const std::string& name) {
  ServerOptions options;
  options.spin = 0us;
  auto server = std::make_unique<Server>(options);
  server->on_request([](Request& r) { r.reply(r.body()); });
  server->bind("shm://" + name);
  server->start();
  return server;
}

TEST(ShmHostile, GarbageInTheRingClosesThatLinkOnly) {
  std::string name = unique_name("garbage");
  auto server = sleeping_echo_server(name);
  Client good("shm://" + name);
  ASSERT_TRUE(good.call(Message{"before"}, 10s));
  auto attack = [&](auto&& scribble) {
    auto faults = server->stats().peer_faults;
    RawShmClient raw(name);
    ASSERT_NE(raw.map, nullptr);
    scribble(raw);
    raw.ring_server();
    EXPECT_TRUE(eventually([&] { return server->stats().peer_faults == faults + 1; }));
    auto reply = good.call(Message{"still served"}, 10s);
    ASSERT_TRUE(reply) << to_string(reply.error());
  };
  // A tail index far ahead of anything the ring can hold.
  attack([](RawShmClient& c) { c.request_ring()->tail.store(std::uint64_t{1} << 40); });
  // A record length past the end of the ring.
  attack([](RawShmClient& c) {
    auto* data = c.request_data();
    std::uint32_t len = 0x7fffffff;
    std::memcpy(data, &len, 4);
    c.request_ring()->tail.store(64);
  });
  // A plausible record whose fragment header is garbage.
  attack([](RawShmClient& c) {
    auto* data = c.request_data();
    std::uint32_t len = 40;
    std::memcpy(data, &len, 4);
    std::memset(data + 4, 0xab, 40);
    c.request_ring()->tail.store(transport::record_size(40));
  });
}

// After the handshake only one-byte doorbells may travel on the socket. A flood of them is
// taken in batches and harms nobody; anything else closes that link only, as a violation.
TEST(ShmHostile, OnlyDoorbellsMayFollowTheHandshakeOnTheSocket) {
  std::string name = unique_name("socket");
  auto server = sleeping_echo_server(name);
  Client good("shm://" + name);
  ASSERT_TRUE(good.call(Message{"before"}, 10s));
  auto faults = server->stats().peer_faults;
  {
    RawShmClient flood(name);
    ASSERT_NE(flood.map, nullptr);
    char bell = 1;
    for (int i = 0; i < 10000; ++i) {
      if (::send(flood.sock, &bell, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1) break;  // full: fine
    }
    ASSERT_TRUE(good.call(Message{"during the flood"}, 10s));
    EXPECT_EQ(server->stats().peer_faults, faults);
    RawShmClient liar(name);
    ASSERT_NE(liar.map, nullptr);
    const char not_a_bell[] = "hello";
    ASSERT_EQ(::send(liar.sock, not_a_bell, sizeof not_a_bell, MSG_NOSIGNAL),
              static_cast<ssize_t>(sizeof not_a_bell));
    EXPECT_TRUE(eventually([&] { return server->stats().peer_faults == faults + 1; }));
    ASSERT_TRUE(good.call(Message{"still served"}, 10s));
  }
  EXPECT_EQ(server->stats().peer_faults, faults + 1);
}

// A hostile server: accepts one shm client and hands it a memfd that is unsealed or too small.
void hostile_server(const std::string& name, bool seal, std::size_t size) {
  int listener = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  auto [a, len] = rendezvous_address(name);
  ::bind(listener, reinterpret_cast<sockaddr*>(&a), len);
  ::listen(listener, 4);
  std::printf("bound\n");
  std::fflush(stdout);
  int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  std::byte hello[wire::kShmHelloSize];
  (void)::recv(conn, hello, sizeof hello, 0);
  int memfd = ::memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  (void)::ftruncate(memfd, static_cast<off_t>(size));
  if (seal) ::fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  int fds[1] = {memfd};
  wire::write_shm_hello(hello, {wire::kShmVersion, wire::ShmStatus::ok, 1u << 20,
                                static_cast<std::uint8_t>(wire::SocketType::router) + 1});
  iovec iov{hello, sizeof hello};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof fds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  std::memcpy(CMSG_DATA(c), fds, sizeof fds);
  (void)::sendmsg(conn, &msg, MSG_NOSIGNAL);
  ::pause();
}

TEST(ShmHostile, UnsealedOrUndersizedMemoryIsRefused) {
  std::size_t right = transport::ring_pair_bytes(1u << 20);
  for (auto [seal, size] : {std::pair{false, right}, std::pair{true, right / 2}}) {
    std::string name = unique_name("hostile");
    Child evil = Child::fork([name, seal, size] {
      hostile_server(name, seal, size);
      return 0;
    });
    ASSERT_EQ(evil.read_line(), "bound");
    ClientOptions options;
    std::string log;
    options.log = [&](std::string_view line) { log += std::string(line) + "\n"; };
    Client client("shm://" + name, options);
    EXPECT_FALSE(client.call(Message{"x"}, 500ms)) << "a hostile memfd was accepted";
    EXPECT_NE(log.find(seal ? "wrong size" : "not sealed"), std::string::npos) << log;
  }
}

// A subscriber that tries to write the publisher's broadcast ring, then lies about how far it
// has read: it cannot map the ring writable, and the lie closes its link only, releasing a
// lossless publisher that it held up, while a good subscriber process misses nothing.
TEST(ShmHostile, SubscriberCannotWriteTheBroadcastRingNorLieAboutItsPosition) {
  std::string name = unique_name("liar");
  SocketOptions options;
  options.lossless = true;
  options.shm_ring_bytes = 64 * 1024;
  Publisher pub(options);
  pub.bind("shm://" + name);
  constexpr int kMessages = 20000;
  Child good = Child::fork([name] {
    Subscriber sub;
    sub.connect("shm://" + name);
    sub.subscribe("");
    for (int i = 0; i < kMessages; ++i) {
      auto m = sub.receive(60s);
      if (!m || m->str(1) != std::to_string(i)) return 1;
    }
    return 0;
  });
  // The publisher answers only while it is driven: the raw handshake runs beside it.
  std::unique_ptr<RawShmClient> connecting;
  std::atomic<bool> connected{false};
  std::thread handshake([&] {
    connecting = std::make_unique<RawShmClient>(name, wire::SocketType::sub);
    connected = true;
  });
  while (!connected) pub.poll();
  handshake.join();
  RawShmClient& raw = *connecting;
  ASSERT_NE(raw.map, nullptr);
  // The offer: 24 bytes and the ring's memfd.
  std::byte offer[wire::kShmOfferSize];
  iovec iov{offer, sizeof offer};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ASSERT_EQ(::recvmsg(raw.sock, &msg, MSG_CMSG_CLOEXEC), static_cast<ssize_t>(sizeof offer));
  int ring;
  std::memcpy(&ring, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof ring);
  auto o = wire::read_shm_offer(offer);
  ASSERT_TRUE(o);
  std::size_t size = 128 + o->ring_bytes;
  EXPECT_EQ(::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, ring, 0), MAP_FAILED);
  EXPECT_EQ(::write(ring, "x", 1), -1);
  void* readable = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, ring, 0);
  EXPECT_NE(readable, MAP_FAILED);
  ::munmap(readable, size);
  ::close(ring);
  ASSERT_TRUE(eventually([&] {
    pub.poll();
    return pub.subscribers() == 1 && pub.stats().ready == 2;
  }));
  // It never reads, so it holds the publisher up once the ring is full, until the lie.
  raw.reply_ring()->broadcast_cursor.store(std::uint64_t{1} << 40);
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(pub.publish(Message{"t", std::to_string(i)}));
  }
  EXPECT_EQ(pub.stats().peer_faults, 1u);
  EXPECT_EQ(good.wait(), 0);
}

}  // namespace
}  // namespace ipcx
