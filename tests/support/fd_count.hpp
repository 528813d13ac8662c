// Open-descriptor and memory readings of this process, or of another by pid (test support, and
// `ipcx bench scale`), for leak checks and per-connection costs.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace ipcx::test {

inline std::size_t open_fd_count(const std::string& pid = "self") {
  std::size_t n = 0;
  std::error_code ec;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/" + pid + "/fd", ec)) {
    ++n;
  }
  return n;
}

// Resident set size in KiB.
inline long resident_kib(const std::string& pid = "self") {
  std::ifstream status("/proc/" + pid + "/status");
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
