// From a socket's Security options to what its links use (pattern layer): the CURVE role and
// keys decoded once, and the admission of clients (allow-list, then the authorize hook).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "ipcx/peer.hpp"
#include "ipcx/security.hpp"
#include "wire/curve.hpp"

namespace ipcx::pattern {

struct CurveSetup {
  std::optional<wire::CurveConfig> config;  // none: NULL
  // Server role: whether a client's long-term key, from this peer, is admitted.
  std::function<bool(const wire::CurveKey&, const PeerInfo&)> admit;
  // Why the options cannot be used (a malformed key, named but never shown); empty when fine.
  std::string fault;
};
CurveSetup curve_setup(const Security& security);

}  // namespace ipcx::pattern
