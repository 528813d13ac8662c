"""CURVE interop cases between ipcx commands and libzmq sockets (libzmq 4.3.4 is built with
CURVE): libzmq CURVE clients call an ipcx CURVE server, which refuses a key it does not list and
counts it; an ipcx CURVE client calls libzmq CURVE REP and ROUTER servers and fails fast with
auth_failed on a wrong server key; libzmq PUB -> ipcx sub and ipcx push -> libzmq PULL under
CURVE."""

import os
import signal
import subprocess
import time

import zmq

from support import check, recv_or_none, start_ipcx


def keygen(ipcx, tmp, name):
    """`ipcx keygen` into tmp/name (0600); returns (path, public, secret)."""
    out = subprocess.run([ipcx, "keygen"], capture_output=True, text=True, check=True).stdout
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    path = os.path.join(tmp, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, out.encode())
    os.close(fd)
    return path, lines["public"], lines["secret"]


def curve_client(ctx, kind, url, server_public, keys=None):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, 20000)
    public, secret = keys or zmq.curve_keypair()
    s.curve_publickey, s.curve_secretkey, s.curve_serverkey = public, secret, server_public
    s.connect(url)
    return s


def zmq_curve_clients_call_ipcx_curve_server(ipcx, tmp):
    key_file, server_public, _ = keygen(ipcx, tmp, "server.key")
    client_public, client_secret = zmq.curve_keypair()
    proc = subprocess.Popen([ipcx, "serve", "--handler", "echo", "--bind", "tcp://127.0.0.1:0",
                             "--bind", f"ipc://{tmp}/curve.sock", "--curve-secret",
                             f"@{key_file}", "--curve-allow", client_public.decode(), "--stats"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ctx = zmq.Context()
    try:
        urls = [proc.stdout.readline().split()[1].replace("unix://", "ipc://", 1)
                for _ in range(2)]
        for url in urls:
            for kind in (zmq.REQ, zmq.DEALER):
                s = curve_client(ctx, kind, url, server_public.encode(),
                                 (client_public, client_secret))
                prefix = [] if kind == zmq.REQ else [b""]
                for i in range(3):
                    s.send_multipart(prefix + [b"secret", str(i).encode()])
                    got = s.recv_multipart()
                    check(got == prefix + [b"secret", str(i).encode()], f"{url}: got {got!r}")
                s.close()
            print(f"ok: libzmq CURVE REQ and DEALER -> ipcx serve --curve-secret over {url}")
        stranger = curve_client(ctx, zmq.REQ, urls[0], server_public.encode())
        monitor = stranger.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH |
                                              zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                              zmq.EVENT_DISCONNECTED)
        check(monitor.poll(20000), "libzmq never saw its unlisted key refused")
        stranger.close()
        monitor.close()
    finally:
        ctx.destroy(linger=0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    check(proc.returncode == 0, "ipcx serve did not stop cleanly")
    rejected = int(err.split("rejected ")[1].split(",")[0])
    check(rejected >= 1, f"the unlisted key was not counted: {err!r}")
    check(key_file not in err and "secret" not in err.lower(), f"a secret in the log: {err!r}")
    print(f"ok: an unlisted libzmq client key refused and counted ({rejected})")


def ipcx_curve_client_calls_zmq_curve_servers(ipcx, tmp):
    ctx = zmq.Context()
    try:
        server_public, server_secret = zmq.curve_keypair()
        _, _, client_secret = keygen(ipcx, tmp, "client.key")
        for kind in (zmq.REP, zmq.ROUTER):
            s = ctx.socket(kind)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVTIMEO, 20000)  # a failing client must fail the case, not hang it
            s.curve_server, s.curve_secretkey = True, server_secret
            s.bind("tcp://127.0.0.1:*")
            url = s.getsockopt(zmq.LAST_ENDPOINT).decode()
            proc, _ = start_ipcx(ipcx, ["call", url, "hello", "curve", "--timeout", "20000",
                                        "--curve-server", server_public.decode(),
                                        "--curve-secret", client_secret])
            got = s.recv_multipart()
            s.send_multipart(got)
            out, _ = proc.communicate(timeout=60)
            check(proc.returncode == 0 and out.splitlines()[-2:] == ["hello", "curve"],
                  f"ipcx call --curve-server to libzmq {kind}: {out!r}")
            name = "REP" if kind == zmq.REP else "ROUTER"
            print(f"ok: ipcx call --curve-server -> libzmq CURVE {name}")
            # A server whose key is not the one we hold: auth_failed at once, not at the deadline
            # (the subprocess limit is a third of the call's timeout).
            wrong_public, _ = zmq.curve_keypair()
            r = subprocess.run([ipcx, "call", url, "x", "--timeout", "60000", "--curve-server",
                                wrong_public.decode()], capture_output=True, timeout=20)
            check(r.returncode == 1 and b"auth_failed" in r.stderr,
                  f"ipcx call with a wrong server key: {r!r}")
            print("ok: ipcx call with a wrong server key fails at once with auth_failed")
            s.close()
    finally:
        ctx.destroy(linger=0)


def curve_pub_sub_and_push_pull(ipcx, tmp):
    ctx = zmq.Context()
    try:
        server_public, server_secret = zmq.curve_keypair()
        pub = ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 0)
        pub.curve_server, pub.curve_secretkey = True, server_secret
        pub.bind("tcp://127.0.0.1:*")
        url = pub.getsockopt(zmq.LAST_ENDPOINT).decode()
        proc, _ = start_ipcx(ipcx, ["sub", url, "--topic", "a", "--count", "3", "--timeout",
                                    "20000", "--curve-server", server_public.decode()])
        for i in range(4000):
            pub.send_multipart([b"b", b"skip"])
            pub.send_multipart([b"a", str(i).encode()])
            if proc.poll() is not None:
                break
            if i % 50 == 49:
                time.sleep(0.01)  # the subscription reaches the PUB in its own time
        out, _ = proc.communicate(timeout=60)
        got_lines = out.splitlines()
        check(proc.returncode == 0 and len(got_lines) == 3 and
              all(line.startswith("a ") for line in got_lines), f"ipcx sub under CURVE: {out!r}")
        pub.close()
        print("ok: libzmq CURVE PUB -> ipcx sub --curve-server")

        pull = ctx.socket(zmq.PULL)
        pull.setsockopt(zmq.LINGER, 0)
        pull.curve_server, pull.curve_secretkey = True, server_secret
        pull.bind("tcp://127.0.0.1:*")
        url = pull.getsockopt(zmq.LAST_ENDPOINT).decode()
        r = subprocess.run([ipcx, "push", url, "--timeout", "20000", "--curve-server",
                            server_public.decode()], input="one\ntwo\n", text=True, timeout=60)
        check(r.returncode == 0, f"ipcx push under CURVE exited {r.returncode}")
        got = [recv_or_none(pull, 20000) for _ in range(2)]
        check(got == [[b"one"], [b"two"]], f"libzmq PULL under CURVE got {got!r}")
        pull.close()
        print("ok: ipcx push --curve-server -> libzmq CURVE PULL")
    finally:
        ctx.destroy(linger=0)
