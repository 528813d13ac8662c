// Client (API layer): request/reply, DEALER on the wire. Connects lazily to one endpoint and
// reconnects with backoff; the calling thread does the I/O itself, so no thread hop adds latency.
// Use from one thread at a time (make one per thread: they are cheap).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ipcx/endpoint.hpp"
#include "ipcx/message.hpp"
#include "ipcx/message_view.hpp"
#include "ipcx/options.hpp"
#include "ipcx/result.hpp"

namespace ipcx {

using RequestId = std::uint32_t;

struct Reply {
  RequestId id = 0;
  Message body;
};

struct ClientStats {
  // Replies that matched no request in flight: late ones (their call had timed out), and
  // messages in an envelope this Client did not send. Each is also logged.
  std::uint64_t unmatched_replies = 0;
};

class Client;

// A request body written in place. For shm:// it lies in the shared ring itself, so the call
// copies nothing (zero_copy()); elsewhere, or when the ring cannot lend it now, it is a buffer
// of the Loan's own. Fill data(), then hand it to Client::call(). The Client must outlive it;
// dropping an unsent Loan discards it. While a zero-copy Loan is out, the Client's other sends
// wait behind it.
class Loan {
 public:
  Loan(Loan&& other) noexcept;
  Loan& operator=(Loan&& other) noexcept;
  ~Loan();

  std::span<std::byte> data() const noexcept { return bytes_; }
  bool zero_copy() const noexcept { return in_transport_; }

 private:
  friend class Client;
  Loan() noexcept = default;
  void release() noexcept;

  Client* owner_ = nullptr;
  std::uint32_t id_ = 0;
  std::span<std::byte> bytes_;
  bool in_transport_ = false;
  Message own_;  // the body when it is not in the transport
};

class Client;
// Starts argv[0] (searched in PATH) as a child that serves on its stdin and stdout (stdio://),
// and returns a Client to it. The Client owns the child: destroying it closes the pipes, gives
// the child 2 s to exit, then SIGTERM, 2 s more, then SIGKILL, and reaps it. A child that exits
// or crashes fails the calls in flight with peer_closed, and later calls at once. Throws
// ipcx::Error when the program cannot be started.
Client spawn(std::vector<std::string> argv, ClientOptions options = {});

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
  // the deadline), not_supported (at once: the server requires a security mechanism, CURVE or
  // PLAIN, that this build does not speak), message_too_large, protocol_violation.
  Result<Message> call(const Message& request, std::chrono::milliseconds timeout);

  // A body of `bytes` to fill in place and pass to call(Loan, ...). Errors: message_too_large.
  Result<Loan> loan(std::size_t bytes);
  // As call(Message, ...), sending the loaned body without copying it when zero_copy().
  Result<Message> call(Loan loan, std::chrono::milliseconds timeout);

  // As call(), returning the reply as a view into the transport instead of a copy, where the
  // mechanism allows (shm://, a reply that fits one ring record): see MessageView. Errors as
  // call(), and would_block while an earlier zero-copy view is still out (its connection
  // delivers nothing until it is released; other calls wait behind it meanwhile).
  Result<MessageView> call_view(const Message& request, std::chrono::milliseconds timeout);
  // Both ways in place: the request body written into the ring, the reply read from it.
  Result<MessageView> call_view(Loan loan, std::chrono::milliseconds timeout);

  // Pipelining: queue a request without waiting; its reply comes from receive(). Toward a peer
  // that takes plain envelopes only (ClientOptions::envelope), requests still go one at a time:
  // each waits in the Client until the reply before it has arrived.
  Result<RequestId> send(const Message& request);
  // The next reply to any request sent with send(), in arrival order. Looks at least once,
  // so receive(0ms) polls.
  Result<Reply> receive(std::chrono::milliseconds timeout);

  // For a caller's own event loop: after receive() fails with timeout, fd() becomes readable
  // when a reply may have arrived (shm rings are asked to ring it then); call receive(0ms)
  // again. Stable across reconnects.
  int fd() const noexcept;
  const Endpoint& endpoint() const noexcept;
  // Whether requests now go out in the plain envelope (ClientOptions::envelope): false until a
  // connection has completed its handshake.
  bool plain_envelope() const noexcept;
  ClientStats stats() const noexcept;

 private:
  friend class Loan;
  friend Client spawn(std::vector<std::string> argv, ClientOptions options);
  Client() = default;
  // call()'s usual blocking path: the request is written; waits for its reply in the link's
  // own read, else as wait_for().
  Result<Message> call_in_read(RequestId id, std::chrono::steady_clock::time_point started,
                               std::chrono::milliseconds timeout);
  // `written`: the request went out at `now`, so wait before reading.
  Result<Message> wait_for(RequestId id, std::chrono::steady_clock::time_point deadline,
                           bool written, std::chrono::steady_clock::time_point now);
  // The same, taking the reply as a view where the link can lend it.
  Result<MessageView> wait_view(RequestId id, std::chrono::steady_clock::time_point deadline,
                                bool written, std::chrono::steady_clock::time_point now);
  // Hands a loan's request to the link; `written` when it went out now.
  Result<RequestId> send_loan(Loan& loan, bool& written);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ipcx
