// Mechanisms (API layer): what each IPC mechanism of this build is and can do, as its own
// descriptor says. Everything that must know the mechanisms (the CLI's tour, the benchmarks,
// the conformance tests, the capability checks at bind and connect) reads this list instead of
// naming schemes, so a new mechanism changes no public header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ipcx/endpoint.hpp"

namespace ipcx {

// How a mechanism keeps message boundaries.
enum class Boundaries : unsigned char {
  stream,   // a byte stream carrying ZMTP frames (unix, tcp, pipe, stdio)
  message,  // messages of its own, fragmented when large (shm, mq, inproc)
  datagram  // one message a datagram, no larger than one (udp)
};

// How a client reaches a server of this mechanism.
enum class Reach : unsigned char {
  url,   // bind and connect by URL
  spawn  // the parent starts the server as a child: ipcx::spawn(argv)
};

struct Capabilities {
  bool request_reply = false;      // Server and Client
  bool push_pull = false;          // Pusher and Puller
  bool publish_subscribe = false;  // Publisher and Subscriber
  bool lossless_publish = false;   // a Publisher may wait for its slowest subscriber
  bool credentials = false;        // the OS tells each side the peer's pid and uid
  bool zero_copy = false;          // loans and views in place (Client::loan, receive_view)
  // A publisher writes each message once, into a ring all its subscribers read: one that falls
  // a ring behind loses the oldest and is told how many (else each has its own queue).
  bool broadcast = false;
  bool zeromq = false;  // libzmq peers speak it (ZMTP over a socket)
  Boundaries boundaries = Boundaries::stream;
  bool reliable = true;           // in order and complete, or the link fails
  bool crosses_processes = true;  // false: threads of one process only
  bool crosses_machines = false;
  Reach reach = Reach::url;
};

// One mechanism as its descriptor describes it. The test hooks make private endpoints for
// tests, demos and benchmarks, and say what such an endpoint left behind.
struct MechanismInfo {
  std::string_view scheme;   // canonical: "unix"
  std::string_view aliases;  // other schemes it answers to, comma-separated ("ipc"); may be ""
  std::string_view summary;  // when to choose it, one line
  Capabilities caps;
  // A URL nobody else uses now, for a server to bind: under `dir` (an existing private
  // directory) where the mechanism names files, else named from `tag`; for ports, one that is
  // free at the moment (so another process can be told it before it binds).
  std::string (*private_url)(const std::string& dir, const std::string& tag) = nullptr;
  // What private_url(dir, tag)'s server and the connections to it left on the system: its own
  // name (socket file, FIFO, queue) and anything private to a connection. Empty when nothing.
  std::vector<std::string> (*leftovers)(const std::string& dir, const std::string& tag) = nullptr;
  // Removes what a server killed with kill -9 leaves by design (its FIFO or queue, which the
  // next bind would reuse anyway). Nothing for most mechanisms.
  void (*remove_stale)(const Endpoint& endpoint) = nullptr;
};

// Every mechanism of this build, in registration order. Built on first use; throws
// ipcx::Error if a built-in mechanism failed to register (a build fault, never silence).
const std::vector<MechanismInfo>& mechanisms();
// The mechanism a scheme or alias names, or nullptr.
const MechanismInfo* find_mechanism(std::string_view scheme);

}  // namespace ipcx
