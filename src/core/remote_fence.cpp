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

template <class Ask>
bool asked_once(std::atomic<int>& known, Ask ask) noexcept {
  int answer = known.load(std::memory_order_acquire);
  if (answer == 0) {
    answer = ask() ? 1 : 2;
    known.store(answer, std::memory_order_release);
  }
  return answer == 1;
}

}  // namespace

bool remote_fences_available() noexcept {
  return asked_once(g_available, [] {
    int commands = sys::membarrier(MEMBARRIER_CMD_QUERY);
    return commands > 0 && (commands & MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0 &&
           (commands & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0;
  });
}

bool join_remote_fences() noexcept {
  return asked_once(g_joined, [] {
    return remote_fences_available() &&
           sys::membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0;
  });
}

bool remote_fence() noexcept { return sys::membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0; }

}  // namespace ipcx
