// Prefetching for a write (core layer). A store to a cache line another CPU holds must first
// take the line from it; until then the store waits in the store buffer, and once the buffer
// is full the whole core waits. A ring producer writes, every lap, lines its consumer read on
// the last lap, so each record meets such a miss. Asking for the lines in the exclusive state
// a few records ahead overlaps those transfers with the work in between (on the reference VM,
// 64-byte shm push went from ~11 M to ~30 M messages/s across CPUs: docs/BENCHMARKS.md).
// A read prefetch does not do this: it fetches the line shared, and the store still waits.
#pragma once

#include <cstddef>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace ipcx {

// Whether this CPU prefetches for a write. x86: PREFETCHW (CPUID 0x80000001, ECX bit 8), which
// older CPUs lack; elsewhere the compiler's write prefetch, a hint every target accepts.
inline bool write_prefetch_available() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(0x80000001u, &a, &b, &c, &d) != 0 && (c & (1u << 8)) != 0;
#else
  return true;
#endif
}

// Only where write_prefetch_available() said so.
inline void prefetch_for_write(const void* line) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetchw %0" ::"m"(*static_cast<const char*>(line)));
#else
  __builtin_prefetch(line, 1);
#endif
}

// A ring writer's use of it: after reserving `need` bytes at offset `at` of a ring of
// `capacity` bytes (a power of two), take the lines kRingPrefetchAhead bytes further on, as
// many as the record covers but a few at most (the CPU's own prefetcher follows a long copy).
// Record after record, that keeps the lines about to be written ours.
inline constexpr std::size_t kRingPrefetchAhead = 512;
inline constexpr std::size_t kRingPrefetchMaxBytes = 256;
inline void prefetch_ring_ahead(std::byte* ring, std::size_t capacity, std::size_t at,
                                std::size_t need) noexcept {
  std::size_t bytes = need > kRingPrefetchMaxBytes ? kRingPrefetchMaxBytes : need;
  for (std::size_t off = 0; off < bytes; off += 64) {
    prefetch_for_write(ring + ((at + kRingPrefetchAhead + off) & (capacity - 1)));
  }
}

// Asked once per process.
inline const bool kWritePrefetchAvailable = write_prefetch_available();

}  // namespace ipcx
