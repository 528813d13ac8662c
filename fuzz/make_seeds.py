#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/). Re-run after changing a
wire format; libFuzzer runs add their own finds, and crashers found are kept here too."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def greeting():
    g = bytearray(64)
    g[0], g[9], g[10], g[11] = 0xFF, 0x7F, 3, 1
    g[12:16] = b"NULL"
    return bytes(g)


def command(name, data=b""):
    body = bytes([len(name)]) + name + data
    return (bytes([0x04, len(body)]) if len(body) <= 255
            else bytes([0x06]) + struct.pack(">Q", len(body))) + body


def ready(kind):
    prop = bytes([11]) + b"Socket-Type" + struct.pack(">I", len(kind)) + kind
    return command(b"READY", prop)


def frame(body, more=False):
    flags = 1 if more else 0
    if len(body) <= 255:
        return bytes([flags, len(body)]) + body
    return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body


def compact(payload_frames, chunk=None, request_id=0):
    payload = struct.pack("<I", len(payload_frames))
    for f in payload_frames:
        payload += struct.pack("<I", len(f)) + f
    chunk = chunk or len(payload)
    out = []
    for at in range(0, len(payload), chunk):
        part = payload[at:at + chunk]
        flags = (1 if at == 0 else 0) | (2 if at + len(part) == len(payload) else 0)
        out.append(struct.pack("<HBBIQQ", 0x5849, 1, flags, len(part), len(payload), request_id)
                   + part)
    return out


# ZMTP: first byte is the feeding step.
handshake = greeting() + ready(b"DEALER")
write("zmtp_session", "request", bytes([7]) + handshake + frame(b"\x01abcd", True)
      + frame(b"", True) + frame(b"hello"))
write("zmtp_session", "ping", bytes([1]) + handshake + command(b"PING", b"\x00\x10ctx"))
write("zmtp_session", "long", bytes([63]) + handshake + frame(b"x" * 300))
write("zmtp_session", "req", bytes([3]) + greeting() + ready(b"REQ") + frame(b"", True)
      + frame(b"q"))
write("zmtp_session", "bad_type", bytes([5]) + greeting() + ready(b"PUB"))

# Compact: each fragment prefixed with (fragment length - 24) as one byte.
# A SUB's subscriptions as a publisher sees them: 3.1 commands and the 3.0 message form.
sub_handshake = greeting() + ready(b"SUB")
write("subscriptions", "commands", bytes([5]) + sub_handshake + command(b"SUBSCRIBE", b"price.")
      + command(b"SUBSCRIBE", b"") + command(b"CANCEL", b"price.") + command(b"SUBSCRIBE", b"x"))
write("subscriptions", "legacy", bytes([2]) + sub_handshake + frame(b"\x01news") + frame(b"\x00news")
      + frame(b"\x01") + frame(b"not a subscription"))
write("subscriptions", "many", bytes([63]) + sub_handshake
      + b"".join(command(b"SUBSCRIBE", b"t%d" % i) for i in range(50)))


# The broadcast ring: 6 control words (tail, claimed, 4 checkpoints; even words are taken mod
# 4 rings after a shift), then the data: two records and a wrap marker.
def bcast_record(seq, body):
    size = (16 + len(body) + 7) & ~7
    return (struct.pack("<IIQ", len(body), 0, seq) + body).ljust(size, b"\0")


ring = bcast_record(0, b"first") + bcast_record(1, b"second" * 10)
write("shm_broadcast", "two", struct.pack("<6Q", len(ring) << 1, len(ring) << 1, 0, 0, 0, 0) + ring)
write("shm_broadcast", "wrap", struct.pack("<6Q", 128 << 1, 128 << 1, 0, 0, 0, 0)
      + struct.pack("<I", 0xFFFFFFFF) + bytes(60))


def prefixed(fragments):
    return b"".join(bytes([min(len(f) - 24, 255)]) + f for f in fragments)

write("compact", "one", prefixed(compact([b"\x01abcd", b"", b"body"])))
write("compact", "fragmented", prefixed(compact([b"x" * 100, b"y"], chunk=40)))
write("compact", "two_messages", prefixed(compact([b"a"]) + compact([b"b", b"c"])))

# udp datagrams: a challenge, a request with its cookie trailer, and one without.
write("datagram_cookie", "challenge", b"IXCK" + struct.pack("<Q", 7) + bytes(range(16)))
write("datagram_cookie", "trailed", compact([b"", b"get"], request_id=7)[0] + b"IXCK"
      + bytes(range(16)))
write("datagram_cookie", "plain", compact([b"", b"get"], request_id=7)[0])

# CURVE: a server session fed a CURVE greeting and a short HELLO; a client the same with a
# WELCOME; message deliveries in order, replayed, reordered, and one altered.
def curve_greeting(as_server):
    g = bytearray(greeting())
    g[12:16] = b"\0\0\0\0"
    g[12:17] = b"CURVE"
    g[32] = as_server
    return bytes(g)

write("curve", "server", bytes([0, 7]) + curve_greeting(0) + command(b"HELLO", b"\x01\x00" + b"\0" * 192))
write("curve", "client", bytes([1, 7]) + curve_greeting(1) + command(b"WELCOME", b"\0" * 160))
write("curve", "in_order", bytes([2]) + bytes(range(8)))
write("curve", "replayed", bytes([2, 0, 1, 1, 2]))
write("curve", "reordered", bytes([2, 3, 1, 4]))
write("curve", "altered", bytes([2, 0, 0x81, 20, 2]))

# Ring: tail (u64), 8 unused bytes, then the data region.
def records(fragments):
    data = b""
    for f in fragments:
        rec = struct.pack("<I", len(f)) + f
        rec += b"\x00" * (-len(rec) % 8)
        data += rec
    return data

for name, frags in (("one", compact([b"\x01abcd", b"", b"ping"])),
                    ("fragments", compact([b"z" * 200], chunk=64))):
    data = records(frags)
    write("shm_ring", name, struct.pack("<Q", len(data)) + b"\x00" * 8 + data)
wrap = struct.pack("<I", 0xFFFFFFFF) + b"\x00" * 4
write("shm_ring", "wrap_marker", struct.pack("<Q", 8) + b"\x00" * 8 + wrap)

# shm hellos: a client's, a server's with a ring size, a refusal.
write("shm_hello", "client", struct.pack("<IHHQ", 0x49584853, 1, 0, 0))
write("shm_hello", "server", struct.pack("<IHHQ", 0x49584853, 1, 0, 1 << 20))
write("shm_hello", "refused", struct.pack("<IHHQ", 0x49584853, 2, 1, 0))
write("shm_hello", "offer", struct.pack("<IHHQQ", 0x42584853, 3, 0, 1 << 20, 64))

for i, url in enumerate(["tcp://127.0.0.1:5555", "tcp://*:0", "tcp://[::1]:80", "udp://h:1",
                         "unix:///tmp/x.sock", "ipc://@abstract", "shm://name",
                         "shm:///run/x.sock", "pipe:///tmp/f", "mq://q", "stdio://",
                         "tcp://host:*", "bogus://x", "tcp://::1:80"]):
    write("endpoint", "url%02d" % i, url.encode())


# kv: requests as [u8 frames] then [u8 length][bytes] per frame (the target maps a first frame
# whose first byte is below 200 to a verb: 0 put, 1 get, 2 del, 3 keys).
def kv_request(*frames):
    out = bytes([len(frames)])
    for f in frames:
        out += bytes([len(f)]) + f
    return out


write("kv", "put-get-del", kv_request(b"\x00", b"k", b"v") + kv_request(b"\x01", b"k")
      + kv_request(b"\x03", b"") + kv_request(b"\x02", b"k") + kv_request(b"\x01", b"k"))
write("kv", "unknown", kv_request(b"\xffzz", b"a") + kv_request())


# pipe:// and mq:// rendezvous records (the first byte is the target's piece size).
def rendezvous(pid, serial, socket_type=5):
    magic = 0x48465849
    check = magic ^ pid ^ serial ^ 0x9E3779B9 ^ (socket_type << 24)
    return struct.pack("<IBBHIII", magic, 1, socket_type, 20, pid, serial, check)


write("rendezvous", "one", b"\x13" + rendezvous(1234, 1))
write("rendezvous", "garbage-then-two", b"\x04" + b"IXFH\x01junk" + rendezvous(77, 2)
      + rendezvous(78, 3))
write("rendezvous", "short-tail", b"\x00" + rendezvous(5, 6) + rendezvous(5, 7)[:11])
