"""python -m ipcx: the ipcx command line's call, serve, sub and pub, in Python.

    python -m ipcx serve --bind shm://demo --bind tcp://127.0.0.1:5555 [--handler echo|kv]
    python -m ipcx call shm://demo put colour blue
    python -m ipcx sub tcp://127.0.0.1:5556 --topic news --count 10
    python -m ipcx pub tcp://127.0.0.1:5556 news hello
"""

import argparse
import sys

import ipcx


def _bytes(text):
    return text.encode()


def call(args):
    with ipcx.Client(args.url) as client:
        try:
            reply = client.call(*map(_bytes, args.frames or ["hello"]), timeout=args.timeout)
        except ipcx.Error as error:
            print(f"{args.url}: {error.code}", file=sys.stderr)
            return 1
    for frame in reply:
        sys.stdout.buffer.write(frame + b"\n")
    return 0


def _kv_handler():
    store = {}

    def kv(request):
        frames = request.frames
        if len(frames) == 3 and frames[0] == b"put":
            store[frames[1]] = frames[2]
            return b"OK"
        if len(frames) == 2 and frames[0] == b"get":
            return store.get(frames[1], b"")
        return b"ERR usage: put KEY VALUE | get KEY"

    return kv


def serve(args):
    server = ipcx.Server()
    server.handler(_kv_handler() if args.handler == "kv" else (lambda request: request.frames))
    if not args.bind and not args.connect:
        print("serve: give at least one --bind or --connect", file=sys.stderr)
        return 2
    for url in args.bind:
        bound = server.bind(url)
        if not args.quiet:
            # stdout is the stream of a stdio:// server: say it on stderr then.
            out = sys.stderr if bound.startswith("stdio://") else sys.stdout
            print(f"bound {bound}", file=out, flush=True)
    for url in args.connect:
        server.connect(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def sub(args):
    with ipcx.Subscriber() as subscriber:
        for topic in args.topic or [""]:
            subscriber.subscribe(topic)
        for url in args.bind:  # on stderr, as the CLI does: stdout carries only messages
            print(f"bound {subscriber.bind(url)}", file=sys.stderr, flush=True)
        for url in args.urls:
            subscriber.connect(url)
        received = 0
        try:
            while args.count is None or received < args.count:
                try:
                    frames = subscriber.receive(timeout=args.timeout)
                except ipcx.Timeout:
                    return 1
                sys.stdout.buffer.write(b" ".join(frames) + b"\n")
                sys.stdout.flush()
                received += 1
        except KeyboardInterrupt:
            pass
    return 0


def pub(args):
    with ipcx.Publisher() as publisher:
        publisher.connect(args.url)
        import time

        deadline = time.monotonic() + args.wait
        while publisher.subscribers == 0 and time.monotonic() < deadline:
            publisher.poll()
            time.sleep(0.01)
        publisher.publish(*map(_bytes, args.frames))
        publisher.flush(timeout=args.wait)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ipcx", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("call", help="send one request and print the reply")
    p.add_argument("url")
    p.add_argument("frames", nargs="*")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds")
    p.set_defaults(run=call)

    p = commands.add_parser("serve", help="serve requests on one or more endpoints")
    p.add_argument("-b", "--bind", action="append", default=[])
    p.add_argument("-c", "--connect", action="append", default=[])
    p.add_argument("--handler", choices=["echo", "kv"], default="echo")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=serve)

    p = commands.add_parser("sub", help="print each message published, frames space-separated")
    p.add_argument("urls", nargs="*")
    p.add_argument("--bind", action="append", default=[])
    p.add_argument("--topic", action="append", default=[])
    p.add_argument("--count", type=int)
    p.add_argument("--timeout", type=float, help="seconds to wait per message")
    p.set_defaults(run=sub)

    p = commands.add_parser("pub", help="publish one message to subscribers bound at url")
    p.add_argument("url")
    p.add_argument("frames", nargs="+")
    p.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a subscriber")
    p.set_defaults(run=pub)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
