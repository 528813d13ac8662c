// Connection events (API layer): what happens to a socket's connections, for monitoring, as
// libzmq's zmq_socket_monitor reports it. Set `on_event` in the socket's options; the callback
// runs on the socket's own thread (a Server's loop; for a Client, Pusher, Puller, Publisher or
// Subscriber, the thread inside whose call the engine noticed it), so it must be quick and must
// not call back into the socket.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ipcx/error.hpp"

namespace ipcx {

enum class EventKind : std::uint8_t {
  connected,          // a connection completed its handshake
  disconnected,       // an established connection ended (reason says why)
  handshake_failed,   // a connection ended before its handshake completed (e.g. CURVE needed)
  heartbeat_timeout,  // an established connection's peer fell silent past the heartbeat
  refused,            // a connection turned away: uid not allowed, or max_connections reached
};

// "connected", "disconnected", ...: the word `ipcx serve --events` prints.
std::string_view to_string(EventKind kind) noexcept;

struct ConnectionEvent {
  EventKind kind = EventKind::connected;
  std::string endpoint;  // the bound endpoint the connection came in on, or the one dialled
  // One word naming the peer: "pid:N" where the mechanism tells the peer's pid (local
  // sockets, shm), else its address ("127.0.0.1:40312"), else the mechanism's name; "unknown"
  // for one turned away before a connection was made.
  std::string peer;
  int pid = -1;        // where the mechanism tells it
  std::string reason;  // empty for connected
  Errc error = Errc::ok;
};

using EventSink = std::function<void(const ConnectionEvent& event)>;

}  // namespace ipcx
