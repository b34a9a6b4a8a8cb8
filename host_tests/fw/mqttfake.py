"""A fake MQTT broker connection for kit.mqtt tests on virtual time (both runtimes).

``FakeBroker`` is both streams of one TCP connection as the client sees them (like
MicroPython's ``Stream``, reader and writer are one object, and ``.s`` is the socket). Bytes the
client writes are split into packets, recorded with the virtual time, and answered at once as
a broker would (CONNACK, SUBACK, PUBACK, PINGRESP), unless told to stay silent. The test plays
the rest of the broker with ``feed()`` and ``hang_up()``.

Known differences from a real connection: no partial writes, zero latency, and ``write`` after
``hang_up`` raises OSError(EPIPE) at once (a real socket may take a while). ``read(n)`` returns
what has been fed, up to ``n`` bytes, as a socket returns what has arrived; ``chunk`` caps each
read, so a packet arrives in pieces as it may over TCP.
"""

import asyncio
import time

from kit.mqtt import MQTTClient, decode_length


class FakeSocket:
    def __init__(self):
        self.options = []
        self.closed = False

    def setsockopt(self, level, option, value):
        self.options.append((level, option, value))

    def close(self):
        self.closed = True


class FakeBroker:
    def __init__(self, connack=0, session_present=0, ping=True, puback=True, suback=None,
                 silent=False, chunk=None):
        self.connack = connack
        self.session_present = session_present
        self.ping = ping  # answer PINGREQ
        self.puback = puback  # acknowledge QoS 1 PUBLISH
        self.suback = suback  # return codes to grant (None: the requested QoS)
        self.silent = silent  # answer nothing at all
        self.chunk = chunk  # at most this many bytes a read (None: all that has arrived)
        self.reads = 0  # read() calls that returned data
        self.s = FakeSocket()
        self.packets = []  # (ticks_ms, packet bytes) in the order the client wrote them
        self.writes = 0
        self._pending = b""
        self._inbox = b""
        self._event = asyncio.Event()
        self._eof = False
        self.broken = False  # writes fail (EPIPE) while reads still wait, as on a half-dead link

    # -- the client's side ------------------------------------------------------------------

    async def read(self, n):
        """Up to ``n`` bytes, waiting until some have arrived; b"" once hung up (as Stream)."""
        while not self._inbox:
            if self._eof or self.s.closed:
                return b""
            self._event.clear()
            await self._event.wait()
        if self.chunk is not None and n > self.chunk:
            n = self.chunk
        data = self._inbox[:n]
        self._inbox = self._inbox[n:]
        self.reads += 1
        return data

    def write(self, data):
        if self._eof or self.s.closed or self.broken:
            raise OSError(32)  # EPIPE
        self.writes += 1
        self._pending += bytes(data)
        while len(self._pending) >= 2:
            try:
                n, pos = decode_length(self._pending, 1)
            except ValueError:
                return  # length not complete yet
            if len(self._pending) < pos + n:
                return
            packet = self._pending[:pos + n]
            self._pending = self._pending[pos + n:]
            self.packets.append((time.ticks_ms(), packet))
            if not self.silent:
                self._answer(packet, pos)

    async def drain(self):
        await asyncio.sleep_ms(0)

    def get_extra_info(self, name):
        return self.s if name == "socket" else None

    # -- the broker's side ------------------------------------------------------------------

    def feed(self, data):
        self._inbox += data
        self._event.set()

    def hang_up(self):
        self._eof = True
        self._event.set()

    def kinds(self):
        return [p[0] >> 4 for _, p in self.packets]

    def _answer(self, p, pos):
        kind = p[0] >> 4
        if kind == 1:
            self.feed(bytes((0x20, 2, self.session_present, self.connack)))
            if self.connack:
                self.hang_up()
        elif kind == 8:
            codes = []
            i = pos + 2
            while i < len(p):
                tlen = p[i] << 8 | p[i + 1]
                codes.append(p[i + 2 + tlen])
                i += 3 + tlen
            if self.suback is not None:
                codes = self.suback
            self.feed(bytes((0x90, 2 + len(codes))) + p[pos:pos + 2] + bytes(codes))
        elif kind == 12 and self.ping:
            self.feed(b"\xd0\x00")
        elif kind == 3 and p[0] & 0x06 and self.puback:
            tlen = p[pos] << 8 | p[pos + 1]
            pid = p[pos + 2 + tlen:pos + 4 + tlen]
            self.feed(b"\x40\x02" + pid)


class FakeNetClient(MQTTClient):
    """MQTTClient whose connections go to the given fake brokers, one per connect()
    (an error instance in the list is raised instead, as a refused TCP connect)."""

    def __init__(self, brokers, client_id="kit1", **kwargs):
        super().__init__(client_id, "fake", 1883, **kwargs)
        self.brokers = list(brokers)

    async def _open(self):
        b = self.brokers.pop(0)
        if isinstance(b, Exception):
            raise b
        return b, b
