#!/usr/bin/env bash
# ctest python_bench_smoke: `ipcx bench python` runs through with a few calls a row and its JSON
# holds every row of every placement and spinning mode (the figures are not judged).
set -euo pipefail
ipcx=$1
json=$2
rm -f "$json"
"$ipcx" bench python --calls 20 --rounds 1 --blocks 2 --json "$json" >/dev/null
/usr/bin/python3 - "$json" <<'PY'
import json, os, sys
rows = json.load(open(sys.argv[1]))["rows"]
impls = {"ipcx shm", "ipcx unix", "pyzmq->ipcx ipc", "pyzmq ipc"}
wheres = {"1 CPU", "2 CPUs"} if len(os.sched_getaffinity(0)) >= 2 else {"1 CPU"}
want = {(w, m, i) for w in wheres for m in ("default", "spin off") for i in impls}
got = {(r["where"], r["mode"], r["impl"]) for r in rows if r["p50_us"] > 0}
missing = want - got
if missing:
    sys.exit(f"rows missing from the Python benchmark: {sorted(missing)}")
PY
