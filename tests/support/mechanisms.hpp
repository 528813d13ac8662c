// The mechanisms a parametrized suite runs on (test support): taken from the registry and
// chosen by capability, never from a hand-kept list, so a new mechanism joins every suite its
// capabilities allow.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ipcx/mechanism.hpp"

namespace ipcx::test {

// The schemes of this build's mechanisms whose capabilities `wanted` accepts.
template <class Wanted>
std::vector<std::string> schemes_where(Wanted wanted) {
  std::vector<std::string> out;
  for (const MechanismInfo& m : mechanisms()) {
    if (wanted(m.caps)) out.emplace_back(m.scheme);
  }
  return out;
}

inline const Capabilities& caps_of(const std::string& scheme) {
  return find_mechanism(scheme)->caps;
}

// Names each instantiation after its scheme.
struct SchemeName {
  std::string operator()(const ::testing::TestParamInfo<std::string>& info) const {
    return info.param;
  }
};

}  // namespace ipcx::test
