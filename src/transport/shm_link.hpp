// ShmLink (transport layer): one shm:// connection. A seqpacket Unix socket carries the
// rendezvous (hellos, then the memfd and two eventfds by SCM_RIGHTS) and afterwards only tells
// liveness; messages travel through two rings in the memfd, in compact-encoded fragments.
#pragma once

#include <memory>

#include "core/fd.hpp"
#include "transport/link.hpp"

namespace ipcx::transport {

enum class ShmRole : std::uint8_t { server, client };

// Takes a connected seqpacket socket. The client side sends its hello at once; the server side
// answers it with the shared memory as soon as it arrives.
std::unique_ptr<Link> make_shm_link(Fd socket, PeerInfo peer, const LinkOptions& options,
                                    ShmRole role);

// ring_bytes rounded to the power of two in [64 KiB, 1 GiB] that a link will use.
std::size_t shm_ring_capacity(std::size_t ring_bytes) noexcept;

}  // namespace ipcx::transport
