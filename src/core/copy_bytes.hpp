// copy_bytes (core layer): memcpy for the short runs of a message's hot path (ZMTP frame
// headers, request ids, empty delimiters), done inline: a call into libc's memcpy costs more
// than copying a few bytes, and its length is only known at run time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ipcx {

inline void copy_bytes(std::byte* to, const std::byte* from, std::size_t n) noexcept {
  if (n > 16) {
    std::memcpy(to, from, n);
  } else if (n >= 8) {  // two overlapping words
    std::uint64_t a, b;
    std::memcpy(&a, from, 8);
    std::memcpy(&b, from + n - 8, 8);
    std::memcpy(to, &a, 8);
    std::memcpy(to + n - 8, &b, 8);
  } else if (n >= 4) {
    std::uint32_t a, b;
    std::memcpy(&a, from, 4);
    std::memcpy(&b, from + n - 4, 4);
    std::memcpy(to, &a, 4);
    std::memcpy(to + n - 4, &b, 4);
  } else {
    for (std::size_t i = 0; i < n; ++i) to[i] = from[i];
  }
}

}  // namespace ipcx
