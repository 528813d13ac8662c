"""`ipcx proxy` between libzmq peers, one case per pattern: REQ clients on tcp:// reaching an
ipcx server on shm://; a PUSH feeding PULLs through the pipeline proxy; a PUB (an XPUB, to see
what reaches it) feeding SUBs through the pubsub proxy, with the subscribers' subscriptions
forwarded upstream and a capture socket copying what goes by."""

import os
import signal
import subprocess
import time

import zmq

from support import check, recv_or_none, socket, start_server


def start_proxy(ipcx, args, bound_lines):
    """Starts `ipcx proxy ARGS`; returns the process and the endpoints it reported bound."""
    proc = subprocess.Popen([ipcx, "proxy", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    bound = []
    for _ in range(bound_lines):
        line = proc.stdout.readline().strip()
        check(line.startswith("bound "), f"proxy printed {line!r}")
        bound.append(line[len("bound "):].replace("unix://", "ipc://", 1))
    return proc, bound


def stop_cleanly(*procs):
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(timeout=30) == 0, f"{proc.args[1]} did not stop cleanly")


def zmq_clients_through_ipcx_proxy_to_shm(ipcx, tmp):
    """The issue's picture: a service bound on shm://, reached from the network through `ipcx
    proxy` on tcp://, by libzmq REQ clients (and a DEALER that pipelines)."""
    name = "interop-proxy-" + os.path.basename(tmp)
    server, _ = start_server(ipcx, ["--handler", "echo", "--bind", f"shm://{name}"])
    proxy, (front,) = start_proxy(ipcx, ["--frontend", "tcp://127.0.0.1:0", "--backend",
                                         f"shm://{name}", "--events"], 1)
    ctx = zmq.Context()
    try:
        reqs = [socket(ctx, zmq.REQ, front) for _ in range(3)]
        for i, req in enumerate(reqs):
            req.send_multipart([b"via", b"proxy", str(i).encode()])
        for i, req in enumerate(reqs):
            got = req.recv_multipart()
            check(got == [b"via", b"proxy", str(i).encode()], f"REQ {i}: got {got!r}")
        dealer = socket(ctx, zmq.DEALER, front)
        for i in range(20):
            dealer.send_multipart([b"", str(i).encode()])
        got = sorted(int(dealer.recv_multipart()[1]) for _ in range(20))
        check(got == list(range(20)), f"pipelined DEALER through the proxy: {got!r}")
        print(f"ok: libzmq REQ and DEALER -> ipcx proxy on {front} -> ipcx serve on shm://{name}")
    finally:
        ctx.destroy(linger=0)
        stop_cleanly(proxy, server)


def zmq_push_through_ipcx_pipeline_proxy(ipcx, tmp):
    """libzmq PUSH -> `ipcx proxy --pattern pipeline` -> two libzmq PULLs: once both are
    connected, every message arrives once, dealt round robin (half each), each share in
    order."""
    proc, (front, back) = start_proxy(ipcx, ["--pattern", "pipeline", "--frontend",
                                             "tcp://127.0.0.1:0", "--backend",
                                             f"@unix://{tmp}/pull.sock"], 2)
    ctx = zmq.Context()
    try:
        pulls = [socket(ctx, zmq.PULL, back) for _ in range(2)]
        push = socket(ctx, zmq.PUSH, front)
        # The PULLs connect in their own time: probe until each has had one.
        reached = [False, False]
        for _ in range(2000):
            push.send(b"probe")
            for k, pull in enumerate(pulls):
                while recv_or_none(pull, 5) is not None:
                    reached[k] = True
            if all(reached):
                break
        check(all(reached), f"probes reached {reached}")
        for i in range(200):
            push.send(str(i).encode())
        got = [[], []]
        deadline = time.monotonic() + 60
        while len(got[0]) + len(got[1]) < 200:
            check(time.monotonic() < deadline, f"stalled after {len(got[0]) + len(got[1])}")
            for k, pull in enumerate(pulls):
                m = recv_or_none(pull, 50)
                if m is not None and m != [b"probe"]:
                    got[k].append(int(m[0]))
        check(sorted(got[0] + got[1]) == list(range(200)), "pipeline lost or duplicated")
        check(all(share == sorted(share) for share in got), "a PULL's share out of order")
        check([len(share) for share in got] == [100, 100], f"not dealt round robin: "
              f"{len(got[0])} and {len(got[1])}")
        print("ok: libzmq PUSH -> ipcx proxy --pattern pipeline -> 2 libzmq PULLs, 100 each")
    finally:
        ctx.destroy(linger=0)
        stop_cleanly(proc)


def zmq_pub_through_ipcx_pubsub_proxy(ipcx, tmp):
    """libzmq XPUB -> `ipcx proxy --pattern pubsub` -> libzmq SUBs. The XPUB sees the
    subscriptions the proxy forwards: one when the first SUB subscribes, another for a second
    topic, the cancellation once the last SUB of a topic leaves. Each SUB gets its topic only;
    the capture socket gets a copy of what was published."""
    xpub = zmq.Context().socket(zmq.XPUB)
    ctx = xpub.context
    xpub.setsockopt(zmq.LINGER, 0)
    xpub.bind("tcp://127.0.0.1:*")
    upstream = xpub.getsockopt(zmq.LAST_ENDPOINT).decode()
    proc, (back, capture) = start_proxy(ipcx, ["--pattern", "pubsub", "--frontend",
                                               f">{upstream}", "--backend",
                                               "@tcp://127.0.0.1:0", "--capture",
                                               f"ipc://{tmp}/capture.sock"], 2)
    try:
        copies = socket(ctx, zmq.SUB, capture)
        copies.setsockopt(zmq.SUBSCRIBE, b"")
        weather = socket(ctx, zmq.SUB, back)
        weather.setsockopt(zmq.SUBSCRIBE, b"weather")
        check(recv_or_none(xpub, 20000) == [b"\x01weather"], "subscription not forwarded")

        # The capture SUB joins in its own time: publish until it and the subscriber have one.
        for i in range(2000):
            xpub.send(f"weather probe {i}".encode())
            if recv_or_none(weather, 5) is not None and recv_or_none(copies, 5) is not None:
                break
        while recv_or_none(weather, 100) is not None or recv_or_none(copies, 100) is not None:
            pass
        for i in range(10):
            xpub.send(f"sport {i}".encode())  # nobody asked: the XPUB keeps it
            xpub.send(f"weather {i}".encode())
        want = [[f"weather {i}".encode()] for i in range(10)]
        check([recv_or_none(weather, 10000) for _ in range(10)] == want, "weather SUB")
        check([recv_or_none(copies, 10000) for _ in range(10)] == want, "capture copies")
        check(recv_or_none(weather, 200) is None, "weather SUB got more than its topic")

        sport = socket(ctx, zmq.SUB, back)
        sport.setsockopt(zmq.SUBSCRIBE, b"sport")
        check(recv_or_none(xpub, 20000) == [b"\x01sport"], "second topic not forwarded")
        weather.close()
        check(recv_or_none(xpub, 20000) == [b"\x00weather"], "cancellation not forwarded")
        xpub.send(b"sport final")
        check(recv_or_none(sport, 10000) == [b"sport final"], "sport SUB")
        print(f"ok: libzmq XPUB -> ipcx proxy --pattern pubsub -> libzmq SUBs, subscriptions "
              f"forwarded and cancelled, capture on {capture}")
    finally:
        ctx.destroy(linger=0)
        stop_cleanly(proc)
