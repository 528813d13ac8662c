// Whom a client reached (transport layer): see server_identity.hpp.
#include "transport/server_identity.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "core/fd.hpp"
#include "core/sys.hpp"

namespace ipcx::transport {

Errc check_server_uid(int uid, NameOwner owner, const LinkOptions& options, std::string_view url,
                      std::string& why) {
  std::vector<std::uint32_t> expected = options.server_uids;
  if (expected.empty()) {
    expected.push_back(static_cast<std::uint32_t>(::geteuid()));
    if (owner == NameOwner::ours_or_root && expected[0] != 0) expected.push_back(0);
  }
  if (uid >= 0 && std::find(expected.begin(), expected.end(), static_cast<std::uint32_t>(uid)) !=
                      expected.end()) {
    return Errc::ok;
  }
  why = "the server of " + std::string(url) +
        (uid >= 0 ? " runs as uid " + std::to_string(uid) : " did not say which uid it runs as") +
        ", expected ";
  for (std::size_t i = 0; i < expected.size(); ++i) {
    why += (i == 0 ? "" : i + 1 == expected.size() ? " or " : ", ") + std::to_string(expected[i]);
  }
  return Errc::permission_denied;
}

std::string abstract_name_holder(const sockaddr* address, socklen_t length, int type,
                                 std::string_view url) noexcept {
  try {
    Fd probe(sys::socket(AF_UNIX, type | SOCK_NONBLOCK, 0));
    if (!probe || sys::connect(probe.get(), address, length) != 0) return {};
    ucred cred{};
    socklen_t len = sizeof cred;
    if (sys::getsockopt(probe.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return {};
    std::string holder = std::string(url) + " is held by uid " + std::to_string(cred.uid);
    if (cred.uid == ::geteuid()) holder += " (ours: another server of this user)";
    return holder;
  } catch (const std::bad_alloc&) {
    return {};
  }
}

}  // namespace ipcx::transport
