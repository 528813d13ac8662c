// PeerInfo (API layer): what the OS tells about the other end of a link.
#pragma once

#include <string>

#include "ipcx/endpoint.hpp"

namespace ipcx {

struct PeerInfo {
  std::string mechanism;  // the scheme: "unix", "tcp"...
  int pid = -1;           // -1 where the mechanism carries no credentials (tcp, udp, pipe, mq)
  int uid = -1;
  int gid = -1;
  std::string address;  // "127.0.0.1:40312", a socket path, or "" for unnamed peers
};

}  // namespace ipcx
