// The public list of mechanisms (API layer): the registry's descriptors, as the API shows them.
#include "ipcx/mechanism.hpp"

#include "transport/registry.hpp"

namespace ipcx {

const std::vector<MechanismInfo>& mechanisms() {
  static const std::vector<MechanismInfo> list = [] {
    std::vector<MechanismInfo> infos;
    for (const auto& m : transport::builtin_registry().all()) infos.push_back(m.info);
    return infos;
  }();
  return list;
}

const MechanismInfo* find_mechanism(std::string_view scheme) {
  const transport::Mechanism* m = transport::builtin_registry().find(scheme);
  return m == nullptr ? nullptr : &m->info;
}

}  // namespace ipcx
