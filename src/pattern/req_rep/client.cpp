// ipcx::Client (pattern layer): DEALER on the wire; the public face of Client::Impl
// (client_impl.hpp). Zero-copy loans and views are in loan.cpp.
#include "ipcx/client.hpp"

#include <algorithm>
#include <utility>

#include "core/coarse_clock.hpp"
#include "pattern/req_rep/client_impl.hpp"

namespace ipcx {

Client::Client(std::string_view url, ClientOptions options)
    : impl_(std::make_unique<Impl>(url, std::move(options))) {}

Client spawn(std::vector<std::string> argv, ClientOptions options) {
  transport::LinkOptions lo;
  auto eo = Client::Impl::engine_options(options);
  lo.socket_type = eo.type;
  lo.max_message_size = eo.max_message_size;
  lo.max_queued_bytes = eo.max_queued_bytes;
  lo.handshake_timeout = eo.handshake_timeout;
  lo.heartbeat = transport::heartbeat_for(eo.heartbeat, Endpoint::parse("stdio://"));
  lo.dialled = true;
  std::string why;
  auto spawned = transport::spawn_stdio_server(argv, lo, why);
  if (!spawned) throw Error(spawned.error(), "stdio://", why);
  Client client;
  client.impl_ = std::make_unique<Client::Impl>(std::move(options), std::move(*spawned));
  return client;
}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

[[gnu::always_inline]] inline Result<Message> Client::call_in_read(
    RequestId id, Clock::time_point started, std::chrono::milliseconds timeout) {
  // The reply is decoded straight into what this returns, and every path returns that one
  // object, so it is built in the caller's place: no move of the message on the way out.
  Impl& c = *impl_;
  Result<Message> reply{Message{}};
  c.call_for = id;
  c.call_into = &*reply;
  // The kernel times the read (SO_RCVTIMEO): no clock is read on the way.
  bool waited = c.wait_in_read(timeout);
  bool done = c.call_done;
  c.call_for = 0;
  c.call_done = false;
  c.call_into = &c.call_reply;
  if (!done) {
    auto now = Clock::now();
    // After a read that brought something else (a PING, a stale reply), the rest of the
    // timeout runs from the call's start on the tick clock: never early, at most a tick late.
    auto deadline = waited ? started + kCoarseLagAtMost + timeout : now + timeout;
    reply = wait_for(id, deadline, !waited, now);  // it read: no waiting first
  }
  return reply;
}

Result<Message> Client::call(const Message& request, std::chrono::milliseconds timeout) {
  // The idle check before sending needs milliseconds: the kernel tick's clock, which is cheap.
  Impl& c = *impl_;
  auto started = coarse_now();
  auto id = c.send(request, started);
  if (!id) return unexpected(id.error());
  // The usual blocking call: written, then waited for in the link's own read, which brings the
  // reply. Anything else (no such wait, or it brought something else) takes the general loop.
  if (c.written_now && c.options.spin.count() <= 0) return call_in_read(*id, started, timeout);
  // Written already: wait before reading (and the clock was just read).
  auto now = Clock::now();
  return wait_for(*id, now + timeout, c.written_now, now);
}

Result<Message> Client::wait_for(RequestId id, Clock::time_point deadline, bool written,
                                 Clock::time_point now) {
  Impl& c = *impl_;
  c.call_for = id;
  struct Done {
    Impl& c;
    ~Done() {
      c.call_for = 0;
      c.call_done = false;
    }
  } done{c};
  bool first = written;
  for (;;) {
    if (c.viewed) return Message{};  // call_view(): the reply is in view_frames
    if (c.call_done) return std::move(*c.call_into);
    if (!c.arrived.empty() || !c.lost.empty()) {
      if (auto outcome = c.settled(id)) return std::move(*outcome);
    }
    if (!first && (c.cannot_send() || Clock::now() >= deadline)) return unexpected(c.expired(id));
    c.pump(deadline, first, first ? now : Clock::time_point{});
    first = false;
  }
}

Result<RequestId> Client::send(const Message& request) {
  return impl_->send(request, coarse_now());
}

Result<Reply> Client::receive(std::chrono::milliseconds timeout) {
  Impl& c = *impl_;
  c.engine.end_caller_wait();
  auto now = Clock::now();
  auto deadline = now + timeout;
  // Right after send() wrote a request, wait first, in the link's own read where it can (as
  // call() does): reading before the reply can have come would only find nothing.
  bool wait_first = std::exchange(c.written_now, false) && timeout.count() > 0;
  for (bool pumped = false;; pumped = true) {
    if (!c.arrived.empty()) {
      Reply r = std::move(c.arrived.front());
      c.arrived.erase(c.arrived.begin());
      return r;
    }
    if (!c.lost.empty()) {
      c.lost.clear();
      return unexpected(Errc::peer_closed);
    }
    if (c.unsent.empty() && c.in_flight.empty()) return unexpected(Errc::would_block);
    if (c.cannot_send() && c.in_flight.empty()) {
      c.unsent.clear();  // every request waiting fails with it
      return unexpected(c.peer->dial->last_failure);
    }
    if (Clock::now() >= deadline && c.engine.caller_timed_out(pumped)) {
      return unexpected(Errc::timeout);
    }
    c.pump(deadline, wait_first, wait_first ? now : Clock::time_point{});
    wait_first = false;
  }
}

int Client::fd() const noexcept { return impl_->engine.fd(); }

bool Client::plain_envelope() const noexcept { return impl_->ready() && impl_->plain; }

ClientStats Client::stats() const noexcept { return {impl_->unmatched}; }

const Endpoint& Client::endpoint() const noexcept { return impl_->endpoint; }

}  // namespace ipcx
