// Setup helpers shared by every pattern (pattern layer). Refusals are worded from the
// mechanism's capabilities, so no pattern names a scheme.
#include "pattern/setup.hpp"

#include "transport/registry.hpp"

namespace ipcx::pattern {
namespace {

std::string carried(const Capabilities& caps) {
  std::string list;
  auto add = [&](bool has, const char* what) {
    if (!has) return;
    if (!list.empty()) list += " and ";
    list += what;
  };
  add(caps.request_reply, "request/reply");
  add(caps.push_pull, "push/pull");
  add(caps.publish_subscribe, "publish/subscribe");
  return list.empty() ? "nothing" : list;
}

}  // namespace

const transport::Mechanism& mechanism_for(const Endpoint& ep, const Use& use) {
  const transport::Mechanism* m = transport::builtin_registry().find(ep.scheme);
  if (m == nullptr) {
    throw Error(Errc::not_supported, ep.url(), "this build has no " + ep.scheme + ":// mechanism");
  }
  const Capabilities& caps = m->info.caps;
  const std::string scheme = ep.scheme + "://";
  auto refuse = [&](const std::string& why) { throw Error(Errc::not_supported, ep.url(), why); };
  using Kind = Use::Kind;
  if ((use.kind == Kind::request_reply && !caps.request_reply) ||
      (use.kind == Kind::push_pull && !caps.push_pull) ||
      (use.kind == Kind::publish_subscribe && !caps.publish_subscribe)) {
    refuse(scheme + " carries " + carried(caps) + " only");
  }
  if (use.lossless && !caps.lossless_publish) {
    refuse("a " + scheme + " publisher cannot wait for its subscribers: lossless is not possible");
  }
  if (use.dial && caps.reach == Reach::spawn) {
    refuse("a " + scheme + " server is reached by starting it: ipcx::spawn(argv)");
  }
  return *m;
}

std::unique_ptr<transport::Listener> listen_or_throw(const transport::Mechanism& m,
                                                     const Endpoint& ep,
                                                     const transport::ListenOptions& options) {
  std::string why;
  auto listener = m.listen(ep, options, why);
  if (!listener) throw Error(listener.error(), ep.url(), "cannot bind: " + why);
  return std::move(listener).value();
}

}  // namespace ipcx::pattern
