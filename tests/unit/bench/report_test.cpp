// The benchmark harness's arithmetic on known samples: nearest-rank percentiles, the ratio of
// each row to its mechanism's raw floor and to the best peer, and the renderings' contents.
#include "report.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "stats.hpp"

namespace ipcx::bench {
namespace {

TEST(BenchStats, NearestRankPercentilesOfKnownSamples) {
  std::vector<double> samples(1000);
  std::iota(samples.begin(), samples.end(), 1.0);  // 1..1000, given shuffled below
  std::swap(samples[0], samples[999]);
  std::swap(samples[10], samples[500]);
  Summary s = summarize(samples);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_DOUBLE_EQ(s.p50, 500);
  EXPECT_DOUBLE_EQ(s.p99, 990);
  EXPECT_DOUBLE_EQ(s.p999, 999);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 1000);
  Summary one = summarize({7.5});
  EXPECT_DOUBLE_EQ(one.p50, 7.5);
  EXPECT_DOUBLE_EQ(one.p999, 7.5);
  EXPECT_EQ(summarize({}).count, 0u);
}

Result row(const char* mech, const char* where, const char* impl, const char* mode, double p50,
           std::size_t size = 64) {
  Result r;
  r.mechanism = mech;
  r.placement = where;
  r.impl = impl;
  r.mode = mode;
  r.size = size;
  r.rtt.p50 = p50;
  r.rtt.count = 100;
  return r;
}

TEST(BenchReport, RatiosUseTheSameMechanismPlacementAndSizeOnly) {
  std::vector<Result> rows = {
      row("unix", "2 CPUs", "raw", "blocking", 60),
      row("unix", "2 CPUs", "zmq", "default", 80),
      row("unix", "2 CPUs", "nng", "default", 100),
      row("unix", "2 CPUs", "ipcx", "blocking", 66),
      row("unix", "2 CPUs", "ipcx", "default", 4),
      row("unix", "1 CPU", "raw", "blocking", 3),
      row("unix", "1 CPU", "ipcx", "blocking", 6),
      row("unix", "2 CPUs", "raw", "blocking", 30, 4096),
      row("unix", "2 CPUs", "ipcx", "blocking", 45, 4096),
      row("shm", "2 CPUs", "raw", "busypoll", 0.5),
      row("shm", "2 CPUs", "raw", "eventfd", 60),
      row("shm", "2 CPUs", "ipcx", "spin", 1),
      row("shm", "2 CPUs", "ipcx", "blocking", 63),
      row("shm", "2 CPUs", "iceoryx", "busypoll", 3),
      row("shm", "2 CPUs", "iceoryx", "waitset", 90),
      row("shm", "2 CPUs", "boost", "msgqueue", 70),
  };
  compute_ratios(rows);
  EXPECT_DOUBLE_EQ(rows[3].x_raw, 1.1);
  EXPECT_DOUBLE_EQ(rows[3].x_peer, 66.0 / 80);  // the best (fastest) peer
  EXPECT_DOUBLE_EQ(rows[4].x_peer, 0.05);
  EXPECT_DOUBLE_EQ(rows[1].x_raw, 80.0 / 60);  // peers get a floor ratio too
  EXPECT_DOUBLE_EQ(rows[1].x_peer, 0);         // but no peer ratio
  EXPECT_DOUBLE_EQ(rows[6].x_raw, 2);          // its own placement's floor
  EXPECT_DOUBLE_EQ(rows[6].x_peer, 0);         // no peer measured there
  EXPECT_DOUBLE_EQ(rows[8].x_raw, 1.5);        // its own size's floor
  EXPECT_DOUBLE_EQ(rows[11].x_raw, 2);         // shm spinning: the busy-poll floor
  EXPECT_DOUBLE_EQ(rows[12].x_raw, 1.05);      // shm sleeping: the eventfd floor
  EXPECT_DOUBLE_EQ(rows[11].x_peer, 1.0 / 3);  // spinning against the busy-polling peer
  EXPECT_DOUBLE_EQ(rows[12].x_peer, 0.9);      // sleeping against the best sleeping peer
  EXPECT_DOUBLE_EQ(rows[13].x_raw, 6);         // a busy-polling peer: the busy-poll floor
}

TEST(BenchReport, AFailedRowGetsNoRatiosAndIsNoOnesFloor) {
  std::vector<Result> rows = {row("tcp", "1 CPU", "raw", "blocking", 5),
                              row("tcp", "1 CPU", "ipcx", "blocking", 6)};
  rows[0].ok = false;
  compute_ratios(rows);
  EXPECT_DOUBLE_EQ(rows[1].x_raw, 0);
  EXPECT_DOUBLE_EQ(rows[0].x_raw, 0);
}

TEST(BenchReport, RenderingsCarryEveryRow) {
  std::vector<Result> rows = {row("udp", "2 CPUs", "raw", "blocking", 64),
                              row("udp", "2 CPUs", "ipcx", "default", 5.25)};
  compute_ratios(rows);
  std::string json = to_json(rows, "ipcx bench --quick");
  EXPECT_NE(json.find("\"command\": \"ipcx bench --quick\""), std::string::npos);
  EXPECT_NE(json.find("\"impl\": \"ipcx\", \"mode\": \"default\""), std::string::npos);
  EXPECT_NE(json.find("\"p50\": 5.250"), std::string::npos);
  EXPECT_NE(json.find("\"x_raw\": 0.082"), std::string::npos);
  std::string csv = to_csv(rows);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);  // header and two rows
  EXPECT_NE(csv.find("udp,2 CPUs,ipcx,default,64,1,100,5.250"), std::string::npos);
  std::string svg = to_svg(rows);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  std::size_t bars = 0;
  for (std::size_t at = svg.find("<rect x="); at != std::string::npos;
       at = svg.find("<rect x=", at + 1))
    ++bars;
  EXPECT_EQ(bars, 2u);
}

}  // namespace
}  // namespace ipcx::bench
