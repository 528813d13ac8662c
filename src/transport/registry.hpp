// Registry (transport layer): the mechanisms this build offers, found by scheme or alias. Built
// explicitly from the list in registry.cpp, never by static initialisers; each mechanism is
// checked as it is added, and a built-in one that fails is a fault at start-up.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "transport/mechanism.hpp"

namespace ipcx::transport {

class Registry {
 public:
  // Adds the mechanism if it is whole (a scheme, a parser and printer, listen and dial, and the
  // test hooks) and none of its schemes is taken; otherwise returns false with `why` set.
  bool add(const Mechanism& mechanism, std::string& why);
  // The mechanism a scheme or alias names; nullptr when this build has none.
  const Mechanism* find(std::string_view scheme) const noexcept;
  const std::vector<Mechanism>& all() const noexcept { return mechanisms_; }

 private:
  std::vector<Mechanism> mechanisms_;
};

// Adds every built-in mechanism; throws ipcx::Error naming the one that failed.
void register_builtin(Registry& registry);
// The registry with every built-in mechanism, built on first use (throws as above).
const Registry& builtin_registry();

}  // namespace ipcx::transport
