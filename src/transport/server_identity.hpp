// Whom a client reached (transport layer). A local name can be taken by anyone first: an
// abstract Unix name has no file mode, and a queue or FIFO name may be made by another user.
// So before a client sends a byte it checks the uid its server runs as (SO_PEERCRED, or the
// owner fstat reports) against what it expects, and a server that cannot bind a name says who
// holds it.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

#include "ipcx/error.hpp"
#include "transport/link.hpp"

namespace ipcx::transport {

enum class NameOwner : std::uint8_t {
  ours,          // derived from our euid (shm://NAME): only that uid may serve it
  ours_or_root,  // anyone's (unix://@name, a queue, a FIFO): our uid or root
};

// ok when `uid` may serve `url`: one of options.server_uids when the list is given, else as
// `owner` says. Otherwise permission_denied, and `why` names both ("the server of shm://x runs
// as uid 65534, expected 0"). A uid the OS did not tell (negative) is refused.
Errc check_server_uid(int uid, NameOwner owner, const LinkOptions& options, std::string_view url,
                      std::string& why);

// For a bind that found its abstract name taken: "URL is held by uid N" from the holder's
// credentials, or empty when it cannot be told.
std::string abstract_name_holder(const sockaddr* address, socklen_t length, int type,
                                 std::string_view url) noexcept;

}  // namespace ipcx::transport
