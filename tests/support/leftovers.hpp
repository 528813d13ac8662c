// Endpoints private to one test, and what of them is left on the system (test support): thin
// wrappers over each mechanism's own test hooks (ipcx/mechanism.hpp). The mqueue filesystem is
// mounted at /dev/mqueue when it is not yet, so that the mq hook can list private queues.
#pragma once

#include <sys/mount.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ipcx/mechanism.hpp"
#include "support/temp_dir.hpp"

namespace ipcx::test {

inline const MechanismInfo& mechanism_named(const std::string& scheme) {
  const MechanismInfo* m = find_mechanism(scheme);
  if (m == nullptr) throw std::runtime_error("no mechanism " + scheme);
  return *m;
}

// Where the mqueue filesystem shows the queues, mounted if need be; "" if it cannot be.
inline std::string mqueue_dir() {
  static const std::string dir = [] {
    std::error_code ec;
    std::filesystem::create_directories("/dev/mqueue", ec);
    if (!std::filesystem::exists("/dev/mqueue/.", ec)) return std::string();
    ::mount("none", "/dev/mqueue", "mqueue", 0, nullptr);  // EBUSY when mounted: fine
    return std::string("/dev/mqueue");
  }();
  return dir;
}

// A URL for a server of `mechanism` private to this test (ports: free now).
inline std::string private_url(const std::string& mechanism, const TempDir& dir,
                               const std::string& name) {
  return mechanism_named(mechanism).private_url(dir.path().string(), name);
}

// What a server killed with kill -9 leaves by design (its well-known FIFO or queue, which the
// next bind would reuse): a test that killed one removes it with this at the end.
inline void remove_stale_name(const std::string& url) {
  auto ep = Endpoint::parse(url);
  mechanism_named(ep.scheme).remove_stale(ep);
}

// Everything of `name`'s endpoint left behind apart from the server's own well-known name.
inline std::vector<std::string> leftovers(const std::string& mechanism, const TempDir& dir,
                                          const std::string& name) {
  mqueue_dir();
  const MechanismInfo& m = mechanism_named(mechanism);
  auto own = std::filesystem::path(Endpoint::parse(m.private_url(dir.path().string(), name)).path)
                 .filename();
  std::vector<std::string> left;
  for (const auto& item : m.leftovers(dir.path().string(), name)) {
    if (own.empty() || std::filesystem::path(item).filename() != own) left.push_back(item);
  }
  return left;
}

// Everything of it, the server's own name included: what a graceful stop must leave nothing of.
inline std::vector<std::string> all_leftovers(const std::string& mechanism, const TempDir& dir,
                                              const std::string& name) {
  mqueue_dir();
  return mechanism_named(mechanism).leftovers(dir.path().string(), name);
}

}  // namespace ipcx::test
