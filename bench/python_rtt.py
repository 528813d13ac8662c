#!/usr/bin/python3
"""Round trips of a Python ipcx Client over shm:// and unix:// beside pyzmq REQ/REP over ipc://,
in one run: 64-byte requests, each placement and spinning mode, medians of several rounds.

Rows:
  ipcx shm / ipcx unix   a Python ipcx.Client against `ipcx serve` (the C++ echo server)
  pyzmq ipc              a pyzmq REQ against a pyzmq REP (both Python, libzmq underneath)
  pyzmq->ipcx ipc        a pyzmq REQ against the same `ipcx serve` (its unix endpoint)
Placements: both processes on one CPU, or one on each of two CPUs. Spinning: ipcx's default
(50 us) and off (`spin=0`, `--spin-us 0`); pyzmq has no spinning of its own.

Usage: python_rtt.py [--cli PATH] [--calls N] [--rounds N] [--json FILE]
Run by `ipcx bench python`, which finds the CLI and the package of the same build.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def pin(cpu):
    os.sched_setaffinity(0, {cpu})


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def time_calls(call, calls):
    payload = b"x" * 64
    for _ in range(min(200, calls)):
        call(payload)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        start = clock()
        call(payload)
        samples.append((clock() - start) / 1000.0)
    return samples


REP_SERVER = """
import os, sys, zmq
os.sched_setaffinity(0, {int(sys.argv[2])})
ctx = zmq.Context()
rep = ctx.socket(zmq.REP)
rep.bind(sys.argv[1])
print("ready", flush=True)
while True:
    rep.send(rep.recv())
"""


def ipcx_rows(args, cpus, spin_off, tmp):
    import ipcx

    server_cpu = cpus[1]
    shm = f"shm://ipcx-pyrtt-{os.getpid()}"
    unix = f"unix://{tmp}/rtt.sock"
    argv = [args.cli, "serve", "--bind", shm, "--bind", unix]
    if spin_off:
        argv += ["--spin-us", "0"]
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True,
                              preexec_fn=lambda: pin(server_cpu))
    rows = {}
    try:
        for _ in range(2):
            server.stdout.readline()
        options = {"spin": 0} if spin_off else {}
        for name, url in (("ipcx shm", shm), ("ipcx unix", unix)):
            with ipcx.Client(url, **options) as client:
                rows[name] = time_calls(lambda body: client.call(body, timeout=10), args.calls)
        if args.zmq:
            import zmq

            ctx = zmq.Context()
            req = ctx.socket(zmq.REQ)
            req.connect("ipc://" + unix[len("unix://"):])

            def call(body):
                req.send(body)
                return req.recv()

            rows["pyzmq->ipcx ipc"] = time_calls(call, args.calls)
            req.close(0)
            ctx.term()
    finally:
        server.terminate()
        server.wait()
    return rows


def pyzmq_rows(args, cpus, tmp):
    import zmq

    server_cpu = cpus[1]
    url = f"ipc://{tmp}/zmq.sock"
    server = subprocess.Popen([sys.executable, "-c", REP_SERVER, url, str(server_cpu)],
                              stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()
        ctx = zmq.Context()
        req = ctx.socket(zmq.REQ)
        req.connect(url)

        def call(body):
            req.send(body)
            return req.recv()

        samples = time_calls(call, args.calls)
        req.close(0)
        ctx.term()
    finally:
        server.terminate()
        server.wait()
    return {"pyzmq ipc": samples}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", default=os.environ.get("IPCX_CLI", "ipcx"))
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    try:
        import zmq  # noqa: F401

        args.zmq = True
    except ImportError:
        args.zmq = False
        print("pyzmq not found: its rows are left out", file=sys.stderr)

    if len(os.sched_getaffinity(0)) < 2:
        placements = [("1 CPU", (0, 0))]
    else:
        cpus = sorted(os.sched_getaffinity(0))[:2]
        placements = [("1 CPU", (cpus[0], cpus[0])), ("2 CPUs", (cpus[0], cpus[1]))]
    modes = [("default", False), ("spin off", True)]

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for where, cpus in placements:
            pin(cpus[0])
            for mode, spin_off in modes:
                rounds = {}
                for _ in range(args.rounds):
                    rows = ipcx_rows(args, cpus, spin_off, tmp)
                    if args.zmq:
                        rows.update(pyzmq_rows(args, cpus, tmp))
                    for name, samples in rows.items():
                        rounds.setdefault(name, []).append(
                            (statistics.median(samples), percentile(samples, 0.99)))
                peer = rounds.get("pyzmq ipc")
                peer_p50 = statistics.median(r[0] for r in peer) if peer else None
                for name, values in rounds.items():
                    p50 = statistics.median(v[0] for v in values)
                    p99 = statistics.median(v[1] for v in values)
                    results.append({
                        "where": where, "mode": mode, "impl": name, "p50_us": round(p50, 2),
                        "p99_us": round(p99, 2),
                        "x_pyzmq": round(peer_p50 / p50, 2) if peer_p50 else None,
                    })
    print("Python round trips, 64 B, p50 and p99 in us (median of %d rounds of %d calls)"
          % (args.rounds, args.calls))
    print(f"{'where':8} {'mode':9} {'impl':17} {'p50':>8} {'p99':>8} {'pyzmq/this':>10}")
    for r in results:
        ratio = f"{r['x_pyzmq']:.2f}" if r["x_pyzmq"] else ""
        print(f"{r['where']:8} {r['mode']:9} {r['impl']:17} {r['p50_us']:8.1f} "
              f"{r['p99_us']:8.1f} {ratio:>10}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"command": " ".join(sys.argv), "calls": args.calls,
                       "rounds": args.rounds, "rows": results}, out, indent=1)


if __name__ == "__main__":
    main()
