"""Publish/subscribe and push/pull with Python on both sides, in separate processes."""

import os
import textwrap

import ipcx
from conftest import python_argv


def test_pub_sub_across_processes(tmp_path, children):
    url = f"shm://ipcx-py-{os.getpid()}-pubsub"
    with ipcx.Publisher() as publisher:
        publisher.bind(url)
        sub = children(python_argv("-m", "ipcx", "sub", url, "--topic", "news", "--count", "3"))
        sent = 0
        while sub.process.poll() is None and sent < 100000:
            publisher.publish(b"news", b"%d" % sent)
            publisher.publish(b"sport", b"never")
            sent += 1
            if publisher.subscribers == 0:
                publisher.poll()
            import time
            time.sleep(0.001)
        lines = [sub.line() for _ in range(3)]
        assert all(line.startswith("news ") for line in lines)
        numbers = [int(line.split()[1]) for line in lines]
        assert numbers == sorted(numbers)


PULLER = textwrap.dedent("""
    import sys, ipcx
    with ipcx.Puller() as puller:
        puller.bind(sys.argv[1])
        print("bound", flush=True)
        total = 0
        for _ in range(1000):
            frames = puller.receive(timeout=60)
            total += int(frames[0])
        print(total, flush=True)
""")


def test_push_pull_across_processes(tmp_path, children):
    url = f"unix://{tmp_path}/pipeline.sock"
    puller = children(python_argv("-c", PULLER, url))
    assert puller.line() == "bound"
    with ipcx.Pusher() as pusher:
        pusher.connect(url)
        for i in range(1000):
            pusher.send(b"%d" % i, timeout=60)
        assert pusher.flush(timeout=60)
        assert puller.line() == str(sum(range(1000)))
        assert pusher.stats()["messages"] == 1000


def test_a_proxy_between_python_clients_and_a_python_server(tmp_path):
    with ipcx.Proxy("request_reply") as proxy, ipcx.Server() as server:
        front = proxy.bind_frontend(f"unix://{tmp_path}/front.sock")
        back = proxy.bind_backend(f"unix://{tmp_path}/back.sock")
        proxy.start()
        server.connect(back)
        server.handler(lambda request: [b"via proxy", *request.frames])
        server.start()
        with ipcx.Client(front) as client:
            assert client.call(b"x", timeout=20) == [b"via proxy", b"x"]
        assert proxy.stats()["to_backend"] == 1
