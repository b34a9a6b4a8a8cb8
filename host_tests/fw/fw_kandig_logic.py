"""Kandig's pure logic: press counting, rate limits, de-duplication, rhythms, payload checks."""

import json

from apps.kandig import logic
from fwhelp import check

PERIOD = 1 << 30
MASK = PERIOD - 1
PREFIX = "kandig/v1/rt05/"


def diff(a, b):
    return ((a - b + (PERIOD >> 1)) & MASK) - (PERIOD >> 1)


def run_presses(presses, t0=0, window=1500, long_ms=3000, end_ms=6000):
    """presses: [(start ms, length ms)]; sample every 10 ms; returns [(t, result)]."""
    c = logic.PressCounter(window, long_ms, diff)
    out = []
    for t in range(0, end_ms, 10):
        down = False
        for start, length in presses:
            if start <= t < start + length:
                down = True
        got = c.sample((t0 + t) & MASK, down)
        if got is not None:
            out.append((t, got))
    return out


def test_two_strikes_are_one_code_after_the_window():
    out = run_presses([(100, 120), (500, 120)])
    check([g for _, g in out] == ["first", 2], out)
    check(out[0][0] == 130, "the first press is known after the 30 ms debounce: %r" % (out,))
    check(out[1][0] == 620 + 30 + 1500, "the code ends 1.5 s after the (debounced) last release: %r" % (out,))


def test_counting_across_the_tick_wrap():
    out = run_presses([(100, 120), (500, 120), (900, 120)], t0=PERIOD - 700)
    check([g for _, g in out] == ["first", 3], out)


def test_a_long_press_is_titir_at_once_and_its_release_adds_nothing():
    out = run_presses([(100, 4000)], end_ms=8000)
    check(out == [(100 + 30, "first"), (130 + 3000, 0)], out)


def test_a_bounce_shorter_than_the_debounce_is_not_a_press():
    out = run_presses([(100, 15)])
    check(out == [], out)


def test_rate_limit_allows_n_per_window():
    r = logic.RateLimit(3, 300000, diff)
    allowed = [r.allow(t) for t in (0, 1000, 2000, 3000, 299999)]
    check(allowed == [True, True, True, False, False], allowed)
    check(r.allow(300000), "the first one left the window")
    check(not r.allow(300001), "still three in the window")


def test_seen_remembers_ids_in_a_ring():
    s = logic.Seen(4)
    check(s.add("h01-1") and not s.add("h01-1"), "a duplicate id is refused")
    for i in range(2, 6):
        s.add("h01-%d" % i)
    check("h01-1" not in s and "h01-5" in s, "the oldest id made room")


def test_rhythms_beat_the_kentongan_codes():
    two = logic.rhythm(2, 2700)
    check([st[0] for st in two] == [1, 0, 1, 0], two)
    check(two[-1][1] == 1500 and two[1][1] == 250, "a pause after the group: %r" % (two,))
    titir = logic.rhythm(0, 2700)
    check(titir == ((1, 100, 2700), (0, 100, 0)), titir)
    types = {"lelayu": 1, "maling": 2, "bencana": 0}
    check(logic.type_for_count(types, 2) == "maling" and logic.type_for_count(types, 7) is None,
          "count -> type")


def test_no_rhythm_step_is_shorter_than_the_players_slice():
    # The unit's player wakes every STEP_MIN_MS during a long step (not every 20 ms) to pick up
    # a new pattern; that is only on time when no pattern starts with a shorter step.
    for strikes in range(0, 9):
        steps = logic.rhythm(strikes, 2700)
        check(min(st[1] for st in steps) >= logic.STEP_MIN_MS, "%d strikes: %r" % (strikes, steps))


def alert(house="h01", **over):
    d = {"v": 1, "id": house + "-7", "type": "maling", "house": house, "seq": 7, "t": 0,
         "drill": False}
    d.update(over)
    return json.dumps(d).encode()


def test_parse_accepts_the_protocol():
    kind, sender, data = logic.parse(PREFIX, PREFIX + "house/h01/alert", alert())
    check(kind == "alert" and sender == "h01" and data["seq"] == 7, (kind, sender))
    kind, sender, _ = logic.parse(PREFIX, PREFIX + "hub/alert", alert("hub"))
    check(kind == "alert" and sender == "hub", (kind, sender))
    ack = json.dumps({"v": 1, "id": "h01-7", "house": "h02", "t": 5}).encode()
    check(logic.parse(PREFIX, PREFIX + "house/h02/ack", ack)[0] == "ack", "ack")
    cmd = json.dumps({"v": 1, "cmd": "selftest", "id": "hub-3", "t": 5}).encode()
    check(logic.parse(PREFIX, PREFIX + "hub/command", cmd)[0] == "command", "command")


def test_parse_refuses_with_a_reason():
    cases = [
        ("kandig/v1/rt06/house/h01/alert", alert(), "foreign topic"),
        (PREFIX + "house/h01/alert", alert("h02"), "house 'h02' on h01's topic"),
        (PREFIX + "house/h01/alert", b"[1, 2]", "not a JSON object"),
        (PREFIX + "house/h01/alert", b"\xff\xfe", "not JSON"),
        (PREFIX + "house/h01/alert", alert(v=2), "protocol version 2"),
        (PREFIX + "house/h01/alert", alert(seq="7"), "field seq missing or wrong"),
        (PREFIX + "house/h01/alert", alert(drill="no"), "field drill missing or wrong"),
        (PREFIX + "house/h01/alert", b"{" + b" " * 600 + b"}", "payload over 512 bytes"),
        (PREFIX + "house/h 1/alert", alert(), "unknown topic"),
        (PREFIX + "house/h01/status", alert(), "not for houses"),
    ]
    for topic, payload, why in cases:
        kind, reason, data = logic.parse(PREFIX, topic, payload)
        check(kind is None and data is None and reason == why, (topic, reason, why))


def test_ten_thousand_malformed_payloads_never_raise():
    # a fixed LCG: the same bytes on both runtimes
    x = 12345
    accepted = 0
    templates = [alert(), b'{"v": 1, "id": "h01-1", "type": "x", "house": "h01", "seq": 1, "t": 0}']
    for i in range(10000):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        base = templates[i & 1]
        n = len(base)
        buf = bytearray(base)
        for _ in range(1 + x % 4):  # corrupt 1..4 bytes
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            buf[x % n] = (x >> 8) & 0xFF
        if i % 7 == 0:
            buf = buf[: x % n]
        topic = PREFIX + ("house/h01/alert" if i % 3 else "hub/alert")
        kind, reason, data = logic.parse(PREFIX, topic, bytes(buf))
        if kind is not None:
            accepted += 1
            check(isinstance(data, dict) and data["house"] == reason, "accepted only when consistent")
    check(accepted < 1000, "most corrupted payloads are refused: %d accepted" % accepted)
