// Publish/subscribe (API layer): PUB and SUB on the wire (29/PUBSUB). A Publisher sends each
// message to every subscriber whose subscriptions match the message's first frame, its topic
// (prefix match, filtered at the publisher). A subscriber that falls behind by the high-water
// mark misses messages; the publisher never waits for it. Both may bind and connect any number
// of endpoints. The calling thread does the I/O: a publisher writes during publish() and
// flush(), so call flush() when you stop publishing for a while with slow subscribers about.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ipcx/endpoint.hpp"
#include "ipcx/message.hpp"
#include "ipcx/options.hpp"
#include "ipcx/pipeline.hpp"
#include "ipcx/result.hpp"

namespace ipcx {

class Publisher {
 public:
  explicit Publisher(SocketOptions options = {});
  // Writes what is still queued for at most SocketOptions::linger, then closes.
  ~Publisher();
  Publisher(Publisher&&) noexcept;
  Publisher& operator=(Publisher&&) noexcept;

  Endpoint bind(std::string_view url);
  void connect(std::string_view url);

  // Sends `message` (its first frame is the topic) to every matching subscriber that is below
  // its high-water mark, and returns how many got it (shm subscribers: how many the broadcast
  // ring serves). Never waits, unless SocketOptions::lossless. Errors: message_too_large;
  // resource_exhausted when the shm broadcast ring cannot be made.
  Result<std::size_t> publish(const Message& message);
  // Accepts new subscribers and reads subscriptions without publishing.
  void poll();
  // Writes what slow subscribers still hold, waiting at most `timeout`; true when all is out.
  bool flush(std::chrono::milliseconds timeout);

  // messages: published; dropped: deliveries skipped at a subscriber's high-water mark.
  SocketStats stats() const noexcept;
  // Connected peers holding at least one subscription.
  std::size_t subscribers() const noexcept;
  // Readable when a call may make progress (a subscriber came, a subscription arrived).
  int fd() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Subscriber {
 public:
  explicit Subscriber(SocketOptions options = {});
  ~Subscriber();
  Subscriber(Subscriber&&) noexcept;
  Subscriber& operator=(Subscriber&&) noexcept;

  Endpoint bind(std::string_view url);
  void connect(std::string_view url);

  // Topics are prefixes; "" is everything. Counted, as in ZeroMQ: subscribing twice needs two
  // unsubscribes. Takes effect on every publisher, now and after every reconnect.
  void subscribe(std::string_view topic);
  void unsubscribe(std::string_view topic);

  // The next matching message from any publisher. Errors: timeout.
  Result<Message> receive(std::chrono::milliseconds timeout = kForever);
  // The same into `out`, reusing its storage: no Result to move the message through.
  Result<void> receive(Message& out, std::chrono::milliseconds timeout = kForever);
  // How many messages its publisher sent just before the one receive() last returned that
  // this subscriber lost (overwritten in a shm broadcast ring, or udp datagrams that never
  // came): 0 when none. stats().lost is the total. On shm a message larger than a quarter of the
  // ring counts once per fragment.
  std::uint64_t gap() const noexcept;

  SocketStats stats() const noexcept;
  // For a caller's own event loop: after receive() fails with timeout (receive(0ms) polls),
  // readable when it may have something.
  int fd() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ipcx
