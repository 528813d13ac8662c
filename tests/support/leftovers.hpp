// Endpoints private to one test, and what of them is left on the system (test support).
// pipe: a FIFO in the test's TempDir, so anything else in that directory is a leftover. mq: a
// queue named after the TempDir; leftovers are the queues under /dev/mqueue whose names start
// with it (the mqueue filesystem is mounted there when it is not yet). udp: a free loopback
// port; datagram sockets leave nothing behind.
#pragma once

#include <mqueue.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace ipcx::test {

// A loopback port of `type` nobody uses now (a restarted server needs the same one).
inline int free_port(int type = SOCK_STREAM) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline std::string queue_stem(const TempDir& dir) {
  return "ipcx-" + dir.path().filename().string();
}

inline std::string private_url(const std::string& mechanism, const TempDir& dir,
                               const std::string& name) {
  if (mechanism == "pipe") return "pipe://" + dir / name;
  if (mechanism == "mq") return "mq://" + queue_stem(dir) + "-" + name;
  if (mechanism == "udp") return "udp://127.0.0.1:" + std::to_string(free_port(SOCK_DGRAM));
  return mechanism + "://" + dir / name;
}

// Where the mqueue filesystem shows the queues, mounted if need be; "" if it cannot be.
inline std::string mqueue_dir() {
  static const std::string dir = [] {
    std::error_code ec;
    std::filesystem::create_directories("/dev/mqueue", ec);
    if (!std::filesystem::exists("/dev/mqueue/.", ec)) return std::string();
    // Mounted already if a queue we make shows up there.
    ::mount("none", "/dev/mqueue", "mqueue", 0, nullptr);  // EBUSY when mounted: fine
    return std::string("/dev/mqueue");
  }();
  return dir;
}

// What a server killed with kill -9 leaves by design (its well-known FIFO or queue, which the
// next bind would reuse): a test that killed one removes it with this at the end.
inline void remove_stale_name(const std::string& url) {
  if (url.rfind("mq://", 0) == 0) ::mq_unlink(url.substr(4).c_str());  // "/NAME"
  if (url.rfind("pipe://", 0) == 0) ::unlink(url.substr(7).c_str());
}

// Everything of `name`'s endpoint left behind apart from the server's own well-known name.
inline std::vector<std::string> leftovers(const std::string& mechanism, const TempDir& dir,
                                          const std::string& name) {
  std::vector<std::string> left;
  std::error_code ec;
  if (mechanism == "pipe") {
    for (const auto& e : std::filesystem::directory_iterator(dir.path(), ec)) {
      if (e.path().filename() != name) left.push_back(e.path().string());
    }
  } else if (mechanism == "mq" && !mqueue_dir().empty()) {
    std::string stem = queue_stem(dir) + "-" + name;
    for (const auto& e : std::filesystem::directory_iterator(mqueue_dir(), ec)) {
      std::string file = e.path().filename().string();
      if (file.rfind(stem, 0) == 0 && file != stem) left.push_back(e.path().string());
    }
  }
  return left;
}

}  // namespace ipcx::test
