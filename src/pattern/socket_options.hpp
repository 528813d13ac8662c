// From a socket's public options to its engine's (pattern layer): the fields ServerOptions,
// ClientOptions and SocketOptions share are taken the same way for all three; each pattern then
// sets what is its own.
#pragma once

#include "engine/engine.hpp"

namespace ipcx::pattern {

template <class Options>
engine::EngineOptions engine_options(const Options& o, wire::SocketType type, Use::Kind use,
                                     bool reader) {
  engine::EngineOptions e;
  e.type = type;
  e.use = use;
  e.reader = reader;
  e.max_message_size = o.max_message_size;
  e.max_queued_bytes = o.max_queued_bytes;
  e.spin = o.spin;
  e.handshake_timeout = o.handshake_timeout;
  e.heartbeat = o.heartbeat;
  e.log = o.log;
  e.on_event = o.on_event;
  e.server_uids = o.server_uids;
  e.security = o.security;
  if constexpr (requires { o.reconnect_min; }) {
    e.reconnect_min = o.reconnect_min;
    e.reconnect_max = o.reconnect_max;
  }
  if constexpr (requires { o.file_mode; }) {
    e.shm_ring_bytes = o.shm_ring_bytes;
    e.file_mode = o.file_mode;
    e.allow_uids = o.allow_uids;
  }
  return e;
}

}  // namespace ipcx::pattern
