// Fences across processes (core layer): membarrier(2), asked once per process.
#include "core/remote_fence.hpp"

#include <linux/membarrier.h>

#include <atomic>

#include "core/sys.hpp"

namespace ipcx {
namespace {

// 0: not asked yet; 1: yes; 2: no. Racing first callers ask twice and agree.
std::atomic<int> g_available{0};
std::atomic<int> g_joined{0};

}  // namespace

bool remote_fences_available() noexcept {
  int known = g_available.load(std::memory_order_acquire);
  if (known == 0) {
    int commands = sys::membarrier(MEMBARRIER_CMD_QUERY);
    bool yes = commands > 0 && (commands & MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0 &&
               (commands & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0;
    known = yes ? 1 : 2;
    g_available.store(known, std::memory_order_release);
  }
  return known == 1;
}

bool join_remote_fences() noexcept {
  int known = g_joined.load(std::memory_order_acquire);
  if (known == 0) {
    bool yes =
        remote_fences_available() && sys::membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0;
    known = yes ? 1 : 2;
    g_joined.store(known, std::memory_order_release);
  }
  return known == 1;
}

bool remote_fence() noexcept { return sys::membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0; }

}  // namespace ipcx
