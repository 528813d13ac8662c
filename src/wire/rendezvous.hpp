// The rendezvous record of pipe:// and mq:// (wire layer): what a client puts into a server's
// well-known FIFO or queue to ask for a connection, and (mq) what the server answers with.
// 20 bytes, little endian; written in one write, so records of concurrent clients never
// interleave in a FIFO (< PIPE_BUF):
//   u32 magic "IXFH" | u8 version | u8 socket type | u16 size 20 | u32 pid | u32 serial |
//   u32 check = magic ^ pid ^ serial ^ 0x9e3779b9 ^ (socket type << 24)
// The client's private FIFOs or queues are named from pid and serial (docs/PROTOCOL.md).
// Anyone who can write the server's FIFO can write anything into it, so the server scans the
// bytes for records and skips (and counts) whatever is not one. No syscalls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipcx::wire {

inline constexpr std::uint32_t kRendezvousMagic = 0x48465849;  // "IXFH" in byte order
inline constexpr std::uint8_t kRendezvousVersion = 1;
inline constexpr std::size_t kRendezvousSize = 20;

struct Rendezvous {
  std::uint32_t pid = 0;
  std::uint32_t serial = 0;
  // The sender's wire::SocketType, so that mq:// (which has no ZMTP READY) can refuse a pair
  // that cannot talk; pipe:// leaves the check to ZMTP.
  std::uint8_t socket_type = 0;
  friend bool operator==(const Rendezvous&, const Rendezvous&) = default;
};

void write_rendezvous(std::byte* out, const Rendezvous& hello) noexcept;

// The client's private pair named by a record: "<server>.<pid>.<serial>.c2s" and ".s2c", where
// server is the FIFO's path or the queue's name. Digits only come from the peer.
struct PrivateNames {
  std::string c2s;  // client to server
  std::string s2c;  // server to client
};
PrivateNames private_names(std::string_view server, const Rendezvous& record);

// Finds records in the bytes read from a request FIFO. A record is recognised anywhere, so
// garbage before it (any length, even a short record) costs only the garbage; fewer than 20
// bytes are kept between calls, in case a record's start came at the end.
class RendezvousScanner {
 public:
  // Appends the records found in `bytes` to `found`.
  void feed(std::span<const std::byte> bytes, std::vector<Rendezvous>& found);
  std::uint64_t garbage_bytes() const noexcept { return garbage_; }
  // Bytes held back: they may yet start a record.
  std::size_t pending() const noexcept { return held_.size(); }

 private:
  std::vector<std::byte> held_;
  std::uint64_t garbage_ = 0;
};

std::optional<Rendezvous> read_rendezvous(std::span<const std::byte> in) noexcept;

}  // namespace ipcx::wire
