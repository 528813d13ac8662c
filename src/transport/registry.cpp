// Registry (transport layer): the list of built-in mechanisms, and checking each as it is added.
#include "transport/registry.hpp"

namespace ipcx::transport {

// The built-in mechanisms, one factory each, defined in the mechanism's own file or folder.
// Adding one is one line here.
#define IPCX_BUILTIN_MECHANISMS(X) \
  X(unix_mechanism)                \
  X(tcp_mechanism)                 \
  X(shm_mechanism)                 \
  X(stdio_mechanism)               \
  X(fifo_mechanism)                \
  X(mq_mechanism)                  \
  X(udp_mechanism)                 \
  X(inproc_mechanism)              \
  /* end of the list */

#define IPCX_DECLARE_MECHANISM(factory) Mechanism factory();
IPCX_BUILTIN_MECHANISMS(IPCX_DECLARE_MECHANISM)
#undef IPCX_DECLARE_MECHANISM

namespace {

// "ipc,unix2" -> calls fn("ipc"), fn("unix2").
template <class Fn>
void for_each_alias(std::string_view list, Fn&& fn) {
  if (list.empty()) return;
  for (;;) {
    auto comma = list.find(',');
    fn(list.substr(0, comma));
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

bool Registry::add(const Mechanism& m, std::string& why) {
  const MechanismInfo& info = m.info;
  std::string name = info.scheme.empty() ? "a mechanism" : std::string(info.scheme) + "://";
  if (info.scheme.empty()) {
    why = "a mechanism has no scheme";
    return false;
  }
  if (m.parse == nullptr || m.format == nullptr || m.listen == nullptr || m.dial == nullptr) {
    why = name + " lacks a parser, a printer, a listen or a dial function";
    return false;
  }
  if (info.private_url == nullptr || info.leftovers == nullptr || info.remove_stale == nullptr) {
    why = name + " lacks its test hooks";
    return false;
  }
  bool taken = find(info.scheme) != nullptr;
  for_each_alias(info.aliases, [&](std::string_view alias) {
    taken = taken || alias.empty() || alias == info.scheme || find(alias) != nullptr;
  });
  if (taken) {
    why = name + ": its scheme or an alias is taken (or empty)";
    return false;
  }
  mechanisms_.push_back(m);
  return true;
}

const Mechanism* Registry::find(std::string_view scheme) const noexcept {
  for (const Mechanism& m : mechanisms_) {
    if (m.info.scheme == scheme) return &m;
    bool alias = false;
    for_each_alias(m.info.aliases, [&](std::string_view a) { alias = alias || a == scheme; });
    if (alias) return &m;
  }
  return nullptr;
}

void register_builtin(Registry& registry) {
  std::string why;
#define IPCX_ADD_MECHANISM(factory)                                                    \
  if (!registry.add(factory(), why)) {                                                 \
    throw Error(Errc::not_supported, "", "built-in mechanism not registered: " + why); \
  }
  IPCX_BUILTIN_MECHANISMS(IPCX_ADD_MECHANISM)
#undef IPCX_ADD_MECHANISM
}

const Registry& builtin_registry() {
  static const Registry registry = [] {
    Registry r;
    register_builtin(r);
    return r;
  }();
  return registry;
}

}  // namespace ipcx::transport
