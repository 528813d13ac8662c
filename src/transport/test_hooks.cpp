// Shared pieces of the mechanisms' test hooks (transport layer).
#include "transport/test_hooks.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fd.hpp"

namespace ipcx::transport::test_hooks {

std::string private_name(const std::string& dir, const std::string& tag) {
  auto slash = dir.find_last_of('/');
  std::string own = slash == std::string::npos ? dir : dir.substr(slash + 1);
  if (own.rfind("ipcx-", 0) != 0) own = "ipcx-" + own;
  return own + "-" + tag;
}

int free_port(int type) {
  Fd fd(sys::socket(AF_INET, type, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (!fd || sys::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return 0;  // the bind then picks one
  }
  return ntohs(a.sin_port);
}

std::vector<std::string> nothing_left(const std::string&, const std::string&) { return {}; }

void nothing_stale(const Endpoint&) {}

}  // namespace ipcx::transport::test_hooks
