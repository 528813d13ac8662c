// ipcx::Client (pattern layer): DEALER on the wire. The calling thread does all I/O: it sends,
// optionally spins on non-blocking reads, then sleeps in poll() until the reply or the deadline.
// Requests wait in `unsent_` until a link has completed its handshake, so a connection that dies
// before that loses nothing and the request goes out on the next one; once handed to a link, a
// request is never re-sent.
#include "ipcx/client.hpp"

#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>

#include <algorithm>
#include <deque>
#include <utility>
#include <vector>

#include "core/coarse_clock.hpp"
#include "core/fd.hpp"
#include "core/spin.hpp"
#include "pattern/req_rep/envelope.hpp"
#include "pattern/setup.hpp"
#include "transport/mechanism.hpp"
#include "transport/stdio.hpp"

namespace ipcx {

using transport::Io;
using Clock = std::chrono::steady_clock;

struct Client::Impl final : detail::ViewLender {
  Endpoint endpoint;
  ClientOptions options;
  const transport::Mechanism* mechanism;
  // A spawned server (stdio://): its one link waits in `spawned_link` for the first connect,
  // and the child outlives the link so that it sees its input end before it is reaped.
  std::unique_ptr<transport::ChildProcess> child;
  std::unique_ptr<transport::Link> spawned_link;
  std::unique_ptr<transport::Link> link;
  Fd epoll;  // what fd() hands out: it holds the current link's fd
  RequestId next_id = 1;
  std::deque<std::pair<RequestId, Message>> unsent;  // waiting for an established link
  // Small flat containers: one call in flight is the common case, and a node-based set would
  // allocate on every call. TODO(perf): an index for thousands of pipelined requests.
  std::vector<RequestId> in_flight;         // handed to the current link
  std::vector<RequestId> lost;              // their link died
  std::vector<Reply> arrived;               // replies nobody asked for yet
  Message incoming;                         // what drain() reads into; kept for its inline buffer
  Message head = pattern::request_head(0);  // rewritten with each request's id

  const Message& head_for(RequestId id) {
    pattern::set_request_id(head, id);
    return head;
  }

  static bool take(std::vector<RequestId>& ids, RequestId id) {
    for (auto& x : ids) {
      if (x == id) {
        x = ids.back();
        ids.pop_back();
        return true;
      }
    }
    return false;
  }
  bool lent = false;  // a zero-copy Loan is out on `link`
  // call_view(): the request whose reply is taken as a view; `viewed` once it is, in
  // `view_frames` (kept for its capacity: a MessageView borrows the vector and hands it back).
  RequestId view_for = 0;
  bool viewed = false;
  // call(): the request waited for. Replies are decoded straight into `call_reply`, so the
  // awaited one needs no move into `arrived` and out again; `call_done` once it is there.
  RequestId call_for = 0;
  bool call_done = false;
  Message call_reply;
  // Whether what the caller waits for may have arrived: stop spinning or sleeping.
  bool answered() const noexcept { return !arrived.empty() || viewed || call_done; }
  std::vector<std::span<const std::byte>> view_frames;
  transport::Link* viewing = nullptr;  // the link a zero-copy MessageView is out on
  // A link that died while a Loan or a view pointed into it, kept mapped until both end.
  std::unique_ptr<transport::Link> held_dead_link;
  void let_go_of_dead_link() {
    if (!lent && viewing == nullptr) held_dead_link.reset();
  }
  void end_view(std::vector<std::span<const std::byte>>& frames) noexcept override {
    if (viewing != nullptr) {
      if (viewing == link.get()) link->release_view();
      viewing = nullptr;
      let_go_of_dead_link();
    }
    frames.clear();
    if (view_frames.capacity() < frames.capacity()) view_frames.swap(frames);
  }
  static constexpr std::chrono::milliseconds kIdleCheck{50};
  Clock::time_point next_attempt{};
  Clock::time_point last_used{};
  std::chrono::milliseconds backoff{0};
  Errc last_failure = Errc::ok;

  Impl(std::string_view url, ClientOptions opts, bool spawning = false)
      : endpoint(Endpoint::parse(url)),
        options(std::move(opts)),
        mechanism(&pattern::mechanism_for(
            endpoint, {pattern::Use::Kind::request_reply, false, !spawning})),
        epoll(sys::epoll_create()) {
    if (!epoll) throw Error(Errc::resource_exhausted, endpoint.url(), "cannot create an epoll fd");
  }

  // A spawned child's connection is made once: after it is gone nothing can reconnect.
  bool child_gone() const noexcept { return child && !spawned_link && !link; }

  transport::LinkOptions link_options() const {
    transport::LinkOptions lo;
    lo.socket_type = wire::SocketType::dealer;
    lo.max_message_size = options.max_message_size + pattern::kEnvelopeAllowance;
    lo.max_queued_bytes = options.max_queued_bytes;
    lo.handshake_timeout = options.handshake_timeout;
    return lo;
  }

  void note_failure(Errc why, const std::string& detail) {
    last_failure = why;
    backoff =
        backoff.count() == 0 ? options.reconnect_min : std::min(backoff * 2, options.reconnect_max);
    next_attempt = Clock::now() + backoff;
    if (options.log) options.log("ipcx: " + endpoint.url() + ": " + detail);
  }

  // detail is copied first: it usually points into the link being dropped.
  void drop_link(Errc why, std::string_view fault) {
    std::string detail(fault);
    if (!link) return;
    sys::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, link->fd(), nullptr);
    bool was_established = link->established();
    if (lent || viewing == link.get()) {
      // A zero-copy Loan or view points into this link's memory: keep it until they end.
      link->close();
      held_dead_link = std::move(link);
    }
    link.reset();
    lost.insert(lost.end(), in_flight.begin(), in_flight.end());
    in_flight.clear();
    if (child) {
      // Nothing can reconnect to a spawned child: what waits for a link is lost too.
      for (auto& waiting : unsent) lost.push_back(waiting.first);
      unsent.clear();
      last_failure = Errc::peer_closed;
      if (options.log) options.log("ipcx: the spawned server closed its pipes: " + detail);
      return;
    }
    if (!was_established) note_failure(why, detail);
  }

  void try_connect() {
    if (link || Clock::now() < next_attempt) return;
    if (child) {
      if (!spawned_link) return;
      link = std::move(spawned_link);
    } else {
      std::string why;
      auto dialed = mechanism->dial(endpoint, link_options(), why);
      if (!dialed) return note_failure(dialed.error(), "connect failed: " + why);
      link = std::move(*dialed);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    sys::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, link->fd(), &ev);
  }

  // Hands waiting requests to an established link.
  void release_unsent() {
    while (link && link->established() && !unsent.empty()) {
      auto& [id, head_and_body] = unsent.front();
      auto r = link->send(head_for(id), head_and_body);
      if (r.status == Io::would_block) return;
      if (r.status != Io::ok) return drop_link(r.error, link->fault());
      in_flight.push_back(id);
      unsent.pop_front();
    }
  }

  // Reads what the link has; returns false when the link died. With `first_reply` (spinning on
  // shm), stops at the first reply that settles a call: the caller returns at once, and the
  // ring's bookkeeping (asking whether the server waits for room, which costs a fence) is left
  // to the next read instead of delaying the answer. Stream links are read to the end.
  bool drain(bool first_reply = false) {
    for (;;) {
      if (view_for != 0 && viewing == nullptr && take_view()) return true;
      Message& into = call_for != 0 && !call_done ? call_reply : incoming;
      auto r = link->recv(into);
      if (r.status == Io::would_block) return true;
      if (r.status != Io::ok) {
        drop_link(r.status == Io::closed ? Errc::refused : r.error, link->fault());
        return false;
      }
      backoff = std::chrono::milliseconds(0);
      auto id = pattern::reply_id(into);
      if (!id || !take(in_flight, *id)) continue;  // not ours, or answered already
      into.remove_front(2);                        // the request id and the delimiter
      if (&into == &call_reply && *id == call_for) {
        call_done = true;
      } else {
        // Braced, not value-initialised: that would zero the body's inline buffer first.
        arrived.push_back(Reply{*id, std::move(into)});
      }
      if (first_reply) return true;
    }
  }

  // call_view(): takes the next message as a view when the link can lend it. True when it is
  // the awaited reply (now in view_frames); anything else viewed is copied out and handled as
  // recv() would have. False: nothing could be viewed, so recv() reads the next message.
  bool take_view() {
    for (;;) {
      if (link->view(view_frames).status != Io::ok) return false;
      backoff = std::chrono::milliseconds(0);
      std::optional<RequestId> id;
      if (view_frames.size() >= 2) id = pattern::reply_id(view_frames[0], view_frames[1]);
      if (id && *id == view_for && take(in_flight, *id)) {
        viewing = link.get();
        viewed = true;
        return true;
      }
      bool ours = id && take(in_flight, *id);
      if (ours) {
        Message body;
        for (std::size_t i = 2; i < view_frames.size(); ++i) body.add(view_frames[i]);
        arrived.push_back(Reply{*id, std::move(body)});
      }
      link->release_view();  // not ours, or answered already
    }
  }

  // One round of progress, sleeping at most until `deadline`. With wait_first the caller has
  // just written a request (at `now`), so reading before waiting would only cost an EAGAIN:
  // wait (or spin) first, then read what arrived, and return without waiting again.
  void pump(Clock::time_point deadline, bool wait_first, Clock::time_point now = {}) {
    try_connect();
    retry_due();
    if (!link) {
      // No link: sleep until the next connection attempt or the deadline.
      auto until = std::min(deadline, next_attempt);
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
      if (ms > 0) sys::poll(nullptr, 0, static_cast<int>(ms));
      return;
    }
    if (wait_first) {
      if (!(link->established() && options.spin.count() > 0 && spin(deadline, now))) {
        wait_ready(deadline, now);
      }
      if (!link || answered()) return;
    }
    bool was_established = link->established();
    auto f = link->flush();
    if (f.status == Io::closed || f.status == Io::error) {
      // A peer that refused us may have said why before it closed (a ZMTP ERROR): read that
      // first, so the call fails with its reason rather than a bare refusal.
      if (!drain()) return;
      return drop_link(Errc::refused, link->fault());
    }
    if (!drain()) return;
    // Requests wait in `unsent` for a handshake, or for a link that was full or lending.
    if (link->established() && !unsent.empty() && !lent) {
      std::size_t waiting = unsent.size();
      release_unsent();
      if (link && link->wants_write()) {
        auto g = link->flush();
        if (g.status == Io::closed || g.status == Io::error) {
          return drop_link(Errc::peer_closed, link->fault());
        }
      }
      if (!link || unsent.size() != waiting) return;  // progress: look again before sleeping
    }
    if (wait_first || (!was_established && link->established())) return;
    if (answered() || !link) return;
    if (link->established() && options.spin.count() > 0 && spin(deadline)) return;
    wait_ready(deadline);
  }

  // A link with timed work of its own (udp:// resends, a handshake's deadline) gets its tick
  // when that is due; a tick that fails (the handshake timed out) ends the link, and the
  // requests waiting for it go out on the next one.
  void retry_due() {
    if (!link) return;
    auto due = link->wake_by();
    if (due == Clock::time_point::max()) return;
    auto now = Clock::now();
    if (now < due) return;
    auto r = link->tick(now);
    if (r.status == Io::error || r.status == Io::closed) return drop_link(r.error, link->fault());
    if (link->wants_write()) (void)link->flush();
  }

  // Polls the link without sleeping for the spin budget; true when a reply arrived.
  bool spin(Clock::time_point deadline, Clock::time_point now = {}) {
    if (now == Clock::time_point{}) now = Clock::now();
    auto until = std::min(deadline, now + options.spin);
    SpinPause pause(link->has_sleep_hooks() ? kShmYieldEvery : 1);
    // The clock is read every 16th poll (it was just read): on shm a poll costs less.
    for (unsigned polls = 1; (polls & 15) != 0 || Clock::now() < until; ++polls) {
      if (!link->quiet()) {
        if (!drain(link->has_sleep_hooks())) return true;
        if (answered()) return true;
      }
      pause();
    }
    return false;
  }

  // `now`, when the caller just read the clock; otherwise it is read here.
  void wait_ready(Clock::time_point deadline, Clock::time_point now = {}) {
    if (now == Clock::time_point{}) now = Clock::now();
    auto ms =
        std::chrono::ceil<std::chrono::milliseconds>(std::min(deadline, link->wake_by()) - now)
            .count();
    if (ms <= 0) return;
    if (!link->prepare_sleep()) return;  // something arrived while we were arming
    pollfd p{link->fd(), static_cast<short>(POLLIN | (link->wants_write() ? POLLOUT : 0)), 0};
    sys::poll(&p, 1, static_cast<int>(ms > 1000 ? 1000 : ms));
    link->end_sleep();
  }

  // A link idle for a while may have died unseen (server restarted, or dropped us for not
  // answering heartbeat PINGs while we were not reading). Reading it first finds out, so the
  // request goes out on a fresh connection instead of failing with peer_closed; reading also
  // answers any PING. Only after idleness: busy links pay no extra syscall.
  // `now` may be the coarse clock: the check is about tens of milliseconds.
  void check_idle_link(Clock::time_point now) {
    if (link && in_flight.empty() && now - last_used > kIdleCheck) {
      // Twice: a link skips one read after a short one (see Link::recv), and we need a read.
      if (drain()) drain();
      if (link && link->wants_write()) (void)link->flush();
    }
    last_used = now;
  }

  RequestId new_id() {
    RequestId id = next_id++;
    if (next_id == 0) next_id = 1;
    return id;
  }

  Result<RequestId> send(const Message& body, Clock::time_point now) {
    if (body.bytes() > options.max_message_size) return unexpected(Errc::message_too_large);
    if (child_gone()) return unexpected(Errc::peer_closed);
    return send_as(new_id(), body, now);
  }

  Result<RequestId> send_as(RequestId id, const Message& body, Clock::time_point now) {
    check_idle_link(now);
    try_connect();
    if (link && link->established() && unsent.empty()) {
      auto r = link->send(head_for(id), body);
      if (r.status == Io::ok) {
        in_flight.push_back(id);
        auto f = link->flush();
        if (f.status == Io::closed || f.status == Io::error)
          drop_link(Errc::peer_closed, link->fault());
        return id;
      }
      if (r.status == Io::error) return unexpected(r.error);
    }
    unsent.emplace_back(id, body);
    return id;
  }

  // The outcome for request `id` if it is settled, else nothing.
  std::optional<Result<Message>> settled(RequestId id) {
    for (auto it = arrived.begin(); it != arrived.end(); ++it) {
      if (it->id == id) {
        // Built in place: every move of a small Message copies its inline buffer.
        std::optional<Result<Message>> outcome(std::in_place, std::move(it->body));
        arrived.erase(it);
        return outcome;
      }
    }
    if (take(lost, id)) return Result<Message>(unexpected(Errc::peer_closed));
    return std::nullopt;
  }

  Errc expired(RequestId id) {
    // Never sent: withdraw it so it does not go out after the caller gave up.
    for (auto it = unsent.begin(); it != unsent.end(); ++it) {
      if (it->first == id) {
        unsent.erase(it);
        return last_failure == Errc::ok ? Errc::timeout : last_failure;
      }
    }
    take(in_flight, id);  // a late reply will be ignored
    return Errc::timeout;
  }
};

Client::Client(std::string_view url, ClientOptions options)
    : impl_(std::make_unique<Impl>(url, std::move(options))) {}

Client spawn(std::vector<std::string> argv, ClientOptions options) {
  Client client;
  client.impl_ = std::make_unique<Client::Impl>("stdio://", std::move(options), true);
  std::string why;
  auto spawned = transport::spawn_stdio_server(argv, client.impl_->link_options(), why);
  if (!spawned) throw Error(spawned.error(), "stdio://", why);
  client.impl_->child = std::move(spawned->child);
  client.impl_->spawned_link = std::move(spawned->link);
  return client;
}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

Result<Message> Client::call(const Message& request, std::chrono::milliseconds timeout) {
  // The idle check before sending needs milliseconds; the deadline's clock is read once the
  // request is out, off the round trip's path.
  auto id = impl_->send(request, coarse_now());
  if (!id) return unexpected(id.error());
  auto now = Clock::now();
  // Written already: wait before reading (and the clock was just read).
  bool written =
      std::find(impl_->in_flight.begin(), impl_->in_flight.end(), *id) != impl_->in_flight.end();
  return wait_for(*id, now + timeout, written, now);
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
    if (c.call_done) return std::move(c.call_reply);
    if (auto outcome = c.settled(id)) return std::move(*outcome);
    if (!first && Clock::now() >= deadline) return unexpected(impl_->expired(id));
    impl_->pump(deadline, first, first ? now : Clock::time_point{});
    first = false;
  }
}

Result<Loan> Client::loan(std::size_t bytes) {
  Impl& c = *impl_;
  if (bytes > c.options.max_message_size) return unexpected(Errc::message_too_large);
  c.check_idle_link(coarse_now());
  c.try_connect();
  Loan loan;
  loan.owner_ = this;
  loan.id_ = c.new_id();
  if (c.link && c.link->established() && c.unsent.empty() && !c.lent) {
    auto span = c.link->loan(c.head_for(loan.id_), bytes);
    if (!span.empty()) {
      c.lent = true;
      loan.in_transport_ = true;
      loan.bytes_ = span;
      return loan;
    }
  }
  loan.own_.add(std::string(bytes, '\0'));
  loan.bytes_ = loan.own_.mutable_frame(0);
  return loan;
}

Result<RequestId> Client::send_loan(Loan& loan, bool& written) {
  Impl& c = *impl_;
  RequestId id = loan.id_;
  if (!loan.in_transport_) {
    auto sent = c.send_as(id, loan.own_, coarse_now());
    if (!sent) return unexpected(sent.error());
    written = std::find(c.in_flight.begin(), c.in_flight.end(), id) != c.in_flight.end();
    return id;
  }
  loan.in_transport_ = false;  // settled here, whatever happens
  loan.owner_ = nullptr;
  if (!c.lent || !c.link) {  // its connection died while the body was being written
    c.lent = false;
    c.let_go_of_dead_link();
    return unexpected(Errc::peer_closed);
  }
  c.lent = false;
  auto r = c.link->commit_loan();
  if (r.status != Io::ok) return unexpected(Errc::peer_closed);
  c.in_flight.push_back(id);
  written = true;
  return id;
}

Result<Message> Client::call(Loan loan, std::chrono::milliseconds timeout) {
  bool written = false;
  auto id = send_loan(loan, written);
  if (!id) return unexpected(id.error());
  auto now = Clock::now();  // after the request is out, as in call(Message)
  return wait_for(*id, now + timeout, written, now);
}

Result<MessageView> Client::call_view(Loan loan, std::chrono::milliseconds timeout) {
  if (impl_->viewing != nullptr) return unexpected(Errc::would_block);
  bool written = false;
  auto id = send_loan(loan, written);
  if (!id) return unexpected(id.error());
  auto now = Clock::now();
  return wait_view(*id, now + timeout, written, now);
}

Loan::Loan(Loan&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      id_(other.id_),
      bytes_(other.bytes_),
      in_transport_(std::exchange(other.in_transport_, false)),
      own_(std::move(other.own_)) {
  // A small own_ body lives inline in the Message, which has just moved.
  if (!in_transport_ && !own_.empty()) bytes_ = own_.mutable_frame(0);
}

Loan& Loan::operator=(Loan&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    id_ = other.id_;
    bytes_ = other.bytes_;
    in_transport_ = std::exchange(other.in_transport_, false);
    own_ = std::move(other.own_);
    if (!in_transport_ && !own_.empty()) bytes_ = own_.mutable_frame(0);
  }
  return *this;
}

Loan::~Loan() { release(); }

void Loan::release() noexcept {
  if (!in_transport_ || owner_ == nullptr) return;
  Client::Impl& c = *owner_->impl_;
  if (c.lent && c.link) c.link->cancel_loan();
  c.lent = false;
  c.let_go_of_dead_link();
  in_transport_ = false;
}

Result<MessageView> Client::call_view(const Message& request, std::chrono::milliseconds timeout) {
  Impl& c = *impl_;
  if (c.viewing != nullptr) return unexpected(Errc::would_block);  // its reply could not be read
  auto id = c.send(request, coarse_now());
  if (!id) return unexpected(id.error());
  auto now = Clock::now();
  bool written = std::find(c.in_flight.begin(), c.in_flight.end(), *id) != c.in_flight.end();
  return wait_view(*id, now + timeout, written, now);
}

Result<MessageView> Client::wait_view(RequestId id, Clock::time_point deadline, bool written,
                                      Clock::time_point now) {
  Impl& c = *impl_;
  c.view_for = id;
  auto reply = wait_for(id, deadline, written, now);
  c.view_for = 0;
  if (!reply) return unexpected(reply.error());
  if (!c.viewed) return MessageView::owning(std::move(*reply));
  c.viewed = false;
  c.view_frames.erase(c.view_frames.begin(), c.view_frames.begin() + 2);  // id, delimiter
  return MessageView::lent(c, c.view_frames);
}

Result<RequestId> Client::send(const Message& request) {
  return impl_->send(request, coarse_now());
}

Result<Reply> Client::receive(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!impl_->arrived.empty()) {
      Reply r = std::move(impl_->arrived.front());
      impl_->arrived.erase(impl_->arrived.begin());
      return r;
    }
    if (!impl_->lost.empty()) {
      impl_->lost.clear();
      return unexpected(Errc::peer_closed);
    }
    if (impl_->unsent.empty() && impl_->in_flight.empty()) return unexpected(Errc::would_block);
    if (Clock::now() >= deadline) return unexpected(Errc::timeout);
    impl_->pump(deadline, false);
  }
}

int Client::fd() const noexcept { return impl_->epoll.get(); }

const Endpoint& Client::endpoint() const noexcept { return impl_->endpoint; }

}  // namespace ipcx
