// Whom a client reached, tested with a second uid: a process of uid nobody takes a local name
// first (the abstract rendezvous root's shm://NAME uses, an abstract unix://@name, an mq://
// queue, a pipe:// FIFO) and counts the bytes that reach it. Root's client must fail with
// permission_denied naming the uid found and the one expected, without sending the squatter a
// byte, and report it as an event; root's server must say who holds the name. With the
// squatter's uid in server_uids (the positive control) the client does reach it. Needs root to
// change uid; skipped otherwise.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <string>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/leftovers.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;

constexpr uid_t kNobody = 65534;

bool become_nobody() {
  return ::setresgid(kNobody, kNobody, kNobody) == 0 && ::setresuid(kNobody, kNobody, kNobody) == 0;
}

// As nobody: listens on the abstract name, prints "listening", then for each connection prints
// "received N": the bytes it got before the client hung up or paused (0: none at all).
Child squatter(const std::string& abstract_name, int type) {
  return Child::fork([abstract_name, type] {
    if (!become_nobody()) return 1;
    int fd = ::socket(AF_UNIX, type, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path + 1, abstract_name.data(), abstract_name.size());
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract_name.size());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd, 8) != 0) return 2;
    std::printf("listening\n");
    std::fflush(stdout);
    for (;;) {
      int conn = ::accept(fd, nullptr, nullptr);
      timeval tv{2, 0};  // a client that sent its hello waits for an answer: stop counting then
      ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[4096];
      ssize_t n = ::recv(conn, buf, sizeof buf, 0);
      std::printf("received %zd\n", n < 0 ? ssize_t{0} : n);
      std::fflush(stdout);
      ::close(conn);
    }
  });
}

class Squat : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "changing uid needs root";
  }
  std::string tag_ = std::to_string(::getpid());
};

// Events seen, kept whole across the engine's calls.
struct Events {
  std::mutex mutex;
  std::vector<ConnectionEvent> seen;
  EventSink sink() {
    return [this](const ConnectionEvent& e) {
      std::lock_guard hold(mutex);
      seen.push_back(e);
    };
  }
};

TEST_F(Squat, AnShmClientRefusesAnImpostorWithoutSendingItAByte) {
  std::string name = "squat-" + tag_;
  Child impostor = squatter("ipcx-shm-0-" + name, SOCK_SEQPACKET);
  ASSERT_EQ(impostor.read_line(30s).value_or("nothing"), "listening");

  Events events;
  ClientOptions options;
  options.on_event = events.sink();
  Client client("shm://" + name, options);
  auto reply = client.call(Message{"secret"}, 60s);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error(), Errc::permission_denied);
  EXPECT_EQ(impostor.read_line(30s).value_or("nothing"), "received 0");
  {
    std::lock_guard hold(events.mutex);
    ASSERT_FALSE(events.seen.empty());
    EXPECT_EQ(events.seen.front().kind, EventKind::refused);
    EXPECT_EQ(events.seen.front().reason,
              "the server of shm://" + name + " runs as uid 65534, expected 0");
  }
  // Our own server cannot have the name either, and says who holds it.
  try {
    Server server;
    server.bind("shm://" + name);
    ADD_FAILURE() << "bound a name another uid holds";
  } catch (const Error& e) {
    EXPECT_EQ(e.errc(), Errc::address_in_use);
    EXPECT_NE(std::string(e.what()).find("shm://" + name + " is held by uid 65534"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(Squat, AnAbstractUnixNameHeldByAnotherUidIsRefusedUnlessListed) {
  std::string name = "ipcx-squat-" + tag_;
  {
    Child impostor = squatter(name, SOCK_STREAM);
    ASSERT_EQ(impostor.read_line(30s).value_or("nothing"), "listening");
    Client client("unix://@" + name);
    EXPECT_EQ(client.call(Message{"secret"}, 60s).error(), Errc::permission_denied);
    EXPECT_EQ(impostor.read_line(30s).value_or("nothing"), "received 0");
  }
  Child listed = squatter(name, SOCK_STREAM);
  ASSERT_EQ(listed.read_line(30s).value_or("nothing"), "listening");
  ClientOptions trusting;
  trusting.server_uids = {kNobody};
  Client client("unix://@" + name, trusting);
  (void)client.send(Message{"meant for it"});
  auto line = listed.read_line(30s).value_or("nothing");
  EXPECT_EQ(line.rfind("received ", 0), 0u);
  EXPECT_NE(line, "received 0") << "a listed server uid was refused";
}

// A server of uid nobody on mq:// and pipe://, whose queue or FIFO lets root in.
Child nobody_server(const std::string& url) {
  return Child::fork([url] {
    if (!become_nobody()) return 1;
    ServerOptions open;
    open.file_mode = 0666;
    Server server(open);
    server.on_request([](Request& r) { r.reply(r.body()); });
    server.bind(url);
    std::printf("bound\n");
    std::fflush(stdout);
    server.run();
    return 0;
  });
}

TEST_F(Squat, QueueAndFifoOwnersAreCheckedToo) {
  test::TempDir dir;
  ::chmod(dir.path().c_str(), 01777);
  for (const std::string& url : {"mq://ipcx-squat-" + tag_, "pipe://" + (dir / "squat.fifo")}) {
    Child server = nobody_server(url);
    ASSERT_EQ(server.read_line(30s).value_or("nothing"), "bound") << url;
    {
      Client client(url);
      EXPECT_EQ(client.call(Message{"secret"}, 60s).error(), Errc::permission_denied) << url;
    }
    ClientOptions trusting;
    trusting.server_uids = {kNobody};
    Client client(url, trusting);
    auto reply = client.call(Message{"hello"}, 60s);
    ASSERT_TRUE(reply) << url << ": " << to_string(reply.error());
    EXPECT_EQ(reply->text(0), "hello");
    server.kill(SIGTERM);
    server.wait();
    test::remove_stale_name(url);  // a server killed leaves its queue or FIFO by design
  }
}

}  // namespace
}  // namespace ipcx
