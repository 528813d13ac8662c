#!/usr/bin/python3
"""Round trips against one `ipcx serve` bound to shm:// and unix:// at once, everything on one
CPU, with the server's default spin: each mechanism's client alone, then beside an idle client
of the other mechanism. A spinning server polls rings and consults epoll at different rhythms
(docs/decisions/0018); this shows what one mechanism's idle peers cost the other's.

Usage: mixed_server_rtt.py [--cli PATH] [--calls N] [--cpu N]
Needs the ipcx package of the same build on PYTHONPATH (as `ipcx bench python` sets it).
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time

import ipcx


def p50_us(client, calls):
    payload = b"x" * 64
    for _ in range(200):
        client.call(payload, timeout=10)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        start = clock()
        client.call(payload, timeout=10)
        samples.append((clock() - start) / 1000.0)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", default=os.environ.get("IPCX_CLI", "ipcx"))
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--cpu", type=int, default=0)
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"shm": f"shm://ipcx-mixed-{os.getpid()}", "unix": f"unix://{tmp}/mixed.sock"}
        server = subprocess.Popen([args.cli, "serve", "--bind", urls["shm"], "--bind",
                                   urls["unix"]], stdout=subprocess.PIPE, text=True,
                                  preexec_fn=lambda: os.sched_setaffinity(0, {args.cpu}))
        try:
            for _ in urls:
                server.stdout.readline()
            print("p50 round trip, us, one CPU")
            for measured, other in (("unix", "shm"), ("shm", "unix")):
                with ipcx.Client(urls[measured]) as client:
                    alone = p50_us(client, args.calls)
                    with ipcx.Client(urls[other]) as idle:
                        idle.call(b"hello", timeout=10)
                        beside = p50_us(client, args.calls)
                print(f"{measured:5} alone {alone:6.1f}   beside an idle {other} client "
                      f"{beside:6.1f}")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
