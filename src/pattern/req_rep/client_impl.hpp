// Client::Impl (pattern layer): a Client's state, a request/reply pattern over the engine with
// one peer (the endpoint, dialled lazily and again after every loss; or a spawned child's
// pipes). The calling thread does all I/O: it sends, optionally spins on non-blocking reads,
// then sleeps on the engine until the reply or the deadline. Requests wait in `unsent` until a
// link has completed its handshake, so a connection that dies before that loses nothing and
// the request goes out on the next one; once handed to a link, a request is never re-sent.
#pragma once

#include <deque>
#include <optional>
#include <vector>

#include "engine/engine.hpp"
#include "ipcx/client.hpp"
#include "pattern/req_rep/envelope.hpp"
#include "transport/stdio.hpp"

namespace ipcx {

using Clock = std::chrono::steady_clock;

struct Client::Impl final : detail::ViewLender, engine::PeerEvents {
  Impl(std::string_view url, ClientOptions opts);
  // A spawned child's link (stdio://): made once, never redialled.
  Impl(ClientOptions opts, transport::SpawnedServer spawned);

  static engine::EngineOptions engine_options(const ClientOptions& o);

  // ---- engine events
  void on_ready(engine::Peer& peer) override;
  void on_lost(engine::Peer& peer) override;

  // ---- client_io.cpp
  transport::Link* link() const noexcept { return peer->link.get(); }
  bool ready() const noexcept { return peer->link && peer->link->established(); }
  // A spawned child's connection is made once: after it is gone nothing can reconnect.
  bool child_gone() const noexcept { return child && !peer->link; }
  // The last attempt failed in a way no retry mends (the server requires a security mechanism
  // this socket does not speak, it is not who we expect, it refused our uid, or the CURVE
  // handshake failed): what waits to be sent fails now, not at its deadline.
  bool cannot_send() const noexcept {
    if (peer->link || !peer->dial) return false;
    Errc last = peer->dial->last_failure;
    return last == Errc::not_supported || last == Errc::permission_denied ||
           last == Errc::auth_failed;
  }
  const Message& head_for(RequestId id) {
    if (plain) return plain_head;
    pattern::set_request_id(head, id);
    return head;
  }
  // A plain envelope allows one request in flight; request ids any number.
  bool room_in_flight() const noexcept { return !plain || in_flight.empty(); }
  // Whether a request may go to the link now, not behind others.
  bool may_write_now() const noexcept { return ready() && unsent.empty() && room_in_flight(); }
  // The request a reply with this envelope answers, if it is in flight (by its id unless plain).
  std::optional<RequestId> match(const Message& envelope) const noexcept {
    return plain ? match_plain(envelope) : pattern::reply_id(envelope);
  }
  std::optional<RequestId> match_plain(const Message& envelope) const noexcept;
  void note_unmatched(const Message& envelope);
  static bool take(std::vector<RequestId>& ids, RequestId id);
  // Whether what the caller waits for may have arrived: stop spinning or sleeping.
  bool answered() const noexcept { return !arrived.empty() || viewed || call_done; }
  void drop_link(Errc why, std::string_view fault);
  void release_unsent();
  bool drain(bool first_reply = false);
  enum class Read : std::uint8_t { nothing, ignored, settled, dead };
  Read take_read(transport::IoResult r, Message& into);
  bool wait_in_read(Clock::time_point deadline, Clock::time_point now);
  // The same for up to `left`, timed by the kernel from the read's start.
  bool wait_in_read(std::chrono::milliseconds left);
  transport::ZeroCopy::View take_view();
  void pump(Clock::time_point deadline, bool wait_first, Clock::time_point now = {});
  bool spin(Clock::time_point deadline);
  void wait_ready(Clock::time_point deadline);
  void check_idle_link(Clock::time_point now) {
    if (in_flight.empty() && now - last_used > kIdleCheck) refresh_idle_link();
    last_used = now;
  }
  void refresh_idle_link();
  RequestId new_id() noexcept {
    RequestId id = next_id++;
    if (next_id == 0) next_id = 1;
    return id;
  }
  Result<RequestId> send(const Message& body, Clock::time_point now);
  Result<RequestId> send_as(RequestId id, const Message& body, Clock::time_point now);
  std::optional<Result<Message>> settled(RequestId id);
  Errc expired(RequestId id);

  // ---- views and loans (loan.cpp)
  void end_view(std::vector<std::span<const std::byte>>& frames) noexcept override;

  Endpoint endpoint;
  ClientOptions options;
  engine::Engine engine;
  engine::Peer* peer = nullptr;
  // A spawned server: the child outlives the link so that it sees its input end first.
  std::unique_ptr<transport::ChildProcess> child;
  RequestId next_id = 1;
  std::deque<std::pair<RequestId, Message>> unsent;  // waiting for an established link
  // Small flat containers: one call in flight is the common case, and a node-based set would
  // allocate on every call. TODO(perf): an index for thousands of pipelined requests.
  std::vector<RequestId> in_flight;         // handed to the current link
  std::vector<RequestId> lost;              // their link died
  std::vector<Reply> arrived;               // replies nobody asked for yet
  Message incoming;                         // what drain() reads into; kept for its inline buffer
  Message reply_envelope;                   // a reply's [id][""], split off as it is read
  Message head = pattern::request_head(0);  // rewritten with each request's id
  Message plain_head = pattern::plain_request_head();
  // The current link carries plain envelopes (ClientOptions::envelope); set at its handshake.
  bool plain = false;
  std::uint64_t unmatched = 0;
  transport::Link* lent = nullptr;  // a zero-copy Loan is out on this link
  // call_view(): the request whose reply is taken as a view; `viewed` once it is, in
  // `view_frames` (kept for its capacity: a MessageView borrows the vector and hands it back).
  RequestId view_for = 0;
  bool viewed = false;
  std::vector<std::span<const std::byte>> view_frames;
  transport::Link* viewing = nullptr;  // the link a zero-copy MessageView is out on
  // call(): the request waited for. Replies are decoded straight into `*call_into` (the
  // Result call() returns, on its usual path; else `call_reply`), so the awaited one needs no
  // move into `arrived` and out again; `call_done` once it is there.
  RequestId call_for = 0;
  bool call_done = false;
  Message call_reply;
  Message* call_into = &call_reply;
  static constexpr std::chrono::milliseconds kIdleCheck{50};
  Clock::time_point last_used{};
  Errc last_failure = Errc::ok;  // a spawned child's: it went away
  bool written_now = false;      // the last send_as() wrote its request to the link
};

}  // namespace ipcx
