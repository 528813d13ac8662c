// Push/pull (API layer): one-way messages, PUSH and PULL on the wire (ZeroMQ's 30/PIPELINE).
// A Pusher deals its messages round robin over every puller it has dialled or accepted, as
// libzmq does with ZMQ_IMMEDIATE off: a message dealt to a puller still connecting waits in
// that puller's queue and goes out once it is ready. A Puller takes messages from all its
// pushers fairly. Both may bind and connect any number of endpoints, on any mechanism that
// carries push/pull. The calling thread does the I/O; use each from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "ipcx/endpoint.hpp"
#include "ipcx/message.hpp"
#include "ipcx/message_view.hpp"
#include "ipcx/options.hpp"
#include "ipcx/result.hpp"

namespace ipcx {

inline constexpr std::chrono::milliseconds kForever = std::chrono::milliseconds::max();

struct SocketStats {
  std::uint64_t peers = 0;     // connections open now (handshake complete or not)
  std::uint64_t ready = 0;     // of which have completed their handshake
  std::uint64_t messages = 0;  // sent (Pusher, Publisher) or received (Puller, Subscriber)
  std::uint64_t bytes = 0;     // their bodies
  // Pusher: queued to a peer that went away. Publisher: deliveries skipped at a subscriber's
  // high-water mark. Subscriber: messages filtered out here (sent before an unsubscribe
  // arrived, or, on shm, broadcast topics it does not subscribe to).
  std::uint64_t dropped = 0;
  std::uint64_t peer_faults = 0;  // peers closed for breaking the protocol or a limit
  std::uint64_t rejected = 0;     // peers refused past max_peers, or needing CURVE or PLAIN
  // Subscriber: messages its publishers sent that were lost before it read them (shm's
  // broadcast ring, udp's numbered datagrams), counted when the next one arrives.
  std::uint64_t lost = 0;
};

class Pusher {
 public:
  explicit Pusher(SocketOptions options = {});
  // Writes what is still queued for at most SocketOptions::linger, then closes.
  ~Pusher();
  Pusher(Pusher&&) noexcept;
  Pusher& operator=(Pusher&&) noexcept;

  // Throws ipcx::Error as Server::bind does; returns the bound endpoint (port 0 resolved).
  Endpoint bind(std::string_view url);
  // A puller at this endpoint, connected now and after every loss, with backoff; messages are
  // dealt to it from now on, and wait for it while it connects. Throws ipcx::Error for a
  // malformed URL or a mechanism without push/pull; a puller that is not there yet is not an
  // error.
  void connect(std::string_view url);

  // Deals the message to the next puller in turn below its high-water mark (SocketOptions::
  // hwm) and writes what the kernel or ring takes at once; the rest goes out on later calls,
  // flush() or destruction. Waits while there is no puller or every one is at its mark.
  // Called back to back (within 2 µs of the last send returning), a byte stream's messages
  // are gathered into one write; a helper thread sends the last of them about 50 µs after the
  // caller stops. A send after a pause is written at once. Not for concurrent use.
  // Errors: timeout (nothing was sent), message_too_large.
  Result<void> send(const Message& message, std::chrono::milliseconds timeout = kForever);
  // Writes what is still queued, waiting at most `timeout`; true when nothing is left.
  bool flush(std::chrono::milliseconds timeout);

  SocketStats stats() const noexcept;
  // Readable when a call may make progress (a peer came, a handshake or room to write).
  int fd() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Puller {
 public:
  explicit Puller(SocketOptions options = {});
  ~Puller();
  Puller(Puller&&) noexcept;
  Puller& operator=(Puller&&) noexcept;

  Endpoint bind(std::string_view url);
  void connect(std::string_view url);

  // The next message from any pusher. Errors: timeout.
  Result<Message> receive(std::chrono::milliseconds timeout = kForever);
  // The same into `out`, reusing its storage: no Result to move the message through.
  Result<void> receive(Message& out, std::chrono::milliseconds timeout = kForever);
  // The next message as a view where its pusher's link can lend it in place (shm://, a
  // message that fits one ring record), else over a copy: see MessageView. Until a zero-copy
  // view is released its link delivers nothing more (the others go on), and a second
  // receive_view() fails at once with would_block. Errors: timeout.
  Result<MessageView> receive_view(std::chrono::milliseconds timeout = kForever);

  SocketStats stats() const noexcept;
  // For a caller's own event loop: after receive() fails with timeout (receive(0ms) polls),
  // readable when it may have something.
  int fd() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ipcx
