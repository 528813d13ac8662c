// Engine (engine layer): binding, connecting, accepting and dialling, and peers coming and
// going. engine_io.cpp reads, engine_send.cpp writes, engine_wait.cpp waits and ticks.
#include "engine/engine.hpp"

#include <algorithm>

namespace ipcx::engine {
namespace {

constexpr std::chrono::milliseconds kAcceptBackoff{100};

std::chrono::milliseconds tick_period_of(const EngineOptions& o) {
  auto period = o.handshake_timeout;
  if (o.heartbeat.count() != 0) {
    period = std::min(period, o.heartbeat.count() > 0 ? o.heartbeat : transport::kTcpHeartbeat);
  }
  return std::clamp(period / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

template <class T>
void erase_one(std::vector<T*>& list, T* item) {
  auto it = std::find(list.begin(), list.end(), item);
  if (it == list.end()) return;
  *it = list.back();
  list.pop_back();
}

}  // namespace

Engine::Engine(EngineOptions options, PeerEvents* events)
    : options_(std::move(options)),
      events_(events),
      curve_(pattern::curve_setup(options_.security)),
      events_set_(options_.cross_thread),
      tick_period_(tick_period_of(options_)) {
  next_tick_ = Clock::now() + tick_period_;
}

Engine::~Engine() {
  // What a batch still holds goes out if the kernel takes it at once; nothing waits.
  for (auto& p : peers_) {
    if (p->link && p->link->wants_write()) (void)p->link->flush();
  }
  for (auto& p : peers_) {
    if (p->link) p->link->close();
  }
  for (auto& b : bound_) b->listener->close();
}

void Engine::log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

void Engine::emit(EventKind kind, const Peer& peer, std::string_view reason, Errc error) const {
  if (!options_.on_event) return;
  ConnectionEvent e;
  e.kind = kind;
  e.endpoint = peer.dial ? peer.dial->endpoint.url() : peer.came_in_on;
  if (peer.link) {
    const PeerInfo& info = peer.link->peer();
    e.pid = info.pid;
    e.peer = info.pid > 0            ? "pid:" + std::to_string(info.pid)
             : !info.address.empty() ? info.address
                                     : info.mechanism;
  }
  e.reason = std::string(reason);
  e.error = error;
  options_.on_event(e);
}

void Engine::emit_refused(const Bound& bound, std::string_view reason, Errc error) const {
  if (!options_.on_event) return;
  ConnectionEvent e;
  e.kind = EventKind::refused;
  e.endpoint = bound.listener->bound().url();
  e.peer = "unknown";  // turned away before a link was made for it
  e.reason = std::string(reason);
  e.error = error;
  options_.on_event(e);
}

pattern::Use Engine::use(bool dial) const {
  bool publisher =
      options_.type == wire::SocketType::pub || options_.type == wire::SocketType::xpub;
  return {options_.use, options_.lossless && publisher, dial};
}

transport::LinkOptions Engine::link_options(const Endpoint& ep) const {
  transport::LinkOptions lo;
  lo.socket_type = options_.type;
  lo.max_message_size = options_.max_message_size;
  lo.max_queued_bytes = options_.max_queued_bytes;
  lo.handshake_timeout = options_.handshake_timeout;
  lo.heartbeat = transport::heartbeat_for(options_.heartbeat, ep);
  lo.shm_ring_bytes = options_.shm_ring_bytes;
  lo.lossless_publish = options_.lossless;
  lo.announce_request_ids = options_.announce_request_ids;
  lo.server_uids = options_.server_uids;
  lo.curve = curve_.config;
  lo.curve_admit = curve_.admit;
  lo.scope = const_cast<transport::SocketScope*>(&scope_);
  return lo;
}

void Engine::check_security(const Endpoint& ep, const transport::Mechanism& mechanism) const {
  if (!options_.security.enabled()) return;
  if (!curve_.fault.empty()) throw Error(Errc::auth_failed, ep.url(), curve_.fault);
  if (!mechanism.info.caps.zeromq) {
    throw Error(Errc::not_supported, ep.url(),
                "CURVE runs on tcp:// and unix:// only; " + ep.scheme + ":// cannot carry it");
  }
}

Endpoint Engine::bind(std::string_view url) {
  Endpoint ep = Endpoint::parse(url);
  const auto& mechanism = pattern::mechanism_for(ep, use(false));
  check_security(ep, mechanism);
  transport::ListenOptions lo;
  lo.link = link_options(ep);
  lo.file_mode = options_.file_mode;
  lo.allow_uids = options_.allow_uids;
  auto bound = std::make_unique<Bound>();
  bound->listener = pattern::listen_or_throw(mechanism, ep, lo);
  if (!events_set_.add(bound->listener->fd(), EPOLLIN, listener_tag(bound.get()))) {
    throw Error(Errc::resource_exhausted, ep.url(), "cannot watch the listening socket");
  }
  Endpoint result = bound->listener->bound();
  bound_.push_back(std::move(bound));
  return result;
}

Peer& Engine::connect(std::string_view url, bool lazy) {
  auto dial = std::make_unique<Dial>();
  dial->endpoint = Endpoint::parse(url);
  dial->mechanism = &pattern::mechanism_for(dial->endpoint, use(true));
  check_security(dial->endpoint, *dial->mechanism);
  Peer& peer = add_peer(nullptr, std::move(dial));
  if (!lazy) redial(peer, Clock::now());
  return peer;
}

Peer& Engine::adopt(std::unique_ptr<transport::Link> link, Endpoint endpoint) {
  auto dial = std::make_unique<Dial>();
  dial->endpoint = std::move(endpoint);  // mechanism stays null: never redialled
  Peer& peer = add_peer(nullptr, std::move(dial));
  attach(peer, std::move(link));
  return peer;
}

Peer& Engine::add_peer(std::unique_ptr<transport::Link> link, std::unique_ptr<Dial> dial) {
  auto owned = std::make_unique<Peer>();
  Peer& peer = *owned;
  peer.id = next_id_++;
  peer.index = peers_.size();
  peer.dial = std::move(dial);
  peers_.push_back(std::move(owned));
  by_id_.emplace(peer.id, &peer);
  if (peer.dial) {
    dialled_.push_back(&peer);
    ++unlinked_;
  }
  if (link) attach(peer, std::move(link));
  return peer;
}

// Gives the peer a link: watched, listed where its capabilities say, and our greeting written
// at once, so the peer's handshake does not wait for our next send.
bool Engine::attach(Peer& peer, std::unique_ptr<transport::Link> link) {
  std::uint32_t events = read_events(*link);
  if (!events_set_.add(link->fd(), events, &peer)) {
    link->close();
    return false;
  }
  peer.link = std::move(link);
  EngineCounters::bump(counters_.open, std::int64_t{1});
  peer.interest = events;
  peer.announced = false;
  peer.readable = true;  // a first read drives the handshake
  if (peer.dial) --unlinked_;
  const auto& ext = peer.link->extensions();
  peer.parked = false;
  if (ext.polled != nullptr) polled_.push_back(&peer);
  if (ext.timed != nullptr) timed_.push_back(&peer);
  if (ext.gathers_writes) ++gathering_;
  if (!peer.backlog.empty()) ++handshakes_waited_on_;
  enqueue(peer);
  if (peer.link->established()) {
    note_ready(peer);
  } else if (peer.link->wants_write()) {
    write(peer);
  }
  return true;
}

void Engine::accept_all(Bound& bound) {
  for (int i = 0; i < 64; ++i) {
    auto link = bound.listener->accept();
    if (!link) {
      Errc e = link.error();
      if (e == Errc::would_block) return;
      std::string where = bound.listener->bound().url();
      if (e == Errc::permission_denied) {
        EngineCounters::bump(counters_.rejected);
        log("ipcx: refused a connection on " + where + ": uid not allowed");
        emit_refused(bound, "uid not allowed", Errc::permission_denied);
        continue;
      }
      if (e == Errc::protocol_violation || e == Errc::refused) {
        // Garbage in a rendezvous FIFO or queue, or a client gone before it was reached.
        if (e == Errc::protocol_violation) EngineCounters::bump(counters_.peer_faults);
        log("ipcx: " + where + ": " +
            (e == Errc::refused ? "a client left before its connection was opened"
                                : "bad rendezvous record skipped"));
        continue;
      }
      // Out of descriptors or memory: stop accepting for a moment instead of spinning.
      log("ipcx: accept on " + where + " failed: " + std::string(to_string(e)));
      events_set_.remove(bound.listener->fd());
      bound.paused_until = Clock::now() + kAcceptBackoff;
      ++paused_listeners_;
      return;
    }
    if (open_peers() - dialled_.size() >= options_.max_peers) {
      EngineCounters::bump(counters_.rejected);
      emit_refused(bound, "max_connections reached", Errc::resource_exhausted);
      continue;  // the link closes as it goes out of scope
    }
    Peer& peer = add_peer(nullptr, nullptr);
    if (options_.on_event) peer.came_in_on = bound.listener->bound().url();
    if (!attach(peer, std::move(*link))) {
      EngineCounters::bump(counters_.rejected);
      peer.closed = true;
      graveyard_.push_back(&peer);
      continue;
    }
    EngineCounters::bump(counters_.accepted);
  }
}

void Engine::resume_listeners(Clock::time_point now) {
  for (auto& b : bound_) {
    if (b->paused_until == Clock::time_point{} || now < b->paused_until) continue;
    b->paused_until = {};
    --paused_listeners_;
    if (b->listener->fd() >= 0)
      (void)events_set_.add(b->listener->fd(), EPOLLIN, listener_tag(b.get()));
  }
}

void Engine::redial(Peer& peer, Clock::time_point now) {
  Dial& d = *peer.dial;
  if (peer.link || d.mechanism == nullptr || now < d.next_attempt) return;
  std::string why;
  auto options = link_options(d.endpoint);
  options.dialled = true;
  auto link = d.mechanism->dial(d.endpoint, options, why);
  if (link && attach(peer, std::move(*link))) return;
  d.last_failure = link ? Errc::resource_exhausted : link.error();
  if (d.last_failure == Errc::permission_denied) {
    // The server is not who we expect, or it refused us: counted and told, never retried
    // quietly.
    EngineCounters::bump(counters_.rejected);
    emit(EventKind::refused, peer, why, d.last_failure);
  }
  d.backoff = d.backoff.count() == 0 ? options_.reconnect_min
                                     : std::min(d.backoff * 2, options_.reconnect_max);
  d.next_attempt = now + d.backoff;
  log("ipcx: " + d.endpoint.url() + ": connect failed: " + why);
}

void Engine::dial_due(Clock::time_point now) {
  for (Peer* p : dialled_) {
    if (!p->link) redial(*p, now);
  }
}

Peer* Engine::find(std::uint64_t id) noexcept {
  if (peers_.size() == 1) {  // by_id_ holds the same one: no hashing for a one-peer socket
    Peer* only = peers_[0].get();
    return only->id == id && !only->closed ? only : nullptr;
  }
  auto it = by_id_.find(id);
  return it == by_id_.end() || it->second->closed ? nullptr : it->second;
}

void Engine::stop_listening() {
  for (auto& b : bound_) {
    if (b->paused_until == Clock::time_point{}) events_set_.remove(b->listener->fd());
    b->listener->close();
  }
  bound_.clear();
  paused_listeners_ = 0;
  listeners_ready_ = false;
}

void Engine::close(Peer& peer, bool fault, std::string_view reason_text, Errc reason, bool silent) {
  if (!peer.link) return;
  // Copied first: it usually points into the link about to go (its fault()).
  std::string why(reason_text);
  transport::Link& link = *peer.link;
  if (options_.on_event) {
    EventKind kind = !link.established() ? EventKind::handshake_failed
                     : silent            ? EventKind::heartbeat_timeout
                                         : EventKind::disconnected;
    emit(kind, peer, why.empty() ? std::string_view("closed") : std::string_view(why), reason);
  }
  if (fault) {
    std::string who = link.peer().address;
    if (link.peer().pid > 0) who += " pid " + std::to_string(link.peer().pid);
    // A peer that needs what this socket does not speak (a security mechanism), or that fails
    // the CURVE handshake, is refused, not faulty.
    bool refused = reason == Errc::not_supported || reason == Errc::auth_failed;
    EngineCounters::bump(refused ? counters_.rejected : counters_.peer_faults);
    log((refused ? "ipcx: refused peer " : "ipcx: closed faulty peer ") + who + ": " + why);
  }
  // What was queued to it is lost: a publisher knows how many messages; others count one.
  std::size_t lost = !peer.sizes.empty() ? peer.sizes.size() : link.queued_bytes() > 0 ? 1 : 0;
  if (lost > 0) EngineCounters::bump(counters_.dropped, lost);
  take_dropped(peer);
  bool was_established = link.established();
  events_set_.remove(link.fd());
  link.close();
  // Counted closed only once it is: whoever sees `open` drop may rely on the peer's end of
  // the connection seeing the close.
  EngineCounters::bump(counters_.open, std::int64_t{-1});
  if (peer.polled() != nullptr && !peer.parked) erase_one(polled_, &peer);
  peer.parked = false;
  if (link.extensions().timed != nullptr) erase_one(timed_, &peer);
  if (link.extensions().gathers_writes) --gathering_;
  if (!peer.backlog.empty() && !peer.announced) --handshakes_waited_on_;
  if (peer.lent > 0) {
    held_.emplace_back(std::move(peer.link), peer.lent);  // loans or views point into it
  } else {
    peer.link.reset();
  }
  peer.lent = 0;
  peer.readable = peer.paused = false;
  peer.sizes.clear();
  peer.sizes_sum = 0;
  if (events_ != nullptr) events_->on_lost(peer);
  peer.announced = false;
  if (peer.dial) {
    ++unlinked_;
    Dial& d = *peer.dial;
    // An established link that ends is redialled at once; a failing one backs off.
    if (was_established) {
      d.backoff = std::chrono::milliseconds(0);
    } else {
      if (!fault) log("ipcx: " + d.endpoint.url() + ": " + why);
      d.last_failure = reason;
      d.backoff = d.backoff.count() == 0 ? options_.reconnect_min
                                         : std::min(d.backoff * 2, options_.reconnect_max);
    }
    d.next_attempt = Clock::now() + d.backoff;
    return;
  }
  peer.closed = true;
  graveyard_.push_back(&peer);
}

void Engine::pause(Peer& peer, bool paused) {
  if (peer.paused == paused || !peer.link) return;
  peer.paused = paused;
  watch(peer, (peer.interest & EPOLLOUT) != 0);
}

void Engine::free_closed() {
  for (Peer* dead : graveyard_) {
    if (dead->queued) std::erase(ready_, dead);
    if (dead->dirty) std::erase(dirty_, dead);
    by_id_.erase(dead->id);
    std::size_t i = dead->index;
    if (i + 1 != peers_.size()) {
      peers_[i] = std::move(peers_.back());
      peers_[i]->index = i;
    }
    peers_.pop_back();  // frees `dead`
  }
  graveyard_.clear();
}

void Engine::end_lending(transport::Link* link) noexcept {
  for (auto it = held_.begin(); it != held_.end(); ++it) {
    if (it->first.get() == link) {
      if (--it->second == 0) held_.erase(it);
      return;
    }
  }
  for (auto& p : peers_) {
    if (p->link.get() == link && p->lent > 0) --p->lent;
  }
}

void Engine::count_dropped(Peer& peer) noexcept {
  auto dropped = peer.link->extensions().datagrams->take_dropped();
  if (dropped.malformed + dropped.overflow == 0) return;
  EngineCounters::bump(counters_.peer_faults, dropped.malformed);
  EngineCounters::bump(counters_.dropped_input, dropped.overflow);
  log("ipcx: " + peer.link->peer().address + ": skipped " + std::to_string(dropped.malformed) +
      " malformed and lost " + std::to_string(dropped.overflow) + " datagrams");
}

}  // namespace ipcx::engine
