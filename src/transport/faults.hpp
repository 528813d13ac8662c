// Setup faults (transport layer), for every mechanism: listen and dial are noexcept and report
// a fault as an error code plus a sentence, whatever went wrong on the way.
#pragma once

#include <cstring>
#include <new>
#include <string>

#include "ipcx/result.hpp"

namespace ipcx::transport {

// Runs a mechanism's setup body, which may allocate, inside the noexcept listen/dial contract:
// std::bad_alloc becomes resource_exhausted with `why` set.
template <class T, class Body>
Result<T> without_throwing(std::string& why, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    why = "out of memory";
    return unexpected(Errc::resource_exhausted);
  }
}

// "syscall: strerror" for error details.
inline std::string describe_errno(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

}  // namespace ipcx::transport
