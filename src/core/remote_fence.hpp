// Fences across processes (core layer), for an asymmetric Dekker handshake: the side that
// publishes often (a ring's producer) orders its store and its load with a compiler barrier
// only, and the side that rarely needs the ordering (a consumer about to sleep) pays for both
// with membarrier(2)'s MEMBARRIER_CMD_GLOBAL_EXPEDITED. That call makes every CPU now running
// a thread of a registered process execute a full fence before it returns, so a producer in
// a registered process behaves as if it had fenced wherever it was at that moment.
#pragma once

namespace ipcx {

// Registers this process (once; later calls return the first answer) to receive other
// processes' remote fences. A producer may drop its own fence only when this returned true.
bool join_remote_fences() noexcept;

// Whether this kernel offers remote fences at all; asked once.
bool remote_fences_available() noexcept;

// A full fence on every CPU running a registered process, ours included. False on failure,
// when the caller must not rely on it.
bool remote_fence() noexcept;

}  // namespace ipcx
