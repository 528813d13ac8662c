#!/usr/bin/python3
"""Interop with libzmq (python3-zmq), one case per run: `/usr/bin/python3 zmq_interop.py
IPCX_BINARY CASE` (as ctest runs it); exits non-zero on the first failure.

req_rep_cases: libzmq REQ and DEALER call an ipcx Server over tcp:// and ipc://; the ipcx CLI
client calls libzmq REP and ROUTER servers and brokers that unpack the REQ envelope (plain and
Majordomo requests); an ipcx server connected out to zmq.proxy's backend serves libzmq REQ
clients. proxy_cases: libzmq REQ clients on tcp reach an ipcx server on shm through `ipcx
proxy`, libzmq PUSH and PUB reach PULLs and SUBs through its pipeline and pubsub patterns,
subscriptions forwarded upstream. one_way_cases: ipcx push/pull trade messages with libzmq PULL/PUSH in both directions,
binding and connecting (and deal evenly to two PULLs whatever their handshakes' timing); ipcx
pub/sub with libzmq SUB/PUB, subscribing and unsubscribing while messages flow; `ipcx pub
--frames 1` feeds a SUB that expects single frames. liveness_cases: heartbeats both ways, and
CURVE and PLAIN peers refused with a reason. curve_cases: CURVE both ways (REQ, DEALER, REP,
ROUTER, PUB, PULL), an unlisted client key refused, a wrong server key failing fast."""

import inspect
import shutil
import sys
import tempfile

import curve_cases
import liveness_cases
import one_way_cases
import proxy_cases
import req_rep_cases

# Every function a case module defines that takes (ipcx, tmp).
CASES = {name: f
         for module in (req_rep_cases, one_way_cases, proxy_cases, liveness_cases, curve_cases)
         for name, f in inspect.getmembers(module, inspect.isfunction)
         if f.__module__ == module.__name__ and list(inspect.signature(f).parameters) ==
         ["ipcx", "tmp"]}


def main():
    ipcx, case = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="ipcx-interop-")
    try:
        CASES[case](ipcx, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"1 passed, 0 failed: {case}")


if __name__ == "__main__":
    main()
