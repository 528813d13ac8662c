// CPU placement for the benchmark processes (bench): each side of a measurement is pinned, so a
// row says whether its two processes shared one CPU or had one each.
#pragma once

#include <sched.h>

namespace ipcx::bench {

inline void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

}  // namespace ipcx::bench
