// Endpoint URLs (API layer): SCHEME://ADDRESS, the scheme found in the mechanism registry and
// the address parsed and printed by that mechanism's descriptor. No syscalls.
#include "ipcx/endpoint.hpp"

#include "transport/registry.hpp"

namespace ipcx {
namespace {

std::string known_schemes() {
  std::string list;
  const auto& all = transport::builtin_registry().all();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i > 0) list += i + 1 == all.size() ? " or " : ", ";
    list += all[i].info.scheme;
    if (!all[i].info.aliases.empty()) list += ", " + std::string(all[i].info.aliases);
  }
  return list;
}

}  // namespace

std::string Endpoint::url() const {
  const transport::Mechanism* m = transport::builtin_registry().find(scheme);
  if (m == nullptr) return scheme.empty() ? std::string() : scheme + "://?";
  return scheme + "://" + m->format(*this);
}

Result<Endpoint> Endpoint::try_parse(std::string_view url, std::string* why) noexcept {
  auto fail = [why](std::string fault) -> Result<Endpoint> {
    if (why) *why = std::move(fault);
    return unexpected(Errc::bad_endpoint);
  };
  try {
    auto sep = url.find("://");
    if (sep == std::string_view::npos) return fail("expected SCHEME://ADDRESS");
    std::string_view scheme = url.substr(0, sep);
    const transport::Mechanism* m = transport::builtin_registry().find(scheme);
    if (m == nullptr) {
      return fail("unknown scheme '" + std::string(scheme) + "' (expected " + known_schemes() +
                  ")");
    }
    Endpoint ep;
    ep.scheme = std::string(m->info.scheme);
    if (std::string f = m->parse(url.substr(sep + 3), ep); !f.empty()) return fail(std::move(f));
    return ep;
  } catch (const std::bad_alloc&) {
    return fail("out of memory");
  } catch (const Error& e) {  // the registry could not be built
    return fail(e.what());
  }
}

Endpoint Endpoint::parse(std::string_view url) {
  std::string why;
  auto ep = try_parse(url, &why);
  if (!ep) throw Error(Errc::bad_endpoint, std::string(url), "malformed endpoint: " + why);
  return std::move(ep).value();
}

}  // namespace ipcx
