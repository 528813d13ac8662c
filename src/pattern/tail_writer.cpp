// TailWriter (pattern layer): see tail_writer.hpp.
#include "pattern/tail_writer.hpp"

#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "core/spin.hpp"

namespace ipcx::pattern {
namespace {

// The futex word's states: nothing held and the thread awake, something held, the thread
// asleep waiting for a hold (the only state in which arm() makes a syscall).
constexpr std::uint32_t kIdle = 0, kArmed = 1, kAsleep = 2;

std::uint32_t* word(std::atomic<std::uint32_t>& a) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return reinterpret_cast<std::uint32_t*>(&a);
}

void futex_wait(std::atomic<std::uint32_t>& a, std::uint32_t expected) noexcept {
  ::syscall(SYS_futex, word(a), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>& a) noexcept {
  ::syscall(SYS_futex, word(a), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

void Gate::lock() noexcept {
  SpinPause pause(16);
  while (held_.exchange(true, std::memory_order_acquire)) {
    while (held_.load(std::memory_order_relaxed)) pause();
  }
}

bool Gate::try_lock() noexcept {
  return !held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire);
}

TailWriter::TailWriter(Gate& gate, std::function<bool()> write_held)
    : gate_(gate), write_held_(std::move(write_held)) {}

TailWriter::~TailWriter() {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  if (armed_.exchange(kArmed, std::memory_order_acq_rel) == kAsleep) futex_wake(armed_);
  thread_.join();
}

bool TailWriter::arm() noexcept {
  if (armed_.load(std::memory_order_relaxed) == kArmed) return true;
  if (!thread_.joinable()) {
    armed_.store(kArmed, std::memory_order_relaxed);
    try {
      thread_ = std::thread([this] { run(); });
    } catch (const std::system_error&) {
      armed_.store(kIdle, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  if (armed_.exchange(kArmed, std::memory_order_acq_rel) == kAsleep) futex_wake(armed_);
  return true;
}

void TailWriter::run() {
  // The delay is far below the default 50 µs timer slack, which would double it.
  ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  for (;;) {
    for (;;) {  // until something is held
      if (stop_.load(std::memory_order_acquire)) return;
      std::uint32_t state = armed_.load(std::memory_order_acquire);
      if (state == kArmed) break;
      if (state == kIdle &&
          !armed_.compare_exchange_strong(state, kAsleep, std::memory_order_acq_rel)) {
        continue;
      }
      futex_wait(armed_, kAsleep);
    }
    auto delay = kDelay;
    for (;;) {
      std::this_thread::sleep_for(delay);
      if (stop_.load(std::memory_order_acquire)) return;
      // A caller sending back to back leaves the gate free between sends: a few tries find
      // it. One that stays in a call (a send waiting for room) writes what it holds itself, and
      // is looked at less and less often rather than waited for.
      bool done = false;
      bool entered = gate_.try_lock();
      SpinPause pause(64);
      for (int tries = 0; !entered && tries < 256; ++tries) {
        pause();
        entered = gate_.try_lock();
      }
      if (entered) {
        done = write_held_();
        // Under the gate: a caller cannot hold and arm() between this and the store.
        if (done) armed_.store(kIdle, std::memory_order_release);
        gate_.unlock();
      }
      if (done) break;
      // Held out, or the kernel takes nothing (a reader that stopped reading): ask less often.
      delay = std::min<std::chrono::microseconds>(delay * 2, std::chrono::milliseconds(10));
    }
  }
}

}  // namespace ipcx::pattern
