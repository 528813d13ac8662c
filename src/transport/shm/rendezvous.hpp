// The shm rendezvous on its seqpacket socket (transport layer, shm://): reading one message and
// the descriptors that came with it, each owned at once so that none can leak.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <span>

#include "core/fd.hpp"

namespace ipcx::transport {

// bytes < 0: errno says why (EAGAIN: nothing yet); 0: the peer closed. Descriptors beyond
// fds.size() are closed but counted.
struct Received {
  ssize_t bytes = 0;
  int descriptors = 0;
  bool truncated = false;
};
Received receive_rendezvous(int socket, std::span<std::byte> into, std::span<Fd> fds) noexcept;

}  // namespace ipcx::transport
