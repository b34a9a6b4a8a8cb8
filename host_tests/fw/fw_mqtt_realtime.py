"""kit.mqtt on the real-time virtual clock, both runtimes: the clock houses run on when they talk
to a real broker (tools/kampung/houses.py; vhw.runtime). There the event loop's idle wait
really sleeps, and the virtual clock, which stamps every event, must follow the host's clock.
A real loopback socket stands in for the broker here; the real Mosquitto tests are in
../test_mqtt_broker.py and ../test_kandig_network.py.
"""

import asyncio

from fwhelp import check
from kit.mqtt import MQTTClient, publish_packet
from vhw import clock


def realtime(main):
    """Run ``main()`` with the virtual clock following the host's (as a house does)."""
    clock.follow_real_time()
    try:
        asyncio.run(main())
    finally:
        clock.realtime = None
        asyncio.new_event_loop()


def test_the_clock_follows_the_host_after_a_wait_that_does_not_sleep():
    # Events are stamped with the virtual clock. It used to move only as far as the end of the
    # wait the loop asked for, so a wait with nothing to wait for (a task was ready) left it
    # where the process last slept: every event of a busy stretch got that earlier stamp. Now
    # every wait brings it to the host's clock, firing the alarms on the way in order, one
    # wait at a time (an alarm's code runs before the clock passes it).
    fired = []
    seen = []

    async def main():
        start = clock.us
        clock.at(start + 1000, lambda: fired.append(clock.us - start))
        clock.at(start + 3600 * 1000000, lambda: fired.append("an hour early"))
        while clock.real_now() < start + 3000:  # 3 ms of the host's time without a wait
            pass
        seen.append(clock.us - start)
        await asyncio.sleep_ms(0)  # a wait that does not sleep: up to the alarm, which fires
        seen.append(clock.us - start)
        await asyncio.sleep_ms(0)  # and the next one to the host's clock
        seen.append(clock.us - start)

    realtime(main)
    check(seen[0] == 0, "the clock stands still while nothing waits: %r" % seen)
    check(seen[1] == 1000 and fired == [1000], "first wait: clock %r, alarms %r" % (seen, fired))
    check(seen[2] >= 3000, "second wait: the clock at the host's (3 ms or more), not %d us" % seen[2])


def _listen(handler):
    """asyncio.start_server on a free loopback port (MicroPython's sockets cannot tell the port
    they were given, so ports are tried)."""

    async def go():
        port = 41000 + clock.real_us() % 9000
        for i in range(50):
            try:
                return await asyncio.start_server(handler, "127.0.0.1", port + i), port + i
            except OSError:
                pass
        raise OSError("no free port")

    return go()


def test_connack_and_a_kept_message_in_one_segment_from_a_real_socket():
    # A broker sends the QoS 1 messages it kept for a session right behind the CONNACK, often
    # in the same TCP segment. The client reads the socket for whatever it holds, so the
    # message is already in its buffer when the handshake ends: it is delivered and
    # acknowledged from there, and the reader wakes for the socket, not for a timer (the
    # client's only timer sleeps 1 s here).
    acks = []

    async def broker(reader, writer):
        await reader.read(256)  # CONNECT, in one write by the client
        writer.write(b"\x20\x02\x01\x00" + publish_packet("k/kept", b"alert", 1, False, True, 7))
        await writer.drain()
        acks.append(await reader.read(16))
        writer.close()

    got = []

    async def main():
        server, port = await _listen(broker)
        c = MQTTClient("rt-test", "127.0.0.1", port, keepalive_s=600, timeout_ms=3000)
        check(await c.connect() is True, "session present")
        t0 = clock.us
        got.append(await asyncio.wait_for_ms(c.message(), 3000))
        got.append(clock.us - t0)
        while not acks and clock.us - t0 < 3000000:
            await asyncio.sleep_ms(5)
        c.deinit()
        server.close()

    realtime(main)
    check(got and got[0] == ("k/kept", b"alert", False), "message %r" % got)
    check(got[1] < 500000, "delivered %d us after CONNACK: woken by a timer?" % got[1])
    check(acks == [b"\x40\x02\x00\x07"], "PUBACK %r" % acks)
