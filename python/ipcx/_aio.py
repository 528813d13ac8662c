"""asyncio on top of the sockets' file descriptors: no thread per socket.

A socket's fileno() becomes readable when its receive may have something, once a receive with
timeout=0 has found nothing; the event loop watches it with add_reader.
"""

import asyncio

from ._ipcx import Timeout


class _Replies:
    """The replies of one Client, handed to the call_async() futures waiting for them."""

    def __init__(self, client, loop):
        self.client = client
        self.loop = loop
        self.waiting = {}
        self.fd = client.fileno()
        self.watching = False

    def read(self):
        while self.waiting:
            try:
                rid, frames = self.client.receive(timeout=0)
            except Timeout:
                break
            except Exception as error:  # the connection failed: every call waiting fails
                for future in self.waiting.values():
                    if not future.done():
                        future.set_exception(error)
                self.waiting.clear()
                break
            future = self.waiting.pop(rid, None)
            if future is not None and not future.done():
                future.set_result(frames)
        self.watch(bool(self.waiting))

    def watch(self, on):
        if on and not self.watching:
            self.loop.add_reader(self.fd, self.read)
        elif not on and self.watching:
            self.loop.remove_reader(self.fd)
            _replies.pop(id(self.client), None)
        self.watching = on


_replies = {}


async def call_async(self, *frames, timeout=None):
    """As call(), awaited: many may be in flight on one Client at once."""
    loop = asyncio.get_running_loop()
    replies = _replies.get(id(self))
    if replies is None or replies.loop is not loop:
        replies = _replies[id(self)] = _Replies(self, loop)
    rid = self.send(*frames)
    future = loop.create_future()
    replies.waiting[rid] = future
    replies.read()  # it may be in already; else the loop watches the fd
    try:
        return await asyncio.wait_for(future, timeout)
    except asyncio.TimeoutError:
        raise Timeout("call_async: timeout") from None
    finally:
        if replies.waiting.pop(rid, None) is not None:
            replies.watch(bool(replies.waiting))


async def receive_async(self, timeout=None):
    """As receive(), awaited."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    fd = self.fileno()
    while True:
        try:
            return self.receive(timeout=0)
        except Timeout:
            pass
        ready = loop.create_future()
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
        try:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                raise Timeout("receive_async: timeout")
            await asyncio.wait_for(ready, left)
        except asyncio.TimeoutError:
            raise Timeout("receive_async: timeout") from None
        finally:
            loop.remove_reader(fd)


async def messages(self):
    """async for message in subscriber (or puller): each message's frames."""
    while True:
        yield await receive_async(self)
