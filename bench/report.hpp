// Benchmark results and how they are reported (bench): the ratio of each row to the raw floor
// of its mechanism and to the best peer library on it, and the JSON, CSV and SVG renderings.
// Header-only and free of I/O, so the unit test checks exactly what the harness prints.
#pragma once

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "stats.hpp"

namespace ipcx::bench {

struct Result {
  std::string mechanism;  // shm, unix, tcp, stdio, pipe, mq, udp
  std::string placement;  // "2 CPUs" or "1 CPU"
  std::string impl;       // raw, ipcx, or a peer library (zmq)
  std::string mode;       // raw: blocking, evloop, busypoll, eventfd; ipcx: blocking, spin, ...
  std::size_t size = 0;   // bytes each way
  bool ok = true;
  Summary rtt;        // microseconds
  double cpu_us = 0;  // both processes, per round trip
  double x_raw = 0;   // p50 over the raw floor's p50 (0: no floor measured)
  double x_peer = 0;  // p50 over the best comparable peer's p50 (0: no peer); see floor_mode
};

// The raw row a row is compared with: sleeping modes with a sleeping floor; shm's spinning
// modes with the busy-polling floor.
inline std::string floor_mode(const std::string& mechanism, const std::string& mode) {
  if (mechanism != "shm") return "blocking";
  bool spins =
      mode == "spin" || mode == "default" || mode == "view" || mode == "loan" || mode == "busypoll";
  return spins ? "busypoll" : "eventfd";
}

inline bool is_peer(const Result& r) { return r.impl != "raw" && r.impl != "ipcx"; }

inline void compute_ratios(std::vector<Result>& rows) {
  auto same_case = [](const Result& a, const Result& b) {
    return a.mechanism == b.mechanism && a.placement == b.placement && a.size == b.size;
  };
  for (Result& r : rows) {
    r.x_raw = 0;
    r.x_peer = 0;
    double best_peer = 0;
    for (const Result& f : rows) {
      if (!f.ok || !same_case(f, r)) continue;
      if (f.impl == "raw" && f.mode == floor_mode(r.mechanism, r.mode))
        r.x_raw = ratio(r.rtt.p50, f.rtt.p50);
      // On shm a spinning row is held against spinning peers, a sleeping one against sleepers.
      bool comparable = floor_mode(r.mechanism, f.mode) == floor_mode(r.mechanism, r.mode);
      if (is_peer(f) && comparable && (best_peer == 0 || f.rtt.p50 < best_peer))
        best_peer = f.rtt.p50;
    }
    if (r.impl == "ipcx") r.x_peer = ratio(r.rtt.p50, best_peer);
    if (!r.ok) r.x_raw = r.x_peer = 0;
  }
}

inline std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", v);
  return text;
}

inline std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// A JSON array of objects, one per item, each written by fields(item) without its braces.
template <class Item, class Fields>
std::string json_array(const std::vector<Item>& items, Fields&& fields) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i ? ",\n    {" : "\n    {") + fields(items[i]) + "}";
  }
  return out + "\n  ]";
}

inline std::string result_fields_json(const Result& r) {
  return "\"mechanism\": " + quoted(r.mechanism) + ", \"placement\": " + quoted(r.placement) +
         ", \"impl\": " + quoted(r.impl) + ", \"mode\": " + quoted(r.mode) +
         ", \"size\": " + std::to_string(r.size) + ", \"ok\": " + (r.ok ? "true" : "false") +
         ", \"count\": " + std::to_string(r.rtt.count) + ", \"p50\": " + number(r.rtt.p50) +
         ", \"p99\": " + number(r.rtt.p99) + ", \"p999\": " + number(r.rtt.p999) +
         ", \"cpu_us\": " + number(r.cpu_us) + ", \"x_raw\": " + number(r.x_raw) +
         ", \"x_peer\": " + number(r.x_peer);
}

// {"command": ..., "unit": "us", "rows": [...]} followed by `more` (further members, each
// starting with a comma); the schema is in docs/BENCHMARKS.md.
inline std::string to_json(const std::vector<Result>& rows, const std::string& command,
                           const std::string& more = {}) {
  return "{\n  \"command\": " + quoted(command) +
         ",\n  \"unit\": \"us\",\n  \"rows\": " + json_array(rows, result_fields_json) + more +
         "\n}\n";
}

inline std::string to_csv(const std::vector<Result>& rows) {
  std::string out =
      "mechanism,placement,impl,mode,size,ok,count,p50_us,p99_us,p999_us,cpu_us,"
      "x_raw,x_peer\n";
  for (const Result& r : rows) {
    out += r.mechanism + "," + r.placement + "," + r.impl + "," + r.mode + "," +
           std::to_string(r.size) + "," + (r.ok ? "1" : "0") + "," + std::to_string(r.rtt.count) +
           "," + number(r.rtt.p50) + "," + number(r.rtt.p99) + "," + number(r.rtt.p999) + "," +
           number(r.cpu_us) + "," + number(r.x_raw) + "," + number(r.x_peer) + "\n";
  }
  return out;
}

// One bar of a chart: its group heading, its label, whose it is (ipcx, raw or a peer: the
// colour), and its value with the text printed beside it.
struct Bar {
  std::string group, label, impl;
  bool ok = true;
  double value = 0;
  std::string text;
};

// Horizontal bars on a log scale under `title`, one group per heading, each bar labelled with
// its value: readable without the table. Appends to `body` from height `y`, which it advances.
inline void draw_bars(std::string& body, int& y, const std::string& title,
                      const std::vector<Bar>& bars) {
  constexpr int kBar = 14, kGap = 4, kLabel = 260, kWidth = 900, kGroupGap = 18;
  double lo = 1e300, hi = 0;
  for (const Bar& b : bars) {
    if (!b.ok || b.value <= 0) continue;
    lo = std::min(lo, b.value);
    hi = std::max(hi, b.value);
  }
  y += 24;
  body += "<text x=\"4\" y=\"" + std::to_string(y) + "\" font-size=\"15\">" + title + "</text>\n";
  if (hi <= 0) return;
  double min_log = std::floor(std::log10(lo)), max_log = std::ceil(std::log10(hi));
  if (max_log <= min_log) max_log = min_log + 1;
  auto x_of = [&](double v) {
    return kLabel + (std::log10(v) - min_log) / (max_log - min_log) * (kWidth - kLabel - 110);
  };
  std::string group;
  for (const Bar& b : bars) {
    if (b.group != group) {
      group = b.group;
      y += kGroupGap;
      body += "<text x=\"4\" y=\"" + std::to_string(y) + "\" font-weight=\"bold\">" + group +
              "</text>\n";
      y += kGap;
    }
    const char* colour = b.impl == "ipcx" ? "#2b7bb9" : b.impl == "raw" ? "#999999" : "#d9822b";
    body += "<text x=\"" + std::to_string(kLabel - 6) + "\" y=\"" + std::to_string(y + kBar - 3) +
            "\" text-anchor=\"end\">" + b.label + "</text>\n";
    if (b.ok && b.value > 0) {
      double w = std::max(1.0, x_of(b.value) - kLabel);
      body += "<rect x=\"" + std::to_string(kLabel) + "\" y=\"" + std::to_string(y) +
              "\" width=\"" + number(w) + "\" height=\"" + std::to_string(kBar) + "\" fill=\"" +
              colour + "\"/>\n";
      body += "<text x=\"" + number(kLabel + w + 4) + "\" y=\"" + std::to_string(y + kBar - 3) +
              "\">" + b.text + "</text>\n";
    } else {
      body += "<text x=\"" + std::to_string(kLabel) + "\" y=\"" + std::to_string(y + kBar - 3) +
              "\">failed</text>\n";
    }
    y += kBar + kGap;
  }
}

inline std::string svg_document(const std::string& body, int height) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"" +
         std::to_string(height + 20) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n"
         "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" +
         body + "</svg>\n";
}

inline std::vector<Bar> round_trip_bars(const std::vector<Result>& rows) {
  std::vector<Bar> bars;
  for (const Result& r : rows) {
    std::string value = number(r.rtt.p50);
    bars.push_back({std::to_string(r.size) + " B, " + r.placement + ", " + r.mechanism,
                    r.impl + " " + r.mode, r.impl, r.ok, r.rtt.p50,
                    value.substr(0, value.size() - 1) + " us"});
  }
  return bars;
}

// The round-trip chart: p50 bars per (size, placement, mechanism).
inline std::string to_svg(const std::vector<Result>& rows) {
  std::string body;
  int y = 0;
  draw_bars(body, y, "Round trip p50 (log scale): ipcx (blue), raw floor (grey), peers (orange)",
            round_trip_bars(rows));
  return svg_document(body, y);
}

}  // namespace ipcx::bench
