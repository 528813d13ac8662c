// PipeStream (transport layer): see pipe_stream.hpp.
#include "transport/pipe_stream.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>

#include "core/errno_map.hpp"
#include "transport/faults.hpp"

namespace ipcx::transport {
namespace {

constexpr int kPipeBytes = 1 << 20;

IoResult io_result(ssize_t n, int err) noexcept {
  if (n > 0) return {Io::ok, static_cast<std::size_t>(n)};
  if (n == 0) return {Io::closed, 0, Errc::peer_closed};
  if (err == EAGAIN) return {Io::would_block};
  Errc code = errc_from_errno(err);
  if (code == Errc::peer_closed) return {Io::closed, 0, code};
  return {Io::error, 0, code};
}

}  // namespace

bool sigpipe_ignored() noexcept {
  struct sigaction current {};
  return ::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
}

ssize_t write_without_sigpipe(int fd, const void* data, std::size_t length, bool ignored) noexcept {
  if (ignored) return sys::write(fd, data, length);
  // A kernel with RWF_NOSIGNAL does it in one syscall; an older one says EOPNOTSUPP once, and
  // the signal mask does it from then on.
  static std::atomic<bool> no_flag{false};
  if (!no_flag.load(std::memory_order_relaxed)) {
    ssize_t n = sys::write_nosignal(fd, data, length);
    if (n >= 0 || (errno != EOPNOTSUPP && errno != EINVAL)) return n;
    no_flag.store(true, std::memory_order_relaxed);
  }
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t before;
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
  ssize_t n = sys::write(fd, data, length);
  int err = errno;
  // Had SIGPIPE been blocked already, a pending one could be somebody else's: leave it. It was
  // not, so nothing was pending on entry (it would have been delivered): this one is ours.
  if (n < 0 && err == EPIPE && !sigismember(&before, SIGPIPE)) {
    timespec now{};
    ::sigtimedwait(&pipe_only, nullptr, &now);
  }
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  errno = err;
  return n;
}

PipeStream::PipeStream(PollSet poller, Fd read_end, Fd write_end, PeerInfo peer) noexcept
    : poller_(std::move(poller)),
      read_(std::move(read_end)),
      write_(std::move(write_end)),
      peer_(std::move(peer)),
      sigpipe_ignored_(sigpipe_ignored()) {}

std::unique_ptr<PipeStream> PipeStream::make(Fd read_end, Fd write_end, PeerInfo peer,
                                             std::string& why) noexcept {
  // A pipe holds 64 KiB by default; 1 MiB (the unprivileged maximum, pipe-max-size) lets a
  // writer that is not driven all the time leave more for its reader. Best effort.
  ::fcntl(write_end.get(), F_SETPIPE_SZ, kPipeBytes);
  auto poller = PollSet::make({read_end.get()}, write_end.get(), why);
  if (!poller) return nullptr;
  try {
    return std::unique_ptr<PipeStream>(new PipeStream(std::move(*poller), std::move(read_end),
                                                      std::move(write_end), std::move(peer)));
  } catch (const std::bad_alloc&) {
    why = "out of memory";
    return nullptr;
  }
}

void PipeStream::hold_until_first_read(Fd a, Fd b, std::vector<std::string> names) noexcept {
  held_[0] = std::move(a);
  held_[1] = std::move(b);
  held_names_ = std::move(names);
}

void PipeStream::let_go() noexcept {
  held_[0].reset();
  held_[1].reset();
  for (const auto& name : held_names_) sys::unlink(name.c_str());
  held_names_.clear();
}

IoResult PipeStream::read_some(std::span<std::byte> into) noexcept {
  ssize_t n = sys::read(read_.get(), into.data(), into.size());
  IoResult r = io_result(n, errno);
  if (r.status == Io::ok && (held_[0] || held_[1])) let_go();
  return r;
}

IoResult PipeStream::write_some(std::span<const std::byte> from) noexcept {
  ssize_t n = write_without_sigpipe(write_.get(), from.data(), from.size(), sigpipe_ignored_);
  IoResult r = io_result(n, errno);
  if (n == 0) r = {Io::would_block};  // write(2) never returns 0 for a non-empty pipe write
  poller_.watch_writable(r.status == Io::would_block);
  return r;
}

}  // namespace ipcx::transport
