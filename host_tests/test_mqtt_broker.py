"""kit.mqtt against a real Mosquitto, run by the real MicroPython unix port in real time.

Each test starts its own broker on a free loopback port from a generated config (Mosquitto 2.0
binds to loopback and refuses anonymous clients unless the config says otherwise; the helpers
are in broker.py, shared with the hub's tests), runs
``fw/mqtt_live.py`` with kit/mqtt.py compiled by mpy-cross (as a board loads it), and watches
with ``mosquitto_sub``/``mosquitto_pub``. No virtual hardware: real sockets need real time.
Skipped when Mosquitto is not installed: ``apt-get install -y mosquitto mosquitto-clients``.
The fake-broker tests of the same client, on virtual time: fw/fw_mqtt_client.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from broker import MOSQUITTO, PASSWD, PUB, SUB, Broker, Lines, free_port, needs_mosquitto

from kampung import FIRMWARE, runtimes
from kampung.hub.brokerconf import INSTALL

# the shared broker helpers (host_tests/broker.py), also imported from here by other tests
__all__ = ["MOSQUITTO", "PASSWD", "PUB", "SUB", "Broker", "Lines", "free_port"]

LIVE = Path(__file__).parent / "fw" / "mqtt_live.py"

pytestmark = needs_mosquitto


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def lib(tmp_path_factory) -> Path:
    """firmware/lib/kit/mqtt.py compiled with mpy-cross, as a board loads it."""
    out = tmp_path_factory.mktemp("lib")
    (out / "kit").mkdir()
    shutil.copyfile(FIRMWARE / "lib" / "kit" / "__init__.py", out / "kit" / "__init__.py")
    runtimes.mpy_cross(FIRMWARE / "lib" / "kit" / "mqtt.py", out / "kit" / "mqtt.mpy", "kit/mqtt.py")
    return out


class Live:
    """fw/mqtt_live.py running on MicroPython; ``event(name)`` waits for its JSON lines."""

    def __init__(self, lib: Path, scenario: str, port: int, *args: str):
        env = dict(os.environ, MICROPYPATH=f"{lib}:.frozen")  # .frozen holds asyncio
        cmd = [runtimes.micropython_binary(), str(LIVE), scenario, str(port), *args]
        self.lines = Lines(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            text=True, env=env))

    def event(self, name: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.next(max(0.0, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"no {name!r} from mqtt_live.py within {timeout} s; output:\n"
                                     + "\n".join(self.lines.seen))
            if line.startswith("{"):
                ev = json.loads(line)
                if ev["ev"] == name:
                    return ev

    def close(self):
        self.lines.kill()


@pytest.fixture
def live(lib):
    started: list[Live] = []

    def start(scenario: str, port: int, *args: str) -> Live:
        p = Live(lib, scenario, port, *args)
        started.append(p)
        return p

    yield start
    for p in started:
        p.close()


def collect(sub: Lines, n: int, timeout: float = 5) -> list[str]:
    out: list[str] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        line = sub.next(deadline - time.monotonic())
        if line is None:
            break
        out.append(line)
    return out


def test_publish_subscribe_qos0_qos1_and_retained(broker, live):
    watcher = broker.subscribe("kit/test/out")
    try:
        p = live("basic", broker.port)
        ram = p.event("ram")
        print("RAM (gc.mem_alloc deltas, bytes):", ram)
        # 64-bit unix port; an ESP32's 32-bit pointers and GC blocks need less
        assert ram["imported"] < 24000 and ram["constructed"] + ram["connected"] < 8000, ram
        own = p.event("self")
        assert own["got"] == [["kit/test/self", "q0", False], ["kit/test/self", "q1", False]], own
        assert own["acked"] is True and own["present"] is False, own
        assert collect(watcher, 2) == ["0 kit/test/out out-q0", "0 kit/test/out out-q1"]
        p.event("subscribed")
        broker.publish("kit/test/in/x", "from-host", qos=1)
        assert p.event("from_host")["msg"] == ["kit/test/in/x", "from-host", False]
        assert p.event("retained")["msg"] == ["kit/test/retained", "r1", True]
        assert p.event("done")["reason"] == "disconnected by the client"
    finally:
        watcher.kill()
    late = broker.subscribe("kit/test/retained", count=1)
    assert collect(late, 1) == ["1 kit/test/retained r1"], "retained for later subscribers too"
    late.kill()


def test_last_will_on_unclean_close_only(broker, live):
    watcher = broker.subscribe("kit/test/will")
    try:
        p = live("will", broker.port)
        p.event("ready")
        p.close()  # SIGKILL: the kernel closes the socket, no DISCONNECT
        got = collect(watcher, 2)
        got += collect(watcher, 1, timeout=0.3)  # nothing more may come
    finally:
        watcher.kill()
    # A disconnected cleanly: no will. B called deinit(): will. C was killed: will.
    assert got == ["0 kit/test/will B-gone", "0 kit/test/will C-gone"], got


def test_silent_broker_is_noticed_and_connect_gives_up(broker, live):
    p = live("dead", broker.port)
    p.event("connected")
    broker.pause()
    try:
        ev = p.event("lost", timeout=15)
    finally:
        broker.resume()
    # keepalive 1 s: PINGREQ after 0.5 s idle, no PINGRESP 1 s later -> dead after about 1.5 s
    assert ev["reason"] == "no PINGRESP within 1 s: connection dead", ev
    assert 1200 <= ev["ms"] <= 3500, ev
    # the kernel still accepts the TCP connection of a stopped broker; CONNACK never comes
    assert ev["connect_error"] == f"connect to 127.0.0.1:{broker.port}: no answer within 1000 ms", ev
    assert 900 <= ev["connect_ms"] <= 2000, ev


def test_broker_restart_during_qos1_publishing_loses_nothing(broker, live):
    p = live("restart", broker.port)
    p.event("half")
    # a crash in the middle of a burst of QoS 1 messages, down for 0.3 s; persistence false:
    # the new broker knows no session and no subscription
    broker.restart(crash=True, down_s=0.3)
    assert p.event("resubscribed")["connected"] is True
    broker.publish("kit/test/after", "hello-again", qos=1)
    r = p.event("result", timeout=20)
    print("restart scenario:", r)
    assert r["missing"] == [] and r["acked"] is True, r
    # killed, the broker's sockets are closed by the kernel: an EOF, or a reset when data was
    # still unread
    assert len(r["losses"]) == 1 and r["losses"][0][1] > 0, "messages in flight at the crash: %r" % r
    reason = r["losses"][0][0]
    assert reason == "connection closed by the broker" or reason in (
        "network error: ECONNRESET (errno 104)", "network error: errno 32"), r  # 32: EPIPE
    assert r["after"] == ["hello-again"], "subscriptions restored after the reconnect: %r" % r


@pytest.mark.skipif(PASSWD is None, reason=f"mosquitto_passwd is not installed ({INSTALL})")
def test_refused_connection_names_the_reason(tmp_path, live):
    assert PASSWD is not None
    subprocess.run([PASSWD, "-b", "-c", str(tmp_path / "passwd"), "kit", "secret"], check=True,
                   capture_output=True, timeout=10)
    b = Broker(tmp_path, f"password_file {tmp_path / 'passwd'}\n")
    b.conf.write_text(b.conf.read_text().replace("allow_anonymous true", "allow_anonymous false"))
    b.start()
    try:
        p = live("auth", b.port, "kit", "secret")
        anonymous, wrong, right = p.event("auth"), p.event("auth"), p.event("auth")
    finally:
        b.stop()
    want = f"connect to 127.0.0.1:{b.port}: connection refused: not authorised (5)"
    assert anonymous == {"ev": "auth", "user": None, "ok": False, "error": want, "code": 5}
    assert wrong == {"ev": "auth", "user": "kit", "ok": False, "error": want, "code": 5}
    assert right == {"ev": "auth", "user": "kit", "ok": True}
