// RawUdp (test support): a UDP socket on loopback speaking to an ipcx udp:// endpoint with
// datagrams no Client would send, and reading what comes back as bytes or as a message.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include "ipcx/message.hpp"
#include "wire/compact_header.hpp"

namespace ipcx::test {

class RawUdp {
 public:
  explicit RawUdp(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  ~RawUdp() { ::close(fd_); }
  RawUdp(const RawUdp&) = delete;
  RawUdp& operator=(const RawUdp&) = delete;

  void send(const std::vector<std::byte>& d) { ::send(fd_, d.data(), d.size(), 0); }
  // The next datagram as it came, or nullopt when none comes within `limit`.
  std::optional<std::vector<std::byte>> receive_bytes(
      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return std::nullopt;
    std::vector<std::byte> buf(70000);
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }
  // The next datagram's message, decoded; empty on timeout.
  Message receive() {
    Message out;
    auto d = receive_bytes();
    if (!d) return out;
    wire::CompactAssembler assembler(1 << 20);
    assembler.feed(*d, out);
    return out;
  }

 private:
  int fd_;
};

// [request id frame][empty delimiter][frames...]: what an ipcx Client sends as a request.
inline Message client_request(std::initializer_list<std::string_view> frames) {
  Message m;
  std::byte id_frame[5] = {std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{7}};
  m.add(id_frame);
  m.add(std::span<const std::byte>{});
  for (auto f : frames) m.add(f);
  return m;
}

// A message as one datagram under request id `id`, as a client's link sends it.
inline std::vector<std::byte> request_datagram(std::uint64_t id, const Message& m) {
  std::vector<std::byte> d;
  wire::write_single_fragment(d, m, Message{}, id);
  return d;
}

}  // namespace ipcx::test
