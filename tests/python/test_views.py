"""Zero-copy views: on shm:// the memoryviews are the ring's own bytes, released with the view."""

import ctypes
import os

import pytest

import ipcx


class PyBuffer(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.py_object), ("len", ctypes.c_ssize_t),
                ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int),
                ("ndim", ctypes.c_int), ("format", ctypes.c_char_p),
                ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
                ("suboffsets", ctypes.c_void_p), ("internal", ctypes.c_void_p)]


def address_of(view):
    buffer = PyBuffer()
    get = ctypes.pythonapi.PyObject_GetBuffer
    get.argtypes = [ctypes.py_object, ctypes.POINTER(PyBuffer), ctypes.c_int]
    assert get(view, ctypes.byref(buffer), 0) == 0
    address = buffer.buf
    release = ctypes.pythonapi.PyBuffer_Release
    release.argtypes = [ctypes.POINTER(PyBuffer)]
    release(ctypes.byref(buffer))
    return address


def mapping_of(address):
    with open("/proc/self/maps") as maps:
        for line in maps:
            span, rest = line.split(" ", 1)
            low, high = (int(x, 16) for x in span.split("-"))
            if low <= address < high:
                return rest
    return ""


@pytest.fixture
def echo_server():
    with ipcx.Server() as server:
        url = server.bind(f"shm://ipcx-py-{os.getpid()}-views")
        server.handler(lambda request: request.frames)
        server.start()
        yield url


def test_a_view_reads_the_shm_ring_and_is_released_on_leaving_the_with(echo_server):
    with ipcx.Client(echo_server) as client:
        body = os.urandom(3000)
        # A reply that lands while the client switches from looking to reading is copied: rare,
        # so one of a few is in place.
        in_place = False
        for _ in range(100):
            with client.call_view(b"head", body, timeout=20) as view:
                frames = view.frames
                assert [bytes(f) for f in frames] == [b"head", body]
                assert frames[1].readonly
                if not view.zero_copy:
                    continue
                # The bytes lie in the connection's shared memory, not in a copy of ours.
                assert "memfd:ipcx-shm" in mapping_of(address_of(frames[1]))
                in_place = True
                break
        assert in_place
        with pytest.raises(ValueError):
            bytes(frames[1])  # released with the view
        # The space went back to the ring: calls go on, views and copies alike.
        for i in range(200):
            with client.call_view(str(i), timeout=20) as view:
                assert bytes(view.frames[0]) == str(i).encode()
        assert client.call(b"copy", timeout=20) == [b"copy"]


def test_a_view_elsewhere_is_a_copy(tmp_path):
    with ipcx.Server() as server:
        url = server.bind(f"unix://{tmp_path}/v.sock")
        server.handler(lambda request: request.frames)
        server.start()
        with ipcx.Client(url) as client, client.call_view(b"abc", timeout=20) as view:
            assert not view.zero_copy
            assert bytes(view.frames[0]) == b"abc"


def test_a_puller_lends_views_too(tmp_path):
    import threading

    url = f"shm://ipcx-py-{os.getpid()}-pullview"
    with ipcx.Puller() as puller, ipcx.Pusher() as pusher:
        puller.bind(url)
        pusher.connect(url)
        sender = threading.Thread(target=lambda: [pusher.send(b"m%d" % i, timeout=20)
                                                  for i in range(50)])
        sender.start()
        in_place = 0
        for i in range(50):
            with puller.receive_view(timeout=20) as view:
                assert bytes(view.frames[0]) == b"m%d" % i
                in_place += view.zero_copy
        sender.join()
        assert in_place > 25  # most: see above
