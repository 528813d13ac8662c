// Sample statistics for the benchmark harness (bench): percentiles by nearest rank, ratios.
// Header-only so the unit test checks exactly what the harness computes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace ipcx::bench {

struct Summary {
  std::size_t count = 0;
  double p50 = 0, p99 = 0, p999 = 0, min = 0, max = 0;  // same unit as the samples
};

// Nearest-rank percentile (the smallest sample with at least p% of samples at or below it) of
// sorted samples; p in (0, 100].
inline double percentile_sorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  // p/100*n is inexact in binary (99.9/100*1000 is 999.0000000000001): a tolerance keeps an
  // exact rank from rounding up to the next sample.
  auto rank =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()) - 1e-9));
  if (rank < 1) rank = 1;
  return sorted[std::min(rank, sorted.size()) - 1];
}

inline Summary summarize(std::vector<double> samples) {
  Summary s;
  s.count = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.p50 = percentile_sorted(samples, 50);
  s.p99 = percentile_sorted(samples, 99);
  s.p999 = percentile_sorted(samples, 99.9);
  s.min = samples.front();
  s.max = samples.back();
  return s;
}

// value / floor, or 0 when there is no floor to compare with.
inline double ratio(double value, double floor) { return floor > 0 ? value / floor : 0; }

}  // namespace ipcx::bench
