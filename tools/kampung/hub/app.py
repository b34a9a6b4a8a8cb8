"""The Kandig hub: reads the neighbourhood's MQTT traffic into SQLite and serves the dashboard.

    hub = Hub("rt05-kramat", "127.0.0.1", 1883, "hub", password, "hub.db", "0.0.0.0", 8080,
              ketua_password="...")
    await hub.run()          # until hub.stop() (callable from any thread)

- MQTT (aiomqtt): client id ``kandig-NET-hub``, persistent session (clean_session false: the
  broker queues QoS 1 messages while the hub is away), subscribes to ``kandig/v1/NET/#`` after
  every connect, publishes a retained ``hub/status`` online with a last will offline. When the
  broker goes away it reconnects with an exponential backoff (0.25 s doubling to ``backoff_max_s``).
- Every message is checked (``protocol.classify``). Invalid ones are counted per reason and
  house (table ``rejects``) and logged: the first ``LOG_FIRST`` of each reason in full, then one
  summary line every ``log_summary_s`` seconds, so a flood cannot fill the log.
- Valid ones are written in batches: one transaction per ``flush_s`` (50 ms) or per
  ``flush_n`` messages, whichever comes first (``db.Store.write``).
- The dashboard (``web.py``) gets a fresh state pushed over Server-Sent Events: at once after an
  alert, cancel, ack or test report, at most once a second for status and heartbeats.
- The hub's own messages (an alert from the RT head's form, the end of an alert, a self-test or
  drill command) use ids ``hub-<seq>``, with ``seq`` taken from the database before sending.
- A silent self-test goes to every house each day at ``selftest_at`` (default 03:00, local
  time; ``schedule.py`` decides when). Every self-test and drill command is judged
  ``test_grace_s`` (60 s) after it was sent: which houses reported ok, reported a failure, or
  stayed silent (table ``test_rounds``, shown on the dashboard). The hub's clock is ``now``
  (``clock=`` in the constructor), so tests move time instead of waiting for it.

Delivery: the MQTT client acknowledges a QoS 1 message when it is queued in the hub, and the
hub commits it within ``flush_s``; a hub killed in that window loses those messages' records
(the houses themselves still got them from the broker).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path
from typing import Any

import aiomqtt

from kampung.hub import auth, protocol, schedule
from kampung.hub.db import Batch, Store, Written
from kampung.hub.protocol import ALERT_TYPES, HUB, Message, Rejected

log = logging.getLogger("kampung.hub")

LOG_FIRST = 3  # rejections logged in full per reason; the rest go into the periodic summary
# A house answers a command within a second when it is connected; 60 s also covers one that is
# reconnecting (its Wi-Fi backoff waits at most 60 s, and the broker queues the command for it)
# and equals the houses' default heartbeat period.
TEST_GRACE_S = 60
SEND_RETRY_S = 30  # a scheduled self-test the broker refused is tried again after this long


class HubOffline(Exception):
    """The hub has no broker connection: nothing can be sent now."""


class RejectLog:
    """Logs rejected messages without flooding: the first few per reason, then summaries."""

    def __init__(self, logger: logging.Logger, first: int = LOG_FIRST, summary_s: float = 60):
        self.log = logger
        self.first = first
        self.summary_s = summary_s
        self.total: Counter[str] = Counter()
        self._logged: Counter[str] = Counter()
        self._since: Counter[str] = Counter()

    def note(self, rejected: Rejected, topic: str) -> None:
        reason = rejected.reason
        self.total[reason] += 1
        if self._logged[reason] < self.first:
            self._logged[reason] += 1
            detail = f" ({rejected.detail})" if rejected.detail else ""
            more = (f"; further {reason!r} rejections are counted and summarised every "
                    f"{self.summary_s:g} s" if self._logged[reason] == self.first else "")
            # repr: a topic may hold any characters, a log line must stay one line
            self.log.warning("rejected %s%s: %s on %r%s", reason, detail,
                             protocol.REASONS[reason], topic[:120], more)
        else:
            self._since[reason] += 1

    def summary(self) -> None:
        if self._since:
            parts = ", ".join(f"{reason} {n}" for reason, n in self._since.most_common())
            self.log.warning("rejected %d more messages in the last %g s: %s (totals: %s)",
                             sum(self._since.values()), self.summary_s, parts,
                             ", ".join(f"{r} {n}" for r, n in self.total.most_common()))
            self._since.clear()


class Hub:
    def __init__(self, net: str, broker_host: str, broker_port: int, user: str, password: str,
                 db_path: Path | str, http_host: str = "127.0.0.1", http_port: int = 8080, *,
                 config_path: Path | str | None = None, ketua_password: str | None = None,
                 houses: list[str] | tuple[str, ...] = (), private: bool = False,
                 rate_max: int = 3, rate_window_s: float = 300, stale_s: float = 180,
                 flush_s: float = 0.05, flush_n: int = 500, log_summary_s: float = 60,
                 keepalive: int = 20, backoff_max_s: float = 10,
                 alert_types: dict[str, str] | None = None, secure_cookies: bool = False,
                 selftest_at: str | None = schedule.DEFAULT_AT, test_grace_s: float = TEST_GRACE_S,
                 clock: Callable[[], float] | None = None, tz: tzinfo | None = None,
                 schedule_tick_s: float = 1.0):
        self.net = protocol.check_net(net)
        self.prefix = protocol.prefix(net)
        self.broker_host = broker_host
        self.broker_port = broker_port
        self.user = user
        self.password = password
        self.db_path = Path(db_path)
        self.http_host = http_host
        self.http_port = http_port  # the real port once started (0 = any free port)
        self.houses = [protocol.check_house(h) for h in houses]
        self.private = private
        self.secure_cookies = secure_cookies  # behind a TLS proxy: cookies only over HTTPS
        self.rate_max = rate_max
        self.rate_window_s = rate_window_s
        self.stale_s = stale_s
        self.flush_s = flush_s
        self.flush_n = flush_n
        self.keepalive = keepalive
        self.backoff_max_s = backoff_max_s
        self.alert_types = dict(ALERT_TYPES if alert_types is None else alert_types)
        self.client_id = f"kandig-{net}-{HUB}"
        self.ketua_hash = self._ketua_hash(config_path, ketua_password)
        # the daily silent self-test: None when off ("off" or None)
        at = schedule.parse_at(selftest_at)
        self.selftest = None if at is None else schedule.Daily(at, tz)
        self.test_grace_s = test_grace_s
        self.schedule_tick_s = schedule_tick_s
        self.now: Callable[[], float] = clock or time.time  # Unix seconds; tests move it
        self._selftest_day: str | None = None  # the last scheduled self-test's day (database)
        self._selftest_armed = 0.0  # when this database first ran with a schedule
        self._selftest_retry = 0.0  # hub time before which a refused scheduled test waits
        self._selftest_waiting = ""  # why a due self-test waits: "alert", "broker" or ""
        self._pending: dict[str, float] = {}  # rounds waiting for their reports: id -> due
        self._connected_at = 0.0  # time.monotonic() of the current broker connection
        self._step_lock = asyncio.Lock()

        self.rejects = RejectLog(log, summary_s=log_summary_s)
        self.stats: dict[str, int] = {"received": 0, "stored": 0, "rejected": 0, "duplicates": 0,
                                      "rate_limited": 0, "connects": 0, "db_errors": 0}
        self.connected = False
        self.started = threading.Event()  # set once the web server listens
        self.store: Store | None = None
        self._batch = Batch()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._client: aiomqtt.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_early = False
        self._changed = asyncio.Event()
        self._urgent = asyncio.Event()
        self.web: Any = None  # web.Web, once running

    @staticmethod
    def _ketua_hash(config_path: Path | str | None, password: str | None) -> dict | None:
        if password is None and config_path is not None:
            record = auth.read_config(Path(config_path)).get(auth.USER)
            if record is not None:
                return record
        if password is None:
            password = os.environ.get(auth.ENV_PASSWORD) or None
        if password is None:
            return None
        return auth.hash_password(password, iterations=auth.ITERATIONS)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "") else self.http_host
        return f"http://{host}:{self.http_port}"

    # -- life cycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until ``stop()``; then say offline, write what is pending and close."""
        from kampung.hub.web import Web

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._changed = asyncio.Event()
        self._urgent = asyncio.Event()
        self._step_lock = asyncio.Lock()
        if self._stop_early:
            self._stop.set()
        self.store = Store(self.db_path, self.rate_max, self.rate_window_s, now=self.now())
        self._pending = self.store.pending_rounds()
        self._selftest_day = self.store.meta("selftest_day")
        if self.selftest is not None:
            self._selftest_armed = float(self.store.meta_default("selftest_armed",
                                                                 repr(self.now())))
        self.web = Web(self)
        try:
            self.http_port = await self.web.start(self.http_host, self.http_port)
            if self.ketua_hash is None:
                log.warning("no password for %r: the dashboard's forms are locked "
                            "(kampung hub set-password, or %s)", auth.USER, auth.ENV_PASSWORD)
            log.info("dashboard on %s (net %s, broker %s:%d)", self.url, self.net,
                     self.broker_host, self.broker_port)
            log.info("silent self-test: %s", "off" if self.selftest is None else
                     f"every day at {self.selftest}, judged after {self.test_grace_s:g} s")
            tasks = [asyncio.create_task(self._mqtt(), name="mqtt"),
                     asyncio.create_task(self._push(), name="push"),
                     asyncio.create_task(self._summaries(), name="summaries"),
                     asyncio.create_task(self._schedule(), name="schedule")]
            self.started.set()
            await self._stop.wait()
            if self._client is not None and self.connected:
                try:  # a clean goodbye: the broker's last will is only for a hub that vanished
                    await self._client.publish(self.prefix + "hub/status", self._status("offline"),
                                               qos=1, retain=True, timeout=2)
                except (aiomqtt.MqttError, asyncio.TimeoutError):
                    pass
            await _cancel(tasks)
            self._flush()
            self.rejects.summary()
        finally:
            await self.web.stop()
            self.store.close()
            self.connected = False
            log.info("hub stopped (received %d, stored %d, rejected %d, duplicates %d)",
                     self.stats["received"], self.stats["stored"], self.stats["rejected"],
                     self.stats["duplicates"])

    def stop(self) -> None:
        """End ``run()``; safe to call from any thread, before or after it started."""
        loop, stop = self._loop, self._stop
        if loop is None or stop is None:
            self._stop_early = True
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            stop.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)

    # -- MQTT ---------------------------------------------------------------------------------

    def _status(self, state: str) -> str:
        return json.dumps({"v": protocol.PROTOCOL, "house": HUB, "state": state,
                           "t": int(self.now()) if state == "online" else 0})

    async def _mqtt(self) -> None:
        backoff = 0.25
        will = aiomqtt.Will(self.prefix + "hub/status", self._status("offline"), qos=1, retain=True)
        stop = self._stop
        assert stop is not None
        while not stop.is_set():
            try:
                async with aiomqtt.Client(self.broker_host, self.broker_port, username=self.user,
                                          password=self.password, identifier=self.client_id,
                                          clean_session=False, will=will,
                                          keepalive=self.keepalive, timeout=10) as client:
                    await client.subscribe(self.prefix + "#", qos=1)
                    await client.publish(self.prefix + "hub/status", self._status("online"),
                                         qos=1, retain=True)
                    self._client = client
                    self.connected = True
                    self._connected_at = time.monotonic()
                    self.stats["connects"] += 1
                    backoff = 0.25
                    log.info("connected to the broker %s:%d as %s", self.broker_host,
                             self.broker_port, self.user)
                    self.changed(urgent=True)
                    async for message in client.messages:
                        self._receive(message)
            except aiomqtt.MqttError as e:
                task = asyncio.current_task()
                if stop.is_set() or (task is not None and task.cancelling()):
                    # cancelled while leaving the connection: aiomqtt reports the interrupted
                    # disconnect as an MqttError, which must not start a reconnect
                    raise asyncio.CancelledError from e
                if self.connected:
                    log.warning("lost the broker: %s", e)
                else:
                    log.warning("cannot reach the broker %s:%d: %s (again in %.1f s)",
                                self.broker_host, self.broker_port, e, backoff)
            finally:
                if self.connected:
                    self.connected = False
                    self.changed(urgent=True)
                self._client = None
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, self.backoff_max_s)

    def _receive(self, message: aiomqtt.Message) -> None:
        now = self.now()
        self.stats["received"] += 1
        topic = message.topic.value
        raw = message.payload
        payload = bytes(raw) if isinstance(raw, (bytes, bytearray)) else str(raw).encode()
        try:
            m = protocol.classify(self.net, topic, payload)
        except Rejected as r:
            self.stats["rejected"] += 1
            self.rejects.note(r, topic)
            self._batch.reject(r.reason, protocol.topic_house(self.net, topic), topic[:200], now)
        else:
            self._batch.messages.append((now, m))
        if len(self._batch.messages) >= self.flush_n:
            self._flush()
        elif self._flush_handle is None and self._loop is not None:
            self._flush_handle = self._loop.call_later(self.flush_s, self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        batch, self._batch = self._batch, Batch()
        if not len(batch) or self.store is None:
            return
        try:
            written = self.store.write(batch)
        except Exception as e:  # a full disk must not stop the hub from listening
            written = self._write_each(self.store, batch, e)
        refused = len(written.refusals)
        self.stats["stored"] += len(batch.messages) - written.duplicates - written.failed - refused
        self.stats["rejected"] += refused
        for reason, _house, what, _received in written.refusals:
            self.rejects.note(Rejected(reason), what)  # logged like any other rejection
        self.stats["duplicates"] += written.duplicates
        self.stats["rate_limited"] += written.rate_limited
        if written.rate_limited:
            log.warning("%d alert(s) over the rate limit (%d per %g s): recorded, not shown live",
                        written.rate_limited, self.rate_max, self.rate_window_s)
        if written.changed or batch.rejects:
            self.changed(urgent=written.urgent)

    def _write_each(self, store: Store, batch: Batch, error: Exception) -> Written:
        """The database refused a batch. A row it cannot hold (a constraint, a trigger) must
        lose only itself, not the alerts received in the same moment: the messages are stored
        one by one. A database that refuses everything (disk full, locked) is logged once."""
        total = Written()
        if isinstance(error, sqlite3.OperationalError):
            self.stats["db_errors"] += 1
            total.failed = len(batch.messages)
            log.error("could not store %d messages: %s", len(batch.messages), error)
            return total
        parts = [Batch(messages=[m]) for m in batch.messages]
        if batch.rejects:
            parts.append(Batch(rejects=batch.rejects))
        for part in parts:
            try:
                w = store.write(part)
            except Exception as e:
                self.stats["db_errors"] += 1
                if part.messages:
                    m = part.messages[0][1]
                    log.error("could not store a %s from %s (%s): %s; dropped", m.kind, m.house,
                              json.dumps(m.data)[:200], e)
                    total.failed += 1
                else:
                    log.error("could not store the rejection counts: %s", e)
                continue
            total.add(w)
        return total

    # -- the hub's own messages ---------------------------------------------------------------

    async def _send(self, subtopic: str, payload: dict[str, Any]) -> str:
        client = self._client
        if client is None or not self.connected:
            raise HubOffline("the hub is not connected to the broker")
        text = json.dumps(payload, separators=(",", ":"))
        try:
            await client.publish(self.prefix + subtopic, text, qos=1, timeout=10)
        except (aiomqtt.MqttError, asyncio.TimeoutError) as e:
            raise HubOffline(str(e)) from e
        return text

    def _store_own(self, kind: str, msg_id: str, text: str, now: float, data: dict[str, Any]) -> None:
        assert self.store is not None
        self.store.record_broadcast(kind, msg_id, text, now)
        if kind in ("alert", "cancel"):
            self._batch.messages.append((now, Message("hub", kind, HUB, data)))
        self._flush()

    async def broadcast_alert(self, alert_type: str, drill: bool) -> str:
        """Send an alert to every house as the hub (the RT head's form); returns its id."""
        if alert_type not in self.alert_types:
            raise ValueError(f"unknown alert type {alert_type!r}")
        assert self.store is not None
        seq = self.store.next_hub_seq()
        now = self.now()
        data = {"v": protocol.PROTOCOL, "id": f"{HUB}-{seq}", "type": alert_type, "house": HUB,
                "seq": seq, "t": int(now), "drill": bool(drill)}
        text = await self._send("hub/alert", data)
        self._store_own("alert", data["id"], text, now, data)
        log.info("broadcast alert %s %s%s", data["id"], alert_type, " (drill)" if drill else "")
        return data["id"]

    async def end_alert(self, alert_id: str) -> None:
        """hub/cancel why=done for an alert still running."""
        assert self.store is not None
        if self.store.alert_state(alert_id, self.now()) not in ("active", "expired"):
            raise KeyError(alert_id)
        now = self.now()
        data = {"v": protocol.PROTOCOL, "id": alert_id, "house": HUB, "why": "done", "t": int(now)}
        text = await self._send("hub/cancel", data)
        self._store_own("cancel", alert_id, text, now, data)
        log.info("ended alert %s", alert_id)

    async def command(self, cmd: str, alert_type: str | None = None, *,
                      scheduled_day: str | None = None) -> str:
        """A self-test (silent) or drill command to every house; returns its id. Its round is
        judged ``test_grace_s`` later. ``scheduled_day``: the daily self-test of that day."""
        if cmd not in ("selftest", "drill"):
            raise ValueError(f"unknown command {cmd!r}")
        if cmd == "drill" and alert_type not in self.alert_types:
            raise ValueError(f"unknown alert type {alert_type!r}")
        assert self.store is not None
        seq = self.store.next_hub_seq()
        now = self.now()
        data: dict[str, Any] = {"v": protocol.PROTOCOL, "cmd": cmd, "id": f"{HUB}-{seq}",
                                "t": int(now)}
        if cmd == "drill":
            data["type"] = alert_type
        text = await self._send("hub/command", data)
        # recorded once the broker has it: a hub killed in between sends the day's self-test
        # again after its restart (a second silent test), rather than never
        due = now + self.test_grace_s
        self.store.record_command(data["id"], text, now, cmd, data.get("type"), due, scheduled_day)
        self._pending[data["id"]] = due
        if scheduled_day is not None:
            self._selftest_day = scheduled_day
        self._flush()
        self.changed(urgent=True)
        log.info("command %s %s%s", data["id"], cmd,
                 f" (the scheduled self-test of {scheduled_day})" if scheduled_day else "")
        return data["id"]

    # -- the daily self-test and the judging of rounds ----------------------------------------

    async def _schedule(self) -> None:
        while True:
            await asyncio.sleep(self.schedule_tick_s)
            try:
                await self.schedule_step()
            except Exception:  # a database error must not end the schedule for good
                log.exception("self-test schedule step failed")

    async def schedule_step(self) -> None:
        """Judge the rounds whose grace has passed; send the day's self-test when it is due.
        Runs every ``schedule_tick_s`` on the hub's loop; a test may call it there too (one
        step at a time: two steps together would both find the day's test due)."""
        async with self._step_lock:
            await self._step()

    async def _step(self) -> None:
        assert self.store is not None
        now = self.now()
        # reports the broker kept for a hub that was away arrive just after it reconnects
        settled = self.connected and time.monotonic() - self._connected_at >= 1.0
        if settled:
            for msg_id, due in sorted(self._pending.items(), key=lambda x: x[1]):
                if now >= due:
                    del self._pending[msg_id]  # first: a round that cannot be judged is not retried
                    self._flush()  # reports still in the batch count
                    r = self.store.evaluate_round(msg_id, now, self.houses)
                    log.info("%s %s: %d ok, %d failing%s, %d silent%s",
                             "self-test" if r["kind"] == "selftest" else "drill", msg_id,
                             len(r["ok"]), len(r["failing"]), _names(r["failing"]),
                             len(r["silent"]), _names(r["silent"]))
                    self.changed(urgent=True)
        if self.selftest is None:
            return
        day = self.selftest.due(now, self._selftest_day, self._selftest_armed)
        if day is None or now < self._selftest_retry:
            self._selftest_waiting = ""
            return
        if self.store.real_alerts_active(now):
            # never during a real alarm: the houses' answer must not compete with the alert
            self._wait("alert", f"the scheduled self-test of {day} waits: an alert is active")
            return
        if not self.connected:
            self._wait("broker", f"the scheduled self-test of {day} waits for the broker")
            return
        try:
            await self.command("selftest", scheduled_day=day)
        except HubOffline as e:
            self._selftest_retry = now + SEND_RETRY_S
            log.warning("the scheduled self-test of %s was not sent (%s); again in %d s",
                        day, e, SEND_RETRY_S)
        self._selftest_waiting = ""

    def _wait(self, why: str, message: str) -> None:
        """Note (and log once) why a due self-test is not sent yet."""
        if why != self._selftest_waiting:
            self._selftest_waiting = why
            log.info("%s", message)
            self.changed()

    def schedule_state(self) -> dict[str, Any]:
        """The schedule as the dashboard shows it."""
        d = self.selftest
        now = self.now()
        return {"selftest_at": None if d is None else str(d),
                "next": None if d is None else d.next_at(now, self._selftest_day,
                                                         self._selftest_armed),
                "last_day": self._selftest_day, "grace_s": self.test_grace_s,
                "waiting": self._selftest_waiting or None}

    # -- dashboard state ----------------------------------------------------------------------

    def changed(self, urgent: bool = False) -> None:
        self._changed.set()
        if urgent:
            self._urgent.set()

    def state(self) -> dict[str, Any]:
        assert self.store is not None
        now = self.now()
        s = self.store.state(now, self.houses, self.stale_s)
        s.update({"net": self.net, "now": now, "connected": self.connected,
                  "schedule": self.schedule_state(),
                  "stats": dict(self.stats),
                  "types": [{"type": k, "name": v} for k, v in self.alert_types.items()],
                  "reasons": protocol.REASONS_ID})
        return s

    async def _push(self) -> None:
        """Fresh state to the dashboards: urgent changes at once, the rest at most 1/s."""
        last = 0.0
        while True:
            await self._changed.wait()
            wait = last + 1.0 - time.monotonic()
            if wait > 0 and not self._urgent.is_set():
                try:
                    await asyncio.wait_for(self._urgent.wait(), wait)
                except asyncio.TimeoutError:
                    pass
            self._changed.clear()
            self._urgent.clear()
            if self.web is not None and self.web.listeners:
                self.web.push(self.state())
            last = time.monotonic()
            await asyncio.sleep(0.05)

    async def _summaries(self) -> None:
        while True:
            await asyncio.sleep(self.rejects.summary_s)
            self.rejects.summary()


def _names(houses: list[str], most: int = 20) -> str:
    if not houses:
        return ""
    more = f", +{len(houses) - most} more" if len(houses) > most else ""
    return " (" + ", ".join(houses[:most]) + more + ")"


async def _cancel(tasks: list[asyncio.Task]) -> None:
    """Cancel and wait. Again if need be: before Python 3.12, asyncio.wait_for (used inside
    aiomqtt) loses a cancellation that arrives just as the awaited reply does (CPython
    gh-86296), and the task carries on."""
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s task failed", task.get_name(), exc_info=task.exception())


class HubThread:
    """A hub running in its own thread's event loop, for callers that stay synchronous (the demo,
    the benchmarks and the tests). ``stop()`` waits for it and raises what ended it early."""

    def __init__(self, hub: Hub, timeout: float = 15):
        self.hub = hub
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="kandig-hub", daemon=True)
        self.thread.start()
        if not hub.started.wait(timeout) or self.error is not None:
            raise RuntimeError(f"the hub did not start: {self.error!r}")

    def _run(self) -> None:
        try:
            asyncio.run(self.hub.run())
        except BaseException as e:  # noqa: BLE001 - raised again by stop() or the start wait
            self.error = e
            self.hub.started.set()

    def stop(self, timeout: float = 15) -> None:
        self.hub.stop()
        self.thread.join(timeout)
        if self.thread.is_alive():
            loop = self.hub._loop
            stacks = []
            if loop is not None:
                for task in asyncio.all_tasks(loop):
                    out = io.StringIO()
                    task.print_stack(file=out)
                    stacks.append(out.getvalue())
            raise RuntimeError(f"the hub did not stop within {timeout} s; its tasks:\n"
                               + "\n".join(stacks))
        if self.error is not None:
            raise self.error
