// ipcx::Pusher and ipcx::Puller (pattern layer): PUSH and PULL over a LinkSet.
#include "ipcx/pipeline.hpp"

#include "pattern/link_set.hpp"

namespace ipcx {

using Clock = std::chrono::steady_clock;

Pusher::Pusher(SocketOptions options)
    : links_(
          std::make_unique<pattern::LinkSet>(wire::SocketType::push, std::move(options), false)) {}
Pusher::~Pusher() = default;
Pusher::Pusher(Pusher&&) noexcept = default;
Pusher& Pusher::operator=(Pusher&&) noexcept = default;

Endpoint Pusher::bind(std::string_view url) { return links_->bind(url); }
void Pusher::connect(std::string_view url) { links_->connect(url); }

Result<void> Pusher::send(const Message& message, std::chrono::milliseconds timeout) {
  pattern::LinkSet& set = *links_;
  if (message.bytes() > set.options().max_message_size) return unexpected(Errc::message_too_large);
  Clock::time_point deadline{};  // read only if it has to wait
  for (;;) {
    set.progress();
    auto& members = set.members();
    // Round robin: the member after the last one used, skipping those still writing.
    for (std::size_t tried = 0; tried < members.size(); ++tried) {
      if (next_ >= members.size()) next_ = 0;
      std::size_t i = next_++;
      if (!set.idle(members[i])) continue;
      auto sent = set.send_to(i, message, timeout);
      if (sent || sent.error() != Errc::peer_closed) return sent;
      break;  // that peer died under the message: look again
    }
    if (deadline == Clock::time_point{}) deadline = pattern::deadline_after(timeout);
    if (Clock::now() >= deadline) return unexpected(Errc::timeout);
    set.wait(deadline);
  }
}

bool Pusher::flush(std::chrono::milliseconds timeout) {
  return links_->flush(pattern::deadline_after(timeout));
}

SocketStats Pusher::stats() const noexcept { return links_->snapshot(); }

Puller::Puller(SocketOptions options)
    : links_(std::make_unique<pattern::LinkSet>(wire::SocketType::pull, std::move(options), true)) {
}
Puller::~Puller() = default;
Puller::Puller(Puller&&) noexcept = default;
Puller& Puller::operator=(Puller&&) noexcept = default;

Endpoint Puller::bind(std::string_view url) { return links_->bind(url); }
void Puller::connect(std::string_view url) { links_->connect(url); }

Result<void> Puller::take(Message& out, std::vector<std::span<const std::byte>>* frames,
                          bool* viewed, std::chrono::milliseconds timeout) {
  pattern::LinkSet& set = *links_;
  if (set.next_message(out, frames, viewed)) return {};
  auto deadline = pattern::deadline_after(timeout);
  for (;;) {
    set.progress();
    if (set.next_message(out, frames, viewed)) return {};
    if (set.spin_for(deadline, out, frames, viewed)) return {};
    if (Clock::now() >= deadline) return unexpected(Errc::timeout);
    set.wait(deadline);
  }
}

Result<void> Puller::receive(Message& out, std::chrono::milliseconds timeout) {
  return take(out, nullptr, nullptr, timeout);
}

Result<MessageView> Puller::receive_view(std::chrono::milliseconds timeout) {
  pattern::LinkSet& set = *links_;
  if (set.viewing()) return unexpected(Errc::would_block);
  Message own;
  bool viewed = false;
  if (auto r = take(own, &set.view_frames(), &viewed, timeout); !r) return unexpected(r.error());
  if (viewed) return MessageView::lent(set, set.view_frames());
  return MessageView::owning(std::move(own));
}

Result<Message> Puller::receive(std::chrono::milliseconds timeout) {
  Message m;
  if (auto r = receive(m, timeout); !r) return unexpected(r.error());
  return m;
}

SocketStats Puller::stats() const noexcept { return links_->snapshot(); }
int Puller::fd() const noexcept { return links_->fd(); }

}  // namespace ipcx
