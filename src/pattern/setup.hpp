// Setup helpers shared by every pattern (pattern layer): find a URL's mechanism, refuse a use
// its capabilities do not allow, and listen, turning transport faults into ipcx::Error that
// names the endpoint.
#pragma once

#include <memory>

#include "transport/mechanism.hpp"

namespace ipcx::pattern {

// What a socket asks of a mechanism.
struct Use {
  enum class Kind : std::uint8_t { request_reply, push_pull, publish_subscribe } kind;
  bool lossless = false;  // a publisher that waits for its subscribers
  bool dial = false;      // connecting by URL (not binding)
};

// Throws Error(not_supported) for a scheme this build lacks or a use the mechanism refuses.
const transport::Mechanism& mechanism_for(const Endpoint& ep, const Use& use);
std::unique_ptr<transport::Listener> listen_or_throw(const transport::Mechanism& mechanism,
                                                     const Endpoint& ep,
                                                     const transport::ListenOptions& options);

}  // namespace ipcx::pattern
