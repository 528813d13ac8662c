// Open-descriptor and memory readings of this process (test support), for leak checks.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace ipcx::test {

inline std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Resident set size in KiB.
inline long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      status >> kib;
      return kib;
    }
    std::getline(status, key);
  }
  return -1;
}

// True in builds where memory figures mean little (sanitizer shadow memory, quarantines).
inline constexpr bool kSanitized =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#else
    false;
#endif

}  // namespace ipcx::test
