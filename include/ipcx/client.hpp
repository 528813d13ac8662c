// Client (API layer): request/reply, DEALER on the wire. Connects lazily to one endpoint and
// reconnects with backoff; the calling thread does the I/O itself, so no thread hop adds latency.
// Use from one thread at a time (make one per thread: they are cheap).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "ipcx/endpoint.hpp"
#include "ipcx/message.hpp"
#include "ipcx/options.hpp"
#include "ipcx/result.hpp"

namespace ipcx {

using RequestId = std::uint32_t;

struct Reply {
  RequestId id = 0;
  Message body;
};

class Client {
 public:
  // Throws ipcx::Error for a malformed URL or a scheme this build does not support. Does not
  // connect: the first call does.
  explicit Client(std::string_view url, ClientOptions options = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  // Sends one request and waits for its reply. Errors: timeout, peer_closed (the connection died
  // with the request in flight; it is not re-sent), refused (nobody accepted a connection before
  // the deadline), message_too_large, protocol_violation.
  Result<Message> call(const Message& request, std::chrono::milliseconds timeout);

  // Pipelining: queue a request without waiting; its reply comes from receive().
  Result<RequestId> send(const Message& request);
  // The next reply to any request sent with send(), in arrival order.
  Result<Reply> receive(std::chrono::milliseconds timeout);

  // Readable when receive() may have something; stable across reconnects.
  int fd() const noexcept;
  const Endpoint& endpoint() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ipcx
