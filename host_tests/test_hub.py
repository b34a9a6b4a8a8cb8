"""The Kandig hub against a real Mosquitto running on the configuration broker-config writes.

Stand-in houses are paho-mqtt clients; the hub runs in a thread (``hubtest.HubThread``) or, for
the throughput figure, as ``kampung hub run`` in its own process. Each test gets its own broker
on a free loopback port and its own database. Skipped without Mosquitto:
``apt-get install -y mosquitto mosquitto-clients``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from broker import MOSQUITTO, PASSWD, free_port, wait_for
from hubtest import (
    HOUSES,
    NET,
    WIB,
    Client,
    Clock,
    HubThread,
    Neighbourhood,
    Web,
    ack,
    alert,
    beat,
    query,
    report,
    status,
    topic,
    wib,
)

from kampung.hub import auth, brokerconf, cli, protocol, schedule
from kampung.hub.app import Hub

KAMPUNG = str(Path(sys.executable).parent / "kampung")


@pytest.fixture
def nb(tmp_path):
    if MOSQUITTO is None:
        pytest.skip(f"mosquitto is not installed ({brokerconf.INSTALL})")
    n = Neighbourhood(tmp_path / "broker")
    yield n
    n.stop()


@pytest.fixture
def hub(nb, tmp_path):
    h = HubThread(nb, tmp_path / "hub.db")
    h.wait_connected()
    yield h
    h.stop()


# -- the protocol, without a network ----------------------------------------------------------

def test_protocol_examples_are_valid():
    """Every example payload in docs/kandig-protocol.md passes the hub's checks."""
    p = f"kandig/v1/{NET}/"
    examples = [
        ("house/h07/alert", {"v": 1, "id": "h07-42", "type": "maling", "house": "h07", "seq": 42, "t": 1796289400, "drill": False}),
        ("house/h07/cancel", {"v": 1, "id": "h07-42", "house": "h07", "why": "false_alarm", "t": 1796289410}),
        ("house/h03/ack", {"v": 1, "id": "h07-42", "house": "h03", "t": 1796289420}),
        ("house/h07/status", {"v": 1, "house": "h07", "state": "online", "fw": "0.1.0", "boot": 12, "t": 1796289400}),
        ("house/h07/status", {"v": 1, "house": "h07", "state": "offline", "t": 0}),
        ("house/h07/beat", {"v": 1, "house": "h07", "up": 3600, "rssi": -61, "outbox": 0, "seq": 42}),
        ("house/h07/test", {"v": 1, "house": "h07", "kind": "selftest", "id": "hub-7", "ok": True, "siren": True, "buzzer": True, "t": 0}),
        ("hub/command", {"v": 1, "cmd": "selftest", "id": "hub-7", "t": 1796289400}),
        ("hub/alert", {"v": 1, "id": "hub-8", "type": "banjir", "house": "hub", "seq": 8, "t": 0, "drill": True}),
        ("hub/cancel", {"v": 1, "id": "h07-42", "house": "hub", "why": "done", "t": 0}),
    ]
    for sub, payload in examples:
        m = protocol.classify(NET, p + sub, json.dumps(payload).encode())
        assert m.kind == sub.split("/")[-1] and m.data == payload, (sub, m)
    # unknown fields are ignored: version 1 can grow
    m = protocol.classify(NET, p + "house/h03/ack", b'{"v":1,"id":"h07-42","house":"h03","new":[1]}')
    assert m.kind == "ack"


@pytest.mark.parametrize("sub, payload, reason", [
    ("house/h01/alert", b"{", "not_json"),
    ("house/h01/alert", b"\xff\xfe", "not_utf8"),
    ("house/h01/alert", b"[1]", "not_object"),
    ("house/h01/alert", json.dumps({"v": 1, "x": "a" * 600}).encode(), "too_large"),
    ("house/h01/alert", b'{"v": 2, "id": "h01-1"}', "bad_version"),
    ("house/h01/alert", b'{"v": true, "id": "h01-1"}', "bad_version"),  # true == 1 in Python
    ("house/h01/alert", b'{"v": 1, "type": "maling", "house": "h01", "seq": 1, "t": 0}', "missing_field"),
    ("house/h01/alert", b'{"v": 1, "id": "h01-1", "type": "maling", "house": "h01", "seq": "1", "t": 0}', "bad_field"),
    ("house/h01/alert", b'{"v": 1, "id": "h01-1", "type": "<b>x</b>", "house": "h01", "seq": 1, "t": 0}', "bad_field"),
    ("house/h01/alert", b'{"v": 1, "id": "h01-1", "type": "maling", "house": "h01", "seq": 1, "t": 0, "drill": 1}', "bad_field"),
    ("house/h01/alert", b'{"v": 1, "id": "h02-1", "type": "maling", "house": "h02", "seq": 1, "t": 0}', "house_mismatch"),
    ("house/h01/alert", b'{"v": 1, "id": "h01-2", "type": "maling", "house": "h01", "seq": 1, "t": 0}', "bad_id"),
    ("house/h01/cancel", b'{"v": 1, "id": "h02-1", "house": "h01", "why": "false_alarm"}', "foreign_cancel"),
    ("house/h01/cancel", b'{"v": 1, "id": "h01-1", "house": "h01", "why": "bored"}', "bad_field"),
    ("house/h01/cancel", b'{"v": 1, "id": "h01-1", "house": "h01", "why": "done"}', "bad_field"),
    ("house/h01/status", b'{"v": 1, "house": "h01", "state": "asleep"}', "bad_field"),
    ("house/h01/beat", b'{"v": 1, "house": "h01", "up": -1, "outbox": 0, "seq": 0}', "bad_field"),
    # SQLite's INTEGER ends at 2**63 - 1: a larger number is refused here, not by the database
    ("house/h01/beat", b'{"v": 1, "house": "h01", "up": 9223372036854775808, "outbox": 0, "seq": 0}', "bad_field"),
    ("house/h01/status", b'{"v": 1, "house": "h01", "state": "online", "boot": 99999999999999999999999}', "bad_field"),
    ("house/h01/nope", b'{"v": 1}', "unknown_topic"),
    ("house/h01/alert/x", b'{"v": 1}', "unknown_topic"),
    ("hub/beat", b'{"v": 1}', "unknown_topic"),
    ("house/h 1/alert", b'{"v": 1}', "bad_house_name"),
    ("house/" + "h" * 17 + "/alert", b'{"v": 1}', "bad_house_name"),
    ("house/hub/alert", b'{"v": 1}', "reserved_house"),
])
def test_protocol_rejections(sub, payload, reason):
    with pytest.raises(protocol.Rejected) as info:
        protocol.classify(NET, f"kandig/v1/{NET}/{sub}", payload)
    assert info.value.reason == reason, info.value


def test_foreign_topic_is_rejected():
    with pytest.raises(protocol.Rejected) as info:
        protocol.classify(NET, "kandig/v1/other/house/h01/alert", b"{}")
    assert info.value.reason == "foreign_topic"


# -- broker-config ----------------------------------------------------------------------------

def test_broker_config_files_and_rerun(tmp_path):
    out = tmp_path / "broker"
    proc = subprocess.run([KAMPUNG, "hub", "broker-config", "--net", NET, "--count", "3",
                           "--out", str(out), "--port", "18999", "--bind", "127.0.0.1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    creds = json.loads((out / "credentials.json").read_text())
    assert sorted(creds) == ["h01", "h02", "h03"] and len(set(creds.values())) == 3
    for name in ("credentials.json", "passwd", "hub.password"):
        assert (out / name).stat().st_mode & 0o777 == 0o600, name
    conf = (out / "mosquitto.conf").read_text()
    for line in ("listener 18999 127.0.0.1", "allow_anonymous false", "persistence true",
                 f"password_file {out.resolve() / 'passwd'}", f"acl_file {out.resolve() / 'acl'}"):
        assert line in conf.splitlines(), (line, conf)
    acl = (out / "acl").read_text()
    assert f"user h02\ntopic write kandig/v1/{NET}/house/h02/#\ntopic read kandig/v1/{NET}/#" in acl
    assert f"user hub\ntopic readwrite kandig/v1/{NET}/#" in acl
    users = [line.split(":")[0] for line in (out / "passwd").read_text().splitlines()]
    assert users == ["hub", "h01", "h02", "h03"]
    for line in (out / "passwd").read_text().splitlines():
        user, hashed = line.split(":", 1)
        pw = (out / "hub.password").read_text().strip() if user == "hub" else creds[user]
        assert brokerconf.check_password(pw, hashed) and hashed.startswith("$7$101$"), line
    hub_pw = (out / "hub.password").read_text()

    # again, with one more house and one taken out: the others keep their passwords
    proc = subprocess.run([KAMPUNG, "hub", "broker-config", "--net", NET, "--houses", "h01,h04",
                           "--remove", "h03", "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "1 new: h04" in proc.stdout and "removed h03" in proc.stdout, proc.stdout
    again = json.loads((out / "credentials.json").read_text())
    assert sorted(again) == ["h01", "h02", "h04"], again
    assert again["h01"] == creds["h01"] and again["h02"] == creds["h02"]
    assert (out / "hub.password").read_text() == hub_pw
    assert "user h03" not in (out / "acl").read_text()

    # a typo in --remove (h5 for h05) must not say "removed" while the unit stays authorised
    acl = (out / "acl").read_text()
    proc = subprocess.run([KAMPUNG, "hub", "broker-config", "--net", NET, "--remove", "h4",
                           "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--remove h4: no such house" in proc.stderr, proc.stderr
    assert "h01, h02, h04" in proc.stderr and "removed" not in proc.stdout, proc.stdout
    assert (out / "acl").read_text() == acl and json.loads((out / "credentials.json").read_text()) == again


@pytest.mark.parametrize("args, message", [
    (["--net", "rt 05", "--count", "2"], "bad neighbourhood id 'rt 05'"),
    (["--net", "x" * 33, "--count", "2"], "1-32 characters"),
    (["--net", "rt05", "--houses", "h01,rumah/7"], "bad house id 'rumah/7'"),
    (["--net", "rt05", "--houses", "h01,hub"], "reserved for the hub"),
    (["--net", "rt05", "--houses", "h+"], "bad house id 'h+'"),
    (["--net", "rt05"], "name the houses"),
])
def test_broker_config_names_bad_names(tmp_path, args, message):
    proc = subprocess.run([KAMPUNG, "hub", "broker-config", *args, "--out", str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(PASSWD is None, reason=f"mosquitto_passwd is not installed ({brokerconf.INSTALL})")
def test_password_file_format_matches_mosquitto_passwd(tmp_path):
    assert PASSWD is not None
    subprocess.run([PASSWD, "-b", "-c", str(tmp_path / "p"), "h01", "rahasia"], check=True,
                   capture_output=True, timeout=10)
    hashed = (tmp_path / "p").read_text().strip().split(":", 1)[1]
    assert brokerconf.check_password("rahasia", hashed)
    assert not brokerconf.check_password("Rahasia", hashed)


def test_start_mosquitto_names_the_install_command(tmp_path, monkeypatch):
    brokerconf.write(tmp_path, NET, ["h01"], free_port(), "127.0.0.1")
    monkeypatch.setenv("PATH", str(tmp_path))  # no mosquitto on this PATH...
    monkeypatch.setattr(brokerconf.os, "access", lambda *a: False)  # ...nor in /usr/sbin
    with pytest.raises(brokerconf.BrokerError, match="apt-get install -y mosquitto"):
        brokerconf.start_mosquitto(tmp_path)


# -- the generated configuration with a real broker -------------------------------------------

def test_acl_keeps_each_house_under_its_own_topics(nb, hub, tmp_path):
    h01 = nb.house("h01")
    try:
        h01.publish(topic("alert", "h02"), alert("h02", 1))  # as another house: refused
        h01.publish(topic("alert", "h01"), alert("h02", 1).replace('"h01"', '"h02"'))  # its own topic, lying
        h01.publish(topic("hub/alert"), json.dumps({"v": 1, "id": "hub-1", "type": "maling",
                                                    "house": "hub", "seq": 1, "t": 0}))
        h01.publish("kandig/v1/other-net/house/h01/alert", alert("h01", 9))  # another net
        h01.publish(topic("alert", "h01"), alert("h01", 1))  # its own: stored
        s = hub.wait_state(lambda s: s["history"], "h01's own alert")
    finally:
        h01.close()
    # QoS 1 and in order: h01-1 came last, so everything before it reached the hub or never will
    assert [a["id"] for a in s["history"]] == ["h01-1"], s["history"]
    db = hub.hub.db_path
    assert query(db, "SELECT id FROM alerts") == [("h01-1",)]
    # the broker dropped three; the hub saw only the lie on h01's own topic, and refused it
    assert hub.hub.stats["rejected"] == 1, hub.hub.stats
    assert query(db, "SELECT reason, house, count FROM rejects") == [("house_mismatch", "h01", 1)]


def test_wrong_password_is_refused(nb):
    with pytest.raises(AssertionError, match="did not connect: .*Not authorized"):
        Client(nb.port, "h01", "wrong", "x")
    with pytest.raises(AssertionError, match="did not connect: .*Not authorized"):
        Client(nb.port, "stranger", nb.passwords["h01"], "y")


def test_alert_stored_once_and_acks_shown(nb, hub):
    h02, h03, h04 = nb.house("h02"), nb.house("h03"), nb.house("h04")
    try:
        for _ in range(3):  # at-least-once delivery: the same alert again after a reboot
            h02.publish(topic("alert", "h02"), alert("h02", 5, "kebakaran"))
        h03.publish(topic("ack", "h03"), ack("h02-5", "h03"))
        h04.publish(topic("ack", "h04"), ack("h02-5", "h04"))
        h04.publish(topic("ack", "h04"), ack("h02-5", "h04"))  # pressed twice
        s = hub.wait_state(lambda s: s["active"] and len(s["active"][0]["acks"]) == 2,
                           "the alert with two acks")
    finally:
        for h in (h02, h03, h04):
            h.close()
    a = s["active"][0]
    assert (a["id"], a["type"], a["house"], a["drill"], a["status"]) == \
        ("h02-5", "kebakaran", "h02", False, "active"), a
    assert sorted(a["acks"]) == ["h03", "h04"]
    assert {"type": "kebakaran", "name": "Kebakaran"} in s["types"]
    wait_for(lambda: hub.hub.stats["duplicates"] >= 2, what="two duplicates counted")
    db = hub.hub.db_path
    assert query(db, "SELECT COUNT(*) FROM alerts") == [(1,)]
    assert query(db, "SELECT COUNT(*) FROM acks") == [(2,)]
    assert query(db, "PRAGMA journal_mode") == [("wal",)]
    received = query(db, "SELECT received FROM alerts")[0][0]
    assert abs(received - time.time()) < 60, received


def test_a_row_the_database_refuses_loses_only_itself(nb, hub):
    """One message SQLite will not store (here a trigger refuses h01's beats, as a corrupt page
    or a constraint would) must not take the alert received in the same moment with it."""
    import sqlite3

    con = sqlite3.connect(hub.hub.db_path)
    con.execute("CREATE TRIGGER refuse_h01 BEFORE INSERT ON houses WHEN NEW.house = 'h01' "
                "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END")
    con.commit()
    con.close()
    h01, h03 = nb.house("h01"), nb.house("h03")
    try:
        h03.publish(topic("ack", "h03"), ack("zz-1", "h03"))  # refused by the hub, counted once
        h01.publish(topic("beat", "h01"), beat("h01"))
        h03.publish(topic("alert", "h03"), alert("h03", 8, "banjir"))
        s = hub.wait_state(lambda s: bool(s["active"]), "h03's alert shown")
    finally:
        h01.close()
        h03.close()
    assert s["active"][0]["id"] == "h03-8"
    assert query(hub.hub.db_path, "SELECT id FROM alerts") == [("h03-8",)]
    wait_for(lambda: hub.hub.stats["db_errors"] >= 1, what="the refused beat counted")
    # the batch was written twice (whole, then one by one): its rejections count once
    assert query(hub.hub.db_path, "SELECT reason, count FROM rejects") == [("unknown_alert", 1)]


def test_acks_and_reports_about_nothing_the_hub_knows_are_not_stored(nb, hub):
    """Found by the break test of 2026-12-04: a house could fill the database with acks of
    alerts that never were and reports of self-tests never sent."""
    h03 = nb.house("h03")
    try:
        for i in range(5):
            h03.publish(topic("ack", "h03"), ack(f"zz-{i}", "h03"))
        h03.publish(topic("test", "h03"), report("h03", "hub-999", True))
        h03.publish(topic("alert", "h03"), alert("h03", 1))
        h03.publish(topic("ack", "h03"), ack("h03-1", "h03"))  # one about a real alert
        hub.wait_state(lambda s: s["active"] and s["active"][0]["acks"] == ["h03"], "the real ack")
    finally:
        h03.close()
    db = hub.hub.db_path
    assert query(db, "SELECT id FROM acks") == [("h03-1",)]
    assert query(db, "SELECT COUNT(*) FROM tests") == [(0,)]
    assert sorted(query(db, "SELECT reason, house, count FROM rejects")) == \
        [("unknown_alert", "h03", 5), ("unknown_command", "h03", 1)]


def test_false_alarm_cancel_and_rate_limit(nb, hub):
    h01 = nb.house("h01")
    try:
        h01.publish(topic("alert", "h01"), alert("h01", 1))
        h01.publish(topic("cancel", "h01"), json.dumps(
            {"v": 1, "id": "h01-1", "house": "h01", "why": "false_alarm", "t": 0}))
        for seq in range(2, 6):  # 4 more: the 3-per-300-s rate lets 2 of them through
            h01.publish(topic("alert", "h01"), alert("h01", seq))
        s = hub.wait_state(lambda s: len(s["history"]) == 5, "five alerts")
    finally:
        h01.close()
    by_id = {a["id"]: a["status"] for a in s["history"]}
    assert by_id == {"h01-1": "false_alarm", "h01-2": "active", "h01-3": "active",
                     "h01-4": "rate_limited", "h01-5": "rate_limited"}, by_id
    assert [a["id"] for a in s["active"]] == ["h01-3", "h01-2"]


def test_status_beat_and_offline_by_last_will(nb, hub):
    """A house that vanishes (its process killed: no DISCONNECT) is announced offline by the
    broker, with the last will it set at connect."""
    script = (
        "import json, sys, time\n"
        "import paho.mqtt.client as mqtt\n"
        "from paho.mqtt.enums import CallbackAPIVersion\n"
        "port, user, pw, t = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]\n"
        "c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id='kandig-%s-%s' % (sys.argv[5], user), clean_session=False)\n"
        "c.username_pw_set(user, pw)\n"
        "c.will_set(t + 'status', json.dumps({'v': 1, 'house': user, 'state': 'offline', 't': 0}), 1, True)\n"
        "c.connect('127.0.0.1', port, 60)\n"
        "c.loop_start()\n"
        "c.publish(t + 'status', json.dumps({'v': 1, 'house': user, 'state': 'online', 'fw': '0.1.0', 'boot': 1, 't': 0}), 1, True).wait_for_publish(10)\n"
        "c.publish(t + 'beat', json.dumps({'v': 1, 'house': user, 'up': 5, 'rssi': -70, 'outbox': 1, 'seq': 0}), 1).wait_for_publish(10)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(nb.port), "h03",
                             nb.passwords["h03"], f"kandig/v1/{NET}/house/h03/", NET],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

        def h03(s) -> dict:
            return next((h for h in s["houses"] if h["house"] == "h03"), {"state": None})
        s = hub.wait_state(lambda s: h03(s)["state"] == "online" and h03(s)["rssi"] == -70,
                           "h03 online with its beat")
        assert (h03(s)["fw"], h03(s)["outbox"], h03(s)["stale"]) == ("0.1.0", 1, False)
    finally:
        proc.kill()  # SIGKILL: the kernel closes the socket, no DISCONNECT
        proc.wait(10)
    s = hub.wait_state(lambda s: h03(s)["state"] == "offline", "h03 offline by its last will")
    assert h03(s)["fw"] == "0.1.0", "the will's status keeps what the house said before"


def test_expected_houses_are_listed_before_they_report(nb, tmp_path):
    h = HubThread(nb, tmp_path / "hub.db", houses=HOUSES)
    try:
        s = h.state()
        assert [(x["house"], x["state"]) for x in s["houses"]] == [(n, "unknown") for n in HOUSES]
    finally:
        h.stop()


def test_hub_restart_keeps_history_and_its_counter(nb, tmp_path):
    db = tmp_path / "hub.db"
    first = HubThread(nb, db)
    h01 = nb.house("h01")
    try:
        first.wait_connected()
        h01.publish(topic("alert", "h01"), alert("h01", 1, "banjir"))
        h01.publish(topic("ack", "h01"), ack("h01-1", "h01"))
        first.wait_state(lambda s: s["history"] and s["history"][0]["acks"], "alert with ack")
        web = Web(first.url)
        web.login()
        code, body = web.post_json("/api/command", {"csrf": web.csrf(), "cmd": "selftest"})
        assert code == 200 and "hub-1" in body["message"], body
    finally:
        first.stop()
    second = HubThread(nb, db)
    try:
        s = second.state()
        assert [(a["id"], a["type"], a["acks"]) for a in s["history"]] == [("h01-1", "banjir", ["h01"])]
        assert [c["id"] for c in s["commands"]] == ["hub-1"]
        second.wait_connected()
        web = Web(second.url)
        web.login()
        code, body = web.post_json("/api/command", {"csrf": web.csrf(), "cmd": "selftest"})
        assert code == 200 and "hub-2" in body["message"], "hub ids are never reused: %r" % body
    finally:
        h01.close()
        second.stop()


@pytest.mark.parametrize("crash", [False, True], ids=["stopped", "killed"])
def test_broker_restart_hub_reconnects(nb, hub, crash):
    """SIGTERM (sessions saved) or SIGKILL (the broker forgets the hub's subscription since the
    last autosave): either way the hub comes back subscribed and hears later alerts."""
    h01 = nb.house("h01")
    h01.publish(topic("alert", "h01"), alert("h01", 1))
    hub.wait_state(lambda s: len(s["history"]) == 1, "the first alert")
    h01.close()
    nb.broker.stop(crash=crash)
    wait_for(lambda: not hub.hub.connected, 10, what="the hub noticing the broker is gone")
    assert hub.state()["connected"] is False
    nb.broker.start()
    hub.wait_connected(20)
    h02 = nb.house("h02")
    try:
        h02.publish(topic("alert", "h02"), alert("h02", 1, "bencana"))
        s = hub.wait_state(lambda s: len(s["history"]) == 2, "the alert after the restart")
    finally:
        h02.close()
    assert s["history"][0]["id"] == "h02-1" and s["connected"] is True
    assert hub.hub.stats["connects"] == 2, hub.hub.stats


def test_hub_status_online_then_offline(nb, tmp_path):
    watcher = nb.house("h04", subscribe=[topic("hub/status")])
    try:
        h = HubThread(nb, tmp_path / "hub.db")
        h.wait_connected()
        wait_for(lambda: [m["state"] for m in watcher.messages(topic("hub/status"))][-1:] == ["online"],
                 what="hub online")
        h.stop()  # a clean stop says offline itself
        wait_for(lambda: [m["state"] for m in watcher.messages(topic("hub/status"))][-1:] == ["offline"],
                 what="hub offline")
    finally:
        watcher.close()


def _bad_messages() -> list[tuple[str, str, bytes, str]]:
    """(publisher, topic, payload, the reason the hub gives) for every kind of bad message."""
    good = json.loads(alert("h01", 1))
    return [
        ("hub", topic("alert", "h01"), b"{not json", "not_json"),
        ("hub", topic("ack", "h02"), b"\xff\xfe\xfd", "not_utf8"),
        ("hub", topic("beat", "h03"), json.dumps({"v": 1, "pad": "x" * 600}).encode(), "too_large"),
        ("hub", topic("status", "h01"), b"[]", "not_object"),
        ("hub", topic("status", "h01"), b"42", "not_object"),
        ("hub", topic("alert", "h01"), json.dumps(good | {"v": 2}).encode(), "bad_version"),
        ("hub", topic("alert", "h01"), json.dumps({"v": 1, "house": "h01"}).encode(), "missing_field"),
        ("hub", topic("alert", "h01"), json.dumps(good | {"seq": "1"}).encode(), "bad_field"),
        ("hub", topic("alert", "h01"), json.dumps(good | {"type": "<script>"}).encode(), "bad_field"),
        ("h01", topic("alert", "h01"), alert("h02", 1).encode(), "house_mismatch"),
        ("h01", topic("alert", "h01"), json.dumps(good | {"id": "h01-99"}).encode(), "bad_id"),
        ("h01", topic("cancel", "h01"), json.dumps({"v": 1, "id": "h02-1", "house": "h01",
                                                     "why": "done"}).encode(), "foreign_cancel"),
        ("h01", topic("reboot", "h01"), b"{}", "unknown_topic"),
        ("h01", topic("alert", "h01") + "/x", b"{}", "unknown_topic"),
        ("hub", topic("hub/beat"), b"{}", "unknown_topic"),
        ("hub", f"kandig/v1/{NET}/houses/h01/alert", b"{}", "unknown_topic"),
        ("hub", topic("alert", "bad house"), b"{}", "bad_house_name"),
        ("hub", topic("alert", "hub"), b"{}", "reserved_house"),
    ]


def test_ten_thousand_bad_messages(nb, tmp_path, caplog):
    """Malformed payloads, lies and unknown topics: none stored, each counted by reason, the
    log holds a few lines per reason and one summary, not 10,000 lines."""
    caplog.set_level(logging.WARNING, logger="kampung.hub")
    h = HubThread(nb, tmp_path / "hub.db", log_summary_s=3600)
    kinds = _bad_messages()
    clients = {"hub": nb.house("hub", client_id="bad-actor"), "h01": nb.house("h01")}
    expected: dict[str, int] = {}
    total = 10_000
    try:
        h.wait_connected()
        start = time.monotonic()
        for chunk in range(0, total, 1000):
            for i in range(chunk, chunk + 1000):
                who, t, payload, reason = kinds[i % len(kinds)]
                clients[who].publish(t, payload, qos=0)
                expected[reason] = expected.get(reason, 0) + 1
            # the broker queues at most max_queued_messages for a slow subscriber: keep pace
            want = chunk + 1000 + 1  # + the hub's own status
            wait_for(lambda: h.hub.stats["received"] >= want, 30,  # noqa: B023 (called at once)
                     what=f"the hub reading {want - 1} messages")
        # messages to another net never reach the hub (its ACL and its subscription)
        for _ in range(100):
            clients["hub"].publish("kandig/v1/other/house/h01/alert", alert("h01", 1), qos=0)
        clients["h01"].publish(topic("alert", "h01"), alert("h01", 1))  # and one good one last
        s = h.wait_state(lambda s: s["history"], "the good alert after the bad ones", timeout=30)
        elapsed = time.monotonic() - start
        print(f"10,000 bad messages read in {elapsed:.2f} s")
    finally:
        for c in clients.values():
            c.close()
        h.stop()
    assert h.hub.stats["rejected"] == total, h.hub.stats
    db = h.hub.db_path
    counted = dict(query(db, "SELECT reason, SUM(count) FROM rejects GROUP BY reason"))
    assert counted == expected, (counted, expected)
    assert query(db, "SELECT id FROM alerts") == [("h01-1",)]
    for table in ("acks", "cancels", "tests", "broadcasts"):
        assert query(db, f"SELECT COUNT(*) FROM {table}") == [(0,)], table
    assert query(db, "SELECT house FROM houses") == [], "no status or beat was good"
    assert [r["reason"] for r in s["rejects"]], "the dashboard lists the reasons"
    lines = [r.getMessage() for r in caplog.records if r.name == "kampung.hub"]
    rejected_lines = [m for m in lines if m.startswith("rejected ")]
    assert len(rejected_lines) <= 3 * len(expected) + 2, len(rejected_lines)
    summary = rejected_lines[-1]
    assert "more messages" in summary and f"not_json {expected['not_json']}" in summary, summary
    for reason in expected:
        assert any(m.startswith(f"rejected {reason}") for m in lines), reason


# -- the dashboard over plain HTTP --------------------------------------------------------------

def test_forms_need_login_and_csrf_token(nb, hub):
    web = Web(hub.url)
    code, body = web.post_json("/api/alert", {"type": "maling"})
    assert code == 401 and body["ok"] is False
    status_, _, page = web.login(password="salah-sekali")
    assert status_ == 401 and "Nama pengguna atau kata sandi salah." in page
    status_, _, page = web.login()
    assert status_ == 200 and "Kendali Ketua RT" in page  # redirected to the dashboard
    assert web.csrf()  # logged in
    code, body = web.post_json("/api/alert", {"type": "maling", "csrf": "forged"})
    assert code == 403 and body["ok"] is False
    code, body = web.post_json("/api/alert", {"type": "maling", "csrf": web.csrf()})
    assert code == 200 and body["ok"], body
    # a page on another site cannot post with this browser's cookie
    status_, _, text = web.request("/api/alert", {"type": "maling", "csrf": web.csrf()},
                                   {"Origin": "http://evil.example", "Accept": "application/json"})
    assert status_ == 403, text
    cookies = {c.name: c for c in web.jar}
    session = cookies["kandig_session"]
    assert session.has_nonstandard_attr("HttpOnly") and \
        session.get_nonstandard_attr("SameSite") == "Strict", vars(session)


def test_login_attempts_are_limited(nb, hub):
    web = Web(hub.url)
    for _ in range(5):
        assert web.login(password="tebak-tebak")[0] == 401
    status_, _, page = web.login()  # the right password, too late
    assert status_ == 429 and "Terlalu banyak percobaan" in page, page


def test_security_headers_and_no_external_resources(nb, hub):
    web = Web(hub.url)
    status_, headers, page = web.request("/")
    assert status_ == 200
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "http://" not in page and "https://" not in page, "works offline: no CDN, no fonts"
    _, _, js = web.request("/static/app.js")
    assert "innerHTML" not in js.replace("never innerHTML", "").replace("no innerHTML", "")
    assert "EventSource" in js


def test_broadcast_end_and_command_reach_the_houses(nb, hub):
    h05 = nb.house("h04", subscribe=[topic("hub/#")])
    h01 = nb.house("h01")
    try:
        web = Web(hub.url)
        web.login()
        csrf = web.csrf()
        code, body = web.post_json("/api/alert", {"type": "banjir", "drill": "1", "csrf": csrf})
        assert code == 200 and body["ok"], body
        got = wait_for(lambda: h05.messages(topic("hub/alert")), what="hub/alert at a house")
        sent = got[0]
        assert (sent["type"], sent["drill"], sent["house"], sent["id"]) == \
            ("banjir", True, "hub", f"hub-{sent['seq']}"), sent
        protocol.classify(NET, topic("hub/alert"), json.dumps(sent).encode())  # by the protocol
        h01.publish(topic("alert", "h01"), alert("h01", 1, "maling"))
        hub.wait_state(lambda s: len(s["active"]) == 2, "two active alerts")
        code, body = web.post_json("/api/end", {"id": "h01-1", "csrf": csrf})
        assert code == 200, body
        cancel = wait_for(lambda: h05.messages(topic("hub/cancel")), what="hub/cancel")[0]
        assert (cancel["id"], cancel["why"], cancel["house"]) == ("h01-1", "done", "hub")
        s = hub.wait_state(lambda s: [a["id"] for a in s["active"]] == [sent["id"]], "h01-1 ended")
        assert {a["id"]: a["status"] for a in s["history"]}["h01-1"] == "done"
        code, body = web.post_json("/api/end", {"id": "h01-1", "csrf": csrf})
        assert code == 400 and "sudah berakhir" in body["error"], body
        code, body = web.post_json("/api/command", {"cmd": "drill", "type": "kebakaran", "csrf": csrf})
        assert code == 200, body
        cmd = wait_for(lambda: h05.messages(topic("hub/command")), what="hub/command")[0]
        assert (cmd["cmd"], cmd["type"], cmd["id"]) == ("drill", "kebakaran", f"hub-{sent['seq'] + 1}")
        h01.publish(topic("test", "h01"), json.dumps(
            {"v": 1, "house": "h01", "kind": "drill", "id": cmd["id"], "ok": True, "siren": True,
             "buzzer": False, "t": 0}))
        s = hub.wait_state(lambda s: s["tests"] and s["commands"][0]["reports"] == 1, "test report")
        assert (s["tests"][0]["house"], s["tests"][0]["ok"], s["tests"][0]["buzzer"]) == ("h01", True, False)
        code, body = web.post_json("/api/alert", {"type": "gempa", "csrf": csrf})
        assert code == 400, body
    finally:
        h05.close()
        h01.close()


def test_forms_answer_503_while_the_broker_is_away(nb, hub):
    web = Web(hub.url)
    web.login()
    nb.broker.stop()
    wait_for(lambda: not hub.hub.connected, 10, what="hub disconnected")
    code, body = web.post_json("/api/alert", {"type": "maling", "csrf": web.csrf()})
    assert code == 503 and "tidak terhubung" in body["error"], body


def test_set_password_without_input_says_so_and_changes_nothing(tmp_path):
    config = tmp_path / "hub.json"
    # no terminal and input ends at once: getpass meets end of input
    proc = subprocess.run([KAMPUNG, "hub", "set-password", "--config", str(config)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                          start_new_session=True)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "--password-stdin" in proc.stderr, proc.stderr
    assert not config.exists()


def test_set_password_and_private_dashboard(nb, tmp_path):
    config = tmp_path / "hub.json"
    proc = subprocess.run([KAMPUNG, "hub", "set-password", "--config", str(config),
                           "--password-stdin"], input="pendek\n", capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "at least 8" in proc.stderr, proc.stderr
    proc = subprocess.run([KAMPUNG, "hub", "set-password", "--config", str(config),
                           "--password-stdin"], input="kata-sandi-rt05\n", capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert config.stat().st_mode & 0o777 == 0o600
    record = json.loads(config.read_text())["ketua"]
    assert "kata-sandi-rt05" not in config.read_text() and auth.verify("kata-sandi-rt05", record)
    h = HubThread(nb, tmp_path / "hub.db", ketua_password=None, config_path=config, private=True)
    try:
        web = Web(h.url)
        assert web.request("/api/state")[0] == 401
        assert web.request("/events")[0] == 401
        status_, _, page = web.request("/")
        assert status_ == 200 and "Masuk sebagai Ketua RT" in page  # sent to the login form
        assert web.login("kata-sandi-rt05")[0] == 200
        assert web.request("/api/state")[0] == 200
    finally:
        h.stop()


# -- the daily silent self-test, and the reports of self-tests and drills ----------------------

def test_selftest_schedule_rules():
    """When the daily self-test is due (schedule.Daily): pure logic, no broker, no clock."""
    d = schedule.Daily((3, 0), WIB)
    assert d.today(wib(2026, 5, 12, 14)) == ("2026-05-12", wib(2026, 5, 12, 3))
    armed = wib(2026, 5, 1, 12)  # the hub has run with a schedule for weeks
    assert d.due(wib(2026, 5, 12, 2, 59, 59), "2026-05-11", armed) is None
    assert d.due(wib(2026, 5, 12, 3), "2026-05-11", armed) == "2026-05-12"
    assert d.due(wib(2026, 5, 12, 23, 59), "2026-05-11", armed) == "2026-05-12", \
        "a hub down at 03:00 sends the day's test when it is back, the same day"
    assert d.due(wib(2026, 5, 12, 3, 1), "2026-05-12", armed) is None, "once a day"
    assert d.due(wib(2026, 5, 13, 1), "2026-05-11", armed) is None, \
        "the 12th's missed test is not made up on the 13th, two hours before the 13th's"
    fresh = wib(2026, 5, 12, 10)  # installed at 10:00: the first test is tomorrow's
    assert d.due(fresh, None, fresh) is None
    assert d.next_at(fresh, None, fresh) == wib(2026, 5, 13, 3)
    assert d.next_at(wib(2026, 5, 12, 1), "2026-05-11", armed) == wib(2026, 5, 12, 3)
    assert d.next_at(wib(2026, 5, 12, 4), "2026-05-12", armed) == wib(2026, 5, 13, 3)
    # a hub whose machine keeps UTC, for a neighbourhood on WIB: 03:00 WIB is 20:00 UTC
    assert datetime.fromtimestamp(wib(2026, 5, 12, 3), timezone.utc).hour == 20
    assert schedule.judge(["h10", "h2", "h3"], {"h2": True, "h3": False, "h9": True}) == \
        {"ok": ["h2", "h9"], "failing": ["h3"], "silent": ["h10"]}


@pytest.mark.parametrize("value", ["25:00", "24:00", "03:60", "3pm", "0300", "03:00:00", "", "of"])
def test_selftest_at_option_is_checked(value, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--net", NET, "--db", str(tmp_path / "hub.db"), "--selftest-at", value])
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert f"argument --selftest-at: {value!r} is not a time of day: use HH:MM on the 24-hour " \
        "clock, 00:00-23:59 (for example 03:00), or off" in err, err
    assert not (tmp_path / "hub.db").exists(), "stopped before the hub started"
    with pytest.raises(ValueError, match="--selftest-at: .* use HH:MM"):
        Hub(NET, "127.0.0.1", 1883, "hub", "pw", tmp_path / "hub.db", selftest_at=value)


def test_selftest_at_option_values(tmp_path):
    p = cli.parser()
    assert p.parse_args(["run", "--net", NET]).selftest_at == "03:00", "on by default, at 03:00"
    for text, at in [("03:00", (3, 0)), ("21:30", (21, 30)), ("7:05", (7, 5)), ("off", None),
                     ("OFF", None)]:
        args = p.parse_args(["run", "--net", NET, "--selftest-at", text])
        hub = Hub(NET, "127.0.0.1", 1883, "hub", "pw", tmp_path / "hub.db",
                  selftest_at=args.selftest_at)
        assert (hub.selftest.at if hub.selftest else None) == at, text
    proc = subprocess.run([KAMPUNG, "hub", "run", "--net", NET, "--selftest-at", "3.00"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and "--selftest-at: '3.00' is not a time of day" in proc.stderr, \
        proc.stderr
    assert "Traceback" not in proc.stderr


def _scheduled_hub(nb: Neighbourhood, db: Path, clock: Clock, **kw) -> HubThread:
    h = HubThread(nb, db, selftest_at="03:00", tz=WIB, clock=clock, schedule_tick_s=0.05, **kw)
    h.wait_connected()
    return h


def test_scheduled_selftest_runs_once_a_day_across_restarts(nb, tmp_path):
    """At 03:00 once; a restart neither repeats nor skips the day's test; a hub down at 03:00
    sends it when it is back that day; a day the hub was down for wholly is not made up."""
    db = tmp_path / "hub.db"
    clock = Clock(wib(2026, 5, 12, 2, 59))
    watcher = nb.house("h04", subscribe=[topic("hub/command")])

    def sent() -> list[str]:
        return [r[0] for r in query(db, "SELECT id FROM broadcasts WHERE kind = 'command' "
                                        "ORDER BY sent")]

    hub = _scheduled_hub(nb, db, clock, houses=HOUSES)
    try:
        hub.step()
        assert sent() == [], "02:59: not yet"
        assert hub.state()["schedule"] == {"selftest_at": "03:00", "next": wib(2026, 5, 12, 3),
                                           "last_day": None, "grace_s": 60, "waiting": None}
        clock.t = wib(2026, 5, 12, 3)
        first = wait_for(lambda: sent(), what="the 03:00 self-test")[0]  # the hub's own ticks
        cmd = wait_for(lambda: watcher.messages(topic("hub/command")), what="hub/command")[0]
        assert (cmd["cmd"], cmd["id"], "type" in cmd) == ("selftest", first, False), cmd
        protocol.classify(NET, topic("hub/command"), json.dumps(cmd).encode())  # by the protocol
        s = hub.state()
        assert (s["schedule"]["last_day"], s["schedule"]["next"]) == \
            ("2026-05-12", wib(2026, 5, 13, 3)), s["schedule"]
        assert [(r["id"], r["kind"], r["scheduled"]) for r in s["pending"]] == \
            [(first, "selftest", True)], s["pending"]
        clock.t = wib(2026, 5, 12, 3, 0, 30)
        hub.step()
        assert sent() == [first], "once a day"
    finally:
        hub.stop()

    clock.t = wib(2026, 5, 12, 5)  # restarted that morning
    hub = _scheduled_hub(nb, db, clock, houses=HOUSES)
    try:
        hub.step()
        s = hub.wait_state(lambda s: s["reports"]["selftest"], "the round judged after the restart")
        r = s["reports"]["selftest"]
        assert (r["id"], r["ok"], r["failing"], r["silent"]) == (first, [], [], HOUSES), r
        assert sent() == [first], "not repeated after a restart"
    finally:
        hub.stop()

    clock.t = wib(2026, 5, 13, 9)  # down at 03:00 on the 13th, back at 09:00
    hub = _scheduled_hub(nb, db, clock, houses=HOUSES)
    try:
        second = wait_for(lambda: sent()[1:], what="the missed self-test of the 13th")[0]
        clock.t = wib(2026, 5, 13, 23, 59)
        hub.step()
        assert sent() == [first, second]
    finally:
        hub.stop()

    clock.t = wib(2026, 5, 15, 1)  # down for all of the 14th
    hub = _scheduled_hub(nb, db, clock, houses=HOUSES)
    try:
        hub.step()
        assert sent() == [first, second], "the 14th is not made up on the 15th"
        clock.t = wib(2026, 5, 15, 3)
        third = wait_for(lambda: sent()[2:], what="the 03:00 self-test of the 15th")[0]
    finally:
        hub.stop()
        watcher.close()
    assert query(db, "SELECT id, scheduled, sent FROM test_rounds ORDER BY sent") == [
        (first, 1, wib(2026, 5, 12, 3)), (second, 1, wib(2026, 5, 13, 9)),
        (third, 1, wib(2026, 5, 15, 3))]
    assert query(db, "SELECT value FROM meta WHERE key = 'selftest_day'") == [("2026-05-15",)]
    assert [m["id"] for m in watcher.messages(topic("hub/command"))] == [first, second, third]


def test_selftest_and_drill_reports_list_failing_and_silent_houses(nb, tmp_path):
    """After the grace period every expected or known house is ok, failing or silent; the
    round is kept (a late report does not change it); a drill from the dashboard likewise."""
    db = tmp_path / "hub.db"
    clock = Clock(wib(2026, 5, 12, 2, 59, 30))
    hub = _scheduled_hub(nb, db, clock, houses=["h01", "h02", "h03"])
    houses = {name: nb.house(name) for name in HOUSES}

    def send(name: str, cmd_id: str, ok: bool, kind: str = "selftest") -> None:
        houses[name].publish(topic("test", name), report(name, cmd_id, ok, kind))

    try:  # h04 is not among --houses, but the hub knows it: it is expected to answer too
        houses["h04"].publish(topic("status", "h04"), status("h04", "online"), retain=True)
        hub.wait_state(lambda s: "h04" in [h["house"] for h in s["houses"]], "h04 known")
        clock.t = wib(2026, 5, 12, 3)
        s = hub.wait_state(lambda s: s["pending"], "the scheduled self-test sent")
        cmd_id = s["pending"][0]["id"]
        send("h01", cmd_id, True)
        send("h02", cmd_id, False)  # e.g. its siren output failed
        s = hub.wait_state(lambda s: len(s["pending"][0]["reported"]) == 2, "two reports")
        assert s["reports"]["selftest"] is None, "not judged before the grace ends"
        clock.t = wib(2026, 5, 12, 3, 0, 59)
        hub.step()
        assert hub.state()["reports"]["selftest"] is None, "59 s: still waiting"
        clock.t = wib(2026, 5, 12, 3, 1)
        s = hub.wait_state(lambda s: s["reports"]["selftest"], "the self-test judged")
        r = s["reports"]["selftest"]
        assert (r["id"], r["kind"], r["scheduled"], r["ok"], r["failing"], r["silent"]) == \
            (cmd_id, "selftest", True, ["h01"], ["h02"], ["h03", "h04"]), r
        assert s["pending"] == [] and s["reports"]["drill"] is None
        assert next(c for c in s["commands"] if c["id"] == cmd_id)["scheduled"] is True

        send("h03", cmd_id, True)  # late: kept with the reports, the judged round stays
        s = hub.wait_state(lambda s: [t for t in s["tests"] if t["house"] == "h03"], "late report")
        assert s["reports"]["selftest"]["silent"] == ["h03", "h04"]

        web = Web(hub.url)  # a drill from the RT head's form
        web.login()
        code, body = web.post_json("/api/command", {"csrf": web.csrf(), "cmd": "drill",
                                                    "type": "kebakaran"})
        assert code == 200, body
        s = hub.wait_state(lambda s: s["pending"], "the drill sent")
        drill = s["pending"][0]
        assert (drill["kind"], drill["type"], drill["scheduled"]) == ("drill", "kebakaran", False)
        for name in ("h01", "h02", "h03"):
            send(name, drill["id"], True, "drill")
        hub.wait_state(lambda s: len(s["pending"][0]["reported"]) == 3, "three drill reports")
        clock.t += 60
        s = hub.wait_state(lambda s: s["reports"]["drill"], "the drill judged")
        d = s["reports"]["drill"]
        assert (d["id"], d["ok"], d["failing"], d["silent"]) == \
            (drill["id"], ["h01", "h02", "h03"], [], ["h04"]), d
        assert s["reports"]["selftest"]["id"] == cmd_id, "the self-test's report stays shown"
        status_, _, page = web.request("/")  # where the page draws them (test_hub_browser)
        assert status_ == 200 and 'id="reports"' in page and 'id="schedule"' in page
    finally:
        for c in houses.values():
            c.close()
        hub.stop()
    assert query(db, "SELECT id, kind, scheduled, ok, failing, silent FROM test_rounds "
                     "ORDER BY sent") == [
        (cmd_id, "selftest", 1, '["h01"]', '["h02"]', '["h03", "h04"]'),
        (drill["id"], "drill", 0, '["h01", "h02", "h03"]', "[]", '["h04"]')]


def test_scheduled_selftest_waits_while_a_real_alert_is_active(nb, tmp_path):
    """Never during an alarm: the day's test goes out once the alert is over (a drill alert
    would not hold it)."""
    clock = Clock(wib(2026, 5, 12, 2, 59))
    hub = _scheduled_hub(nb, tmp_path / "hub.db", clock)
    h01 = nb.house("h01")
    try:
        h01.publish(topic("alert", "h01"), alert("h01", 1))
        h01.publish(topic("alert", "h01"), alert("h01", 2, drill=True))
        hub.wait_state(lambda s: len(s["active"]) == 2, "h01's alert and drill")
        clock.t = wib(2026, 5, 12, 3)
        hub.step()
        s = hub.state()
        assert (s["schedule"]["waiting"], s["pending"], s["commands"]) == ("alert", [], []), s
        h01.publish(topic("cancel", "h01"), json.dumps(
            {"v": 1, "id": "h01-1", "house": "h01", "why": "false_alarm", "t": 0}))
        s = hub.wait_state(lambda s: s["pending"], "the self-test once the alert is over")
        assert s["pending"][0]["scheduled"] and s["schedule"]["waiting"] is None
        assert [a["id"] for a in s["active"]] == ["h01-2"], "only the drill alert is left"
    finally:
        h01.close()
        hub.stop()


# -- speed: the hub as a process, as it runs in the field --------------------------------------

def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class HubProcess:
    """``kampung hub run`` with the broker password in the environment."""

    def __init__(self, nb: Neighbourhood, folder: Path):
        self.http = free_port()
        self.log = folder / "hub.log"
        env = dict(os.environ, KANDIG_HUB_PASSWORD=nb.hub_password)
        env.pop(auth.ENV_PASSWORD, None)
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [KAMPUNG, "hub", "run", "--net", NET, "--broker", f"127.0.0.1:{nb.port}",
                 "--db", str(folder / "hub.db"), "--config", str(folder / "none.json"),
                 "--http", f"127.0.0.1:{self.http}"], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.web = Web(f"http://127.0.0.1:{self.http}")
        wait_for(lambda: (s := self.state()) and s["connected"], 20, 0.1, "the hub process connected")

    def state(self) -> dict | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"the hub exited: {self.log.read_text()}")
        try:
            code, _, body = self.web.request("/api/state")
        except OSError:
            return None
        return json.loads(body) if code == 200 else None

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(15)


def test_hub_process_killed_is_announced_offline(nb, tmp_path):
    watcher = nb.house("h04", subscribe=[topic("hub/status")])
    hub = HubProcess(nb, tmp_path)
    try:
        wait_for(lambda: [m["state"] for m in watcher.messages(topic("hub/status"))][-1:] == ["online"],
                 what="hub online")
        hub.proc.kill()  # no goodbye: the broker publishes the hub's last will
        wait_for(lambda: [m["state"] for m in watcher.messages(topic("hub/status"))][-1:] == ["offline"],
                 what="hub offline by its last will")
    finally:
        hub.stop()
        watcher.close()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_hub_process_stores_every_message_at_575_a_second(nb, tmp_path):
    """575 status/beat messages a second for 4 s (a neighbourhood sends far less: 575/s is
    34,500 houses at the default beat_s 60): the hub stores every one. How much of a core that
    takes is a benchmark figure (``make bench``, bench_kandig.hub_ingest), not asserted here."""
    hub = HubProcess(nb, tmp_path)
    proc = hub.proc
    pub = nb.house("hub", client_id="load")
    stats = hub.state
    try:
        rate, seconds, houses = 575, 4.0, 200
        n = int(rate * seconds)
        cpu0, t0 = _cpu_s(proc.pid), time.monotonic()
        for i in range(n):
            house = f"h{i % houses:03d}"
            if (i // houses) % 10 == 0:  # a status round every tenth round of beats
                pub.publish(topic("status", house), status(house, "online"), qos=1, wait=False)
            else:
                pub.publish(topic("beat", house), beat(house, up=i), qos=0)
            ahead = t0 + (i + 1) / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        s = wait_for(lambda: (s := stats()) and s["stats"]["stored"] >= n and s, 20, 0.1,
                     f"{n} messages stored")
        cpu, wall = _cpu_s(proc.pid) - cpu0, time.monotonic() - t0
    finally:
        pub.close()
        code = hub.stop()
    out = hub.log.read_text()
    print(f"hub: {n} messages in {wall:.2f} s at {n / wall:.0f}/s used {cpu:.2f} s CPU = "
          f"{cpu / wall:.2f} core ({cpu / n * 1e6:.0f} us a message)")
    assert code == 0, out
    assert s["stats"]["rejected"] == 0 and len(s["houses"]) == houses, s["stats"]
    assert query(tmp_path / "hub.db", "SELECT COUNT(*) FROM houses WHERE state = 'online'") == [(houses,)]


def test_every_reason_has_its_indonesian_text():
    assert set(protocol.REASONS_ID) == set(protocol.REASONS)


@pytest.mark.parametrize("args, message", [
    (["--broker", "127.0.0.1:abc"], "--broker '127.0.0.1:abc': the port must be a number"),
    (["--broker", "127.0.0.1:0"], "--broker '127.0.0.1:0': the port must be 1-65535"),
    (["--http", "1.2.3.4:99999"], "--http '1.2.3.4:99999': the port must be 0-65535"),
    (["--db", "{tmp}"], "is a folder: name a database file in it"),
    (["--db", "{tmp}/notes.json"], "notes.json: not a database the hub can use"),
])
def test_hub_run_options_are_checked_without_a_traceback(tmp_path, capsys, args, message):
    (tmp_path / "pw").write_text("kata-sandi\n")
    (tmp_path / "notes.json").write_text('{"not": "a database"}\n')
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code = cli.main(["run", "--net", NET, "--password-file", str(tmp_path / "pw"),
                     "--db", str(tmp_path / "hub.db"), "--http", "127.0.0.1:0", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert (tmp_path / "notes.json").read_text() == '{"not": "a database"}\n', "left as it was"


@pytest.mark.parametrize("value", ["-1", "nan", "0", "abc", "100000"])
def test_stale_s_is_checked(value, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--net", NET, "--db", str(tmp_path / "hub.db"), "--stale-s", value])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "seconds from 10 to 86400" in err, err
    assert not (tmp_path / "hub.db").exists()
