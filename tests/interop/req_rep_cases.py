"""Request/reply interop cases: libzmq REQ/DEALER against an ipcx server, the ipcx client
against libzmq REP/ROUTER servers and REQ-envelope brokers, an ipcx server behind zmq.proxy."""

import signal
import subprocess
import threading

import zmq

from support import BIG, call, check, socket, start_server

def zmq_clients_call_ipcx_server(ipcx, tmp):
    proc, bound = start_server(
        ipcx, ["--handler", "echo", "--bind", "tcp://127.0.0.1:0", "--bind", f"ipc://{tmp}/s.sock"])
    ctx = zmq.Context()
    try:
        for url in bound:
            req = socket(ctx, zmq.REQ, url)
            for body in ([b"hello"], [b"a", b"", b"c"], [BIG], [b""]):
                req.send_multipart(body)
                got = req.recv_multipart()
                check(got == body, f"REQ over {url}: {len(got)} frames back, not {len(body)}")
            req.close()

            dealer = socket(ctx, zmq.DEALER, url)
            for i in range(20):  # pipelined, no request id: replies in request order
                dealer.send_multipart([b"", str(i).encode()])
            for i in range(20):
                got = dealer.recv_multipart()
                check(got == [b"", str(i).encode()], f"DEALER over {url}: got {got!r} for {i}")
            dealer.send_multipart([b"bare", b"body"])  # no delimiter: the reply comes back bare
            check(dealer.recv_multipart() == [b"bare", b"body"], f"bare DEALER over {url}")
            dealer.close()
            print(f"ok: libzmq REQ and DEALER -> ipcx server over {url}")
    finally:
        ctx.destroy(linger=0)
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(timeout=30) == 0, "ipcx serve did not stop cleanly")


def serve_zmq(kind, url, stop):
    """Runs a libzmq REP or ROUTER answering ["from", KIND, *body] until stop is set."""
    ctx = zmq.Context.instance()
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.bind(url)
    bound = s.getsockopt(zmq.LAST_ENDPOINT).decode()
    ready = threading.Event()

    def loop():
        poller = zmq.Poller()
        poller.register(s, zmq.POLLIN)
        ready.set()
        while not stop.is_set():
            if not poller.poll(100):
                continue
            frames = s.recv_multipart()
            name = b"REP" if kind == zmq.REP else b"ROUTER"
            if kind == zmq.REP:
                s.send_multipart([b"from", name, *frames])
            else:
                split = frames.index(b"") + 1  # identity, request id, delimiter
                s.send_multipart([*frames[:split], b"from", name, *frames[split:]])
        s.close()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    ready.wait()
    return bound, t


def ipcx_client_calls_zmq_servers(ipcx, tmp):
    stop = threading.Event()
    threads = []
    try:
        for kind in (zmq.REP, zmq.ROUTER):
            for url in ("tcp://127.0.0.1:*", f"ipc://{tmp}/{kind}.sock"):
                bound, t = serve_zmq(kind, url, stop)
                threads.append(t)
                name = b"REP" if kind == zmq.REP else b"ROUTER"
                out = call(ipcx, bound, "a", "b", "c")
                check(out == b"from\n" + name + b"\na\nb\nc\n", f"{bound}: got {out!r}")
                big = b"x" * (16 << 20)
                out = call(ipcx, bound, "-", stdin=big)
                check(out == b"from\n" + name + b"\n" + big + b"\n", f"{bound}: 16 MiB body")
                print(f"ok: ipcx client -> libzmq {name.decode()} over {bound}")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        zmq.Context.instance().destroy(linger=0)


def serve_req_broker(url, stop, errors, majordomo):
    """A ROUTER that unpacks every request as a REQ envelope, `client, empty, request =
    frames`, as the zguide's brokers do (any other frame count fails the unpacking), and answers
    [client, "", reply]. With `majordomo`, the request is a Majordomo client message
    ["MDPC01", service, body], answered ["MDPC01", service, "re:" + body]."""
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.ROUTER)
    s.setsockopt(zmq.LINGER, 0)
    s.bind(url)
    bound = s.getsockopt(zmq.LAST_ENDPOINT).decode()

    def loop():
        poller = zmq.Poller()
        poller.register(s, zmq.POLLIN)
        while not stop.is_set():
            if not poller.poll(100):
                continue
            frames = s.recv_multipart()
            try:
                if majordomo:
                    client, empty, header, service, body = frames
                    check(header == b"MDPC01", f"Majordomo header {header!r}")
                    reply = [header, service, b"re:" + body]
                else:
                    client, empty, request = frames
                    reply = [b"re:" + request]
                check(empty == b"", f"delimiter {empty!r}")
            except (ValueError, AssertionError) as e:
                errors.append(f"{bound}: {e}: {frames!r}")
                continue
            s.send_multipart([client, b"", *reply])
        s.close()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return bound, t


def ipcx_client_through_req_brokers(ipcx, tmp):
    """A broker that reads the REQ envelope serves an ipcx client, which sends what a libzmq REQ
    would to a peer that does not announce ipcx request ids; `ipcx call --plain` forces that
    envelope toward an ipcx server too."""
    stop = threading.Event()
    errors = []
    threads = []
    try:
        for majordomo in (False, True):
            for url in ("tcp://127.0.0.1:*", f"ipc://{tmp}/broker{int(majordomo)}.sock"):
                bound, t = serve_req_broker(url, stop, errors, majordomo)
                threads.append(t)
                if majordomo:
                    out = call(ipcx, bound, "MDPC01", "echo", "body")
                    check(out == b"MDPC01\necho\nre:body\n", f"{bound}: got {out!r}")
                else:
                    for word in ("hello", "again"):  # one connection each: plain every time
                        out = call(ipcx, bound, word)
                        check(out == b"re:" + word.encode() + b"\n", f"{bound}: got {out!r}")
                check(not errors, f"the broker could not unpack: {errors}")
                kind = "Majordomo" if majordomo else "REQ-envelope"
                print(f"ok: ipcx client -> libzmq {kind} broker over {bound}")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        zmq.Context.instance().destroy(linger=0)
    proc, bound = start_server(ipcx, ["--handler", "echo", "--bind", "tcp://127.0.0.1:0"])
    try:
        r = subprocess.run([ipcx, "call", "--plain", bound[0], "a", "b", "--timeout", "20000"],
                           capture_output=True, timeout=60)
        check(r.returncode == 0 and r.stdout == b"a\nb\n", f"--plain to ipcx: {r!r}")
        print("ok: ipcx call --plain -> ipcx server")
    finally:
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(timeout=30) == 0, "ipcx serve did not stop cleanly")


def start_proxy(front, back):
    """zmq.proxy(ROUTER frontend, DEALER backend), the zguide's shared queue, on a thread;
    returns the frontend's endpoint and a function that stops it and closes everything."""
    ctx = zmq.Context()
    frontend, backend = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER)
    for s, url in ((frontend, front), (backend, back)):
        s.setsockopt(zmq.LINGER, 0)
        s.bind(url)
    control, steer = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    control.bind("inproc://control")
    steer.connect("inproc://control")
    t = threading.Thread(target=zmq.proxy_steerable, args=(frontend, backend, None, control),
                         daemon=True)
    t.start()

    def stop():
        steer.send(b"TERMINATE")
        t.join(timeout=10)
        for s in (frontend, backend, control, steer):
            s.close(linger=0)
        ctx.term()

    return frontend.getsockopt(zmq.LAST_ENDPOINT).decode(), stop


def ipcx_server_behind_zmq_proxy(ipcx, tmp):
    """`ipcx serve --connect` to the DEALER backend of zmq.proxy serves libzmq REQ clients and
    an ipcx client on the ROUTER frontend, and finds the broker again after it restarts."""
    back = f"ipc://{tmp}/backend.sock"
    front, stop_proxy = start_proxy("tcp://127.0.0.1:*", back)
    proc = subprocess.Popen([ipcx, "serve", "--handler", "echo", "--connect", back])
    ctx = zmq.Context()
    try:
        for round_ in ("first", "after the broker restarted"):
            reqs = [socket(ctx, zmq.REQ, front) for _ in range(3)]
            for i, req in enumerate(reqs):
                req.send_multipart([b"hello", str(i).encode()])
            for i, req in enumerate(reqs):
                got = req.recv_multipart()
                check(got == [b"hello", str(i).encode()], f"REQ {i} {round_}: got {got!r}")
                req.close()
            out = call(ipcx, front, "through", "the proxy")
            check(out == b"through\nthe proxy\n", f"ipcx call {round_}: got {out!r}")
            print(f"ok: libzmq REQ and ipcx call -> zmq.proxy -> ipcx serve --connect, {round_}")
            if round_ == "first":
                stop_proxy()
                front, stop_proxy = start_proxy(front, back)  # the same endpoints again
    finally:
        ctx.destroy(linger=0)
        stop_proxy()
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(timeout=30) == 0, "ipcx serve did not stop cleanly")
