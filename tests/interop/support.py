"""Helpers shared by the interop cases: checks, starting ipcx commands, and a few libzmq
idioms."""

import subprocess
import threading

import zmq

BIG = bytes((i * 131) % 251 for i in range(256)) * (16 * 4096)  # 16 MiB, every byte value


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def start_server(ipcx, args):
    proc = subprocess.Popen([ipcx, "serve", *args], stdout=subprocess.PIPE, text=True)
    bound = []
    for _ in range(args.count("--bind")):
        line = proc.stdout.readline().strip()
        check(line.startswith("bound "), f"server printed {line!r}")
        # ipcx reports unix:// (its canonical name); libzmq knows the same thing as ipc://.
        bound.append(line[len("bound "):].replace("unix://", "ipc://", 1))
    return proc, bound


def socket(ctx, kind, url):
    s = ctx.socket(kind)
    s.setsockopt(zmq.RCVTIMEO, 20000)
    s.setsockopt(zmq.SNDTIMEO, 20000)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(url)
    return s


def call(ipcx, url, *frames, stdin=None):
    r = subprocess.run([ipcx, "call", url, *frames, "--timeout", "20000"], input=stdin,
                       capture_output=True, timeout=60)
    check(r.returncode == 0, f"ipcx call {url} exited {r.returncode}: {r.stderr!r}")
    return r.stdout


LINES = [f"line {i} " + "x" * (i % 300) for i in range(500)]


def start_ipcx(ipcx, args, stdin=None):
    """Starts an ipcx command; with --bind, returns the endpoint it reported: on stderr for the
    commands whose stdout carries messages (pull, sub), so the data stays clean."""
    to_stderr = args[0] in ("pull", "sub")
    proc = subprocess.Popen([ipcx, *args], stdin=stdin, stdout=subprocess.PIPE, text=True,
                            stderr=subprocess.PIPE if to_stderr else None)
    bound = None
    if "--bind" in args:
        line = (proc.stderr if to_stderr else proc.stdout).readline().strip()
        check(line.startswith("bound "), f"ipcx printed {line!r}")
        bound = line[len("bound "):].replace("unix://", "ipc://", 1)
    return proc, bound


def ipcx_url(url):
    return url.replace("ipc://", "unix://", 1)


def publish_line(proc, line):
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def recv_or_none(sock, ms):
    return sock.recv_multipart() if sock.poll(ms) else None


def communicate_while_publishing(proc, pub, messages):
    """Runs proc to its end while a thread publishes messages(i), a list of multipart messages,
    on pub every 2 ms (a subscriber joins at a moment nobody knows); returns proc's output."""
    stop = threading.Event()

    def publish():
        i = 0
        while not stop.is_set():
            for frames in messages(i):
                pub.send_multipart(frames)
            i += 1
            stop.wait(0.002)

    t = threading.Thread(target=publish, daemon=True)
    t.start()
    try:
        return proc.communicate(timeout=60)
    finally:
        stop.set()
        t.join(timeout=10)
