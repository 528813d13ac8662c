// Setup helpers shared by every pattern (pattern layer): resolve a URL to a mechanism and
// listen on it, turning transport faults into ipcx::Error that names the endpoint.
#pragma once

#include <memory>

#include "transport/link.hpp"

namespace ipcx::pattern {

// Throws Error(not_supported) for a scheme this build lacks.
const transport::Mechanism& mechanism_or_throw(const Endpoint& ep);
std::unique_ptr<transport::Listener> listen_or_throw(const Endpoint& ep,
                                                     const transport::ListenOptions& options);

}  // namespace ipcx::pattern
