// The benchmark harness's arithmetic on known samples: nearest-rank percentiles, the ratio of
// each row to its mechanism's raw floor and to the best peer, and the renderings' contents.
#include "report.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "flow_report.hpp"
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

Flow flow(const char* mech, const char* impl, const char* mode, std::size_t messages,
          double seconds, std::size_t size = 64) {
  return Flow{mech, "2 CPUs", impl, mode, size, true, messages, seconds};
}

TEST(BenchFlows, RatesAndRatiosAgainstTheFloorAndTheFastestPeer) {
  std::vector<Flow> flows = {
      flow("unix", "raw", "stream", 1000, 1.0),       // 1,000 msgs/s
      flow("unix", "zmq", "push", 4000, 1.0),         // 4,000
      flow("unix", "nng", "push", 1000, 0.5),         // 2,000
      flow("unix", "ipcx", "push", 3000, 0.5),        // 6,000
      flow("unix", "ipcx", "push", 10, 1.0, 1 << 20)  // another size: nothing to compare with
  };
  flows.push_back(flow("tcp", "ipcx", "push", 5, 1.0));
  flows.back().ok = false;
  compute_flow_ratios(flows);
  EXPECT_DOUBLE_EQ(flows[3].rate(), 6000);
  EXPECT_DOUBLE_EQ(flows[3].mb_per_s(), 6000 * 64 / 1e6);
  EXPECT_DOUBLE_EQ(flows[3].x_raw, 6);
  EXPECT_DOUBLE_EQ(flows[3].x_peer, 1.5);  // the faster peer, libzmq
  EXPECT_DOUBLE_EQ(flows[1].x_raw, 4);     // peers get a floor ratio
  EXPECT_DOUBLE_EQ(flows[1].x_peer, 0);    // but no peer ratio
  EXPECT_DOUBLE_EQ(flows[4].x_raw, 0);
  EXPECT_DOUBLE_EQ(flows[5].rate(), 0);  // failed: no rate, no ratios
  EXPECT_DOUBLE_EQ(flows[5].x_raw, 0);
}

TEST(BenchFlows, TheDocumentHoldsBothKindsOfRow) {
  std::vector<Result> rows = {row("shm", "2 CPUs", "ipcx", "default", 0.75)};
  std::vector<Flow> flows = {flow("shm", "ipcx", "push", 2000, 0.001)};
  compute_flow_ratios(flows);
  std::string json = to_json(rows, flows, "ipcx bench");
  EXPECT_NE(json.find("\"rows\": [\n    {\"mechanism\": \"shm\""), std::string::npos);
  EXPECT_NE(json.find("\"throughput\": [\n    {\"mechanism\": \"shm\""), std::string::npos);
  EXPECT_NE(json.find("\"msgs_per_s\": 2000000.000"), std::string::npos);
  EXPECT_EQ(json.substr(json.size() - 4), "]\n}\n");
  EXPECT_EQ(std::count(json.begin(), json.end(), '{'), std::count(json.begin(), json.end(), '}'));
  std::string csv = to_csv(flows);
  EXPECT_NE(csv.find("shm,2 CPUs,ipcx,push,64,1,2000,0.001000,2000000.000,128.000"),
            std::string::npos);
  std::string svg = to_svg(rows, flows);
  EXPECT_NE(svg.find("2.00 M msgs/s"), std::string::npos);
  EXPECT_NE(svg.find("0.75 us"), std::string::npos);
}

}  // namespace
}  // namespace ipcx::bench
