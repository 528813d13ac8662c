// LinkSet (pattern layer): see link_set.hpp.
#include "pattern/link_set.hpp"

#include <sys/epoll.h>

#include <algorithm>

#include "core/spin.hpp"
#include "core/sys.hpp"
#include "pattern/setup.hpp"

namespace ipcx::pattern {
namespace {
constexpr std::uint64_t kListenerTag = std::uint64_t{1} << 63;
constexpr int kMaxEvents = 64;
}  // namespace

using transport::Io;

LinkSet::LinkSet(wire::SocketType type, SocketOptions options, bool reader, Inbound inbound)
    : type_(type),
      options_(std::move(options)),
      reader_(reader),
      inbound_(std::move(inbound)),
      epoll_(sys::epoll_create()) {
  if (!epoll_) throw Error(Errc::resource_exhausted, "", "cannot create an epoll fd");
}

LinkSet::~LinkSet() {
  // What a batch still holds goes out if the kernel takes it at once; nothing waits.
  for (auto& m : members_) {
    if (m.link->wants_write()) (void)m.link->flush();
  }
  for (auto& m : members_) m.link->close();
  for (auto& b : bound_) b.listener->close();
}

transport::LinkOptions LinkSet::link_options() const {
  transport::LinkOptions lo;
  lo.socket_type = type_;
  lo.max_message_size = options_.max_message_size;
  lo.max_queued_bytes = options_.max_queued_bytes;
  lo.handshake_timeout = options_.handshake_timeout;
  lo.shm_ring_bytes = options_.shm_ring_bytes;
  lo.broadcast = broadcast_;
  return lo;
}

namespace {
Use use_of(wire::SocketType type, bool lossless, bool dial) {
  using wire::SocketType;
  bool pubsub = type == SocketType::pub || type == SocketType::sub || type == SocketType::xpub ||
                type == SocketType::xsub;
  return {pubsub ? Use::Kind::publish_subscribe : Use::Kind::push_pull,
          lossless && (type == SocketType::pub || type == SocketType::xpub), dial};
}
}  // namespace

Endpoint LinkSet::bind(std::string_view url) {
  Endpoint ep = Endpoint::parse(url);
  const auto& mechanism = mechanism_for(ep, use_of(type_, options_.lossless, false));
  transport::ListenOptions lo;
  lo.link = link_options();
  lo.file_mode = options_.file_mode;
  lo.allow_uids = options_.allow_uids;
  auto listener = listen_or_throw(mechanism, ep, lo);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenerTag | bound_.size();
  if (sys::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener->fd(), &ev) != 0) {
    throw Error(Errc::resource_exhausted, ep.url(), "cannot watch the listening socket");
  }
  Endpoint bound = listener->bound();
  bound_.push_back({std::move(listener)});
  listener_ready_.push_back(false);
  return bound;
}

void LinkSet::connect(std::string_view url) {
  Dial d;
  d.endpoint = Endpoint::parse(url);
  d.mechanism = &mechanism_for(d.endpoint, use_of(type_, options_.lossless, true));
  dials_.push_back(std::move(d));
  ++unlinked_;
  dial_due(Clock::now());
}

void LinkSet::dial_due(Clock::time_point now) {
  for (std::size_t i = 0; i < dials_.size(); ++i) {
    Dial& d = dials_[i];
    if (d.linked || now < d.next_attempt) continue;
    std::string why;
    auto link = d.mechanism->dial(d.endpoint, link_options(), why);
    if (!link) {
      d.backoff = d.backoff.count() == 0 ? options_.reconnect_min
                                         : std::min(d.backoff * 2, options_.reconnect_max);
      d.next_attempt = now + d.backoff;
      if (options_.log) options_.log("ipcx: " + d.endpoint.url() + ": connect failed: " + why);
      continue;
    }
    d.linked = true;
    --unlinked_;
    add_member(std::move(*link), static_cast<int>(i));
  }
}

void LinkSet::add_member(std::unique_ptr<transport::Link> link, int dial) {
  Member m;
  m.link = std::move(link);
  m.dial = dial;
  m.key = next_key_++;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = m.key;
  if (sys::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, m.link->fd(), &ev) != 0) {
    m.link->close();
    if (dial >= 0) {
      dials_[static_cast<std::size_t>(dial)].linked = false;
      ++unlinked_;
    }
    return;
  }
  m.interest = EPOLLIN;
  members_.push_back(std::move(m));
  stats_.peers = members_.size();
  // Our greeting goes out at once, so the peer's handshake does not wait for our next send.
  write(members_.size() - 1);
}

void LinkSet::accept_all(transport::Listener& listener) {
  for (int i = 0; i < 64; ++i) {
    auto link = listener.accept();
    if (!link) {
      Errc e = link.error();
      if (e == Errc::protocol_violation) stats_.peer_faults++;  // a bad rendezvous record
      // Refused (already closed), garbage skipped, or a client gone before it was reached.
      if (e == Errc::permission_denied || e == Errc::protocol_violation || e == Errc::refused)
        continue;
      return;  // would_block, or out of descriptors: try again on the next readiness
    }
    if (members_.size() >= options_.max_peers) {
      stats_.rejected++;
      continue;  // closed as it goes out of scope
    }
    add_member(std::move(*link), -1);
  }
}

void LinkSet::drop(std::size_t i, bool fault, std::string_view why) {
  Member& m = members_[i];
  if (fault) {
    stats_.peer_faults++;
    if (options_.log)
      options_.log("ipcx: closed peer " + m.link->peer().address + ": " + std::string(why));
  }
  // A publisher knows how many messages it had queued; a pusher holds at most one.
  stats_.dropped += !m.queued.empty() ? m.queued.size() : m.link->queued_bytes() > 0 ? 1 : 0;
  sys::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, m.link->fd(), nullptr);
  m.link->close();
  if (m.dial >= 0) {
    Dial& d = dials_[static_cast<std::size_t>(m.dial)];
    d.linked = false;
    ++unlinked_;
    // An established link that ends is redialled at once; a failing one backs off.
    d.backoff = m.link->established()    ? std::chrono::milliseconds(0)
                : d.backoff.count() == 0 ? options_.reconnect_min
                                         : std::min(d.backoff * 2, options_.reconnect_max);
    d.next_attempt = Clock::now() + d.backoff;
  }
  if (m.link.get() == viewing_) held_view_link_ = std::move(m.link);
  if (i + 1 != members_.size()) members_[i] = std::move(members_.back());
  members_.pop_back();
  stats_.peers = members_.size();
  if (next_read_ >= members_.size()) next_read_ = 0;
}

std::size_t LinkSet::find(std::uint64_t key) const noexcept {
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (members_[i].key == key) return i;
  }
  return kNone;
}

void LinkSet::trim(Member& m) noexcept {
  // The oldest messages are the ones written: drop them while the rest still covers what the
  // link holds.
  std::size_t left = m.link->queued_bytes();
  while (!m.queued.empty() && m.queued_sum - m.queued.front() >= left) {
    m.queued_sum -= m.queued.front();
    m.queued.pop_front();
  }
}

bool LinkSet::write(std::size_t i) {
  Member& m = members_[i];
  if (!m.link->wants_write()) {
    if (!m.queued.empty()) trim(m);
    return true;
  }
  auto r = m.link->flush();
  if (r.status == Io::closed || r.status == Io::error) {
    drop(i, false, m.link->fault());
    return false;
  }
  if (!m.queued.empty()) trim(m);
  return true;
}

bool LinkSet::offer(std::size_t index, const Message& message) {
  Member& m = members_[index];
  auto full = [&] {
    return m.queued.size() >= options_.hwm || m.link->queued_bytes() >= options_.max_queued_bytes;
  };
  if (full()) {
    // A batch still being gathered holds messages on purpose: write it before judging.
    if (options_.batch_bytes == 0 || !m.link->wants_write() || !write(index) || full()) {
      return false;
    }
  }
  std::size_t before = m.link->queued_bytes();
  auto r = m.link->send(message);
  if (r.status == Io::would_block) return false;
  if (r.status != Io::ok) {
    drop(index, false, m.link->fault());
    return false;
  }
  std::size_t after = m.link->queued_bytes();
  std::size_t added = after > before ? after - before : 0;
  // A link that sent it at once (a udp publisher's datagrams) holds nothing against the mark.
  if (added == 0 && !m.link->wants_write()) return true;
  m.queued.push_back(added);
  m.queued_sum += added;
  return !due(m) || write(index);
}

bool LinkSet::idle(const Member& m) const noexcept {
  if (!m.link->established()) return false;
  std::size_t queued = m.link->queued_bytes();
  return options_.batch_bytes == 0 ? queued == 0 : queued < options_.batch_bytes;
}

Result<void> LinkSet::send_to(std::size_t index, const Message& message,
                              std::chrono::milliseconds timeout) {
  Member& m = members_[index];
  std::uint64_t key = m.key;
  auto r = m.link->send(message);
  if (r.status == Io::error && r.error == Errc::message_too_large) return unexpected(r.error);
  if (r.status != Io::ok) {
    drop(index, false, m.link->fault());
    return unexpected(Errc::peer_closed);
  }
  stats_.messages++;
  stats_.bytes += message.bytes();
  // Finish this message before returning, so it never sits half-written while the caller
  // does something else: the kernel's socket buffer (or the ring) is the queue. A batch
  // being gathered is not due yet.
  if (!due(members_[index])) return {};
  if (!write(index)) return unexpected(Errc::peer_closed);
  if (!due(members_[index])) return {};
  auto deadline = deadline_after(timeout);
  bool spun = false;
  for (;;) {
    std::size_t i = find(key);
    if (i == kNone) return unexpected(Errc::peer_closed);
    if (!due(members_[i]) || Clock::now() >= deadline) return {};
    if (!spun && members_[i].link->has_sleep_hooks() && options_.spin.count() > 0) {
      // A ring frees room within microseconds of a busy consumer: poll for it for the spin
      // budget before paying a sleep and a wake-up.
      spun = true;
      auto until = std::min(deadline, Clock::now() + options_.spin);
      SpinPause pause(kShmYieldEvery);
      for (unsigned polls = 1; (polls & 15) != 0 || Clock::now() < until; ++polls) {
        if (!write(i) || !due(members_[i])) break;
        pause();
      }
      continue;
    }
    spun = false;
    wait(deadline);
    progress();
  }
}

bool LinkSet::service(std::size_t i) {
  Member& m = members_[i];
  for (;;) {
    Message incoming;
    auto r = m.link->recv(incoming);
    if (r.status == Io::would_block) break;
    if (r.status == Io::closed) {
      drop(i, false, m.link->fault());
      return false;
    }
    if (r.status == Io::error) {
      (void)m.link->flush();  // a refused handshake owes the peer an ERROR command
      drop(i, true, m.link->fault());
      return false;
    }
    if (inbound_ && inbound_(m, incoming)) continue;
    drop(i, true, "a peer of this socket type must not send messages");
    return false;
  }
  // A link that stays open despite bad input (udp's, serving many peers) counts it here.
  auto dropped = m.link->take_dropped();
  stats_.peer_faults += dropped.malformed;
  stats_.dropped += dropped.overflow;
  // Until epoll reports the link again (a hang-up, a doorbell, a handshake). A ring that
  // carries something we want (a publisher's subscriptions) rings no doorbell for a reader
  // that never sleeps: look() polls it.
  m.ready = false;
  return !due(m) || write(i);
}

bool LinkSet::next_message(Message& out, Frames* frames, bool* viewed) {
  std::size_t n = members_.size();
  for (std::size_t tried = 0; tried < n && !members_.empty(); ++tried) {
    if (next_read_ >= members_.size()) next_read_ = 0;
    std::size_t i = next_read_;
    Member& m = members_[i];
    next_read_ = i + 1;
    if (!m.ready || (!m.flowing && m.link->quiet())) continue;
    if (frames != nullptr && viewing_ == nullptr && m.link->view(*frames).status == Io::ok) {
      viewing_ = m.link.get();
      *viewed = m.flowing = true;
      stats_.messages++;
      for (auto f : *frames) stats_.bytes += f.size();
      return true;
    }
    auto r = m.link->recv(out);
    m.flowing = r.status == Io::ok;
    if (r.status == Io::ok) {
      stats_.messages++;
      stats_.bytes += out.bytes();
      if (subscriber_) {  // only a broadcast ring loses messages
        last_gap_ = m.link->take_gap();
        stats_.lost += last_gap_;
      }
      return true;
    }
    if (r.status == Io::would_block) {
      if (!m.link->has_sleep_hooks()) m.ready = false;
      if (m.link->wants_write()) write(i);  // the handshake may owe the peer bytes
      continue;
    }
    if (r.status == Io::error) (void)m.link->flush();
    drop(i, r.status == Io::error, m.link->fault());
    next_read_ = i;
  }
  return false;
}

void LinkSet::end_view(Frames& frames) noexcept {
  if (viewing_ != nullptr) {
    if (viewing_ == held_view_link_.get()) {
      held_view_link_.reset();  // its peer is gone: nothing to give back
    } else {
      viewing_->release_view();
    }
    viewing_ = nullptr;
  }
  frames.clear();
  if (view_frames_.capacity() < frames.capacity()) view_frames_.swap(frames);
}

void LinkSet::watch(Member& m, std::uint32_t events) {
  if (events == m.interest) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = m.key;
  if (sys::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, m.link->fd(), &ev) == 0) m.interest = events;
}

void LinkSet::look(int timeout_ms) {
  epoll_event events[kMaxEvents];
  int n = sys::epoll_wait(epoll_.get(), events, kMaxEvents, timeout_ms);
  last_look_ = Clock::now();
  for (int e = 0; e < n; ++e) {
    std::uint64_t tag = events[e].data.u64;
    if (tag & kListenerTag) {
      std::size_t b = tag & ~kListenerTag;
      if (b < listener_ready_.size()) listener_ready_[b] = true;
      continue;
    }
    for (auto& m : members_) {
      if (m.key == tag) m.ready = true;
    }
  }
  // Rings that carry what we want (a publisher's subscriptions) are polled as often as epoll
  // is: at least every millisecond while the owner is busy. Not on every call: a publisher
  // with many subscribers would spend its time reading empty rings.
  if (inbound_) {
    for (auto& m : members_) m.ready |= m.link->has_sleep_hooks();
  }
}

void LinkSet::poll_signals() {
  for (auto& m : members_) {
    if (!m.link->has_sleep_hooks()) return look(0);
  }
}

void LinkSet::refresh() {
  look(0);
  progress();
}

void LinkSet::progress_fresh() {
  auto now = Clock::now();
  if (now - last_look_ > std::chrono::milliseconds(1)) look(0);
  tick(now);  // a publisher that never waits still times out handshakes that never finish
  progress();
}

bool LinkSet::spin_for(Clock::time_point deadline, Message& out, Frames* frames, bool* viewed) {
  if (options_.spin.count() <= 0 || members_.empty()) return false;
  auto until = std::min(deadline, Clock::now() + options_.spin);
  SpinPause pause(kShmYieldEvery);
  for (unsigned polls = 1; (polls & 15) != 0 || Clock::now() < until; ++polls) {
    if (next_message(out, frames, viewed)) return true;
    pause();
    if ((polls & 3) == 0) poll_signals();
  }
  return false;
}

void LinkSet::progress() {
  // Without a wait in between, look at epoll now and then: new peers, handshakes, hang-ups.
  if ((++calls_ & 63) == 0 && Clock::now() - last_look_ > std::chrono::milliseconds(1)) look(0);
  for (std::size_t b = 0; b < bound_.size(); ++b) {
    if (!listener_ready_[b]) continue;
    listener_ready_[b] = false;
    accept_all(*bound_[b].listener);
  }
  if (unlinked_ > 0) dial_due(Clock::now());
  for (std::size_t i = 0; i < members_.size();) {
    Member& m = members_[i];
    bool alive = true;
    // A reader's links are read by next_message() alone, handshakes included: one read may
    // bring the peer's READY and its first messages together.
    if (!reader_ && m.ready) {
      alive = service(i);
    } else if (due(m)) {
      alive = write(i);
    }
    if (alive) ++i;
  }
}

void LinkSet::tick(Clock::time_point now) {
  if (now - last_tick_ <= std::chrono::milliseconds(100)) return;
  last_tick_ = now;
  for (std::size_t i = 0; i < members_.size();) {
    auto r = members_[i].link->tick(now);
    if (r.status == Io::error) {
      drop(i, true, members_[i].link->fault());
      continue;
    }
    ++i;
  }
}

void LinkSet::wait(Clock::time_point deadline) {
  auto now = Clock::now();
  tick(now);
  // Sleep no longer than until the next dial attempt.
  for (const Dial& d : dials_) {
    if (!d.linked) deadline = std::min(deadline, d.next_attempt);
  }
  bool sleep = true;
  for (auto& m : members_) {
    watch(m, EPOLLIN | (due(m) ? EPOLLOUT : 0u));
    if (m.link->has_sleep_hooks()) sleep &= m.link->prepare_sleep();
  }
  long ms = 0;
  if (sleep && deadline > now) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    ms = std::min<long>(left, 1000);
  }
  look(static_cast<int>(ms));
  for (auto& m : members_) {
    if (m.link->has_sleep_hooks()) m.link->end_sleep();
  }
}

bool LinkSet::flush(Clock::time_point deadline) {
  look(0);           // new peers and their handshakes count as work to do
  flushing_ = true;  // batches are written too, and waited for
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{flushing_};
  for (;;) {
    progress();
    bool pending = false;
    for (auto& m : members_) pending |= m.link->queued_bytes() > 0;
    if (!pending) return true;
    if (Clock::now() >= deadline) return false;
    wait(deadline);
  }
}

}  // namespace ipcx::pattern
