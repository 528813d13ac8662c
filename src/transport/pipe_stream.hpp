// PipeStream (transport layer): a ByteStream over two one-way descriptors, a pipe or FIFO to
// read and another to write, shared by stdio:// and pipe://; fd() is a PollSet of both.
#pragma once

#include <string>
#include <vector>

#include "core/fd.hpp"
#include "transport/link.hpp"
#include "transport/poll_set.hpp"

namespace ipcx::transport {

class PipeStream final : public ByteStream {
 public:
  // Takes both ends, non-blocking already. Fails (nullptr, *why set) when the epoll fd cannot
  // be made.
  static std::unique_ptr<PipeStream> make(Fd read_end, Fd write_end, PeerInfo peer,
                                          std::string& why) noexcept;

  int fd() const noexcept override { return poller_.fd(); }
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
  PipeStream(PollSet poller, Fd read_end, Fd write_end, PeerInfo peer) noexcept;
  void let_go() noexcept;

  PollSet poller_;
  Fd read_;
  Fd write_;
  PeerInfo peer_;
  bool sigpipe_ignored_ = false;
  Fd held_[2];
  std::vector<std::string> held_names_;
};

// A write(2) that never raises SIGPIPE, even with the default disposition: with RWF_NOSIGNAL
// where the kernel has it (6.16+), else by blocking SIGPIPE in this thread for the call and
// consuming the one the failed write raised. ipcx never changes the process's signal
// dispositions. `ignored`: SIGPIPE is known to be ignored, so a plain write does.
ssize_t write_without_sigpipe(int fd, const void* data, std::size_t length, bool ignored) noexcept;
// Whether SIGPIPE is ignored in this process now.
bool sigpipe_ignored() noexcept;

}  // namespace ipcx::transport
