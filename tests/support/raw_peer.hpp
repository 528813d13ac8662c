// RawPeer (test support): a bare socket that speaks bytes, not ZMTP, to play a misbehaving peer
// against a live server.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "ipcx/endpoint.hpp"

namespace ipcx::test {

class RawPeer {
 public:
  explicit RawPeer(const Endpoint& ep) {
    if (ep.scheme == "tcp") {
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(ep.port);
      ::inet_pton(AF_INET, ep.host.c_str(), &a.sin_addr);
      ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    } else {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::memcpy(a.sun_path, ep.path.data(), ep.path.size());
      ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
  }
  ~RawPeer() { close(); }
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  bool connected() const { return ok_; }
  int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send(const std::vector<unsigned char>& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Reads and discards until the server closes the connection; false if it stays open past
  // the limit (a hang turned into a failure).
  bool closed_by_server(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
  }

  // A valid ZMTP 3.1 NULL greeting.
  static std::vector<unsigned char> greeting() {
    std::vector<unsigned char> g(64, 0);
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 1;
    std::memcpy(&g[12], "NULL", 4);
    return g;
  }
  // READY announcing the given socket type.
  static std::vector<unsigned char> ready(const std::string& type) {
    std::vector<unsigned char> body = {5, 'R', 'E', 'A', 'D', 'Y', 11};
    for (char c : std::string("Socket-Type")) body.push_back(static_cast<unsigned char>(c));
    body.insert(body.end(), {0, 0, 0, static_cast<unsigned char>(type.size())});
    for (char c : type) body.push_back(static_cast<unsigned char>(c));
    std::vector<unsigned char> frame;
    frame.reserve(2 + body.size());
    frame.push_back(0x04);
    frame.push_back(static_cast<unsigned char>(body.size()));
    for (unsigned char b : body) frame.push_back(b);
    return frame;
  }

  // A PING command asking the receiver to close after ttl_deciseconds of silence from us.
  static std::vector<unsigned char> ping(std::uint16_t ttl_deciseconds) {
    return {0x04,
            7,
            4,
            'P',
            'I',
            'N',
            'G',
            static_cast<unsigned char>(ttl_deciseconds >> 8),
            static_cast<unsigned char>(ttl_deciseconds & 0xff)};
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

}  // namespace ipcx::test
