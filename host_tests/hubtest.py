"""Helpers for the hub's tests: a neighbourhood's broker from ``kampung hub broker-config``, the
hub running in a thread, stand-in houses (paho-mqtt) and a cookie-keeping HTTP client.

A real Mosquitto with the generated passwords and ACL, a real hub (aiomqtt, aiohttp, SQLite):
only the house units are stand-ins, publishing the payloads of docs/kandig-protocol.md.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from broker import Broker, free_port, wait_for
from paho.mqtt.enums import CallbackAPIVersion

from kampung.hub import app as hub_app
from kampung.hub import brokerconf
from kampung.hub.app import Hub

NET = "rt05-test"
HOUSES = ["h01", "h02", "h03", "h04"]
KETUA_PASSWORD = "sandi-rahasia-123"


def topic(kind: str, house: str | None = None) -> str:
    return f"kandig/v1/{NET}/house/{house}/{kind}" if house else f"kandig/v1/{NET}/{kind}"


def alert(house: str, seq: int, type_: str = "maling", drill: bool = False) -> str:
    return json.dumps({"v": 1, "id": f"{house}-{seq}", "type": type_, "house": house,
                       "seq": seq, "t": int(time.time()), "drill": drill})


def ack(alert_id: str, house: str) -> str:
    return json.dumps({"v": 1, "id": alert_id, "house": house, "t": int(time.time())})


def status(house: str, state: str) -> str:
    if state == "offline":
        return json.dumps({"v": 1, "house": house, "state": "offline", "t": 0})
    return json.dumps({"v": 1, "house": house, "state": state, "fw": "0.1.0", "boot": 3,
                       "t": int(time.time())})


def beat(house: str, up: int = 60, seq: int = 0) -> str:
    return json.dumps({"v": 1, "house": house, "up": up, "rssi": -61, "outbox": 0, "seq": seq})


def report(house: str, cmd_id: str, ok: bool, kind: str = "selftest") -> str:
    """A house's answer to a self-test or drill command, as the firmware sends it."""
    return json.dumps({"v": 1, "house": house, "kind": kind, "id": cmd_id, "ok": ok,
                       "outbox": 0, "t": 0})


# Western Indonesia Time (UTC+7, no summer time): the schedule's tests do not depend on the
# time zone of the machine that runs them
WIB = timezone(timedelta(hours=7))


def wib(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    """Unix time of a WIB wall-clock time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=WIB).timestamp()


class Clock:
    """The hub's clock in a test: stands still until the test moves it."""

    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


class Neighbourhood:
    """The generated broker configuration and the broker running on it."""

    def __init__(self, folder: Path, houses: list[str] = HOUSES):
        self.folder = folder
        self.port = free_port()
        self.passwords = brokerconf.write(folder, NET, houses, self.port, "127.0.0.1")
        self.hub_password = (folder / "hub.password").read_text().strip()
        self.broker = Broker(folder, port=self.port)
        self.broker.start()

    def auth(self, user: str) -> list[str]:
        """-u/-P for mosquitto_pub and mosquitto_sub."""
        pw = self.hub_password if user == "hub" else self.passwords[user]
        return ["-u", user, "-P", pw]

    def house(self, name: str, client_id: str | None = None, **kw) -> Client:
        pw = self.hub_password if name == "hub" else self.passwords[name]
        return Client(self.port, name, pw, client_id or f"kandig-{NET}-{name}", **kw)

    def stop(self):
        self.broker.stop()


class Client:
    """A stand-in house (or any client) on paho-mqtt: connected when constructed."""

    def __init__(self, port: int, user: str, password: str, client_id: str,
                 will: tuple[str, str] | None = None, subscribe: list[str] | None = None):
        self.received: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._refused: list[Any] = []
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        c.username_pw_set(user, password)
        if will is not None:
            c.will_set(will[0], will[1], qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        self.subscriptions = subscribe or []
        self.client = c
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        if not self._connected.wait(10) or self._refused:  # set by CONNACK, either way
            c.loop_stop()
            raise AssertionError(f"{user} did not connect: {self._refused}")
        if self.subscriptions:
            # subscribed once the SUBACK is back: a message of ours on a topic we may read
            wait_for(lambda: self._suback.is_set(), 10, what="SUBACK")

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self._refused.append(reason_code)
            self._connected.set()
            return
        self._suback = threading.Event()
        if self.subscriptions:
            client.on_subscribe = lambda *a: self._suback.set()
            client.subscribe([(t, 1) for t in self.subscriptions])
        self._connected.set()

    def _on_message(self, client, userdata, msg):
        with self._lock:
            self.received.append((msg.topic, msg.payload.decode(errors="replace")))

    def messages(self, topic_filter: str) -> list[dict]:
        with self._lock:
            return [json.loads(p) for t, p in self.received if t == topic_filter]

    def publish(self, topic_: str, payload: str | bytes, qos: int = 1, retain: bool = False,
                wait: bool = True):
        """Publish; with QoS 1 and ``wait``, return once the broker's PUBACK is back."""
        info = self.client.publish(topic_, payload, qos=qos, retain=retain)
        if qos and wait:
            info.wait_for_publish(10)
            if not info.is_published():
                raise AssertionError(f"no PUBACK for {topic_}")
        return info

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class HubThread(hub_app.HubThread):
    """The hub in its own thread's event loop, on the neighbourhood's broker, with the helpers
    the tests wait with (the test thread stays synchronous)."""

    def __init__(self, nb: Neighbourhood, db: Path, **kw):
        kw.setdefault("ketua_password", KETUA_PASSWORD)
        # no daily self-test unless a test asks for one: a run that spans 03:00 stays the same
        kw.setdefault("selftest_at", None)
        super().__init__(Hub(NET, "127.0.0.1", nb.port, "hub", nb.hub_password, db, "127.0.0.1", 0,
                             **kw))

    @property
    def url(self) -> str:
        return self.hub.url

    def wait_connected(self, timeout: float = 15):
        wait_for(lambda: self.hub.connected, timeout, what="hub connected to the broker")

    def step(self, timeout: float = 15):
        """One step of the self-test schedule on the hub's loop, done when this returns."""
        loop = self.hub._loop
        assert loop is not None, "the hub is not running"
        asyncio.run_coroutine_threadsafe(self.hub.schedule_step(), loop).result(timeout)

    def state(self) -> dict:
        with urllib.request.urlopen(self.url + "/api/state", timeout=10) as r:
            return json.loads(r.read())

    def wait_state(self, condition, what: str, timeout: float = 15) -> dict:
        box: dict = {}

        def check():
            box["s"] = self.state()
            return condition(box["s"])
        try:
            wait_for(check, timeout, interval=0.05, what=what)
        except AssertionError as e:
            raise AssertionError(f"{e}\nstate: {json.dumps(box.get('s'))[:3000]}") from None
        return box["s"]


def query(db: Path, sql: str, *args) -> list[tuple]:
    """Read the hub's database the way an admin would (WAL: readers never block the hub)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


class Web:
    """An HTTP client with cookies, like a browser without JavaScript."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, path: str, data: dict | None = None, headers: dict | None = None):
        """(status, headers, body text); errors are answers too."""
        body = None if data is None else urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=15) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def login(self, password: str = KETUA_PASSWORD, user: str = "ketua"):
        status_, _, page = self.request("/login")
        assert status_ == 200, page
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token, page
        return self.request("/login", {"csrf": token.group(1), "user": user, "password": password})

    def csrf(self) -> str:
        status_, _, body = self.request("/api/state")
        me = json.loads(body)["me"]
        assert me, "not logged in"
        return me["csrf"]

    def post_json(self, path: str, data: dict) -> tuple[int, dict]:
        status_, _, body = self.request(path, data, {"Accept": "application/json"})
        return status_, json.loads(body)
