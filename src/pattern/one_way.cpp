// What the one-way patterns share (pattern layer): see one_way.hpp.
#include "pattern/one_way.hpp"

namespace ipcx::pattern {

engine::EngineOptions one_way_options(const SocketOptions& o, wire::SocketType type, Use::Kind use,
                                      bool reader) {
  engine::EngineOptions e;
  e.type = type;
  e.use = use;
  e.reader = reader;
  e.lossless = o.lossless;
  e.max_message_size = o.max_message_size;
  e.max_queued_bytes = o.max_queued_bytes;
  e.hwm = o.hwm;
  e.batch_bytes = o.batch_bytes;
  e.spin = o.spin;
  e.handshake_timeout = o.handshake_timeout;
  e.heartbeat = o.heartbeat;
  e.reconnect_min = o.reconnect_min;
  e.reconnect_max = o.reconnect_max;
  e.max_peers = o.max_peers;
  e.shm_ring_bytes = o.shm_ring_bytes;
  e.file_mode = o.file_mode;
  e.allow_uids = o.allow_uids;
  e.log = o.log;
  return e;
}

SocketStats stats_of(const engine::Engine& engine, const Traffic& traffic) noexcept {
  const auto& c = engine.counters();
  SocketStats s;
  s.peers = static_cast<std::uint64_t>(std::max<std::int64_t>(c.open.load(), 0));
  for (const auto& p : engine.peers()) s.ready += !p->closed && p->established() ? 1 : 0;
  s.messages = traffic.messages;
  s.bytes = traffic.bytes;
  s.dropped = c.dropped + traffic.filtered;
  s.peer_faults = c.peer_faults;
  s.rejected = c.rejected;
  s.lost = traffic.lost;
  return s;
}

}  // namespace ipcx::pattern
