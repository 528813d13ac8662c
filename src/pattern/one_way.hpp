// What the one-way patterns share (pattern layer): Pusher, Puller, Publisher and Subscriber
// each run an engine made from SocketOptions, count the messages they move, and report the
// same SocketStats.
#pragma once

#include "engine/engine.hpp"
#include "ipcx/pipeline.hpp"

namespace ipcx::pattern {

engine::EngineOptions one_way_options(const SocketOptions& options, wire::SocketType type,
                                      Use::Kind use, bool reader);

// now + timeout, saturating: kForever (milliseconds::max) never expires.
inline std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  auto now = Clock::now();
  auto room = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now);
  return timeout >= room ? Clock::time_point::max() : now + timeout;
}

// What the pattern counts itself; the engine counts the rest.
struct Traffic {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t filtered = 0;  // counted in SocketStats::dropped
  std::uint64_t lost = 0;
};
SocketStats stats_of(const engine::Engine& engine, const Traffic& traffic) noexcept;

}  // namespace ipcx::pattern
