// Registry (transport layer): the mechanisms this build offers, by scheme. Built explicitly by
// register_builtin(), never by static initialisers; each mechanism is validated on entry.
#pragma once

#include <array>
#include <optional>

#include "transport/link.hpp"

namespace ipcx::transport {

class Registry {
 public:
  // False (and nothing registered) when the mechanism lacks a listen or dial function or its
  // scheme is taken.
  bool add(const Mechanism& mechanism) noexcept;
  // nullptr when this build does not implement the scheme.
  const Mechanism* find(Scheme scheme) const noexcept;

 private:
  std::array<std::optional<Mechanism>, 8> slots_{};
};

void register_builtin(Registry& registry) noexcept;
// The registry with every built-in mechanism, built on first use.
const Registry& builtin_registry() noexcept;

}  // namespace ipcx::transport
