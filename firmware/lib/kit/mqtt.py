"""MQTT 3.1.1 client on asyncio: the link from a Kandig device to the neighbourhood broker.

One client keeps one TCP connection to one broker. It never blocks the asyncio loop and never
waits without a bound: connect, subscribe and every write give up after ``timeout_ms``, and a
connection that stops answering is noticed by the keepalive (a PINGREQ goes out after
``keepalive_s / 2`` without traffic; no PINGRESP within ``keepalive_s`` = dead, so a silent
broker or a dead Wi-Fi link is found within 1.5 x ``keepalive_s``). A lost connection becomes
state (``connected``, ``reason``, ``await disconnected()``) and an ``MQTTError`` from calls
that need it; reconnecting, and how long to wait between attempts, is the caller's decision
(see below).

    import asyncio
    from kit.mqtt import MQTTClient, MQTTError

    client = MQTTClient("rt05-house12", "192.168.1.10", keepalive_s=30,
                        will=("kandig/rt05/house12/status", b"offline", 1, True))

    async def keep_connected():
        await client.subscribe("kandig/rt05/alert", 1)   # remembered; sent after every connect
        while True:
            try:
                await client.connect()
            except MQTTError as e:
                print("mqtt:", e)          # e.g. "... connection refused: not authorised (5)"
                await asyncio.sleep(10)
                continue
            await client.publish("kandig/rt05/house12/status", b"online", qos=1, retain=True)
            print("mqtt lost:", await client.disconnected())

    async def listen():
        async for topic, payload, retained in client:    # survives reconnects
            ...

Supported: CONNECT with clean session or not, last will (topic, payload, QoS, retain), user
name and password; CONNACK refusals as errors in words ("not authorised (5)"); PUBLISH QoS 0
and 1 (with retain) both ways, PUBACK; QoS 1 messages wait in an in-flight list (at most
``max_inflight``) until the broker acknowledges them, are sent again with DUP after
``retry_ms`` without PUBACK and after every reconnect, in their original order; SUBSCRIBE with
QoS 0/1, re-sent after every reconnect in one packet; PINGREQ keepalive; DISCONNECT.
TCP_NODELAY is set (otherwise Nagle + delayed ACK cost ~40 ms per small packet).

QoS 1 messages are sent again after a reconnect even with ``clean_session=True`` (the broker
has forgotten them, so they are new to it): delivery is at least once, and receivers drop
duplicates by an id in the payload (Kandig alerts carry one for this).

Not supported: QoS 2 (publish/subscribe with QoS 2 raise ValueError; a QoS 2 message from the
broker drops the connection), UNSUBSCRIBE, TLS, MQTT 5, in-flight messages surviving a reset
(they live in RAM). The broker name is resolved with a blocking ``getaddrinfo``: give an IP
address on a device. Real sockets need real time: on the simulator's virtual clock an idle
wait jumps straight to the next timeout, before a loopback broker could answer, so tests on
virtual time use a fake broker (host_tests/fw/mqttfake.py).

Incoming messages wait in a queue of ``queue_len``, read with ``async for`` or ``await
message()`` from a task of their own. When the queue is full the client stops reading the
socket until there is room (TCP then holds the broker back; nothing is lost, and PUBACKs for
your own publishes wait too, so do not publish QoS 1 from the task that should be emptying
the queue). A packet larger than ``max_packet`` bytes is skipped, acknowledged and counted in
``dropped``. A QoS 1 publish keeps a reference to ``payload`` until PUBACK: pass bytes, not a
buffer you reuse.

RAM: the client preallocates a 128-byte buffer for outgoing packets (a small PUBLISH goes out
in one write) and a 5-byte header buffer; the CONNECT packet is built once, in the
constructor. Incoming bytes are read up to 256 at a time and parsed from that buffer, so a
small packet costs one wait for the socket and one read, not one per field (on the unix
port each wait is a poll() system call and a trip through the scheduler). What a message keeps alive is its topic, payload and, for QoS 1 until PUBACK, a
small list. asyncio's coroutines and IO registrations leave short-lived garbage, about 0.7 KB
per QoS 0 publish on the 64-bit unix port (less on an ESP32); waiting for drain() is skipped
when the socket took everything. Measured on the unix port with this file compiled by mpy-cross:
about 17 KB to import, 3 KB per client, 2 KB more while connected (64-bit figures).
"""

import asyncio
import errno
import sys
import time

_CONNECT = 0x10
_CONNACK = 2
_PUBLISH = 3
_PUBACK = 4
_SUBSCRIBE = 0x82  # fixed header: type 8, flags 0b0010 as 3.8.1 requires
_SUBACK = 9
_PINGRESP = 13
_PINGREQ_PACKET = b"\xc0\x00"  # 3.12: type 12, remaining length 0
_DISCONNECT_PACKET = b"\xe0\x00"  # 3.14: type 14, remaining length 0
_BUF = 128  # outgoing buffer: a PUBLISH up to this size is sent in one write
_RX = 256  # the socket is read this much at a time: a whole small packet in one read
_MAX_LENGTH = 268435455  # 2.2.3: four bytes of 7 bits
# CPython's asyncio transports may queue what write() was given without copying it, so the
# reused buffer is copied there; MicroPython's Stream sends it or copies it before returning.
_COPY = sys.implementation.name != "micropython"

# 3.2.2.3: CONNACK return codes
CONNACK_CODES = (
    "connection accepted",
    "unacceptable protocol version",
    "identifier rejected",
    "server unavailable",
    "bad user name or password",
    "not authorised",
)


class MQTTError(Exception):
    """A connect, publish or subscribe that failed, in words. ``code`` is the CONNACK return
    code when the broker refused the connection (5: not authorised), otherwise None."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def connack_text(code):
    """A CONNACK return code in words with its number: ``"not authorised (5)"``."""
    name = CONNACK_CODES[code] if 0 <= code < len(CONNACK_CODES) else "unknown return code"
    return "%s (%d)" % (name, code)


def encode_length(n, buf, pos):
    """Write ``n`` as MQTT's remaining length (2.2.3: 7 bits per byte, low first, bit 7 =
    more follows) into ``buf`` at ``pos``; return the position after it."""
    if n < 0 or n > _MAX_LENGTH:
        raise ValueError("remaining length %d is outside 0..268435455 (MQTT allows 4 bytes)" % n)
    while True:
        b = n & 0x7F
        n >>= 7
        buf[pos] = b | 0x80 if n else b
        pos += 1
        if not n:
            return pos


def decode_length(data, pos=0):
    """Read a remaining length from ``data`` at ``pos``: ``(value, position after it)``.
    ValueError when a fifth byte would be needed (a malformed packet) or ``data`` ends early."""
    n = 0
    for i in range(4):
        if pos + i >= len(data):
            raise ValueError("remaining length cut short after %d bytes" % i)
        b = data[pos + i]
        n |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            return n, pos + i + 1
    raise ValueError("remaining length longer than 4 bytes: malformed packet")


def _b(s):
    return s.encode() if isinstance(s, str) else bytes(s)


def _put(buf, pos, data):
    """A length-prefixed string or binary field (1.5.3): two bytes of length, then data."""
    n = len(data)
    buf[pos] = n >> 8
    buf[pos + 1] = n & 0xFF
    buf[pos + 2:pos + 2 + n] = data
    return pos + 2 + n


def _check_topic(topic, what):
    if not topic:
        raise ValueError("%s must not be empty" % what)
    if len(topic) > 65535:
        raise ValueError("%s longer than 65535 bytes" % what)


def connect_packet(client_id, keepalive_s=60, clean_session=True, will=None, user=None,
                   password=None):
    """The CONNECT packet (3.1) as bytes. ``will`` is ``(topic, payload, qos, retain)``."""
    cid = _b(client_id)
    if not cid and not clean_session:
        raise ValueError("an empty client_id needs clean_session=True (3.1.3.1)")
    if not 0 <= keepalive_s <= 65535:
        raise ValueError("keepalive_s must be 0..65535 (0 = no keepalive), not %r" % keepalive_s)
    if password is not None and user is None:
        raise ValueError("a password needs a user name (3.1.2.9)")
    flags = 0x02 if clean_session else 0
    fields = [cid]
    if will is not None:
        if len(will) != 4:
            raise ValueError("will must be (topic, payload, qos, retain), not %r" % (will,))
        wt, wp, wq, wr = _b(will[0]), _b(will[1]), will[2], will[3]
        _check_topic(wt, "will topic")
        if wq not in (0, 1, 2):
            raise ValueError("will qos must be 0, 1 or 2, not %r" % wq)
        flags |= 0x04 | wq << 3 | (0x20 if wr else 0)
        fields.append(wt)
        fields.append(wp)
    if user is not None:
        flags |= 0x80
        fields.append(_b(user))
    if password is not None:
        flags |= 0x40
        fields.append(_b(password))
    rem = 10  # variable header: protocol name (6), level (1), flags (1), keepalive (2)
    for f in fields:
        rem += 2 + len(f)
    buf = bytearray(rem + 5)
    buf[0] = _CONNECT
    pos = encode_length(rem, buf, 1)
    pos = _put(buf, pos, b"MQTT")
    buf[pos] = 4  # protocol level 4 = MQTT 3.1.1 (3.1.2.2)
    buf[pos + 1] = flags
    buf[pos + 2] = keepalive_s >> 8
    buf[pos + 3] = keepalive_s & 0xFF
    pos += 4
    for f in fields:
        pos = _put(buf, pos, f)
    return bytes(buf[:pos])


def publish_header(buf, topic, payload_len, qos=0, retain=False, dup=False, pid=0):
    """Write a PUBLISH packet (3.3) up to its payload into ``buf``: fixed header, topic and,
    for QoS 1, the packet id. Returns its length; the payload follows it. ``buf`` needs
    ``len(topic) + 9`` bytes."""
    rem = 2 + len(topic) + (2 if qos else 0) + payload_len
    buf[0] = 0x30 | (0x08 if dup else 0) | qos << 1 | (0x01 if retain else 0)
    pos = _put(buf, encode_length(rem, buf, 1), topic)
    if qos:
        buf[pos] = pid >> 8
        buf[pos + 1] = pid & 0xFF
        pos += 2
    return pos


def publish_packet(topic, payload, qos=0, retain=False, dup=False, pid=0):
    """A whole PUBLISH packet as bytes (the client itself writes the header and payload from
    its reused buffer; this is for tests and tools)."""
    topic, payload = _b(topic), _b(payload)
    head = bytearray(len(topic) + 9)
    n = publish_header(head, topic, len(payload), qos, retain, dup, pid)
    return bytes(head[:n]) + payload


def subscribe_packet(pid, topics):
    """A SUBSCRIBE packet (3.8) for ``topics``, a list of ``(topic filter, qos)``."""
    rem = 2
    for t, _ in topics:
        rem += 3 + len(t)
    buf = bytearray(rem + 5)
    buf[0] = _SUBSCRIBE
    pos = encode_length(rem, buf, 1)
    buf[pos] = pid >> 8
    buf[pos + 1] = pid & 0xFF
    pos += 2
    for t, q in topics:
        pos = _put(buf, pos, _b(t))
        buf[pos] = q
        pos += 1
    return bytes(buf[:pos])


def put_puback(buf, pid):
    """Write a PUBACK (3.4: type 4, remaining length 2, the packet id) into ``buf``; return
    its length, 4."""
    buf[0] = _PUBACK << 4
    buf[1] = 2
    buf[2] = pid >> 8
    buf[3] = pid & 0xFF
    return 4


def _why(e):
    if isinstance(e, EOFError):
        return "connection closed by the broker"
    if isinstance(e, OSError):
        n = e.args[0] if e.args else None
        if isinstance(n, int):  # "ECONNRESET (errno 104)"; MicroPython names only common ones
            name = errno.errorcode.get(n)
            return "network error: " + ("%s (errno %d)" % (name, n) if name else "errno %d" % n)
        return "network error: %s" % (e,)
    return str(e)


def _backlog(w):
    """Bytes the stream still holds after write(). Waiting for drain() costs a wait_for task
    (over 1 KB of garbage per packet on MicroPython), so it is done only when needed."""
    b = getattr(w, "out_buf", None)  # MicroPython's Stream: what the socket did not take
    if b is not None:
        return len(b)
    t = getattr(w, "transport", None)  # CPython
    if t is not None:
        return t.get_write_buffer_size()
    return 1  # unknown stream: drain


def _close_stream(w):
    t = getattr(w, "transport", None)
    if t is not None:
        t.abort()  # CPython: close now and drop unsent bytes (a dead peer never takes them)
        return
    s = getattr(w, "s", None)  # MicroPython's Stream: its close() does nothing; this is the socket
    try:
        (w if s is None else s).close()
    except OSError:
        pass


class MQTTClient:
    """An MQTT 3.1.1 client (see the module docstring).

    client_id      unique per broker; "" only with clean_session=True (the broker picks one)
    server, port   the broker; an IP address on a device (name lookup blocks)
    user, password optional; a password needs a user
    keepalive_s    0..65535; 0 = no keepalive (a dead connection is then never noticed)
    clean_session  False: the broker keeps subscriptions and queued QoS 1 messages for us
    will           (topic, payload, qos, retain) published by the broker when we vanish
    timeout_ms     bound on connect, SUBACK, each write and waiting for in-flight room
    retry_ms       a QoS 1 message without PUBACK for this long is sent again (DUP)
    max_inflight   QoS 1 messages waiting for PUBACK at most
    queue_len      received messages waiting for the app at most
    max_packet     larger received packets are skipped (``dropped``)
    """

    def __init__(self, client_id, server, port=1883, *, user=None, password=None,
                 keepalive_s=60, clean_session=True, will=None, timeout_ms=10000,
                 retry_ms=10000, max_inflight=8, queue_len=8, max_packet=4096):
        for name, value, low in (("port", port, 1), ("timeout_ms", timeout_ms, 1),
                                 ("retry_ms", retry_ms, 1), ("max_inflight", max_inflight, 1),
                                 ("queue_len", queue_len, 1), ("max_packet", max_packet, 16)):
            if not isinstance(value, int) or value < low:
                raise ValueError("%s must be an integer >= %d, not %r" % (name, low, value))
        self.server = server
        self.port = port
        self.keepalive_s = keepalive_s
        self.timeout_ms = timeout_ms
        self.retry_ms = retry_ms
        self.max_inflight = max_inflight
        self.queue_len = queue_len
        self.max_packet = max_packet
        self._connect = connect_packet(client_id, keepalive_s, clean_session, will, user, password)
        self.connected = False
        self.reason = "not connected yet"  # why the client is not connected, in words
        self.dropped = 0  # incoming messages dropped because they are larger than max_packet
        self._closed = False
        self._connecting = False
        self._r = None
        self._w = None
        self._rx = b""  # bytes received and not parsed yet (from self._at on)
        self._at = 0
        self._reader = None
        self._timer = None
        self._buf = bytearray(_BUF)
        self._hdr = bytearray(5)
        # one packet at a time on the stream, write + drain (not an asyncio.Lock: that costs
        # about 0.5 KB of garbage per use on MicroPython; this costs nothing uncontended)
        self._busy = False
        self._idle = asyncio.Event()
        self._sub_lock = asyncio.Lock()  # one SUBSCRIBE waiting for its SUBACK at a time
        self._sub_pid = 0
        self._sub_codes = None
        self._sub_evt = asyncio.Event()
        self._pid = 0
        self._inflight = []  # [pid, topic, payload, retain, sent_ms or None (due), sent before]
        self._subs = []  # [topic filter (bytes), qos], in the order subscribed
        self._queue = []  # (topic, payload, retained)
        self._got = asyncio.Event()  # a message was queued
        self._room_evt = asyncio.Event()  # a message was taken from the queue
        self._blocked = False  # the reader waits for room in the queue
        self._acked = asyncio.Event()
        self._down = asyncio.Event()
        self._down.set()
        self._last_tx = time.ticks_ms()
        self._last_rx = self._last_tx
        self._ping_at = None

    # -- connection -----------------------------------------------------------------------

    async def _open(self):
        """The (reader, writer) streams to the broker. Tests replace this with a fake broker."""
        return await asyncio.open_connection(self.server, self.port)

    async def connect(self, timeout_ms=None):
        """Connect, wait for CONNACK, subscribe again to every remembered topic and send the
        QoS 1 messages still waiting for PUBACK. Returns the broker's session-present flag.
        Raises MQTTError (refused, no answer within ``timeout_ms``, network error)."""
        if self._closed:
            raise MQTTError("deinit() was called")
        if self._w is not None or self._connecting:
            raise MQTTError("already connected" if self.connected else "already connecting")
        ms = self.timeout_ms if timeout_ms is None else timeout_ms
        why = "connect cancelled"
        code = None
        ok = False
        self._connecting = True
        try:
            present = await asyncio.wait_for_ms(self._handshake(), ms)
            ok = True
            return present
        except asyncio.TimeoutError:  # before OSError: CPython's TimeoutError is an OSError
            why = "no answer within %d ms" % ms
        except MQTTError as e:
            why = str(e)
            code = e.code
        except (OSError, EOFError, ValueError) as e:
            why = _why(e)
        finally:
            self._connecting = False
            if not ok:
                self._lost(why, force=True)
        raise MQTTError("connect to %s:%d: %s" % (self.server, self.port, why), code)

    async def _handshake(self):
        r, w = await self._open()
        self._r = r
        self._w = w
        self._rx = b""  # nothing of an earlier connection is parsed as this one's
        self._at = 0
        s = getattr(w, "s", None) or w.get_extra_info("socket")
        try:
            s.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY (the unix port lacks the names)
        except (OSError, AttributeError):
            pass  # a port without the option only costs latency
        self._down.clear()
        await self._send(self._connect)
        # 3.2: CONNACK is 0x20, remaining length 2, session-present flag, return code
        data = await self._take(r, 4)
        if data[0] != _CONNACK << 4 or data[1] != 2:
            raise MQTTError("expected CONNACK, got packet type %d" % (data[0] >> 4))
        if data[3]:
            raise MQTTError("connection refused: " + connack_text(data[3]), data[3])
        self._last_rx = time.ticks_ms()
        self._ping_at = None
        self.reason = ""
        self._reader = asyncio.create_task(self._read_loop(r))
        if self._subs:  # first, so that messages sent again below reach our own subscriptions
            topics = list(self._subs)
            codes = await self._subscribe(topics)
            for i in range(len(topics)):
                if codes[i] == 0x80:
                    raise MQTTError("subscription to %s refused by the broker"
                                    % topics[i][0].decode())
        for m in self._inflight:  # 4.4: resend unacknowledged PUBLISH, in order, with DUP
            m[4] = None
        self.connected = True  # from here publish() sends, and _flush_due() runs
        await self._flush_due()
        self._timer = asyncio.create_task(self._time_loop())
        return bool(data[2] & 1)

    def _lost(self, reason, force=False):
        """The connection is gone (or never came): close it, stop its tasks, say why."""
        w = self._w
        if w is None and not self.connected and not force:
            return
        self._w = self._r = None
        self._rx = b""
        self._at = 0
        self.connected = False
        self.reason = reason
        self._ping_at = None
        self._blocked = False
        try:
            me = asyncio.current_task()
        except RuntimeError:  # deinit() outside the event loop
            me = None
        for t in (self._reader, self._timer):
            if t is not None and t is not me:
                t.cancel()
        self._reader = self._timer = None
        if w is not None:
            _close_stream(w)
        self._down.set()
        self._sub_evt.set()  # a subscribe waiting for SUBACK gives up now
        self._acked.set()  # so does a publish waiting for room in the in-flight list

    async def disconnected(self):
        """Wait until the connection is lost or closed; return why, in words."""
        await self._down.wait()
        return self.reason

    async def disconnect(self):
        """Send DISCONNECT (the broker then discards the will) and close. Subscriptions and
        unacknowledged QoS 1 messages are kept for the next connect()."""
        if self._w is not None:
            for t in (self._reader, self._timer):
                if t is not None:
                    t.cancel()  # the broker closes after DISCONNECT: that is no loss to report
            self._reader = self._timer = None
            try:
                await self._send(_DISCONNECT_PACKET)
            except MQTTError:
                pass
        self._lost("disconnected by the client")

    def deinit(self):
        """Close the connection without DISCONNECT (the broker publishes the will), cancel the
        client's tasks and end the message iterator."""
        self._closed = True
        self._lost("deinit() called")
        self._got.set()

    # -- sending --------------------------------------------------------------------------

    async def _send(self, packet=b"", topic=None, payload=b"", retain=False, ack=0,
                    due=False):
        """Write one packet, one at a time on the stream: ``packet`` (bytes); or a QoS 0
        PUBLISH of ``payload`` to ``topic``; or a PUBACK for packet id ``ack``; or, with
        ``due``, the first in-flight message that is due (chosen once the stream is ours, so
        they always go out in order; False when none is due). MQTTError when not connected
        or the write fails."""
        while self._busy:
            self._idle.clear()
            await self._idle.wait()
        w = self._w
        if w is None:
            raise MQTTError("not connected: " + self.reason)
        self._busy = True
        try:
            if due:
                for m in self._inflight:
                    if m[4] is None:
                        break
                else:
                    return False
                m[4] = time.ticks_ms()  # marked first: a concurrent sender never sends it twice
                dup = m[5]
                m[5] = True
                head, more = self._publish(m[1], m[2], 1, m[3], dup, m[0])
            elif topic is not None:
                head, more = self._publish(topic, payload, 0, retain, False, 0)
            elif ack:
                head, more = memoryview(self._buf)[:put_puback(self._buf, ack)], None
            else:
                head, more = packet, None
            try:
                w.write(bytes(head) if _COPY and isinstance(head, memoryview) else head)
                if more:
                    w.write(more)
                if _backlog(w):
                    await asyncio.wait_for_ms(w.drain(), self.timeout_ms)
                elif not ack:  # (a PUBACK is sent by the reader, which yields at its next read)
                    await asyncio.sleep_ms(0)  # all in the socket already: only let others run
                self._last_tx = time.ticks_ms()
                return True
            except asyncio.TimeoutError:  # before OSError: CPython's TimeoutError is one
                why = "sending took longer than %d ms" % self.timeout_ms
            except (OSError, EOFError) as e:
                why = _why(e)
            if w is self._w:
                self._lost(why)
            raise MQTTError(why)
        finally:
            self._busy = False
            self._idle.set()

    def _publish(self, topic, payload, qos, retain, dup, pid):
        """A PUBLISH in the reused buffer: (whole packet, None) when it fits, else (header,
        payload) for two writes."""
        buf = self._buf
        if len(topic) + 9 > _BUF:
            buf = bytearray(len(topic) + 9)  # a long topic: its header does not fit the buffer
        n = publish_header(buf, topic, len(payload), qos, retain, dup, pid)
        end = n + len(payload)
        if end <= len(buf):
            buf[n:end] = payload
            return memoryview(buf)[:end], None
        return memoryview(buf)[:n], payload

    def _next_pid(self):
        while True:
            self._pid = self._pid % 65535 + 1  # 2.3.1: packet ids are 1..65535
            pid = self._pid
            if pid == self._sub_pid:
                continue
            for m in self._inflight:
                if m[0] == pid:
                    break
            else:
                return pid

    async def publish(self, topic, payload, qos=0, retain=False):
        """Publish ``payload`` (bytes or str) to ``topic``.

        QoS 0: sent now or MQTTError (not connected, or the connection broke).
        QoS 1: kept in the in-flight list until PUBACK and sent now if connected, again with
        DUP after ``retry_ms`` and after each connect(); never lost while the client lives.
        Returns the packet id (0 for QoS 0). When ``max_inflight`` messages already wait for
        PUBACK, waits (at most ``timeout_ms``) for one to be acknowledged, then MQTTError;
        not connected, MQTTError at once."""
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1 (QoS 2 is not supported), not %r" % (qos,))
        t = _b(topic)
        _check_topic(t, "topic")
        if b"+" in t or b"#" in t:
            raise ValueError("a topic name cannot hold the wildcards + or # (3.3.2.1): %r" % topic)
        payload = _b(payload) if isinstance(payload, str) else payload
        if self._closed:
            raise MQTTError("deinit() was called")
        if qos == 0:
            if not self.connected:
                raise MQTTError("not connected: " + self.reason)
            await self._send(topic=t, payload=payload, retain=retain)
            return 0
        if len(self._inflight) >= self.max_inflight:
            await self._room()
        pid = self._next_pid()
        self._inflight.append([pid, t, payload, retain, None, False])
        try:
            await self._flush_due()
        except MQTTError:
            pass  # the connection broke: the message is kept and goes out after connect()
        return pid

    async def _room(self):
        # connected: a PUBACK frees a slot soon; wait for it, at most timeout_ms
        if self.connected:
            try:
                while len(self._inflight) >= self.max_inflight and self.connected:
                    self._acked.clear()
                    await asyncio.wait_for_ms(self._acked.wait(), self.timeout_ms)
            except asyncio.TimeoutError:
                pass
        if len(self._inflight) >= self.max_inflight:
            raise MQTTError("%d QoS 1 messages already wait for PUBACK (max_inflight)%s"
                            % (len(self._inflight), "" if self.connected else ": " + self.reason))

    async def _flush_due(self):
        """Send the due in-flight messages, in order."""
        while self.connected and await self._send(due=True):
            pass

    @property
    def inflight(self):
        """How many QoS 1 messages wait for PUBACK."""
        return len(self._inflight)

    def pending(self, pid):
        """True while the QoS 1 message ``pid`` (from publish) waits for its PUBACK."""
        for m in self._inflight:
            if m[0] == pid:
                return True
        return False

    async def wait_acked(self, timeout_ms=None):
        """Wait until every QoS 1 message is acknowledged: True, or False after
        ``timeout_ms`` (default: wait as long as it takes, across reconnects) or deinit()."""
        start = time.ticks_ms()
        while self._inflight:
            if self._closed:
                return False
            self._acked.clear()
            if timeout_ms is None:
                await self._acked.wait()
                continue
            left = timeout_ms - time.ticks_diff(time.ticks_ms(), start)
            if left <= 0:
                return False
            try:
                await asyncio.wait_for_ms(self._acked.wait(), left)
            except asyncio.TimeoutError:
                return False
        return True

    # -- subscribing ----------------------------------------------------------------------

    async def subscribe(self, topic, qos=0):
        """Subscribe to a topic filter with QoS 0 or 1. Remembered and sent again after every
        connect. Connected: waits for SUBACK and returns the granted QoS; MQTTError when the
        broker refuses it or does not answer. Not connected: returns None (sent by connect)."""
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1 (QoS 2 is not supported), not %r" % (qos,))
        t = _b(topic)
        _check_topic(t, "topic filter")
        if self._closed:
            raise MQTTError("deinit() was called")
        for sub in self._subs:
            if sub[0] == t:
                sub[1] = qos
                break
        else:
            sub = [t, qos]
            self._subs.append(sub)
        if self._w is None:
            return None
        code = (await self._subscribe([sub]))[0]
        if code == 0x80:
            if sub in self._subs:
                self._subs.remove(sub)
            raise MQTTError("subscription to %s refused by the broker" % t.decode())
        return code

    async def _subscribe(self, topics):
        async with self._sub_lock:
            pid = self._next_pid()
            self._sub_pid = pid
            self._sub_codes = None
            self._sub_evt.clear()
            await self._send(subscribe_packet(pid, topics))
            try:
                await asyncio.wait_for_ms(self._sub_evt.wait(), self.timeout_ms)
            except asyncio.TimeoutError:
                self._lost("no SUBACK within %d ms" % self.timeout_ms)
            self._sub_pid = 0
            codes = self._sub_codes
            if codes is None:
                raise MQTTError("subscribe failed: " + self.reason)
            if len(codes) != len(topics):
                self._lost("SUBACK has %d codes for %d topics" % (len(codes), len(topics)))
                raise MQTTError(self.reason)
            return codes

    # -- receiving ------------------------------------------------------------------------

    def __aiter__(self):
        return self

    async def __anext__(self):
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            self._got.clear()
            await self._got.wait()
        self._room_evt.set()
        return self._queue.pop(0)

    async def message(self):
        """The next message, ``(topic str, payload bytes, retained bool)``; waits for one.
        Raises MQTTError after deinit()."""
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise MQTTError("deinit() was called") from None

    async def _read_loop(self, r):
        try:
            while True:
                await self._read_packet(r)
        except (OSError, EOFError, ValueError, MQTTError) as e:
            self._lost(_why(e))

    def _cut(self, n):
        """The next ``n`` bytes when they have been received already, else None (without the
        cost of a coroutine: ``self._cut(n) or await self._take(r, n)``)."""
        at = self._at
        if len(self._rx) - at < n:
            return None
        self._at = at + n
        return self._rx[at:at + n]

    async def _take(self, r, n):
        """The next ``n`` bytes from the connection. The socket is read for whatever it holds
        (at least ``_RX`` bytes asked for), so a small packet costs one read and one wait for
        the socket, not one per field: an alert reaches the app in one wake-up."""
        rx = self._rx
        at = self._at
        if len(rx) - at < n:
            rx = rx[at:]
            at = 0
            while len(rx) < n:
                want = n - len(rx)
                more = await r.read(want if want > _RX else _RX)
                if not more:
                    raise EOFError("connection closed")
                rx = rx + more if rx else more
            self._rx = rx
        self._at = at + n
        return rx[at:at + n]

    async def _read_packet(self, r):
        hdr = self._hdr
        b = self._cut(2) or await self._take(r, 2)
        hdr[0] = b[0]
        hdr[1] = b[1]
        i = 1
        while hdr[i] & 0x80 and i < 4:
            i += 1
            hdr[i] = (self._cut(1) or await self._take(r, 1))[0]
        n = decode_length(hdr, 1)[0]  # ValueError past 4 bytes
        self._last_rx = time.ticks_ms()
        kind = hdr[0] >> 4
        if kind == _PUBLISH:
            await self._on_publish(r, hdr[0], n)
        elif kind == _PUBACK and n == 2:
            b = self._cut(2) or await self._take(r, 2)
            pid = b[0] << 8 | b[1]
            for m in self._inflight:
                if m[0] == pid:
                    self._inflight.remove(m)
                    self._acked.set()  # wakes wait_acked() and a publish waiting for room
                    break
        elif kind == _SUBACK and n >= 3:
            b = self._cut(n) or await self._take(r, n)
            if (b[0] << 8 | b[1]) == self._sub_pid:
                self._sub_codes = b[2:]
                self._sub_evt.set()
        elif kind == _PINGRESP and n == 0:
            self._ping_at = None
        else:
            raise MQTTError("unexpected packet from the broker: type %d, %d bytes" % (kind, n))

    async def _skip(self, r, n):
        while n > 0:
            k = _RX if n > _RX else n
            await self._take(r, k)
            n -= k

    async def _on_publish(self, r, flags, n):
        qos = flags >> 1 & 3
        if qos > 1:
            raise MQTTError("received a QoS %d PUBLISH: only QoS 0 and 1 are supported" % qos)
        b = self._cut(2) or await self._take(r, 2)
        tlen = b[0] << 8 | b[1]
        rest = n - 2 - tlen - (2 if qos else 0)
        if rest < 0:
            raise ValueError("malformed PUBLISH: topic longer than the packet")
        big = n > self.max_packet
        if big:
            await self._skip(r, tlen)
            topic = b""
        else:
            topic = self._cut(tlen) or await self._take(r, tlen)
        pid = 0
        if qos:
            b = self._cut(2) or await self._take(r, 2)
            pid = b[0] << 8 | b[1]
        if big:
            await self._skip(r, rest)
            self.dropped += 1  # still acknowledged: sent again, it would only be dropped again
        else:
            payload = (self._cut(rest) or await self._take(r, rest)) if rest else b""
            # A full queue stops the reading here: TCP flow control then holds the broker
            # back, and nothing is lost. The keepalive does not count this time as dead.
            while len(self._queue) >= self.queue_len:
                self._blocked = True
                self._room_evt.clear()
                await self._room_evt.wait()
            if self._blocked:
                self._blocked = False
                if self._ping_at is not None:
                    self._ping_at = time.ticks_ms()  # its PINGRESP may wait unread behind us
            self._queue.append((topic.decode(), payload, bool(flags & 1)))
            self._got.set()
        if qos:
            await self._send(ack=pid)

    # -- keepalive and retransmission -------------------------------------------------------

    async def _time_loop(self):
        ka = self.keepalive_s * 1000
        try:
            while self._w is not None:
                now = time.ticks_ms()
                if ka:
                    if self._ping_at is not None:
                        if not self._blocked and time.ticks_diff(now, self._ping_at) >= ka:
                            self._lost("no PINGRESP within %d s: connection dead" % self.keepalive_s)
                            return
                    elif (time.ticks_diff(now, self._last_tx) >= ka // 2
                          or time.ticks_diff(now, self._last_rx) >= ka // 2):
                        self._ping_at = now
                        await self._send(_PINGREQ_PACKET)
                for m in self._inflight:
                    if m[4] is not None and time.ticks_diff(now, m[4]) >= self.retry_ms:
                        m[4] = None
                await self._flush_due()
                await asyncio.sleep_ms(self._next_due(time.ticks_ms(), ka))
        except MQTTError:
            pass  # the write failed: _out already dropped the connection

    def _next_due(self, now, ka):
        """Milliseconds until the timer has something to do (at most 1000)."""
        wait = 1000
        if ka and not self._blocked:
            if self._ping_at is not None:
                due = time.ticks_diff(time.ticks_add(self._ping_at, ka), now)
            else:
                due = min(time.ticks_diff(time.ticks_add(self._last_tx, ka // 2), now),
                          time.ticks_diff(time.ticks_add(self._last_rx, ka // 2), now))
            wait = min(wait, due)
        for m in self._inflight:
            if m[4] is not None:
                wait = min(wait, time.ticks_diff(time.ticks_add(m[4], self.retry_ms), now))
        return wait if wait > 0 else 0

