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
  // A CURVE client's long-term public key (Z85), as a CURVE server saw it; "" otherwise.
  std::string curve_key;
};

}  // namespace ipcx
