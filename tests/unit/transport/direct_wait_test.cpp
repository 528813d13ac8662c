// DirectWait on socket links: a caller waiting for one reply sleeps in the link's own read.
// The wait ends with the message a peer process sends meanwhile (envelope split off), with the
// peer's hang-up, or at its timeout; a PING that arrives instead ends it with nothing, the PONG
// queued. Afterwards the socket, blocking now, still never blocks an ordinary read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "support/socket_link.hpp"
#include "transport/pipe_stream.hpp"
#include "transport/socket_stream.hpp"
#include "transport/stream_link.hpp"
#include "wire/socket_type.hpp"
#include "wire/zmtp_encoder.hpp"

namespace ipcx::transport {
namespace {

using namespace std::chrono_literals;

using Linked = test::SocketLink;

void write_all(int fd, std::span<const std::byte> bytes) {
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

// A socket link whose peer is this test, handshake done.
Linked linked() {
  Linked l = test::socket_link_pair();
  wire::ByteQueue hello;
  auto greeting = wire::make_greeting();
  hello.append(greeting);
  wire::encode_ready(hello, wire::SocketType::router, "");
  write_all(l.peer.get(), hello.readable());
  Message none;
  EXPECT_EQ(l.link->recv(none).status, Io::would_block);  // reads the handshake
  EXPECT_TRUE(l.link->established());
  EXPECT_EQ(l.link->flush().status, Io::ok);  // our greeting and READY
  char drain[512];
  EXPECT_GT(::read(l.peer.get(), drain, sizeof drain), 0);
  return l;
}

// A child process that waits a little, then runs `act` on the peer's socket and exits.
template <class Act>
pid_t later(Act act) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::usleep(50'000);
    act();
    ::_exit(0);
  }
  return pid;
}

void reap(pid_t pid) {
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(DirectWait, SocketLinksOfferItAndPipesDoNot) {
  Linked l = linked();
  EXPECT_NE(l.link->extensions().direct_wait, nullptr);
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  std::string why;
  auto stream = PipeStream::make(Fd(fds[0]), Fd(fds[1]), PeerInfo{}, why);
  ASSERT_NE(stream, nullptr) << why;
  auto pipe = make_stream_link(std::move(stream), {});
  EXPECT_EQ(pipe->extensions().direct_wait, nullptr);
}

TEST(DirectWait, EndsWithAMessageAPeerProcessSendsMeanwhile) {
  Linked l = linked();
  wire::ByteQueue reply;
  wire::encode_message(reply, Message{"id", ""}, Message{"body", "more"});
  pid_t child = later([&] { write_all(l.peer.get(), reply.readable()); });
  Message envelope, body;
  // An hour: only the message can end this wait before ctest's timeout.
  auto r = l.link->extensions().direct_wait->wait_recv_split(envelope, body, 1h);
  reap(child);
  ASSERT_EQ(r.status, Io::ok);
  EXPECT_EQ(envelope, (Message{"id", ""}));
  EXPECT_EQ(body, (Message{"body", "more"}));
  // The socket blocks now, yet an ordinary read with nothing there still returns at once
  // (with an hour's receive timeout set, a blocking one would run into ctest's timeout).
  Message nothing;
  EXPECT_EQ(l.link->recv(nothing).status, Io::would_block);
  EXPECT_EQ(l.link->recv(nothing).status, Io::would_block);
}

TEST(DirectWait, EndsWhenThePeerHangsUp) {
  Linked l = linked();
  pid_t child = later([&] { ::shutdown(l.peer.get(), SHUT_RDWR); });
  Message envelope, body;
  auto r = l.link->extensions().direct_wait->wait_recv_split(envelope, body, 1h);
  reap(child);
  EXPECT_EQ(r.status, Io::closed);
}

TEST(DirectWait, EndsAtItsTimeoutWithNothing) {
  Linked l = linked();
  Message envelope, body;
  auto r = l.link->extensions().direct_wait->wait_recv_split(envelope, body, 20ms);
  EXPECT_EQ(r.status, Io::would_block);
  EXPECT_TRUE(body.empty());
}

TEST(DirectWait, APingEndsItWithNothingAndQueuesThePong) {
  Linked l = linked();
  wire::ByteQueue ping;
  std::byte ttl[2] = {};
  wire::encode_command(ping, "PING", ttl);
  pid_t child = later([&] { write_all(l.peer.get(), ping.readable()); });
  Message envelope, body;
  auto r = l.link->extensions().direct_wait->wait_recv_split(envelope, body, 1h);
  reap(child);
  EXPECT_EQ(r.status, Io::would_block);
  EXPECT_TRUE(l.link->wants_write());
}

}  // namespace
}  // namespace ipcx::transport
