// Who may connect, tested with a second uid: a forked child drops to nobody (setresuid) and
// calls a server of ours. Refused, it must see exactly permission_denied, whether the socket
// file's mode refused it (unix, shm:///path) or the server's uid check did (abstract unix
// names, allow_uids) or a FIFO's or queue's mode did; and the same child gets through once the
// mode or the allow-list admits it (the positive controls). Needs root to change uid; skipped
// otherwise.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;

constexpr uid_t kNobody = 65534;

// Calls `url` as uid/gid nobody and prints "ok" or the error's name.
std::string call_as_nobody(const std::string& url) {
  Child child = Child::fork([url] {
    if (::setresgid(kNobody, kNobody, kNobody) != 0 ||
        ::setresuid(kNobody, kNobody, kNobody) != 0) {
      std::printf("cannot drop privileges\n");
      std::fflush(stdout);
      return 1;
    }
    Client client(url);
    // A refused client retries until the deadline, then reports the last refusal.
    auto reply = client.call(Message{"hello"}, 1s);
    std::printf("%s\n", reply ? "ok" : std::string(to_string(reply.error())).c_str());
    std::fflush(stdout);
    return 0;
  });
  auto line = child.read_line(30s).value_or("no answer");
  child.wait();
  return line;
}

class Permission : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "changing uid needs root";
    // nobody must reach the socket files: only their own mode should decide.
    ::chmod(dir.path().c_str(), 0755);
  }
  // A running echo server on `url` with these options; returns its bound URL.
  std::string serve(Server& server, const std::string& url) {
    server.on_request([](Request& r) { r.reply(r.body()); });
    std::string bound = server.bind(url).url();
    server.start();
    return bound;
  }
  test::TempDir dir;
};

TEST_F(Permission, UnixSocketFileModeDecides) {
  {
    Server owner_only;  // 0600, the default
    EXPECT_EQ(call_as_nobody(serve(owner_only, "unix://" + dir / "private.sock")),
              "permission_denied");
  }
  ServerOptions open;
  open.file_mode = 0666;
  Server shared(open);
  EXPECT_EQ(call_as_nobody(serve(shared, "unix://" + dir / "shared.sock")), "ok");
}

TEST_F(Permission, AbstractUnixNameAdmitsOnlyTheAllowedUids) {
  std::string name = "unix://@ipcx-permission-" + std::to_string(::getpid());
  {
    Server own_uid_only;  // no file mode to protect it: only our own uid, by SO_PEERCRED
    EXPECT_EQ(call_as_nobody(serve(own_uid_only, name)), "permission_denied");
  }
  ServerOptions listed;
  listed.allow_uids = {0, kNobody};
  Server allowed(listed);
  EXPECT_EQ(call_as_nobody(serve(allowed, name)), "ok");
}

TEST_F(Permission, ShmRendezvousFileModeAndAllowListBothDecide) {
  {
    Server owner_only;  // socket file 0600
    EXPECT_EQ(call_as_nobody(serve(owner_only, "shm://" + dir / "private.shm")),
              "permission_denied");
  }
  {
    ServerOptions open_file_wrong_uid;  // the file lets nobody in; the uid check does not
    open_file_wrong_uid.file_mode = 0666;
    open_file_wrong_uid.allow_uids = {0};
    Server server(open_file_wrong_uid);
    EXPECT_EQ(call_as_nobody(serve(server, "shm://" + dir / "listed.shm")), "permission_denied");
  }
  ServerOptions admitted;
  admitted.file_mode = 0666;
  admitted.allow_uids = {0, kNobody};
  Server server(admitted);
  EXPECT_EQ(call_as_nobody(serve(server, "shm://" + dir / "open.shm")), "ok");
}

// FIFOs carry no credentials: the server FIFO's mode decides. The clients make their own FIFOs
// next to it, so the directory must let them (sticky and world-writable, like /tmp).
TEST_F(Permission, FifoModeDecides) {
  ::chmod(dir.path().c_str(), 01777);
  {
    Server owner_only;  // 0600
    EXPECT_EQ(call_as_nobody(serve(owner_only, "pipe://" + dir / "private.fifo")),
              "permission_denied");
  }
  ServerOptions open;
  open.file_mode = 0666;
  Server shared(open);
  EXPECT_EQ(call_as_nobody(serve(shared, "pipe://" + dir / "shared.fifo")), "ok");
}

TEST_F(Permission, MessageQueueModeDecides) {
  std::string stem = "mq://ipcx-permission-" + std::to_string(::getpid());
  {
    Server owner_only;  // 0600
    EXPECT_EQ(call_as_nobody(serve(owner_only, stem + "-private")), "permission_denied");
  }
  ServerOptions open;
  open.file_mode = 0666;
  Server shared(open);
  EXPECT_EQ(call_as_nobody(serve(shared, stem + "-shared")), "ok");
}

}  // namespace
}  // namespace ipcx
