#!/usr/bin/env bash
# ctest cli_bench_quick: `ipcx bench --quick --json FILE` succeeds and the JSON holds, for every
# mechanism and placement, an ipcx row of each mode and the raw floor, and one-way throughput
# rows of ipcx push/pull beside the raw floor on shm, unix and tcp (docs/BENCHMARKS.md).
set -euo pipefail
ipcx=$1
json=$2
rm -f "$json"
# iceoryx allows one RouDi per machine: its peer stays out of ctest, which may run in parallel
# with anything (docs/BENCHMARKS.md shows it; `ipcx bench --quick` alone includes it).
# The harness exits 1 when any row failed. A failed row of a peer library (a libzmq push/pull
# over ipc stalled once in several dozen quick runs here) is reported below but does not fail
# this test, which is about ipcx's rows and the floors.
status=0
"$ipcx" bench --quick --without iceoryx --json "$json" >/dev/null || status=$?
[ "$status" -le 1 ] || { echo "ipcx bench exited with $status" >&2; exit 1; }
/usr/bin/python3 - "$json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
ours = ("ipcx", "raw")
for r in doc["rows"] + doc["throughput"]:
    if not r["ok"] and r["impl"] not in ours:
        print("warning: a peer's row failed:", r["mechanism"], r["placement"], r["impl"],
              r["mode"], r["size"], file=sys.stderr)
doc["rows"] = [r for r in doc["rows"] if r["ok"] or r["impl"] in ours]
doc["throughput"] = [f for f in doc["throughput"] if f["ok"] or f["impl"] in ours]
rows = doc["rows"]
mechanisms = {"shm", "unix", "tcp", "stdio", "pipe", "mq", "udp"}
for mech in mechanisms:
    for where in ("2 CPUs", "1 CPU"):
        mine = [r for r in rows if r["mechanism"] == mech and r["placement"] == where]
        if not mine and where == "2 CPUs":
            continue  # a one-CPU machine measures one placement
        impls = {(r["impl"], r["mode"]) for r in mine}
        for mode in ("blocking", "spin", "default"):
            assert ("ipcx", mode) in impls, (mech, where, mode)
        assert any(i == "raw" for i, _ in impls), (mech, where)
        for r in mine:
            assert r["ok"] and r["count"] > 0 and r["p50"] > 0, r
            assert r["p50"] <= r["p99"] <= r["p999"], r
            if r["impl"] == "ipcx":
                assert r["x_raw"] > 0, r
flows = doc["throughput"]
for mech in ("shm", "unix", "tcp"):
    for where in ("2 CPUs", "1 CPU"):
        mine = [f for f in flows if f["mechanism"] == mech and f["placement"] == where]
        if not mine and where == "2 CPUs":
            continue
        kinds = {(f["impl"], f["mode"]) for f in mine}
        assert ("ipcx", "push") in kinds and ("ipcx", "requests") in kinds, (mech, where)
        assert any(i == "raw" for i, _ in kinds), (mech, where)
        for f in mine:
            assert f["ok"] and f["messages"] > 0 and f["seconds"] > 0, f
            assert abs(f["msgs_per_s"] * f["seconds"] - f["messages"]) <= 0.01 * f["messages"], f
            if f["impl"] == "ipcx":
                assert f["x_raw"] > 0, f
print("ok:", len(rows), "round-trip rows,", len(flows), "throughput rows")
PY
