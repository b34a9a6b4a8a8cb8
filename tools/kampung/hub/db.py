"""The hub's SQLite database: what the houses said, what the hub sent, what it dropped.

One writer (the hub's event loop) writes in batches: ``Store.write(batch)`` puts a whole batch
of received messages in one transaction, so ~575 messages a second cost ~20 commits, not 575.
WAL journal with synchronous=NORMAL: readers (the dashboard, ``sqlite3 hub.db``) never block
the writer, and a power cut loses at most the last commits, never the database.

Times: ``t`` is the sender's clock (Unix seconds, 0 = no clock), ``received`` the hub's. The
schema is in docs/kandig-hub.md; ``SCHEMA_VERSION`` is kept in ``meta`` (version 2 added
``test_rounds``; a version 1 database gains it when opened).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kampung.hub import schedule
from kampung.hub.protocol import HUB, Message

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,              -- HOUSE-SEQ (hub-SEQ for the hub's): de-duplication
    house TEXT NOT NULL, type TEXT NOT NULL, seq INTEGER NOT NULL,
    t REAL NOT NULL, drill INTEGER NOT NULL,
    rate_limited INTEGER NOT NULL DEFAULT 0,  -- beyond rate_max per rate_window_s: not shown live
    received REAL NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_received ON alerts(received);
CREATE TABLE IF NOT EXISTS cancels (
    id TEXT NOT NULL, house TEXT NOT NULL, why TEXT NOT NULL, t REAL, received REAL NOT NULL,
    PRIMARY KEY (id, house));
CREATE TABLE IF NOT EXISTS acks (
    id TEXT NOT NULL, house TEXT NOT NULL, t REAL, received REAL NOT NULL,
    PRIMARY KEY (id, house));
CREATE TABLE IF NOT EXISTS houses (
    house TEXT PRIMARY KEY, state TEXT, fw TEXT, boot INTEGER, status_t REAL,
    status_received REAL, last_beat REAL, up INTEGER, rssi INTEGER, outbox INTEGER,
    seq INTEGER);
CREATE TABLE IF NOT EXISTS tests (
    id TEXT NOT NULL, house TEXT NOT NULL, kind TEXT NOT NULL, ok INTEGER NOT NULL,
    siren INTEGER, buzzer INTEGER, t REAL, received REAL NOT NULL,
    PRIMARY KEY (id, house));
CREATE TABLE IF NOT EXISTS broadcasts (
    kind TEXT NOT NULL,               -- alert, cancel or command
    id TEXT NOT NULL, payload TEXT NOT NULL, sent REAL NOT NULL,
    PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS test_rounds (
    id TEXT PRIMARY KEY,              -- the command's hub-SEQ
    kind TEXT NOT NULL,               -- selftest or drill
    type TEXT,                        -- a drill's alert type
    scheduled INTEGER NOT NULL,       -- 1: the daily self-test, 0: from the dashboard
    sent REAL NOT NULL, due REAL NOT NULL,   -- judged at due = sent + grace
    evaluated REAL,                   -- NULL while the round waits for its reports
    ok TEXT, failing TEXT, silent TEXT);  -- JSON lists of house ids, once evaluated
CREATE TABLE IF NOT EXISTS rejects (
    reason TEXT NOT NULL, house TEXT NOT NULL,   -- house '' when the topic names none
    count INTEGER NOT NULL, first REAL NOT NULL, last REAL NOT NULL, last_topic TEXT,
    PRIMARY KEY (reason, house));
"""


@dataclass
class Batch:
    """Messages received since the last write, and rejection counts."""
    messages: list[tuple[float, Message]] = field(default_factory=list)
    rejects: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # -> [n, first, last, topic]

    def __len__(self) -> int:
        return len(self.messages) + len(self.rejects)

    def reject(self, reason: str, house: str, topic: str, now: float) -> None:
        entry = self.rejects.get((reason, house))
        if entry is None:
            self.rejects[(reason, house)] = [1, now, now, topic]
        else:
            entry[0] += 1
            entry[2] = now
            entry[3] = topic


@dataclass
class Written:
    """What a write changed: the dashboard pushes at once when ``urgent``."""
    alerts: int = 0
    duplicates: int = 0
    rate_limited: int = 0
    failed: int = 0  # messages the database refused (counted in the hub's db_errors)
    # acks and test reports about alerts and commands the hub does not know:
    # (reason, house, what, received), counted in the rejects table
    refusals: list[tuple[str, str, str, float]] = field(default_factory=list)

    def add(self, other: Written) -> None:
        """Count ``other`` in too (a batch written in parts)."""
        self.alerts += other.alerts
        self.duplicates += other.duplicates
        self.rate_limited += other.rate_limited
        self.failed += other.failed
        self.refusals += other.refusals
        self.urgent |= other.urgent
        self.changed |= other.changed
    urgent: bool = False
    changed: bool = False


class Store:
    def __init__(self, path: Path | str, rate_max: int = 3, rate_window_s: float = 300,
                 now: float | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_dir():
            raise ValueError(f"--db {self.path} is a folder: name a database file in it, for "
                             f"example {self.path / 'kandig-hub.db'}")
        self.db = sqlite3.connect(self.path, isolation_level=None)  # explicit BEGIN/COMMIT
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=OFF")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise ValueError(f"--db {self.path}: not a database the hub can use ({e}); name a "
                             "new file, or the hub's own database") from None
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('hub_seq', '0')")
        self.db.execute("UPDATE meta SET value = ? WHERE key = 'schema' AND "
                        "CAST(value AS INTEGER) < ?", (str(SCHEMA_VERSION), SCHEMA_VERSION))
        self.rate_max = rate_max
        self.rate_window_s = rate_window_s
        # per house: receive times of its recent (counted) alerts, from the database after a restart
        self._recent: dict[str, deque[float]] = {}
        since = (time.time() if now is None else now) - rate_window_s
        for row in self.db.execute("SELECT house, received FROM alerts WHERE received >= ? AND "
                                   "rate_limited = 0 AND house != ? ORDER BY received",
                                   (since, HUB)):
            self._recent.setdefault(row["house"], deque()).append(row["received"])

    def close(self) -> None:
        self.db.close()

    def journal_mode(self) -> str:
        return self.db.execute("PRAGMA journal_mode").fetchone()[0]

    # -- the hub's own counter ----------------------------------------------------------------

    def next_hub_seq(self) -> int:
        """The next ``hub-<seq>``, committed before the message using it is sent (never reused)."""
        with self._tx():
            self.db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'hub_seq'")
            return int(self.db.execute("SELECT value FROM meta WHERE key = 'hub_seq'").fetchone()[0])

    def record_broadcast(self, kind: str, msg_id: str, payload: str, now: float) -> None:
        with self._tx():
            self.db.execute("INSERT OR IGNORE INTO broadcasts VALUES (?, ?, ?, ?)",
                            (kind, msg_id, payload, now))

    # -- self-tests and drills ----------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def meta_default(self, key: str, value: str) -> str:
        """The value of ``key``, first set to ``value`` if the database has none."""
        self.db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
        return str(self.meta(key))

    def record_command(self, msg_id: str, payload: str, now: float, kind: str,
                       alert_type: str | None, due: float, scheduled_day: str | None) -> None:
        """A sent self-test or drill command, the round waiting for its reports and, for the
        scheduled self-test, its day (``meta.selftest_day``): one transaction."""
        with self._tx():
            self.db.execute("INSERT OR IGNORE INTO broadcasts VALUES ('command', ?, ?, ?)",
                            (msg_id, payload, now))
            self.db.execute("INSERT OR IGNORE INTO test_rounds (id, kind, type, scheduled, sent, "
                            "due) VALUES (?, ?, ?, ?, ?, ?)",
                            (msg_id, kind, alert_type, int(scheduled_day is not None), now, due))
            if scheduled_day is not None:
                self.db.execute("INSERT INTO meta VALUES ('selftest_day', ?) ON CONFLICT(key) "
                                "DO UPDATE SET value = excluded.value", (scheduled_day,))

    def pending_rounds(self) -> dict[str, float]:
        """Rounds not judged yet: id -> due."""
        return {r["id"]: r["due"] for r in self.db.execute(
            "SELECT id, due FROM test_rounds WHERE evaluated IS NULL")}

    def evaluate_round(self, msg_id: str, now: float, houses: list[str]) -> dict[str, Any]:
        """Judge a round by the reports stored now: every house the hub expects (``houses``)
        or knows (table ``houses``), and any that reported, is ok, failing or silent."""
        known = [r[0] for r in self.db.execute("SELECT house FROM houses")]
        reports = {r["house"]: bool(r["ok"]) for r in self.db.execute(
            "SELECT house, ok FROM tests WHERE id = ?", (msg_id,))}
        verdict = schedule.judge([*houses, *known], reports, key=_house_key)
        with self._tx():
            self.db.execute("UPDATE test_rounds SET evaluated = ?, ok = ?, failing = ?, "
                            "silent = ? WHERE id = ?",
                            (now, json.dumps(verdict["ok"]), json.dumps(verdict["failing"]),
                             json.dumps(verdict["silent"]), msg_id))
        return self._round(self.db.execute("SELECT * FROM test_rounds WHERE id = ?",
                                           (msg_id,)).fetchone())

    def real_alerts_active(self, now: float, active_s: float | None = None) -> int:
        """Alerts (not drills, not over the rate limit) still running: the scheduled self-test
        waits for them to end."""
        active_s = ACTIVE_S if active_s is None else active_s
        return self.db.execute(
            "SELECT COUNT(*) FROM alerts a WHERE drill = 0 AND rate_limited = 0 AND received > ? "
            "AND NOT EXISTS (SELECT 1 FROM cancels c WHERE c.id = a.id)",
            (now - active_s,)).fetchone()[0]

    def _round(self, row: Any) -> dict[str, Any]:
        r = dict(row)
        r["scheduled"] = bool(r["scheduled"])
        for k in ("ok", "failing", "silent"):
            r[k] = json.loads(r[k]) if r[k] is not None else None
        if r["evaluated"] is None:  # still waiting: who has reported so far
            r["reported"] = [x[0] for x in self.db.execute(
                "SELECT house FROM tests WHERE id = ? ORDER BY received", (r["id"],))]
        return r

    def rounds(self) -> dict[str, Any]:
        """The latest judged self-test and drill, and the rounds still waiting."""
        latest: dict[str, Any] = {}
        for kind in ("selftest", "drill"):
            row = self.db.execute("SELECT * FROM test_rounds WHERE kind = ? AND evaluated IS NOT "
                                  "NULL ORDER BY sent DESC LIMIT 1", (kind,)).fetchone()
            latest[kind] = None if row is None else self._round(row)
        pending = [self._round(r) for r in self.db.execute(
            "SELECT * FROM test_rounds WHERE evaluated IS NULL ORDER BY sent DESC")]
        return {"reports": latest, "pending": pending}

    # -- ingest -------------------------------------------------------------------------------

    def _tx(self):
        return _Transaction(self.db)

    def _rate_ok(self, house: str, now: float) -> bool:
        if house == HUB:
            return True
        recent = self._recent.setdefault(house, deque())
        while recent and recent[0] < now - self.rate_window_s:
            recent.popleft()
        if len(recent) >= self.rate_max:
            return False
        recent.append(now)
        return True

    def write(self, batch: Batch) -> Written:
        """Store one batch in one transaction. The batch is not changed, and neither is the
        rate limit's memory when the transaction fails (the caller may try again)."""
        recent = {h: deque(q) for h, q in self._recent.items()}
        try:
            return self._write(batch)
        except BaseException:
            self._recent = recent
            raise

    def _write(self, batch: Batch) -> Written:
        out = Written()
        beats: dict[str, tuple[float, dict[str, Any]]] = {}  # only the latest beat per house
        rejects = {key: list(entry) for key, entry in batch.rejects.items()}
        db = self.db
        with self._tx():
            for received, m in batch.messages:
                d = m.data
                kind = m.kind
                if kind == "beat":
                    beats[m.house] = (received, d)
                    continue
                out.changed = True
                if kind == "status":
                    if m.source == "hub":
                        continue  # the hub's own status: it knows
                    db.execute(
                        "INSERT INTO houses (house, state, fw, boot, status_t, status_received) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(house) DO UPDATE SET "
                        "state = excluded.state, fw = COALESCE(excluded.fw, fw), "
                        "boot = COALESCE(excluded.boot, boot), status_t = excluded.status_t, "
                        "status_received = excluded.status_received",
                        (m.house, d["state"], d.get("fw"), d.get("boot"), d.get("t"), received))
                elif kind == "alert":
                    exists = db.execute("SELECT 1 FROM alerts WHERE id = ?", (d["id"],)).fetchone()
                    if exists:
                        out.duplicates += 1
                        continue
                    limited = not self._rate_ok(m.house, received)
                    db.execute("INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (d["id"], m.house, d["type"], d["seq"], d["t"],
                                int(d.get("drill", False)), int(limited), received))
                    out.alerts += 1
                    out.rate_limited += limited
                    out.urgent = True
                elif kind == "cancel":
                    db.execute("INSERT OR IGNORE INTO cancels VALUES (?, ?, ?, ?, ?)",
                               (d["id"], m.house, d["why"], d.get("t"), received))
                    out.urgent = True
                elif kind == "ack":
                    if not db.execute("SELECT 1 FROM alerts WHERE id = ?", (d["id"],)).fetchone():
                        out.refusals.append(("unknown_alert", m.house, f"ack of {d['id']}", received))
                        continue
                    db.execute("INSERT OR IGNORE INTO acks VALUES (?, ?, ?, ?)",
                               (d["id"], m.house, d.get("t"), received))
                    out.urgent = True
                elif kind == "test":
                    # the hub's own command comes back from the broker before any house can
                    # answer it (one queue to the hub), so a report of a real command finds it
                    if not db.execute("SELECT 1 FROM broadcasts WHERE kind = 'command' AND id = ?",
                                      (d["id"],)).fetchone():
                        out.refusals.append(("unknown_command", m.house, f"test report of {d['id']}",
                                             received))
                        continue
                    db.execute("INSERT OR IGNORE INTO tests VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (d["id"], m.house, d["kind"], int(d["ok"]), _opt_int(d.get("siren")),
                                _opt_int(d.get("buzzer")), d.get("t"), received))
                    out.urgent = True
                elif kind == "command":
                    db.execute("INSERT OR IGNORE INTO broadcasts VALUES ('command', ?, ?, ?)",
                               (d["id"], _compact(d), received))
            if beats:
                out.changed = True
                db.executemany(
                    "INSERT INTO houses (house, last_beat, up, rssi, outbox, seq) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(house) DO UPDATE SET "
                    "last_beat = excluded.last_beat, up = excluded.up, rssi = excluded.rssi, "
                    "outbox = excluded.outbox, seq = excluded.seq",
                    [(h, r, d["up"], d.get("rssi"), d["outbox"], d["seq"])
                     for h, (r, d) in beats.items()])
            counted = Batch(rejects=rejects)
            for refusal in out.refusals:
                counted.reject(*refusal)
            if rejects:
                db.executemany(
                    "INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(reason, house) "
                    "DO UPDATE SET count = count + excluded.count, last = excluded.last, "
                    "last_topic = excluded.last_topic",
                    [(reason, house, n, first, last, topic)
                     for (reason, house), (n, first, last, topic) in rejects.items()])
        return out

    # -- reading ------------------------------------------------------------------------------

    def alert_state(self, alert_id: str, now: float | None = None) -> str | None:
        """None for an unknown alert, else its status (see ``_status``)."""
        row = self.db.execute(f"SELECT a.*, {_CANCEL_COLS} FROM alerts a WHERE id = ?",
                              (alert_id,)).fetchone()
        return None if row is None else _status(row, time.time() if now is None else now, ACTIVE_S)

    def state(self, now: float, houses: list[str], stale_s: float,
              active_s: float | None = None) -> dict[str, Any]:
        """Everything the dashboard shows, as plain JSON-able data."""
        active_s = ACTIVE_S if active_s is None else active_s
        db = self.db
        known: dict[str, dict[str, Any]] = {h: {"house": h, "state": "unknown"} for h in houses}
        for row in db.execute("SELECT * FROM houses"):
            h = dict(row)
            h["state"] = h["state"] or "unknown"
            known[row["house"]] = h
        for h in known.values():
            last = max(h.get("last_beat") or 0, h.get("status_received") or 0)
            h["last_seen"] = last or None
            h["stale"] = h["state"] == "online" and (now - last) > stale_s
        alerts = [dict(r) | {"status": _status(r, now, active_s)} for r in db.execute(
            f"SELECT a.*, {_CANCEL_COLS} FROM alerts a ORDER BY received DESC LIMIT 100")]
        ids = [a["id"] for a in alerts]
        acks: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            marks = ",".join("?" * len(ids))
            for r in db.execute(f"SELECT id, house FROM acks WHERE id IN ({marks}) "
                                "ORDER BY received", ids):
                acks[r["id"]].append(r["house"])
        for a in alerts:
            a["drill"] = bool(a["drill"])
            a["rate_limited"] = bool(a["rate_limited"])
            a["acks"] = acks[a["id"]]
            for k in ("cancel_why", "cancel_house"):
                a.pop(k, None)
        tests = [dict(r) for r in db.execute("SELECT * FROM tests ORDER BY received DESC LIMIT 100")]
        for t in tests:
            for k in ("ok", "siren", "buzzer"):
                t[k] = None if t[k] is None else bool(t[k])
        commands = []
        for r in db.execute("SELECT b.id, b.payload, b.sent, COUNT(t.house) AS reports, "
                            "SUM(t.ok) AS ok, (SELECT scheduled FROM test_rounds r WHERE "
                            "r.id = b.id) AS scheduled FROM broadcasts b LEFT JOIN tests t "
                            "ON t.id = b.id WHERE b.kind = 'command' GROUP BY b.id "
                            "ORDER BY b.sent DESC LIMIT 20"):
            commands.append({"id": r["id"], "payload": r["payload"], "sent": r["sent"],
                             "reports": r["reports"], "ok": r["ok"] or 0,
                             "scheduled": bool(r["scheduled"])})
        rejects = [dict(r) for r in db.execute(
            "SELECT reason, house, count, first, last FROM rejects ORDER BY last DESC LIMIT 50")]
        return {
            "houses": sorted(known.values(), key=lambda h: _house_key(h["house"])),
            "active": [a for a in alerts if a["status"] == "active"],
            "history": alerts,
            "tests": tests,
            "commands": commands,
            "rejects": rejects,
            **self.rounds(),
        }

    def count(self, table: str) -> int:
        if table not in ("alerts", "cancels", "acks", "houses", "tests", "broadcasts", "rejects",
                         "test_rounds"):
            raise ValueError(table)
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


# An alert nobody ended stops being "active" after this long (it stays in the history).
ACTIVE_S = 12 * 3600

# the first cancel of an alert, as two columns of an alerts query
_CANCEL_COLS = ("(SELECT why FROM cancels c WHERE c.id = a.id ORDER BY received LIMIT 1) "
                "AS cancel_why, (SELECT house FROM cancels c WHERE c.id = a.id "
                "ORDER BY received LIMIT 1) AS cancel_house")


def _status(row: Any, now: float, active_s: float) -> str:
    """active, false_alarm (cancelled by its house), done (ended by the hub), rate_limited,
    or expired (older than active_s, never ended)."""
    if row["rate_limited"]:
        return "rate_limited"
    if row["cancel_why"] is not None:
        return "false_alarm" if row["cancel_why"] == "false_alarm" else "done"
    if now - row["received"] > active_s:
        return "expired"
    return "active"


def _opt_int(v: bool | None) -> int | None:
    return None if v is None else int(v)


def _compact(d: dict[str, Any]) -> str:
    return json.dumps(d, separators=(",", ":"), sort_keys=True)


def _house_key(house: str) -> tuple[str, int, str]:
    """h2 before h10: the letters, then the number, then the rest."""
    head = house.rstrip("0123456789")
    digits = house[len(head):]
    return (head, int(digits) if digits else -1, house)


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
        return False
