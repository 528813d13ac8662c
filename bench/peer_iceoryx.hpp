// iceoryx 2.0 as a round-trip peer on shared memory (bench): a ping topic and a pong topic, the
// follower answering each ping with a pong of the same size, in busy-poll or wait-set mode.
// Only built when CMake finds iceoryx_posh; RouDi, its daemon, is started and stopped here.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

#include "peers.hpp"

namespace ipcx::bench::iceoryx {

// The iox-roudi daemon this run starts (iceoryx allows one per machine), stopped by its PID.
class Roudi {
 public:
  Roudi() = default;
  Roudi(const Roudi&) = delete;
  Roudi& operator=(const Roudi&) = delete;
  ~Roudi();
  // Starts iox-roudi with its output in `log_path` and waits until it takes clients. On failure
  // returns false with the reason in `why` (another RouDi running, binary missing, ...).
  bool start(const std::string& log_path, std::string& why);
  bool running() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

// Answers pings on the topics named by `tag` until the leader says stop; reports `tag`.
[[noreturn]] void follow(const std::string& tag, bool waitset, int report_fd);

std::unique_ptr<Leader> lead(const std::string& tag, bool waitset, std::size_t size);

}  // namespace ipcx::bench::iceoryx
