// Spin-waiting (core layer): what a polling loop does between polls: a sched_yield every
// `yield_every` polls, so that a peer sharing our CPU runs soon (with a CPU to ourselves the
// yield returns at once), and a CPU pause otherwise, which keeps a loop that polls memory in
// memory. Loops polling sockets yield every time (each poll is a syscall anyway); loops polling
// shm rings every 4th time. Measured on the reference VM (docs/BENCHMARKS.md): yielding at every
// shm poll costs the two-CPU case ~0.4 us per round trip, every 16th poll costs the one-CPU case
// ~4 us, and an adaptive rate (yield often when a yield let someone run) oscillated on one CPU.
#pragma once

#include <sched.h>

namespace ipcx {

class SpinPause {
 public:
  explicit SpinPause(unsigned yield_every = 1) noexcept : yield_every_(yield_every) {}

  void operator()() noexcept {
    if (++count_ >= yield_every_) {
      count_ = 0;
      sched_yield();
      return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

 private:
  unsigned yield_every_;
  unsigned count_ = 0;
};

// Polls of shared memory are cheap, so they yield less often than polls of sockets.
inline constexpr unsigned kShmYieldEvery = 4;

}  // namespace ipcx
