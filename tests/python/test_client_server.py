"""Python against the C++ tool on every mechanism, both ways, and the server's behaviour."""

import os
import subprocess

import pytest

import ipcx
from conftest import MECHANISMS, private_url


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_python_client_calls_ipcx_serve(mechanism, cli, tmp_path, children):
    url = private_url(mechanism, tmp_path, "serve")
    server = children([cli, "serve", "--bind", url])
    bound = server.line().removeprefix("bound ")
    with ipcx.Client(bound) as client:
        assert client.call(b"one", "two", timeout=20) == [b"one", b"two"]
        assert client.call(bytearray(b"x" * 5000), timeout=20) == [b"x" * 5000]
        ids = [client.send(f"pipelined {i}") for i in range(5)]
        replies = dict(client.receive(timeout=20) for _ in ids)
        assert replies == {i: [f"pipelined {n}".encode()] for n, i in enumerate(ids)}


def test_a_python_client_calls_a_spawned_child_over_stdio(cli):
    with ipcx.spawn([cli, "serve", "--bind", "stdio://"]) as child:
        assert child.call(b"through pipes", timeout=20) == [b"through pipes"]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_python_server_answers_ipcx_call(mechanism, cli, tmp_path):
    with ipcx.Server() as server:
        url = server.bind(private_url(mechanism, tmp_path, "pyserver"))

        @server.handler
        def reverse(request):
            assert request.peer["mechanism"] == mechanism
            return request.frames[::-1]

        server.start()
        out = subprocess.run([cli, "call", "--timeout", "20000", url, "a", "b", "c"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["c", "b", "a"]
        assert server.stats()["requests"] == 1


def test_a_python_server_in_a_child_answers_over_stdio(cli):
    out = subprocess.run(
        [cli, "call", "--timeout", "20000", "--spawn",
         f"/usr/bin/python3 -m ipcx serve --bind stdio://", "hello"],
        capture_output=True, text=True, timeout=60, env=os.environ)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["hello"]


def test_a_handler_that_raises_becomes_an_error_reply_and_the_server_goes_on(tmp_path):
    with ipcx.Server() as server:
        url = server.bind(f"unix://{tmp_path}/raises.sock")

        @server.handler
        def handler(request):
            if request.frames[0] == b"fail":
                raise KeyError("no such thing")
            request.reply(b"fine")

        server.start()
        with ipcx.Client(url) as client:
            reply = client.call(b"fail", timeout=20)
            assert len(reply) == 1 and reply[0].startswith(b"ERR KeyError")
            assert b"no such thing" in reply[0]
            assert client.call(b"next", timeout=20) == [b"fine"]
        assert server.stats()["handler_errors"] == 1


def test_respond_later_answers_from_another_thread(tmp_path):
    import threading

    with ipcx.Server() as server:
        url = server.bind(f"shm://ipcx-py-{os.getpid()}-later")

        @server.handler
        def later(request):
            responder = request.respond_later()
            frames = request.frames
            threading.Timer(0.01, lambda: responder.reply(b"later", *frames)).start()

        server.start()
        with ipcx.Client(url) as client:
            assert client.call(b"x", timeout=20) == [b"later", b"x"]


def test_errors_are_exceptions_named_after_errc(tmp_path):
    with pytest.raises(ipcx.BadEndpoint) as bad:
        ipcx.Client("bogus://x")
    assert bad.value.code == "bad_endpoint" and isinstance(bad.value, ValueError)
    with ipcx.Client(f"unix://{tmp_path}/nobody.sock") as client:
        with pytest.raises((ipcx.Refused, ipcx.Timeout)) as nobody:
            client.call(b"x", timeout=0.3)
        assert isinstance(nobody.value, ipcx.Error)
    with pytest.raises(TypeError):
        ipcx.Client("tcp://127.0.0.1:1", no_such_option=1)
    assert issubclass(ipcx.Timeout, TimeoutError)


def test_arguments_are_checked_on_the_fast_paths(tmp_path):
    with ipcx.Client(f"unix://{tmp_path}/nobody.sock") as client:
        with pytest.raises(TypeError):
            client.call(b"x", deadline=1)
        with pytest.raises(TypeError):
            client.call(object(), timeout=1)
        with pytest.raises(ValueError):
            client.call(b"x", timeout=-1)
        with pytest.raises(ipcx.WouldBlock):
            client.receive(0)  # a positional timeout; nothing was sent
        with pytest.raises(TypeError):
            client.receive(1, 2)
        with pytest.raises(TypeError):
            client.receive(1, timeout=2)
    with pytest.raises(TypeError):
        ipcx.Client.__new__(ipcx.Client).call(b"x")  # __init__ never ran
    with ipcx.Puller() as puller:
        puller.bind(f"unix://{tmp_path}/pull.sock")
        with pytest.raises(ipcx.Timeout):
            puller.receive(0.01)
        with pytest.raises(ipcx.Timeout):
            puller.receive(timeout=0.01)
    with pytest.raises(TypeError):
        ipcx.Puller.receive(ipcx.Subscriber(), 0)


def test_a_subclass_of_client_calls_through_the_fast_paths(tmp_path):
    class Tagged(ipcx.Client):
        def tagged(self, body):
            return self.call(b"tag", body, timeout=10)

    with ipcx.Server() as server:
        url = server.bind(f"unix://{tmp_path}/subclass.sock")
        server.handler(lambda request: request.frames)
        server.start()
        with Tagged(url) as client:
            assert client.tagged(b"x") == [b"tag", b"x"]
            assert client.call(bytearray(b"y"), memoryview(b"z"), "é") == [b"y", b"z",
                                                                              b"\xc3\xa9"]


def test_curve_and_connection_events(tmp_path):
    public, secret = ipcx.curve_key_pair()
    events = []
    with ipcx.Server(curve_secret_key=secret, curve_allow_any=True,
                     on_event=lambda e: events.append(e["kind"])) as server:
        url = server.bind("tcp://127.0.0.1:0")
        server.handler(lambda request: request.frames)
        server.start()
        with ipcx.Client(url, curve_server_key=public) as client:
            assert client.call(b"sealed", timeout=20) == [b"sealed"]
        wrong_public, _ = ipcx.curve_key_pair()
        with ipcx.Client(url, curve_server_key=wrong_public) as stranger:
            with pytest.raises(ipcx.Error):
                stranger.call(b"x", timeout=2)
    assert "connected" in events
