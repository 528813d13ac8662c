// PipeStream (transport layer): a ByteStream over two one-way descriptors, a pipe or FIFO to
// read and another to write, shared by stdio:// and pipe://. The reactor waits on one fd, so
// the stream hands out an epoll fd of its own holding the read end (always) and the write end
// (only while a write would block: a pipe is nearly always writable, and a level-triggered
// writable end would keep the owner awake).
#pragma once

#include <string>
#include <vector>

#include "core/fd.hpp"
#include "transport/link.hpp"

namespace ipcx::transport {

class PipeStream final : public ByteStream {
 public:
  // Takes both ends, non-blocking already. Fails (nullptr, *why set) when the epoll fd cannot
  // be made.
  static std::unique_ptr<PipeStream> make(Fd read_end, Fd write_end, PeerInfo peer,
                                          std::string& why) noexcept;

  int fd() const noexcept override { return poller_.get(); }
  IoResult read_some(std::span<std::byte> into) noexcept override;
  // Never raises SIGPIPE: a reader that went away gives closed.
  IoResult write_some(std::span<const std::byte> from) noexcept override;
  PeerInfo peer() const noexcept override { return peer_; }

  // Descriptors to close and names to unlink at the first byte read (or at destruction): a
  // FIFO client holds placeholder ends and its FIFOs' names until the server has opened its
  // own ends, which the server's first bytes say.
  void hold_until_first_read(Fd a, Fd b, std::vector<std::string> names) noexcept;
  ~PipeStream() override { let_go(); }

 private:
  PipeStream(Fd poller, Fd read_end, Fd write_end, PeerInfo peer) noexcept;
  void watch_writable(bool on) noexcept;
  void let_go() noexcept;

  Fd poller_;
  Fd read_;
  Fd write_;
  PeerInfo peer_;
  bool watching_write_ = false;
  bool sigpipe_ignored_ = false;
  Fd held_[2];
  std::vector<std::string> held_names_;
};

// A write(2) that never raises SIGPIPE, even with the default disposition: it blocks SIGPIPE
// in this thread for the call and consumes the one the failed write raised. ipcx never
// changes the process's signal dispositions. `ignored`: SIGPIPE is known to be ignored, so
// the mask can be left alone (two syscalls saved).
ssize_t write_without_sigpipe(int fd, const void* data, std::size_t length, bool ignored) noexcept;
// Whether SIGPIPE is ignored in this process now.
bool sigpipe_ignored() noexcept;

}  // namespace ipcx::transport
