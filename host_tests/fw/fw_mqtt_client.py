"""kit.mqtt's client against a fake broker on virtual time: the bytes it writes, keepalive,
dead connections, QoS 1 retransmission, reconnects, the message queue. Real sockets and a real
broker: ../test_mqtt_broker.py."""

import asyncio
import time

from mqttfake import FakeBroker, FakeNetClient

import fwhelp
from fwhelp import check
from kit.mqtt import MQTTError, connect_packet, publish_packet, subscribe_packet

WRAP = 1 << 30  # ESP32 ticks_ms period


def since(t0, t):
    return time.ticks_diff(t, t0)


def run(scenario, ms=120000):
    """Run ``scenario()`` on virtual time; fail if it does not finish within ``ms``."""
    done = []

    async def main():
        await scenario()
        done.append(True)

    fwhelp.run(main, ms)
    check(done, "scenario did not finish within %d ms of virtual time" % ms)


def expect_error(words):
    """Context for code that must raise MQTTError mentioning ``words``."""
    return _Expect(words)


class _Expect:
    def __init__(self, words):
        self.words = words
        self.error = None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            raise AssertionError("no MQTTError (expected one about %r)" % self.words)
        if kind is not MQTTError:
            return False
        check(self.words in str(value), "MQTTError %r lacks %r" % (str(value), self.words))
        self.error = value
        return True


def test_connect_writes_connect_and_sets_nodelay():
    b = FakeBroker(session_present=1)

    async def scenario():
        c = FakeNetClient([b], keepalive_s=30, will=("w/t", b"off", 1, True))
        present = await c.connect()
        check(present is True, "session present flag from CONNACK")
        check(c.connected, "connected")
        c.deinit()

    run(scenario)
    want = connect_packet("kit1", 30, True, ("w/t", b"off", 1, True))
    check(b.packets[0][1] == want, "CONNECT %r" % (b.packets[0][1],))
    check(b.s.options == [(6, 1, 1)], "TCP_NODELAY (IPPROTO_TCP 6, option 1): %r" % b.s.options)


def test_connack_refusal_is_named_and_closes():
    b = FakeBroker(connack=5)

    async def scenario():
        c = FakeNetClient([b])
        with expect_error("connection refused: not authorised (5)") as e:
            await c.connect()
        check(e.error.code == 5, "code %r" % e.error.code)
        check(not c.connected and "not authorised (5)" in c.reason, c.reason)
        check(await c.disconnected() == c.reason, "disconnected() returns the reason at once")

    run(scenario)
    check(b.s.closed, "socket closed after a refusal")


def test_connect_never_hangs_on_a_silent_broker():
    b = FakeBroker(silent=True)

    async def scenario():
        c = FakeNetClient([b, OSError(111)], timeout_ms=3000)
        t0 = time.ticks_ms()
        with expect_error("connect to fake:1883: no answer within 3000 ms"):
            await c.connect()
        check(since(t0, time.ticks_ms()) == 3000, "gave up after %d ms" % since(t0, time.ticks_ms()))
        check(b.s.closed and not c.connected, "closed after the timeout")
        with expect_error("network error"):
            await c.connect()  # ECONNREFUSED from the TCP connect

    run(scenario)


def test_publish_bytes_qos0_qos1_long_payload_long_topic():
    b = FakeBroker(puback=False)
    topic = "t" * 200

    async def scenario():
        c = FakeNetClient([b])
        await c.connect()
        check(await c.publish("a/b", b"hi") == 0, "QoS 0 has no packet id")
        check(await c.publish("a/b", "hi", qos=1, retain=True) == 1, "first packet id is 1")
        await c.publish("a/b", bytes(300), qos=1)
        await c.publish(topic, b"x")
        check(c.inflight == 2, "two QoS 1 messages wait for PUBACK: %d" % c.inflight)
        c.deinit()

    run(scenario)
    want = [publish_packet("a/b", b"hi"), publish_packet("a/b", b"hi", 1, True, False, 1),
            publish_packet("a/b", bytes(300), 1, False, False, 2), publish_packet(topic, b"x")]
    got = [p for _, p in b.packets[1:]]
    check(got == want, "PUBLISH packets %r" % ([p[:12] for p in got],))
    # small packets go out in one write; the 300-byte payload is written after its header
    check(b.writes == 1 + 1 + 1 + 2 + 1, "writes %d" % b.writes)


def test_publish_checks_its_arguments():
    async def scenario():
        c = FakeNetClient([FakeBroker()])
        for args, words in ((("a/+", b"x"), "wildcards"), (("a/#", b"x"), "wildcards"),
                            (("", b"x"), "empty"), (("a", b"x", 2), "QoS 2")):
            try:
                await c.publish(*args)
            except ValueError as e:
                check(words in str(e), "%r: %s" % (args, e))
            else:
                raise AssertionError("accepted %r" % (args,))

    run(scenario)


def qos1_times(b):
    return [(t, p[0]) for t, p in b.packets if p[0] >> 4 == 3]


def test_qos1_resent_with_dup_until_acknowledged():
    b = FakeBroker(puback=False)

    async def scenario():
        c = FakeNetClient([b], retry_ms=5000, keepalive_s=0)
        await c.connect()
        t0 = time.ticks_ms()
        await c.publish("a", b"1", qos=1)
        await asyncio.sleep_ms(12000)
        b.feed(b"\x40\x02\x00\x01")  # the broker acknowledges at last (3.4)
        check(await c.wait_acked(100), "acknowledged")
        await asyncio.sleep_ms(20000)
        c.deinit()
        return t0

    t0 = []

    async def keep():
        t0.append(await scenario())

    run(keep)
    times = [(since(t0[0], t), flags) for t, flags in qos1_times(b)]
    # first send without DUP (0x32), then every retry_ms with DUP (0x3A, 3.3.1.1), then none
    check(times == [(0, 0x32), (5000, 0x3A), (10000, 0x3A)], "QoS 1 sends %r" % times)


def test_keepalive_pings_and_a_dead_broker_is_noticed():
    b = FakeBroker()

    async def scenario():
        c = FakeNetClient([b], keepalive_s=10)
        await c.connect()
        t0 = time.ticks_ms()
        await asyncio.sleep_ms(12000)  # pings at 5 s and 10 s, both answered
        b.ping = False  # the broker (or the Wi-Fi between) goes quiet: no RST, no EOF
        reason = await c.disconnected()
        t1 = time.ticks_ms()
        check(reason == "no PINGRESP within 10 s: connection dead", reason)
        check(not c.connected and b.s.closed, "closed")
        pings = [since(t0, t) for t, p in b.packets if p == b"\xc0\x00"]
        # 3.1.2.10: something is sent at least every keepalive; here after half of it idle.
        # The ping at 15 s goes unanswered: dead 10 s later.
        check(pings == [5000, 10000, 15000], "PINGREQ at %r" % pings)
        check(since(t0, t1) == 25000, "dead after %d ms" % since(t0, t1))
        with expect_error("not connected: no PINGRESP"):
            await c.publish("a", b"x")

    run(scenario)


def test_incoming_messages_acknowledged_and_iterated():
    b = FakeBroker()
    got = []

    async def scenario():
        c = FakeNetClient([b])
        await c.connect()
        b.feed(publish_packet("x/1", b"retained", 1, True, False, 7))
        b.feed(publish_packet("x/2", b"", 0))
        b.feed(publish_packet("x/3", bytes(130), 1, False, True, 0x0102))
        async for msg in c:
            got.append(msg)
            if len(got) == 3:
                c.deinit()  # ends the iteration

    run(scenario)
    check(got == [("x/1", b"retained", True), ("x/2", b"", False), ("x/3", bytes(130), False)],
          "messages %r" % got)
    acks = [p for _, p in b.packets if p[0] == 0x40]
    check(acks == [b"\x40\x02\x00\x07", b"\x40\x02\x01\x02"], "PUBACK for QoS 1 only: %r" % acks)


def test_reconnect_resubscribes_and_resends_in_order():
    first = FakeBroker(puback=False)
    second = FakeBroker()

    async def scenario():
        c = FakeNetClient([first, second], keepalive_s=0)
        check(await c.subscribe("cmd/#", 1) is None, "remembered before connect")
        await c.connect()
        check(await c.subscribe("all", 0) == 0, "granted QoS 0")
        await c.publish("a", b"1", qos=1)
        first.hang_up()
        reason = await c.disconnected()
        check(reason == "connection closed by the broker", reason)
        with expect_error("not connected: connection closed by the broker"):
            await c.publish("a", b"lost", qos=0)
        check(await c.publish("a", b"2", qos=1) == 4, "stored while offline")
        check(c.inflight == 2, "kept: %d" % c.inflight)
        await c.connect()
        check(await c.wait_acked(1000), "both acknowledged after the reconnect")
        c.deinit()

    run(scenario)
    check(first.packets[1][1] == subscribe_packet(1, [(b"cmd/#", 1)]), first.packets[1][1])
    got = [p for _, p in second.packets]
    # one SUBSCRIBE for all filters, then the unacknowledged message with DUP (it was sent),
    # then the one published offline without DUP (never sent before), in publish order (4.6)
    want = [connect_packet("kit1", 0), subscribe_packet(5, [(b"cmd/#", 1), (b"all", 0)]),
            publish_packet("a", b"1", 1, False, True, 3), publish_packet("a", b"2", 1, False, False, 4)]
    check(got == want, "after reconnect:\n got  %r\n want %r" % (got, want))


def test_subscribe_refused_is_an_error_and_forgotten():
    b = FakeBroker(suback=[0x80])

    async def scenario():
        c = FakeNetClient([b, FakeBroker()], keepalive_s=0)
        await c.connect()
        with expect_error("subscription to secret/# refused by the broker"):
            await c.subscribe("secret/#", 1)
        b.hang_up()
        await c.disconnected()
        await c.connect()
        c.deinit()
        return c

    run(scenario)
    check(b.kinds() == [1, 8], "packets %r" % b.kinds())


def test_malformed_length_from_broker_drops_the_connection():
    b = FakeBroker()

    async def scenario():
        c = FakeNetClient([b])
        await c.connect()
        b.feed(b"\x30\xff\xff\xff\xff\x7f")  # five length bytes (2.2.3 allows four)
        reason = await c.disconnected()
        check("longer than 4 bytes" in reason, reason)

    run(scenario)


def test_full_queue_holds_the_broker_back_without_losing_or_timing_out():
    b = FakeBroker()
    got = []

    async def scenario():
        c = FakeNetClient([b], queue_len=2, keepalive_s=4)
        await c.connect()
        for i in range(5):
            b.feed(publish_packet("q", b"%d" % i, 1, False, False, i + 1))
        await asyncio.sleep_ms(30000)  # nobody reads: the keepalive must not call it dead
        check(c.connected, "still connected: %s" % c.reason)
        acks = [p for _, p in b.packets if p[0] == 0x40]
        check(len(acks) == 2, "only the queued messages acknowledged yet: %r" % acks)
        for _ in range(5):
            got.append((await c.message())[1])
        await asyncio.sleep_ms(5000)
        check(c.connected, "still connected after: %s" % c.reason)
        c.deinit()

    run(scenario)
    check(got == [b"0", b"1", b"2", b"3", b"4"], "in order, none lost: %r" % got)


def test_oversized_message_skipped_counted_and_acknowledged():
    b = FakeBroker()

    async def scenario():
        c = FakeNetClient([b], max_packet=64)
        await c.connect()
        b.feed(publish_packet("big", bytes(100), 1, False, False, 9))
        b.feed(publish_packet("small", b"ok", 0))
        msg = await c.message()
        check(msg == ("small", b"ok", False), msg)
        check(c.dropped == 1, "dropped %d" % c.dropped)
        c.deinit()

    run(scenario)
    check(b"\x40\x02\x00\x09" in [p for _, p in b.packets], "big one acknowledged")


def test_full_inflight_waits_for_room_then_gives_up():
    b = FakeBroker(puback=False)

    async def scenario():
        c = FakeNetClient([b], max_inflight=2, timeout_ms=2000, keepalive_s=0)
        await c.connect()
        await c.publish("a", b"1", qos=1)
        await c.publish("a", b"2", qos=1)
        t0 = time.ticks_ms()

        async def ack_later():
            await asyncio.sleep_ms(500)
            b.feed(b"\x40\x02\x00\x01")

        asyncio.create_task(ack_later())
        await c.publish("a", b"3", qos=1)  # waits for the PUBACK of message 1
        check(since(t0, time.ticks_ms()) == 500, "waited %d ms" % since(t0, time.ticks_ms()))
        t0 = time.ticks_ms()
        with expect_error("2 QoS 1 messages already wait for PUBACK"):
            await c.publish("a", b"4", qos=1)
        check(since(t0, time.ticks_ms()) == 2000, "gave up after %d ms" % since(t0, time.ticks_ms()))
        c.deinit()

    run(scenario)


def test_disconnect_sends_disconnect_and_keeps_state():
    b = FakeBroker(puback=False)

    async def scenario():
        c = FakeNetClient([b, FakeBroker()])
        await c.subscribe("s", 1)
        await c.connect()
        await c.publish("a", b"1", qos=1)
        await c.disconnect()
        check(not c.connected and c.reason == "disconnected by the client", c.reason)
        await c.connect()
        check(await c.wait_acked(1000), "kept and sent after the next connect")
        c.deinit()

    run(scenario)
    check(b.packets[-1][1] == b"\xe0\x00", "last packet DISCONNECT: %r" % (b.packets[-1][1],))
    check(b.s.closed, "closed")


def test_deinit_cancels_tasks_without_disconnect():
    b = FakeBroker()

    async def scenario():
        c = FakeNetClient([b], keepalive_s=2)
        await c.connect()
        c.deinit()
        n = len(b.packets)
        await asyncio.sleep_ms(10000)  # no pings from a cancelled timer
        check(len(b.packets) == n and b.s.closed, "packets after deinit: %r" % b.packets[n:])
        with expect_error("deinit"):
            await c.connect()
        with expect_error("deinit"):
            await c.message()

    run(scenario)
    check(b"\xe0\x00" not in [p for _, p in b.packets], "no DISCONNECT: the broker sends the will")


def test_timers_across_the_tick_wrap():
    # STYLE 4: the ESP32's ticks_ms wraps at 2**30; start 7 s before it
    fwhelp.fresh_board(start_ms=WRAP - 7000)
    b = FakeBroker(puback=False)

    async def scenario():
        c = FakeNetClient([b], keepalive_s=4, retry_ms=3000)
        await c.connect()
        t0 = time.ticks_ms()
        await c.publish("a", b"1", qos=1)
        await asyncio.sleep_ms(10500)
        c.deinit()
        check(time.ticks_ms() < 7000, "the clock wrapped: %d" % time.ticks_ms())
        return t0

    t0 = []

    async def keep():
        t0.append(await scenario())

    run(keep)
    resends = [since(t0[0], t) for t, p in b.packets if p[0] == 0x3A]
    pings = [since(t0[0], t) for t, p in b.packets if p == b"\xc0\x00"]
    check(resends == [3000, 6000, 9000], "resent at %r" % resends)
    check(pings == [2000, 4000, 6000, 8000, 10000], "pings at %r" % pings)


def test_no_suback_drops_the_connection_and_keeps_the_subscription():
    b = FakeBroker()
    second = FakeBroker()

    async def scenario():
        c = FakeNetClient([b, second], timeout_ms=2000, keepalive_s=0)
        await c.connect()
        b.silent = True
        t0 = time.ticks_ms()
        with expect_error("subscribe failed: no SUBACK within 2000 ms"):
            await c.subscribe("late", 1)
        check(since(t0, time.ticks_ms()) == 2000, "gave up after %d ms" % since(t0, time.ticks_ms()))
        check(not c.connected and b.s.closed, "dropped")
        await c.connect()
        c.deinit()

    run(scenario)
    check(second.packets[1][1] == subscribe_packet(2, [(b"late", 1)]), second.packets[1][1])


def test_qos2_from_the_broker_drops_the_connection():
    b = FakeBroker()

    async def scenario():
        c = FakeNetClient([b])
        await c.connect()
        b.feed(b"\x34\x06\x00\x01a\x00\x01x")  # PUBLISH QoS 2 (flags 0100, 3.3.1.2)
        reason = await c.disconnected()
        check("QoS 2" in reason, reason)

    run(scenario)


def test_a_failing_write_is_a_lost_connection_not_a_hang():
    b = FakeBroker()

    async def scenario():
        c = FakeNetClient([b], keepalive_s=0)
        await c.connect()
        b.broken = True  # EPIPE on write; reads would wait forever
        with expect_error("network error"):
            await c.publish("a", b"0")
        check(not c.connected and "32" in c.reason, c.reason)  # errno 32, EPIPE
        check(await c.publish("a", b"1", qos=1) == 1, "QoS 1 kept while offline")
        check(c.inflight == 1, "in flight %d" % c.inflight)

    run(scenario)


def test_concurrent_publishers_keep_packet_order():
    b = FakeBroker(puback=False)

    async def scenario():
        c = FakeNetClient([b], keepalive_s=0, max_inflight=12)
        await c.connect()

        async def burst(tag):
            for i in range(4):
                await c.publish("t", b"%s%d" % (tag, i), qos=1)

        tasks = [asyncio.create_task(burst(tag)) for tag in (b"a", b"b", b"c")]
        for t in tasks:
            await t
        c.deinit()

    run(scenario)
    pids = [p[-4] << 8 | p[-3] for _, p in b.packets if p[0] >> 4 == 3]
    check(pids == sorted(pids) and len(pids) == 12, "packet ids in stream order %r" % pids)


def test_a_whole_publish_is_read_at_once():
    # The client asks the socket for what it holds (up to 256 bytes), not field by field: a
    # small PUBLISH costs one read, where the header, the length, the topic, the packet id and
    # the payload cost one each before (on the unix port each is a poll() and a trip through
    # the scheduler, on every house of a neighbourhood at the same moment).
    b = FakeBroker()

    async def scenario():
        c = FakeNetClient([b])
        await c.connect()
        before = b.reads
        b.feed(publish_packet("kandig/v1/rt05/house/h07/alert", bytes(100), 1, False, False, 5))
        msg = await c.message()
        check(msg == ("kandig/v1/rt05/house/h07/alert", bytes(100), False), "message %r" % (msg,))
        check(b.reads - before == 1, "reads for one PUBLISH: %d" % (b.reads - before))
        c.deinit()

    run(scenario)
    check(b.packets[-1][1] == b"\x40\x02\x00\x05", "PUBACK %r" % (b.packets[-1][1],))


class QueuedBroker(FakeBroker):
    """Sends ``queued`` right behind its CONNACK, as a broker does with the QoS 1 messages it
    kept for a session (clean_session=False): without a chunk limit, one read gets them all."""

    def __init__(self, queued, **kwargs):
        super().__init__(**kwargs)
        self.queued = queued

    def _answer(self, p, pos):
        super()._answer(p, pos)
        if p[0] >> 4 == 1:
            self.feed(self.queued)


def _split_or_together(chunk, queued):
    cut = FakeBroker(chunk=chunk)
    b = QueuedBroker(queued, chunk=chunk)
    got = []

    async def scenario():
        c = FakeNetClient([cut, b])
        await c.connect()
        cut.feed(publish_packet("lost/half", b"never", 1, False, False, 9)[:6])
        await asyncio.sleep_ms(10)
        cut.hang_up()
        await c.disconnected()
        await c.connect()
        async for msg in c:
            got.append(msg)
            if len(got) == 3:
                c.deinit()

    run(scenario)
    return got, [p for _, p in b.packets if p[0] == 0x40]


def test_packets_split_or_run_together_by_tcp_read_the_same():
    # TCP keeps no packet boundaries: a packet may arrive in pieces (here down to one byte a
    # read) and packets may arrive together (CONNACK and the kept messages in one read). Every
    # way gives the same messages and PUBACKs, and a piece left over from a lost connection is
    # never read as the start of the next connection's packets.
    queued = (publish_packet("k/1", b"one", 1, False, True, 3) + publish_packet("k/2", b"two", 0)
              + publish_packet("k/3", bytes(300), 1, False, False, 4))
    want = [("k/1", b"one", False), ("k/2", b"two", False), ("k/3", bytes(300), False)]
    for chunk in (None, 1, 7, 200):
        got, acks = _split_or_together(chunk, queued)
        check(got == want, "chunk %r: messages %r" % (chunk, got))
        check(acks == [b"\x40\x02\x00\x03", b"\x40\x02\x00\x04"], "chunk %r: PUBACKs %r" % (chunk, acks))
