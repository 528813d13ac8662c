// Options for servers and clients (API layer). Every limit has a safe default; see
// docs/ARCHITECTURE.md for why each default is what it is.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "ipcx/events.hpp"
#include "ipcx/security.hpp"

namespace ipcx {

using namespace std::chrono_literals;

// Receives one log line; called from whichever thread noticed the event.
using LogSink = std::function<void(std::string_view line)>;

struct ServerOptions {
  // Largest request body (all frames), checked before anything is allocated. A peer exceeding
  // it is closed and counted.
  std::size_t max_message_size = 64u << 20;
  // Further connections are accepted and closed at once, counted in stats().rejected.
  std::size_t max_connections = 1024;
  // Replies queued for one peer that does not read; past it the server stops reading that peer.
  std::size_t max_queued_bytes = 64u << 20;
  // After serving, keep polling (yielding the CPU between polls) this long before sleeping in
  // epoll_wait. Saves the ~40 us cross-CPU wake-up per request on small VMs; costs at most this
  // much CPU per burst of requests, nothing when idle. 0 never spins. See docs/BENCHMARKS.md.
  std::chrono::microseconds spin = 50us;
  // 0: handlers run on the thread that read the request. N: on a pool of N threads.
  unsigned workers = 0;
  std::chrono::milliseconds handshake_timeout = 10s;
  // ZMTP heartbeats: PING this often (with a TTL of 3x), close a peer silent for 3x. -1 (default):
  // 5 s over tcp://, off on the other mechanisms (they see a peer's end by themselves); 0: off.
  // A peer's PING that asks for a TTL is honoured either way.
  std::chrono::milliseconds heartbeat = -1ms;
  // stop(): how long Responders already handed out may still reply.
  std::chrono::milliseconds stop_grace = 1s;
  // shm://: bytes of each of a connection's two rings (rounded up to a power of two, 64 KiB to
  // 1 GiB). Larger messages go through in fragments.
  std::size_t shm_ring_bytes = 1u << 20;
  // Mode of socket files the server creates.
  std::uint32_t file_mode = 0600;
  // uids admitted on links that carry credentials. Empty: anyone for socket files (the file
  // mode decides), only the server's own uid for abstract sockets.
  std::vector<std::uint32_t> allow_uids;
  // Server::connect: as ClientOptions::server_uids.
  std::vector<std::uint32_t> server_uids;
  Security security;  // CURVE (ipcx/security.hpp); none: NULL
  LogSink log;
  EventSink on_event;  // connection events (ipcx/events.hpp); none when empty
};

// The envelope a Client puts before each request (docs/PROTOCOL.md, "Request envelopes").
enum class RequestEnvelope : std::uint8_t {
  // Request ids toward a server that announces it takes them (every ipcx Server, and every
  // mechanism that only ipcx speaks: shm, mq, udp, pipe, inproc, stdio); toward any other
  // ZeroMQ peer (a libzmq ROUTER broker, a REP), plain.
  automatic,
  // [id][""][body...]: requests pipeline on one connection and replies may overtake.
  request_ids,
  // [""][body...], exactly what a libzmq REQ sends: one request in flight per connection
  // (send() queues the next behind it), replies matched by arrival. A request that times out
  // closes the connection, so that its late reply cannot be taken for the next one's; the next
  // request goes out on a new connection.
  plain,
};

struct ClientOptions {
  std::size_t max_message_size = 64u << 20;
  std::size_t max_queued_bytes = 64u << 20;
  // While waiting for a reply, poll (yielding the CPU between polls) this long before sleeping.
  // Trades at most this much CPU per call for skipping the ~40 us cross-CPU wake-up on small
  // VMs. 0 never spins. See docs/BENCHMARKS.md.
  std::chrono::microseconds spin = 50us;
  std::chrono::milliseconds handshake_timeout = 10s;
  // ZMTP heartbeats: PING this often (with a TTL of 3x), close a peer silent for 3x. -1 (default):
  // 5 s over tcp://, off on the other mechanisms (they see a peer's end by themselves); 0: off.
  // A peer's PING that asks for a TTL is honoured either way.
  std::chrono::milliseconds heartbeat = -1ms;
  // Reconnect backoff: starts at the minimum and doubles up to the maximum.
  std::chrono::milliseconds reconnect_min = 10ms;
  std::chrono::milliseconds reconnect_max = 1s;
  RequestEnvelope envelope = RequestEnvelope::automatic;
  // Connecting on a local name (shm://NAME, unix://@name, pipe://, mq://): the uids the server
  // may run as, checked before a byte is sent (a name can be taken first by any local user).
  // Empty: our own euid on shm://NAME (its name is derived from it), our euid or root on the
  // others. A server of any other uid fails the connection with permission_denied, naming both.
  std::vector<std::uint32_t> server_uids;
  Security security;  // CURVE (ipcx/security.hpp); none: NULL
  LogSink log;
  EventSink on_event;  // connection events (ipcx/events.hpp); none when empty
};

// For the one-way patterns (Pusher/Puller, Publisher/Subscriber). Each may bind and connect any
// number of endpoints, as ZeroMQ sockets do.
struct SocketOptions {
  // Largest message (all frames); a peer sending more is closed and counted.
  std::size_t max_message_size = 64u << 20;
  // Messages queued for one peer beyond what its kernel buffer (or ring) took, ZeroMQ's
  // high-water mark. Pusher: a peer at the mark is skipped, and send() waits when every peer is
  // there. Publisher: a subscriber at the mark misses messages (counted in stats().dropped);
  // the publisher never waits for it. shm subscribers share the broadcast ring instead: one
  // that falls a ring behind loses the oldest messages and is told so.
  std::size_t hwm = 1000;
  // Publisher: never drop; publish() waits for the slowest matching subscriber instead (shm:
  // until it has read far enough for the broadcast ring to take the message; sockets: until
  // its queue is written out). A subscriber that stops reading then stops the publisher.
  bool lossless = false;
  // Bytes a peer may hold unwritten (whichever of this and hwm comes first).
  std::size_t max_queued_bytes = 64u << 20;
  // While waiting, poll this long (yielding the CPU between polls) before sleeping; as
  // ClientOptions::spin. 0 never spins.
  std::chrono::microseconds spin = 50us;
  std::chrono::milliseconds handshake_timeout = 10s;
  // ZMTP heartbeats: PING this often (with a TTL of 3x), close a peer silent for 3x. -1 (default):
  // 5 s over tcp://, off on the other mechanisms (they see a peer's end by themselves); 0: off.
  // A peer's PING that asks for a TTL is honoured either way.
  std::chrono::milliseconds heartbeat = -1ms;
  // Pusher and Publisher: how long destruction waits to write what is still queued (to peers
  // still connecting too), as ZeroMQ's linger. 0 writes only what the kernel takes at once.
  std::chrono::milliseconds linger = 1s;
  // Peers this socket accepts on its bound endpoints; more are closed at once and counted in
  // stats().rejected.
  std::size_t max_peers = 1024;
  // Reconnect backoff for connect()ed endpoints: starts at the minimum, doubles to the maximum.
  std::chrono::milliseconds reconnect_min = 10ms;
  std::chrono::milliseconds reconnect_max = 1s;
  // Pusher and Publisher over sockets (unix, tcp): gather up to this many bytes of messages
  // per peer and write them together: one syscall for many small messages, the batching
  // ZeroMQ gets from its I/O thread. A batch goes out when it is full, on flush(), and when a
  // call has to wait; so call flush() when you stop sending for a while, as with a buffered
  // stream (destruction writes what the kernel takes at once, no more). 0: each message is
  // written as it is sent, except that a Pusher called back to back gathers up to 16 KiB by
  // itself (Pusher::send). shm is unaffected (its ring is shared memory, not a syscall).
  std::size_t batch_bytes = 0;
  // shm:// endpoints this socket binds: bytes of each ring (as ServerOptions::shm_ring_bytes).
  // A Publisher's broadcast ring has this size too (its largest record is a quarter of it;
  // larger messages go in fragments).
  std::size_t shm_ring_bytes = 1u << 20;
  // Socket files this socket binds: their mode, and who may connect (as ServerOptions).
  std::uint32_t file_mode = 0600;
  std::vector<std::uint32_t> allow_uids;
  // connect(): as ClientOptions::server_uids.
  std::vector<std::uint32_t> server_uids;
  Security security;  // CURVE (ipcx/security.hpp); none: NULL
  LogSink log;
  EventSink on_event;  // connection events (ipcx/events.hpp); none when empty
};

}  // namespace ipcx
