// Setup helpers shared by every pattern (pattern layer).
#include "pattern/setup.hpp"

#include "transport/registry.hpp"

namespace ipcx::pattern {

const transport::Mechanism& mechanism_or_throw(const Endpoint& ep) {
  const transport::Mechanism* m = transport::builtin_registry().find(ep.scheme);
  if (m == nullptr) {
    throw Error(Errc::not_supported, ep.url(),
                "the " + std::string(scheme_name(ep.scheme)) +
                    ":// mechanism is not implemented in this build yet");
  }
  return *m;
}

std::unique_ptr<transport::Listener> listen_or_throw(const Endpoint& ep,
                                                     const transport::ListenOptions& options) {
  const transport::Mechanism& m = mechanism_or_throw(ep);
  std::string why;
  auto listener = m.listen(ep, options, why);
  if (!listener) throw Error(listener.error(), ep.url(), "cannot bind: " + why);
  return std::move(listener).value();
}

}  // namespace ipcx::pattern
