// One-way throughput (bench): a sender process streams messages of one size into a receiver in
// the measuring process, which times them. Implementations: the raw floor of the mechanism (an
// SPSC ring in shared memory with both sides spinning; one writer streaming into one reader on a
// Unix or TCP socket), ipcx push/pull (and with batch_bytes on sockets), ipcx pipelined
// requests, and the peers' push/pull where built in (libzmq, NNG).
#pragma once

#include <cstddef>
#include <string>

namespace ipcx::bench {

struct FlowTarget {
  std::string mechanism;  // "shm", "unix" or "tcp"
  std::string impl;       // "raw", "ipcx", "zmq" or "nng"
  // raw: "ring" (shm) or "stream"; ipcx: "push", "push-b64k" (batch_bytes 64 KiB),
  // "push-view" (the puller reads each message in place: Puller::receive_view) or
  // "requests" (64 in flight, empty replies); peers: "push" (their PUSH/PULL; ZeroMQ and NNG
  // have no shared memory, so on shm they run over ipc).
  std::string mode;
};

struct FlowRun {
  bool ok = false;
  std::size_t messages = 0;  // timed: from the first message received to the last
  double seconds = 0;
};

// Streams `count` messages of `size` bytes with the sender on `sender_cpu`; the caller has
// pinned this process where the receiver belongs. `dir` holds any socket file.
FlowRun measure_flow(const FlowTarget& target, std::size_t size, std::size_t count, int sender_cpu,
                     int receiver_cpu, const std::string& dir);

}  // namespace ipcx::bench
