#!/usr/bin/python3
"""Round trips of a Python ipcx Client over shm:// and unix:// beside pyzmq REQ/REP over ipc://,
in one run: 64-byte requests, each placement and spinning mode, medians of several rounds.

Rows:
  ipcx shm / ipcx unix   a Python ipcx.Client against `ipcx serve` (the C++ echo server)
  pyzmq ipc              a pyzmq REQ against a pyzmq REP (both Python, libzmq underneath)
  pyzmq->ipcx ipc        a pyzmq REQ against the same `ipcx serve` (its unix endpoint)
Placements: both processes on one CPU, or one on each of two CPUs. Spinning: ipcx's default
(50 us) and off (`spin=0`, `--spin-us 0`); pyzmq has no spinning of its own.

Within a round, every row's clients are connected at once and take turns in blocks of calls,
so that a spell in which the VM's CPU runs slower (they come and go over seconds, and can
halve its speed) falls on all rows alike rather than on whichever row it happened to meet.

Usage: python_rtt.py [--cli PATH] [--calls N] [--rounds N] [--blocks N] [--json FILE]
Run by `ipcx bench python`, which finds the CLI and the package of the same build.
"""

import argparse
import contextlib
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


def time_in_turns(callers, calls, blocks):
    """Times `calls` calls of every caller, in `blocks` turns of calls/blocks each."""
    payload = b"x" * 64
    for call in callers.values():
        for _ in range(min(200, calls)):
            call(payload)
    samples = {name: [] for name in callers}
    per_block = max(1, calls // blocks)
    clock = time.perf_counter_ns
    for _ in range(blocks):
        for name, call in callers.items():
            taken = samples[name]
            for _ in range(per_block):
                start = clock()
                call(payload)
                taken.append((clock() - start) / 1000.0)
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


def start(argv, cpu, lines):
    """A server process pinned to `cpu`, once it has printed `lines` lines (its endpoints)."""
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True,
                              preexec_fn=lambda: pin(cpu))
    for _ in range(lines):
        server.stdout.readline()
    return server


def stop(server):
    server.terminate()
    server.wait()


def one_round(args, cpus, spin_off, tmp):
    """Samples of every row, their clients taking turns against servers on cpus[1]. The pyzmq
    REQ of "pyzmq->ipcx" calls the ipcx unix row's server."""
    import ipcx

    shm = f"shm://ipcx-pyrtt-{os.getpid()}"
    unix_path = f"{tmp}/rtt.sock"
    options = {"spin": 0} if spin_off else {}
    with contextlib.ExitStack() as stack:
        callers = {}
        for name, url in (("ipcx shm", shm), ("ipcx unix", "unix://" + unix_path)):
            # A server per mechanism, as each row measures its mechanism alone.
            argv = [args.cli, "serve", "--bind", url] + (["--spin-us", "0"] if spin_off else [])
            stack.callback(stop, start(argv, cpus[1], 1))
            client = stack.enter_context(ipcx.Client(url, **options))
            callers[name] = lambda body, client=client: client.call(body, timeout=10)
        if args.zmq:
            import zmq

            zmq_url = f"ipc://{tmp}/zmq.sock"
            stack.callback(stop, start([sys.executable, "-c", REP_SERVER, zmq_url, str(cpus[1])],
                                       cpus[1], 1))
            ctx = zmq.Context()
            stack.callback(ctx.term)
            for name, url in (("pyzmq->ipcx ipc", "ipc://" + unix_path), ("pyzmq ipc", zmq_url)):
                req = ctx.socket(zmq.REQ)
                stack.callback(req.close, 0)
                req.connect(url)

                def call(body, req=req):
                    req.send(body)
                    return req.recv()

                callers[name] = call
        return time_in_turns(callers, args.calls, args.blocks)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", default=os.environ.get("IPCX_CLI", "ipcx"))
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=10)
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
                    rows = one_round(args, cpus, spin_off, tmp)
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
    print("Python round trips, 64 B, p50 and p99 in us (median of %d rounds of %d calls a row,"
          " in %d turns)" % (args.rounds, args.calls, args.blocks))
    print(f"{'where':8} {'mode':9} {'impl':17} {'p50':>8} {'p99':>8} {'pyzmq/this':>10}")
    for r in results:
        ratio = f"{r['x_pyzmq']:.2f}" if r["x_pyzmq"] else ""
        print(f"{r['where']:8} {r['mode']:9} {r['impl']:17} {r['p50_us']:8.1f} "
              f"{r['p99_us']:8.1f} {ratio:>10}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"command": " ".join(sys.argv), "calls": args.calls,
                       "rounds": args.rounds, "blocks": args.blocks, "rows": results}, out,
                      indent=1)


if __name__ == "__main__":
    main()
