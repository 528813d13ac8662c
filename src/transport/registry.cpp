// Registry (transport layer). Adding a mechanism is one line in register_builtin().
#include "transport/registry.hpp"

#include "transport/mechanisms.hpp"

namespace ipcx::transport {

bool Registry::add(const Mechanism& mechanism) noexcept {
  auto index = static_cast<std::size_t>(mechanism.scheme);
  if (mechanism.listen == nullptr || mechanism.dial == nullptr) return false;
  if (index >= slots_.size() || slots_[index].has_value()) return false;
  slots_[index] = mechanism;
  return true;
}

const Mechanism* Registry::find(Scheme scheme) const noexcept {
  auto index = static_cast<std::size_t>(scheme);
  if (index >= slots_.size() || !slots_[index]) return nullptr;
  return &*slots_[index];
}

void register_builtin(Registry& registry) noexcept {
  registry.add(unix_mechanism());
  registry.add(tcp_mechanism());
  registry.add(shm_mechanism());
  registry.add(stdio_mechanism());
  registry.add(fifo_mechanism());
  registry.add(mq_mechanism());
  registry.add(udp_mechanism());
}

const Registry& builtin_registry() noexcept {
  static const Registry registry = [] {
    Registry r;
    register_builtin(r);
    return r;
  }();
  return registry;
}

}  // namespace ipcx::transport
