// inproc:// link (transport layer): one side of a Channel. Messages are moved into the peer's
// incoming queue; what does not fit waits in this link and goes as the reader frees room. The
// link's fd() is its own doorbell, rung by the peer only while this side said it sleeps, and
// when the peer closes.
#include "transport/inproc/inproc_link.hpp"

namespace ipcx::transport::inproc {
namespace {

class InprocLink final : public Link, public Polled {
 public:
  InprocLink(std::shared_ptr<Channel> channel, Side side, PeerInfo peer, const LinkOptions& options)
      : channel_(std::move(channel)), side_(side), peer_(std::move(peer)), options_(options) {
    extensions_.polled = this;
  }
  ~InprocLink() override { close(); }

  int fd() const noexcept override {
    return channel_ ? channel_->bell[static_cast<int>(side_)].get() : -1;
  }
  // At once: the server's socket type was checked when the client dialled, and messages wait
  // in the channel until the server accepts it.
  bool established() const noexcept override { return channel_ && !channel_->refused; }
  const PeerInfo& peer() const noexcept override { return peer_; }
  std::string_view fault() const noexcept override { return fault_; }
  bool wants_write() const noexcept override { return !pending_.empty(); }
  std::size_t queued_bytes() const noexcept override { return pending_bytes_; }

  IoResult send(const Message& head, const Message& tail) noexcept override {
    if (!channel_ || channel_->gone[other()].load()) return {Io::error, 0, Errc::peer_closed};
    if (!established()) return {Io::would_block};
    if (head.bytes() + tail.bytes() > options_.max_message_size) {
      return {Io::error, 0, Errc::message_too_large};
    }
    if (pending_bytes_ >= options_.max_queued_bytes) return {Io::would_block};
    try {
      Message copy;
      copy.add_frames(head);
      copy.add_frames(tail);
      pending_bytes_ += copy.bytes();
      pending_.push_back(std::move(copy));
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
    (void)flush();
    return {Io::ok, head.bytes() + tail.bytes()};
  }

  IoResult flush() noexcept override {
    if (!channel_ || channel_->gone[other()].load()) return {Io::closed, 0, Errc::peer_closed};
    if (pending_.empty()) return {Io::ok};
    Direction& out = channel_->outgoing(side_);
    bool wake = false;
    {
      std::lock_guard lock(out.mutex);
      while (!pending_.empty() && !out.full()) {
        pending_bytes_ -= pending_.front().bytes();
        out.bytes += pending_.front().bytes();
        out.messages.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
      wake = std::exchange(out.reader_sleeping, false);
    }
    if (wake) channel_->ring(Channel::other(side_));
    return {pending_.empty() ? Io::ok : Io::would_block};
  }

  IoResult recv(Message& out) noexcept override {
    if (!channel_) return {Io::closed, 0, Errc::peer_closed};
    if (channel_->refused) {
      fault_ = "the server's socket type cannot talk to ours";
      return {Io::error, 0, Errc::refused};
    }
    if (armed_) {
      armed_ = false;
      std::uint64_t count;
      [[maybe_unused]] auto n = sys::read(fd(), &count, sizeof count);
    }
    Direction& in = channel_->incoming(side_);
    bool wake = false;
    {
      std::lock_guard lock(in.mutex);
      if (in.messages.empty()) {
        if (channel_->gone[other()].load()) return closed();
        return {Io::would_block};
      }
      bool was_full = in.full();
      out = std::move(in.messages.front());
      in.messages.pop_front();
      in.bytes -= out.bytes();
      wake = was_full && std::exchange(in.writer_waiting, false);
    }
    if (wake) channel_->ring(Channel::other(side_));
    // Our limit holds whatever the peer's was: a larger message is its fault.
    if (out.bytes() > options_.max_message_size) {
      fault_ = "the peer sent a message of " + std::to_string(out.bytes()) + " bytes, above " +
               std::to_string(options_.max_message_size);
      out.clear();
      return {Io::error, 0, Errc::protocol_violation};
    }
    return {Io::ok, out.bytes()};
  }

  IoResult tick(Clock::time_point) noexcept override { return {Io::ok}; }  // no handshake

  void close() noexcept override {
    if (!channel_) return;
    channel_->gone[static_cast<int>(side_)] = true;
    channel_->ring(Channel::other(side_));
    channel_.reset();
  }

  bool quiet() noexcept override {
    if (!channel_ || !pending_.empty() || !established() || channel_->gone[other()].load()) {
      return false;
    }
    Direction& in = channel_->incoming(side_);
    std::lock_guard lock(in.mutex);
    return in.messages.empty();
  }

  bool prepare_sleep() noexcept override {
    if (!channel_ || !established()) return true;  // closing rings anyway
    {
      Direction& in = channel_->incoming(side_);
      std::lock_guard lock(in.mutex);
      if (!in.messages.empty()) return false;
      in.reader_sleeping = true;
    }
    if (!pending_.empty()) {
      Direction& out = channel_->outgoing(side_);
      std::lock_guard lock(out.mutex);
      if (!out.full()) {
        end_sleep();
        return false;
      }
      out.writer_waiting = true;
    }
    armed_ = true;
    return true;
  }

  // Threads of one process are few: always polled.
  bool park() noexcept override { return false; }

  void end_sleep() noexcept override {
    if (!channel_) return;
    Direction& in = channel_->incoming(side_);
    std::lock_guard lock(in.mutex);
    in.reader_sleeping = false;
  }

 private:
  int other() const noexcept { return static_cast<int>(Channel::other(side_)); }
  IoResult closed() noexcept {
    fault_ = "peer closed the connection";
    return {Io::closed, 0, Errc::peer_closed};
  }

  std::shared_ptr<Channel> channel_;
  Side side_;
  PeerInfo peer_;
  LinkOptions options_;
  std::deque<Message> pending_;  // what the peer's queue had no room for yet
  std::size_t pending_bytes_ = 0;
  bool armed_ = false;  // said we sleep: the doorbell may hold a count
  std::string fault_;
};

}  // namespace

std::unique_ptr<Link> make_inproc_link(std::shared_ptr<Channel> channel, Side side, PeerInfo peer,
                                       const LinkOptions& options) {
  return std::make_unique<InprocLink>(std::move(channel), side, std::move(peer), options);
}

}  // namespace ipcx::transport::inproc
