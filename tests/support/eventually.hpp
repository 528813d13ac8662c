// eventually (test support): polls a condition until it holds or a generous deadline passes,
// turning a hang into a failure without asserting anything about time.
#pragma once

#include <chrono>
#include <thread>

namespace ipcx::test {

template <class F>
bool eventually(F&& condition, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace ipcx::test
