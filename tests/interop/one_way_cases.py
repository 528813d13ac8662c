"""Push/pull and publish/subscribe interop cases between ipcx commands and libzmq sockets."""

import subprocess
import threading

import zmq

from support import (LINES, check, communicate_while_publishing, ipcx_url, publish_line,
                     recv_or_none, start_ipcx)

def push_pull_both_ways(ipcx, tmp):
    ctx = zmq.Context()
    try:
        for where in ("tcp://127.0.0.1:*", f"ipc://{tmp}/p{{}}.sock"):
            # libzmq PULL binds; ipcx push connects and sends stdin's lines.
            pull = ctx.socket(zmq.PULL)
            pull.setsockopt(zmq.RCVTIMEO, 20000)
            pull.bind(where.format(0))
            bound = pull.getsockopt(zmq.LAST_ENDPOINT).decode()
            r = subprocess.run([ipcx, "push", ipcx_url(bound), "--timeout", "20000"],
                               input="\n".join(LINES) + "\n", text=True, timeout=60)
            check(r.returncode == 0, f"ipcx push to {bound} exited {r.returncode}")
            got = [pull.recv().decode() for _ in LINES]
            check(got == LINES, f"libzmq PULL from ipcx push over {bound}")
            pull.close()
            print(f"ok: ipcx push -> libzmq PULL over {bound}")

            # libzmq PUSH binds; ipcx pull connects and prints each message.
            push = ctx.socket(zmq.PUSH)
            push.setsockopt(zmq.SNDTIMEO, 20000)
            push.setsockopt(zmq.LINGER, 5000)
            push.bind(where.format(1))
            bound = push.getsockopt(zmq.LAST_ENDPOINT).decode()
            proc, _ = start_ipcx(ipcx, ["pull", ipcx_url(bound), "--count", str(len(LINES) + 1)])
            for line in LINES:
                push.send(line.encode())
            push.send_multipart([b"two", b"frames"])
            out, _ = proc.communicate(timeout=60)
            check(proc.returncode == 0, f"ipcx pull from {bound} exited {proc.returncode}")
            check(out.splitlines() == LINES + ["two frames"], f"ipcx pull from libzmq PUSH {bound}")
            push.close()
            print(f"ok: libzmq PUSH -> ipcx pull over {bound}")

            # ipcx pull binds; libzmq PUSH connects.
            bind_at = where.format(2).replace(":*", ":0")
            proc, bound = start_ipcx(ipcx, ["pull", "--bind", ipcx_url(bind_at), "--count",
                                            str(len(LINES))])
            push = ctx.socket(zmq.PUSH)
            push.setsockopt(zmq.LINGER, 5000)
            push.connect(bound)
            for line in LINES:
                push.send(line.encode())
            out, _ = proc.communicate(timeout=60)
            check(out.splitlines() == LINES, f"ipcx pull --bind from libzmq PUSH {bound}")
            push.close()
            print(f"ok: libzmq PUSH -> ipcx pull --bind over {bound}")

            # ipcx push binds; libzmq PULL connects.
            proc, bound = start_ipcx(ipcx, ["push", "--bind", ipcx_url(where.format(3)).replace(
                ":*", ":0"), "--timeout", "20000"], stdin=subprocess.PIPE)
            pull = ctx.socket(zmq.PULL)
            pull.setsockopt(zmq.RCVTIMEO, 20000)
            pull.connect(bound)
            proc.stdin.write("\n".join(LINES) + "\n")
            proc.stdin.close()
            got = [pull.recv().decode() for _ in LINES]
            check(got == LINES, f"libzmq PULL connected to ipcx push --bind {bound}")
            check(proc.wait(timeout=60) == 0, "ipcx push --bind did not finish")
            pull.close()
            print(f"ok: ipcx push --bind -> libzmq PULL over {bound}")
    finally:
        ctx.destroy(linger=0)


def receive_share(pull, total, counts, index):
    """Counts what one PULL receives until all `total` messages have arrived somewhere."""
    while sum(counts) < total:
        try:
            pull.recv()
            counts[index] += 1
        except zmq.Again:
            pass


def count_shares(pulls, total):
    """Starts a thread per PULL counting what it gets, until `total` arrived in all."""
    counts = [0] * len(pulls)
    readers = [threading.Thread(target=receive_share, args=(p, total, counts, i))
               for i, p in enumerate(pulls)]
    for r in readers:
        r.start()
    return counts, readers


def push_deals_evenly_to_late_pullers(ipcx, tmp):
    """An ipcx pusher deals round robin over two libzmq PULL peers whatever their handshakes'
    timing (it once gave one of them everything): 20 rounds each of a pusher connecting to two
    bound PULLs before they could answer, and of a bound pusher two PULLs connected to."""
    half = 10
    lines = "".join(f"{i}\n" for i in range(2 * half))
    ctx = zmq.Context()
    try:
        for round_ in range(20):
            pulls = []
            for _ in range(2):
                p = ctx.socket(zmq.PULL)
                p.setsockopt(zmq.RCVTIMEO, 100)
                p.bind("tcp://127.0.0.1:*")
                pulls.append(p)
            urls = [p.getsockopt(zmq.LAST_ENDPOINT).decode() for p in pulls]
            counts, readers = count_shares(pulls, 2 * half)
            r = subprocess.run([ipcx, "push", *urls, "--timeout", "20000"], input=lines,
                               text=True, timeout=60)
            check(r.returncode == 0, f"ipcx push exited {r.returncode}")
            for t in readers:
                t.join(timeout=60)
            check(counts == [half, half], f"round {round_}, connecting: dealt {counts}")
            for p in pulls:
                p.close(linger=0)

            proc, bound = start_ipcx(ipcx, ["push", "--bind", "tcp://127.0.0.1:0", "--timeout",
                                            "20000"], stdin=subprocess.PIPE)
            pulls = []
            for _ in range(2):
                p = ctx.socket(zmq.PULL)
                p.setsockopt(zmq.RCVTIMEO, 100)
                monitor = p.get_monitor_socket(zmq.EVENT_CONNECTED)
                p.connect(bound)
                # Connected (in the pusher's backlog) before any line is sent: dealing must
                # then not depend on whose handshake the pusher hears first.
                event = monitor.recv_multipart()
                check(event, "no connect event")
                p.disable_monitor()
                monitor.close(linger=0)
                pulls.append(p)
            counts, readers = count_shares(pulls, 2 * half)
            proc.stdin.write(lines)
            proc.stdin.close()
            for t in readers:
                t.join(timeout=60)
            check(proc.wait(timeout=60) == 0, "ipcx push --bind did not finish")
            check(counts == [half, half], f"round {round_}, bound: dealt {counts}")
            for p in pulls:
                p.close(linger=0)
        print("ok: ipcx push deals evenly to two libzmq PULLs, 20 rounds connecting and bound")
    finally:
        ctx.destroy(linger=0)


def pub_sub_both_ways(ipcx, tmp):
    ctx = zmq.Context()
    try:
        for n, where in enumerate(("tcp://127.0.0.1:0", f"unix://{tmp}/ps.sock")):
            # ipcx pub binds; a libzmq SUB connects, filters, and changes its mind while running.
            proc, bound = start_ipcx(ipcx, ["pub", "--bind", where, "--wait-subscribers", "1"],
                                     stdin=subprocess.PIPE)
            sub = ctx.socket(zmq.SUB)
            sub.setsockopt(zmq.LINGER, 0)
            sub.connect(bound)
            sub.setsockopt(zmq.SUBSCRIBE, b"x")
            for i in range(20):
                publish_line(proc, f"x {i}")
                publish_line(proc, f"y {i}")
            got = [recv_or_none(sub, 10000) for _ in range(20)]
            check(got == [[b"x", str(i).encode()] for i in range(20)],
                  f"libzmq SUB x from ipcx pub over {bound}: {got[:3]!r}...")
            check(recv_or_none(sub, 200) is None, f"libzmq SUB got y before subscribing ({bound})")
            sub.setsockopt(zmq.UNSUBSCRIBE, b"x")
            sub.setsockopt(zmq.SUBSCRIBE, b"y")
            first = None
            for i in range(2000):  # the change reaches the publisher asynchronously
                publish_line(proc, f"x late{i}")
                publish_line(proc, f"y late{i}")
                first = recv_or_none(sub, 5)
                if first is not None and first[0] == b"y":
                    break
            check(first is not None and first[0] == b"y", f"resubscription over {bound}")
            while recv_or_none(sub, 100) is not None:
                pass  # copies already on their way
            for i in range(10):
                publish_line(proc, f"x after{i}")
                publish_line(proc, f"y after{i}")
            got = [recv_or_none(sub, 10000) for _ in range(10)]
            check(got == [[b"y", f"after{i}".encode()] for i in range(10)],
                  f"after unsubscribing x over {bound}: {got[:3]!r}")
            check(recv_or_none(sub, 200) is None, f"x after unsubscribing over {bound}")
            proc.stdin.close()
            check(proc.wait(timeout=30) == 0, "ipcx pub did not finish")
            sub.close()
            print(f"ok: ipcx pub -> libzmq SUB, subscribe and unsubscribe, over {bound}")

            # A libzmq PUB binds; ipcx sub connects with a topic and prints what matches.
            pub = ctx.socket(zmq.PUB)
            pub.setsockopt(zmq.LINGER, 0)
            url = "tcp://127.0.0.1:*" if n == 0 else f"ipc://{tmp}/zp.sock"
            pub.bind(url)
            bound = pub.getsockopt(zmq.LAST_ENDPOINT).decode()
            proc, _ = start_ipcx(ipcx, ["sub", ipcx_url(bound), "--topic", "a", "--count", "5",
                                        "--timeout", "20000"])
            out, _ = communicate_while_publishing(
                proc, pub, lambda i: [[b"b", b"skip"], [b"apple", str(i).encode()]])
            lines = out.splitlines()
            check(proc.returncode == 0 and len(lines) == 5, f"ipcx sub from {bound}: {out!r}")
            numbers = [int(line.split(" ")[1]) for line in lines]
            check(all(line.startswith("apple ") for line in lines), f"filtering: {lines!r}")
            check(numbers == sorted(numbers) and len(set(numbers)) == 5, f"order: {numbers}")
            pub.close()
            print(f"ok: libzmq PUB -> ipcx sub over {bound}")
    finally:
        ctx.destroy(linger=0)


def single_frame_pub_and_frame_separators(ipcx, tmp):
    """`ipcx pub --frames 1` feeds a libzmq SUB that expects the zguide weather server's
    single-frame "ZIP TEMP HUM" messages and filters on the text's prefix; `ipcx sub --bind`
    reports its endpoint on stderr and prints a libzmq PUB's two frames with the separator asked
    for on an otherwise clean stdout."""
    ctx = zmq.Context()
    try:
        proc, bound = start_ipcx(ipcx, ["pub", "--bind", "tcp://127.0.0.1:0", "--frames", "1",
                                        "--wait-subscribers", "1"], stdin=subprocess.PIPE)
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.connect(bound)
        sub.setsockopt(zmq.SUBSCRIBE, b"10001 ")
        for i in range(20):
            publish_line(proc, f"10002 {i} 60")
            publish_line(proc, f"10001 {i} 40")
            publish_line(proc, f"100011 {i} 50")
        for i in range(20):
            got = recv_or_none(sub, 10000)
            check(got is not None and len(got) == 1, f"single-frame message {i}: {got!r}")
            zipcode, temperature, humidity = got[0].split()  # as the weather client does
            check((zipcode, int(temperature), humidity) == (b"10001", i, b"40"), f"got {got!r}")
        check(recv_or_none(sub, 200) is None, "libzmq SUB got a message it did not subscribe to")
        proc.stdin.close()
        check(proc.wait(timeout=30) == 0, "ipcx pub did not finish")
        sub.close()
        print(f"ok: ipcx pub --frames 1 -> libzmq SUB filtering on a prefix over {bound}")

        proc, bound = start_ipcx(ipcx, ["sub", "--bind", f"unix://{tmp}/sub.sock", "--count",
                                        "3", "--frames-separator", "|", "--timeout", "20000"])
        pub = ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 0)
        pub.connect(bound)
        out, err = communicate_while_publishing(proc, pub,
                                                lambda i: [[b"apple", str(i).encode()]])
        lines = out.splitlines()
        check(proc.returncode == 0 and len(lines) == 3, f"ipcx sub --bind: {out!r} {err!r}")
        check(all(line.startswith("apple|") for line in lines), f"separator: {lines!r}")
        pub.close()
        print(f"ok: libzmq PUB -> ipcx sub --bind --frames-separator over {bound}")
    finally:
        ctx.destroy(linger=0)
