// The two ends of one benchmarked round trip (bench): a Follower serves in a forked process, a
// Leader calls it from the measuring process. One pair per implementation: the raw-syscall floor
// of each socket mechanism, and ipcx itself. Only public ipcx headers and plain syscalls here.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace ipcx::bench {

struct Target {
  std::string mechanism;  // "shm", "unix", "tcp", "stdio", "pipe", "mq" or "udp"
  std::string impl;       // "raw", "ipcx", or a peer library: "zmq", "nng", "boost", "iceoryx"
  // ipcx: "blocking", "spin", "default", "view" (default, the reply read in place:
  // Client::call_view) or "loan" (default, the body written and the reply read in place:
  // Client::loan and call_view). raw
  // unix/tcp: "blocking" (read/write) or "evloop" (the syscalls of an event loop: server
  // epoll_wait+recv+send, client send+poll+recv). raw shm: "busypoll" (both spin on shared memory)
  // or "eventfd" (both sleep on eventfds). raw stdio (anonymous pipes), pipe (FIFOs), mq and
  // udp: "blocking". iceoryx: "busypoll" or "waitset".
  std::string mode;
  std::chrono::microseconds spin{0};
};

// Makes what a raw shm or pipe floor shares between the processes; call before forking the
// follower, which runs on follower_cpu (a spawned stdio:// server is pinned there too).
void prepare_target(const Target& target, std::size_t size, int follower_cpu);

// The body of a spawned stdio:// follower: `--stdio-follower CPU SPIN_US` on the command line.
void serve_stdio_follower(int cpu, long spin_us);

// Whether the harness has a raw blocking ping-pong for this (non-socket) mechanism.
bool peer_has_raw_floor(const std::string& mechanism);

// Whether this build has the peer library `impl` ("zmq", "nng", "boost").
bool peer_available(const std::string& impl);

// Starts what the peer `impl` needs for the whole run (iceoryx: its RouDi daemon, logging into
// `dir`) and returns the handle that stops it; null, with the reason in `why`, when it cannot.
std::shared_ptr<void> start_peer(const std::string& impl, const std::string& dir, std::string& why);

// Binds, reports the URL to connect to through `report`, then serves until killed.
[[noreturn]] void run_follower(const Target& target, const std::string& url_hint, int report_fd);

class Leader {
 public:
  virtual ~Leader() = default;
  // One request of `size` bytes and its reply; false on any failure.
  virtual bool round_trip() = 0;
};

std::unique_ptr<Leader> make_leader(const Target& target, const std::string& url, std::size_t size);

}  // namespace ipcx::bench
