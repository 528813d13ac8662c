// What the one-way patterns share (pattern layer): see one_way.hpp.
#include "pattern/one_way.hpp"

#include "pattern/socket_options.hpp"

namespace ipcx::pattern {

engine::EngineOptions one_way_options(const SocketOptions& o, wire::SocketType type, Use::Kind use,
                                      bool reader) {
  engine::EngineOptions e = engine_options(o, type, use, reader);
  e.lossless = o.lossless;
  e.hwm = o.hwm;
  e.batch_bytes = o.batch_bytes;
  e.max_peers = o.max_peers;
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
