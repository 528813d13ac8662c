"""ipcx: one API for every Linux IPC mechanism.

A Server binds shm://, unix://, tcp://, udp://, pipe://, mq:// (and stdio:// for a child) at
once and answers every client with one handler; a Client picks the mechanism by URL. Over
tcp:// and unix:// the wire format is ZeroMQ's ZMTP 3.1, so pyzmq peers talk to it too.

    server = ipcx.Server()
    server.bind("shm://demo")

    @server.handler
    def echo(request):
        return request.frames          # or request.reply(*frames)

    server.start()
    with ipcx.Client("shm://demo") as client:
        print(client.call(b"hello", timeout=1.0))   # [b'hello']

Blocking calls release the GIL and can be interrupted with Ctrl-C; asyncio code awaits
client.call_async(...) and iterates subscribers with ``async for``. Errors are subclasses of
ipcx.Error named after ipcx::Errc (ipcx.Timeout, ipcx.PeerClosed, ...). docs/PYTHON.md has the
guide.
"""

from ._ipcx import (  # noqa: F401
    AddressInUse,
    AuthFailed,
    BadEndpoint,
    Cancelled,
    Client,
    Error,
    IoError,
    MessageTooLarge,
    NotSupported,
    PeerClosed,
    PermissionDenied,
    ProtocolViolation,
    Proxy,
    Publisher,
    Puller,
    Pusher,
    Refused,
    Request,
    ResourceExhausted,
    Responder,
    Server,
    Subscriber,
    Timeout,
    View,
    WouldBlock,
    __version__,
    curve_key_pair,
    spawn,
)
from . import _aio

Client.call_async = _aio.call_async
Puller.receive_async = _aio.receive_async
Subscriber.receive_async = _aio.receive_async
Puller.__aiter__ = _aio.messages
Subscriber.__aiter__ = _aio.messages

__all__ = [
    "AddressInUse", "AuthFailed", "BadEndpoint", "Cancelled", "Client", "Error", "IoError",
    "MessageTooLarge", "NotSupported", "PeerClosed", "PermissionDenied", "ProtocolViolation",
    "Proxy", "Publisher", "Puller", "Pusher", "Refused", "Request", "ResourceExhausted",
    "Responder", "Server", "Subscriber", "Timeout", "View", "WouldBlock", "curve_key_pair",
    "spawn",
]
