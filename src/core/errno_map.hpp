// Maps an errno value to the ipcx code a caller acts on (core layer).
#pragma once

#include <cerrno>

#include "ipcx/error.hpp"

namespace ipcx {

inline Errc errc_from_errno(int err) noexcept {
  switch (err) {
    case EAGAIN:
      return Errc::would_block;
    case EPIPE:
    case ECONNRESET:
    case ENOTCONN:
    case ESHUTDOWN:
      return Errc::peer_closed;
    case ECONNREFUSED:
    case ENOENT:
    case EHOSTUNREACH:
    case ENETUNREACH:
      return Errc::refused;
    case EACCES:
    case EPERM:
      return Errc::permission_denied;
    case EADDRINUSE:
      return Errc::address_in_use;
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
    case ENAMETOOLONG:
      return Errc::bad_endpoint;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOBUFS:
      return Errc::resource_exhausted;
    case ETIMEDOUT:
      return Errc::timeout;
    case EMSGSIZE:
      return Errc::message_too_large;
    default:
      return Errc::io_error;
  }
}

}  // namespace ipcx
