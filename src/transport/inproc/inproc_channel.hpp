// inproc:// channel (transport layer): what two links of one process share, ZeroMQ's
// in-process transport between threads. Each direction is a queue of whole messages, moved, not
// encoded; its reader polls it (no syscall while awake) and says when it sleeps, and only then
// does the writer ring the reader's doorbell, an eventfd, as shm:// does. A mutex guards each
// direction: taken by the two threads in turn, uncontended it costs no syscall either.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>

#include "core/fd.hpp"
#include "ipcx/message.hpp"
#include "wire/socket_type.hpp"

namespace ipcx::transport::inproc {

// How much one direction holds before its writer keeps the rest in its own link.
inline constexpr std::size_t kDirectionMessages = 16384;
inline constexpr std::size_t kDirectionBytes = 4u << 20;

struct Direction {
  std::mutex mutex;
  std::deque<Message> messages;
  std::size_t bytes = 0;
  bool reader_sleeping = false;  // the reader waits on its doorbell: ring it after a push
  bool writer_waiting = false;   // the writer waits for room: ring it after a pop

  bool full() const noexcept {
    return messages.size() >= kDirectionMessages || bytes >= kDirectionBytes;
  }
};

enum class Side : std::uint8_t { client = 0, server = 1 };

struct Channel {
  Direction to_server;
  Direction to_client;
  Fd bell[2];  // each side's doorbell (by Side), which its link's fd() is
  std::atomic<bool> gone[2] = {false, false};  // a side closed its link
  // The server's socket type cannot talk to the client's: the client's link fails at once, and
  // the server's accept counts the fault, as a refused handshake would.
  bool refused = false;
  wire::SocketType client_type = wire::SocketType::dealer;

  Direction& outgoing(Side s) noexcept { return s == Side::client ? to_server : to_client; }
  Direction& incoming(Side s) noexcept { return s == Side::client ? to_client : to_server; }
  static Side other(Side s) noexcept { return s == Side::client ? Side::server : Side::client; }
  void ring(Side s) noexcept {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = sys::write(bell[static_cast<int>(s)].get(), &one, sizeof one);
  }
};

}  // namespace ipcx::transport::inproc
