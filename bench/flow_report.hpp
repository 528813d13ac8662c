// One-way throughput results of the benchmark harness (bench): each row's rate, its ratio to the
// raw floor of its mechanism and to the best peer, and the renderings. With the round-trip rows
// of report.hpp they make the whole document `--json` and `--svg` write. Header-only so the unit
// test checks exactly what the harness computes.
#pragma once

#include <string>
#include <vector>

#include "report.hpp"

namespace ipcx::bench {

struct Flow {
  std::string mechanism, placement, impl, mode;  // impl and mode as in one_way.hpp's FlowTarget
  std::size_t size = 0;                          // bytes a message
  bool ok = true;
  std::size_t messages = 0;  // timed
  double seconds = 0;
  double x_raw = 0;   // rate over the raw floor's rate on the same case (0: none measured)
  double x_peer = 0;  // ipcx rows: rate over the fastest peer's rate on the same case (0: none)

  double rate() const { return ok && seconds > 0 ? static_cast<double>(messages) / seconds : 0; }
  double mb_per_s() const { return rate() * static_cast<double>(size) / 1e6; }
};

inline void compute_flow_ratios(std::vector<Flow>& flows) {
  for (Flow& f : flows) {
    double floor = 0, best_peer = 0;
    for (const Flow& o : flows) {
      if (!o.ok || o.mechanism != f.mechanism || o.placement != f.placement || o.size != f.size)
        continue;
      if (o.impl == "raw") floor = o.rate();
      if (o.impl != "raw" && o.impl != "ipcx") best_peer = std::max(best_peer, o.rate());
    }
    f.x_raw = f.ok ? ratio(f.rate(), floor) : 0;
    f.x_peer = f.ok && f.impl == "ipcx" ? ratio(f.rate(), best_peer) : 0;
  }
}

// Seconds to the microsecond: a quick row lasts a few milliseconds.
inline std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", seconds);
  return text;
}

inline std::string flow_fields_json(const Flow& f) {
  return "\"mechanism\": " + quoted(f.mechanism) + ", \"placement\": " + quoted(f.placement) +
         ", \"impl\": " + quoted(f.impl) + ", \"mode\": " + quoted(f.mode) +
         ", \"size\": " + std::to_string(f.size) + ", \"ok\": " + (f.ok ? "true" : "false") +
         ", \"messages\": " + std::to_string(f.messages) +
         ", \"seconds\": " + seconds_text(f.seconds) + ", \"msgs_per_s\": " + number(f.rate()) +
         ", \"mb_per_s\": " + number(f.mb_per_s()) + ", \"x_raw\": " + number(f.x_raw) +
         ", \"x_peer\": " + number(f.x_peer);
}

// The round-trip document of report.hpp with a "throughput" array beside its "rows".
inline std::string to_json(const std::vector<Result>& rows, const std::vector<Flow>& flows,
                           const std::string& command) {
  return to_json(rows, command, ",\n  \"throughput\": " + json_array(flows, flow_fields_json));
}

inline std::string to_csv(const std::vector<Flow>& flows) {
  std::string out =
      "mechanism,placement,impl,mode,size,ok,messages,seconds,msgs_per_s,mb_per_s,"
      "x_raw,x_peer\n";
  for (const Flow& f : flows) {
    out += f.mechanism + "," + f.placement + "," + f.impl + "," + f.mode + "," +
           std::to_string(f.size) + "," + (f.ok ? "1" : "0") + "," + std::to_string(f.messages) +
           "," + seconds_text(f.seconds) + "," + number(f.rate()) + "," + number(f.mb_per_s()) +
           "," + number(f.x_raw) + "," + number(f.x_peer) + "\n";
  }
  return out;
}

inline std::string rate_text(double rate) {
  char text[32];
  if (rate >= 1e6) {
    std::snprintf(text, sizeof text, "%.2f M msgs/s", rate / 1e6);
  } else if (rate >= 1e3) {
    std::snprintf(text, sizeof text, "%.1f k msgs/s", rate / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.0f msgs/s", rate);
  }
  return text;
}

// Both charts in one picture: round-trip p50 bars, then throughput bars.
inline std::string to_svg(const std::vector<Result>& rows, const std::vector<Flow>& flows) {
  std::string body;
  int y = 0;
  if (!rows.empty()) {
    draw_bars(body, y,
              "Round trip p50 (log scale, shorter is better): ipcx (blue), raw floor (grey), "
              "peers (orange)",
              round_trip_bars(rows));
    y += 20;
  }
  if (!flows.empty()) {
    std::vector<Bar> bars;
    for (const Flow& f : flows) {
      bars.push_back({std::to_string(f.size) + " B one way, " + f.placement + ", " + f.mechanism,
                      f.impl + " " + f.mode, f.impl, f.ok, f.rate(), rate_text(f.rate())});
    }
    draw_bars(body, y, "One-way messages/s (log scale, longer is better)", bars);
  }
  return svg_document(body, y);
}

}  // namespace ipcx::bench
