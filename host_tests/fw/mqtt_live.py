"""The MicroPython side of ../test_mqtt_broker.py: kit.mqtt against a real Mosquitto, in real
time (no virtual hardware: real sockets and a virtual clock do not mix).

    micropython mqtt_live.py SCENARIO PORT [USER PASSWORD]

Prints one JSON object per line: {"ev": name, ...}. The host test reacts to some of them
(it restarts, stops or resumes the broker, publishes with mosquitto_pub, kills this process).
"""

import asyncio
import gc
import json
import sys
import time

# asyncio imports these parts on first use: load them now, so the RAM figures count only the client
_ = (asyncio.Lock, asyncio.Event, asyncio.open_connection, asyncio.wait_for_ms)
import kit  # noqa: E402, F401

gc.collect()
_RAM0 = gc.mem_alloc()
from kit.mqtt import MQTTClient, MQTTError  # noqa: E402

gc.collect()
_RAM1 = gc.mem_alloc()

PORT = int(sys.argv[2])
T = "kit/test/"


def say(ev, **fields):
    fields["ev"] = ev
    print(json.dumps(fields))


def client(cid, **kwargs):
    return MQTTClient(cid, "127.0.0.1", PORT, timeout_ms=3000, **kwargs)


async def next_message(c, ms=5000):
    """The next message as [topic, payload text, retained], or None after ``ms``."""
    try:
        topic, payload, retained = await asyncio.wait_for_ms(c.message(), ms)
    except asyncio.TimeoutError:
        return None
    return [topic, payload.decode(), retained]


async def basic():
    c = client("live-basic", keepalive_s=10)
    gc.collect()
    ram2 = gc.mem_alloc()
    present = await c.connect()
    await c.subscribe(T + "self", 1)
    await c.subscribe(T + "in/#", 1)
    gc.collect()
    say("ram", imported=_RAM1 - _RAM0, constructed=ram2 - _RAM1, connected=gc.mem_alloc() - ram2)
    await c.publish(T + "self", b"q0")
    await c.publish(T + "self", b"q1", qos=1)
    got = [await next_message(c), await next_message(c)]
    await c.publish(T + "out", b"out-q0")
    await c.publish(T + "out", b"out-q1", qos=1)
    await c.publish(T + "retained", b"r1", qos=1, retain=True)
    acked = await c.wait_acked(3000)
    say("self", present=present, got=got, acked=acked)
    say("subscribed")  # the host publishes to kit/test/in/x now
    m = await next_message(c)
    say("from_host", msg=m)
    # a second client sees the retained message, flagged as retained (3.3.1.3)
    c2 = client("live-basic-2")
    await c2.connect()
    await c2.subscribe(T + "retained", 0)
    m = await next_message(c2)
    say("retained", msg=m)
    await c2.disconnect()
    await c.disconnect()
    say("done", reason=c.reason)


async def will():
    w = T + "will"
    a = client("live-will-a", will=(w, b"A-gone", 1, False))
    await a.connect()
    await a.disconnect()  # DISCONNECT: the broker discards A's will (3.14.4)
    b = client("live-will-b", will=(w, b"B-gone", 1, False))
    await b.connect()
    b.deinit()  # closed without DISCONNECT: the broker publishes B's will (3.1.2.5)
    c = client("live-will-c", will=(w, b"C-gone", 1, False), keepalive_s=60)
    await c.connect()
    say("ready")  # the host kills this process now, like a power cut
    await asyncio.sleep(30)


async def dead():
    c = client("live-dead", keepalive_s=1)
    await c.connect()
    t0 = time.ticks_ms()
    say("connected")  # the host stops the broker (SIGSTOP): TCP stays up, nothing answers
    reason = await c.disconnected()
    lost_ms = time.ticks_diff(time.ticks_ms(), t0)
    t1 = time.ticks_ms()
    try:
        await c.connect(timeout_ms=1000)
        error = None
    except MQTTError as e:
        error = str(e)
    say("lost", reason=reason, ms=lost_ms, connect_error=error,
        connect_ms=time.ticks_diff(time.ticks_ms(), t1))


async def keep_connected(c, log):
    while True:
        reason = await c.disconnected()
        if c.reason == "deinit() called":
            return
        log.append([reason, c.inflight])  # QoS 1 messages that wait for PUBACK at the loss
        while not c.connected:
            try:
                await c.connect(timeout_ms=2000)
            except MQTTError:
                await asyncio.sleep_ms(100)


async def restart():
    n = 200
    # retry_ms far beyond the test: only the resending after the reconnect can save a message
    c = client("live-restart", keepalive_s=5, retry_ms=60000)
    await c.connect()
    await c.subscribe(T + "seq", 1)
    await c.subscribe(T + "after", 1)
    seen = bytearray(n)  # preallocated: a growing list fragments the heap
    after = []

    async def receive():
        async for topic, payload, _ in c:
            if topic == T + "seq":
                i = int(payload)
                seen[i] = min(seen[i] + 1, 255)
            else:
                after.append(payload.decode())

    losses = []
    tasks = [asyncio.create_task(receive()), asyncio.create_task(keep_connected(c, losses))]
    waits = 0
    for i in range(n):
        while True:
            try:
                await c.publish(T + "seq", b"%d" % i, qos=1)
                break
            except MQTTError:
                waits += 1  # offline with max_inflight messages waiting: try again soon
                await asyncio.sleep_ms(50)
        if i < 20:
            await asyncio.sleep_ms(20)
        elif i == 20:
            say("half")  # the host kills and restarts the broker now, during a burst
    acked = await c.wait_acked(5000)
    t0 = time.ticks_ms()
    while min(seen) == 0 and time.ticks_diff(time.ticks_ms(), t0) < 5000:
        await asyncio.sleep_ms(20)
    say("resubscribed", connected=c.connected)  # the host publishes to kit/test/after now
    t0 = time.ticks_ms()
    while not after and time.ticks_diff(time.ticks_ms(), t0) < 5000:
        await asyncio.sleep_ms(20)
    missing = [i for i in range(n) if not seen[i]]
    say("result", acked=acked, missing=missing, duplicates=sum(seen) - (n - len(missing)),
        losses=losses, after=after, waits=waits)
    c.deinit()
    for t in tasks:
        t.cancel()


async def auth():
    user = sys.argv[3]
    for u, p in ((None, None), (user, "wrong"), (user, sys.argv[4])):
        c = client("live-auth", user=u, password=p)
        try:
            await c.connect()
            say("auth", user=u, ok=True)
        except MQTTError as e:
            say("auth", user=u, ok=False, error=str(e), code=e.code)
        c.deinit()


asyncio.run({"basic": basic, "will": will, "dead": dead, "restart": restart,
             "auth": auth}[sys.argv[1]]())
