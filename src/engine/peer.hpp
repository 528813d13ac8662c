// Peer (engine layer): one party a socket talks to. A peer accepted by a listener lives as long
// as its link; a peer made by connect() is the endpoint itself, as a ZeroMQ pipe is: it lives as
// long as the socket, redials after every loss, and keeps what was dealt to it while it has no
// link (its backlog), so a message dealt to a peer still connecting goes out once it is ready.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "core/lazy_deque.hpp"
#include "ipcx/endpoint.hpp"
#include "ipcx/message.hpp"
#include "transport/link.hpp"
#include "transport/mechanism.hpp"

namespace ipcx::engine {

using Clock = std::chrono::steady_clock;

// What a pattern keeps per peer (a connection's reply order, a subscriber's topics).
struct PeerState {
  virtual ~PeerState() = default;
};

// The endpoint of a connect()ed peer and its redial schedule.
struct Dial {
  Endpoint endpoint;
  const transport::Mechanism* mechanism = nullptr;  // null: an adopted link, never redialled
  Clock::time_point next_attempt{};
  std::chrono::milliseconds backoff{0};
  Errc last_failure = Errc::ok;  // why the last attempt failed, until one succeeds
};

struct Peer {
  std::unique_ptr<transport::Link> link;  // null while a dialled peer waits to redial
  std::uint64_t id = 0;                   // unique within its engine
  std::size_t index = 0;                  // position in the engine's peer list
  std::unique_ptr<Dial> dial;             // connect()ed or adopted peers only
  std::unique_ptr<PeerState> state;       // the pattern's
  std::string came_in_on;                 // accepted peers, with events on: the bound URL

  bool established() const noexcept { return link && link->established(); }
  transport::Polled* polled() const noexcept { return link ? link->extensions().polled : nullptr; }

  // Engine bookkeeping.
  bool readable = false;       // worth a recv(): epoll said so, or a polled ring is not quiet
  bool queued = false;         // in the engine's ready queue
  bool parked = false;         // a polled link left armed, out of the polled list (Polled::park)
  bool announced = false;      // on_ready() was called for the current link
  bool paused = false;         // not read, for backpressure
  bool dirty = false;          // listed for the end-of-turn flush
  bool closed = false;         // gone: reaped after this turn (accepted peers only)
  std::uint32_t interest = 0;  // what the event set watches its link's fd for
  // High-water accounting: encoded sizes of messages offer()ed and not yet written.
  LazyDeque<std::size_t> sizes;
  std::size_t sizes_sum = 0;
  // Messages dealt while the link could not take them (none yet, or still in its handshake).
  LazyDeque<Message> backlog;
  std::size_t backlog_bytes = 0;
  // Loans and views pointing into the link's memory: a link closed meanwhile is held, not freed.
  int lent = 0;
};

}  // namespace ipcx::engine
