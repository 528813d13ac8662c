// The shm link's seqpacket socket (transport layer, shm://): reading one rendezvous message and
// the descriptors that came with it, each owned at once so that none can leak; and, after the
// rendezvous, the doorbells: one-byte messages each side sends to wake the other.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
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

// Wakes the peer sleeping on its end of `socket`. Never blocks: a full socket holds doorbells
// the peer has not taken yet, which wake it as well.
void ring_shm_doorbell(int socket) noexcept;

// Takes one doorbell from `socket`: one waiting, or with `wait` the next, blocking until it
// comes, SO_RCVTIMEO passes or a signal arrives (then `none`; the socket must be blocking).
enum class Doorbells : std::uint8_t {
  none,     // nothing was waiting
  rung,     // a doorbell
  closed,   // the peer closed (or the socket failed)
  foreign,  // a message that is not a doorbell: a violation
};
Doorbells take_shm_doorbell(int socket, bool wait = false) noexcept;
// Takes every doorbell waiting on `socket`, a batch per syscall: `none` once it is empty, or
// what ended the reading (`closed`, `foreign`).
Doorbells take_waiting_shm_doorbells(int socket) noexcept;

}  // namespace ipcx::transport
