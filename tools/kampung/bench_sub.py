"""A bare MQTT subscriber for the Kandig latency baseline, run by the MicroPython unix port (one
process per subscriber, as each house is one process): blocking socket, QoS 1, no asyncio, no
virtual hardware. Prints ``ready``, then ``ROUND WALL_NS`` as each message arrives, and exits
at a message ``end`` (not when the last timed one arrives: a subscriber leaving the broker
while it still fans that message out to the others would delay them).

    micropython bench_sub.py PORT CLIENT_ID USER PASSWORD TOPIC
"""

import socket
import sys
import time


def _str(b):
    return bytes((len(b) >> 8, len(b) & 255)) + b


def _length(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("closed")
        buf += chunk
    return buf


def _packet(s):
    head = _read(s, 1)[0]
    n, shift = 0, 0
    while True:
        b = _read(s, 1)[0]
        n |= (b & 127) << shift
        shift += 7
        if not b & 128:
            break
    return head, _read(s, n)


def main():
    port, cid, user, password, topic = sys.argv[1:6]
    s = socket.socket()
    s.connect(socket.getaddrinfo("127.0.0.1", int(port))[0][-1])
    s.setsockopt(6, 1, 1)  # TCP_NODELAY (the unix port lacks the constants)
    body = (_str(b"MQTT") + b"\x04\xc2\x00\x3c" + _str(cid.encode()) + _str(user.encode())
            + _str(password.encode()))
    s.send(b"\x10" + _length(len(body)) + body)
    if _packet(s)[1] != b"\x00\x00":
        raise SystemExit("refused")
    body = b"\x00\x01" + _str(topic.encode()) + b"\x01"
    s.send(b"\x82" + _length(len(body)) + body)
    _packet(s)  # SUBACK
    print("ready")
    while True:
        head, body = _packet(s)
        if head & 0xF0 != 0x30:
            continue
        now = time.time_ns()
        tlen = (body[0] << 8) | body[1]
        rest = body[2 + tlen:]
        if head & 0x06:
            s.send(b"\x40\x02" + rest[:2])
            rest = rest[2:]
        if rest.startswith(b"end"):
            break
        print(rest.split(b" ")[0].decode(), now)


main()
