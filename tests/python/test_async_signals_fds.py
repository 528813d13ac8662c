"""asyncio on fd(), Ctrl-C in a blocking call, no descriptors left behind, and the GIL released
while waiting."""

import asyncio
import os
import signal
import sys
import textwrap
import threading
import time

import pytest

import ipcx
from conftest import Child, eventually, python_argv


@pytest.mark.parametrize("mechanism", ["shm", "unix", "tcp"])
def test_asyncio_with_a_hundred_concurrent_calls(mechanism, tmp_path):
    url = {"shm": f"shm://ipcx-py-{os.getpid()}-aio", "unix": f"unix://{tmp_path}/aio.sock",
           "tcp": "tcp://127.0.0.1:0"}[mechanism]
    with ipcx.Server() as server:
        url = server.bind(url)

        @server.handler
        def slow_echo(request):
            # Answered out of order, from threads: the futures must match replies by id.
            responder = request.respond_later()
            frames = request.frames
            delay = (int(frames[0]) % 7) / 1000
            threading.Timer(delay, lambda: responder.reply(*frames)).start()

        server.start()

        async def main():
            with ipcx.Client(url) as client:
                replies = await asyncio.gather(
                    *(client.call_async(str(i), timeout=30) for i in range(100)))
                assert replies == [[str(i).encode()] for i in range(100)]
                # Another burst on the same client and loop.
                again = await asyncio.gather(
                    *(client.call_async(b"%d" % i, timeout=30) for i in range(100, 110)))
                assert again == [[b"%d" % i] for i in range(100, 110)]

        asyncio.run(main())


def test_async_for_over_a_subscriber(tmp_path):
    url = f"shm://ipcx-py-{os.getpid()}-aiosub"

    async def main():
        with ipcx.Publisher() as publisher, ipcx.Subscriber() as subscriber:
            publisher.bind(url)
            subscriber.subscribe(b"t")
            subscriber.connect(url)

            async def publish():
                while publisher.subscribers == 0:
                    publisher.poll()
                    await asyncio.sleep(0.005)
                for i in range(20):
                    publisher.publish(b"t", b"%d" % i)
                    publisher.publish(b"other", b"skipped")
                    await asyncio.sleep(0)

            task = asyncio.create_task(publish())
            got = []
            async for frames in subscriber:
                got.append(frames)
                if len(got) == 20:
                    break
            await task
            assert got == [[b"t", b"%d" % i] for i in range(20)]

    asyncio.run(asyncio.wait_for(main(), 60))


CTRL_C = textwrap.dedent("""
    import os, sys, ipcx
    held = []
    server = ipcx.Server()
    url = server.bind(f"shm://ipcx-py-{os.getpid()}-ctrlc")
    server.handler(lambda request: held.append(request.respond_later()))  # never answered
    server.start()
    client = ipcx.Client(url)
    print("calling", flush=True)
    try:
        client.call(b"wait forever")
    except KeyboardInterrupt:
        print("call interrupted", flush=True)
    subscriber = ipcx.Subscriber()
    subscriber.subscribe(b"")
    subscriber.bind(f"unix://@ipcx-py-{os.getpid()}-ctrlc-sub")
    print("receiving", flush=True)
    try:
        subscriber.receive()
    except KeyboardInterrupt:
        print("receive interrupted", flush=True)
    client.close(); subscriber.close(); server.close()
""")


def asleep(pid):
    """Whether the process's main thread sleeps in the kernel (state S)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "S"


def interrupt_once_blocked(process):
    # Once its main thread is blocked in the call, not while it is still on its way there: a
    # KeyboardInterrupt before the try would end the script instead.
    def blocked():
        for _ in range(5):  # asleep at five looks 10 ms apart
            if not asleep(process.pid):
                return False
            time.sleep(0.01)
        return True

    assert eventually(blocked)
    process.send_signal(signal.SIGINT)


def test_ctrl_c_interrupts_a_blocking_call_in_the_main_thread():
    child = Child(python_argv("-c", CTRL_C))
    try:
        assert child.line() == "calling"
        interrupt_once_blocked(child.process)
        assert child.line() == "call interrupted"
        assert child.line() == "receiving"
        interrupt_once_blocked(child.process)
        assert child.line() == "receive interrupted"
        assert child.process.wait(30) == 0
    finally:
        child.end()


def open_descriptors():
    return len(os.listdir("/proc/self/fd"))


def test_no_descriptors_leak_after_a_thousand_clients_come_and_go(tmp_path):
    with ipcx.Server() as server:
        urls = [server.bind(f"shm://ipcx-py-{os.getpid()}-fds"),
                server.bind(f"unix://{tmp_path}/fds.sock")]
        server.handler(lambda request: request.frames)
        server.start()
        with ipcx.Client(urls[0]) as warm:  # the server's own lazily made descriptors
            warm.call(b"warm", timeout=20)
        before = open_descriptors()
        for i in range(1000):
            with ipcx.Client(urls[i % 2]) as client:
                assert client.call(b"%d" % i, timeout=20) == [b"%d" % i]
        assert eventually(lambda: server.stats()["open"] == 0)
        assert open_descriptors() == before
        assert server.stats()["accepted"] == 1001


def test_a_blocking_call_lets_other_python_threads_run(tmp_path):
    with ipcx.Server() as server:
        url = server.bind(f"unix://{tmp_path}/gil.sock")
        gate = threading.Event()

        @server.handler
        def wait_for_gate(request):
            responder = request.respond_later()
            threading.Thread(target=lambda: (gate.wait(30), responder.reply(b"done"))).start()

        server.start()
        counted = []

        def count():
            while not gate.is_set():
                counted.append(1)
                if len(counted) >= 1000:
                    gate.set()

        with ipcx.Client(url) as client:
            counter = threading.Thread(target=count)
            counter.start()
            # The counter only runs, and so only opens the gate, while call() holds no GIL.
            assert client.call(b"x", timeout=30) == [b"done"]
            counter.join()
