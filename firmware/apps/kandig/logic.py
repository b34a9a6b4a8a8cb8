"""Kandig's decisions, without hardware or clocks: values and ``now`` (ticks_ms) come in.

- ``PressCounter``: one alarm button, presses counted like kentongan strikes.
- ``RateLimit``: at most N events per window (a house's alerts; each sender at a receiver).
- ``Seen``: the alert ids already handled (receivers de-duplicate by id).
- ``rhythm``: a strike count as a siren pattern for kit.feedback's Player.
- ``parse``: a received topic and payload checked against docs/kandig-protocol.md.

Ticks arithmetic comes in as ``diff`` (time.ticks_diff on the board), so the module is pure.
"""

import json

PROTOCOL = 1
MAX_PAYLOAD = 512


class PressCounter:
    """Counts presses of one button: presses closer than ``window_ms`` belong to one code; the
    code is final ``window_ms`` after the last release. A press held ``long_ms`` is "titir"
    (count 0) at once. ``sample`` takes the debounced level each poll (True = pressed) and
    returns "first" on the first press of a code, the final count (0 = titir), or None."""

    def __init__(self, window_ms, long_ms, diff, debounce_ms=30):
        self.window_ms = window_ms
        self.long_ms = long_ms
        self.debounce_ms = debounce_ms
        self.diff = diff
        self.count = 0
        self.down = False
        self.since = None  # ticks of the last level change
        self.raw = False
        self.raw_since = None
        self.held_out = False  # a long press was reported: ignore until released

    def busy(self):
        """True while a press or a code is in progress (the caller polls; otherwise it may
        sleep until the button's interrupt)."""
        return bool(self.count or self.down or self.raw or self.held_out)

    def drop(self):
        """Forget the code being counted (the cancel button): nothing is reported for it, nor
        for the rest of a press still held."""
        self.count = 0
        self.held_out = self.down

    def sample(self, now, pressed):
        if pressed != self.raw:
            self.raw = pressed
            self.raw_since = now
        if self.raw_since is not None and pressed != self.down and \
                self.diff(now, self.raw_since) >= self.debounce_ms:
            self.down = pressed
            self.since = now
            if pressed:
                if self.held_out:
                    return None
                self.count += 1
                return "first" if self.count == 1 else None
            if self.held_out:
                self.held_out = False
            return None
        if self.down and not self.held_out and self.diff(now, self.since) >= self.long_ms:
            self.held_out = True
            self.count = 0
            return 0
        if not self.down and self.count and self.diff(now, self.since) >= self.window_ms:
            n = self.count
            self.count = 0
            return n
        return None


class RateLimit:
    """At most ``limit`` events per ``window_ms``; ``allow(now)`` records the event if allowed."""

    def __init__(self, limit, window_ms, diff):
        self.limit = limit
        self.window_ms = window_ms
        self.diff = diff
        self.times = []

    def allow(self, now):
        times = self.times
        while times and self.diff(now, times[0]) >= self.window_ms:
            times.pop(0)
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True


class Seen:
    """The last ``size`` alert ids (a ring). ``add`` returns False for an id already there."""

    def __init__(self, size=48):
        self.ids = [None] * size
        self.i = 0

    def __contains__(self, alert_id):
        return alert_id in self.ids

    def add(self, alert_id):
        if alert_id in self.ids:
            return False
        self.ids[self.i] = alert_id
        self.i = (self.i + 1) % len(self.ids)
        return True


STEP_MIN_MS = 100  # no step of a rhythm is shorter (titir's): the player's slice (kit.feedback)


def rhythm(strikes, freq, strike_ms=150, gap_ms=250, pause_ms=1500):
    """Siren steps (on, ms, freq): ``strikes`` beats, then a pause, repeated by the player.
    0 strikes = titir, the continuous beating for a disaster. No step is shorter than
    STEP_MIN_MS."""
    if strikes <= 0:
        return ((1, STEP_MIN_MS, freq), (0, STEP_MIN_MS, 0))
    steps = []
    for i in range(strikes):
        steps.append((1, strike_ms, freq))
        steps.append((0, pause_ms if i == strikes - 1 else gap_ms, 0))
    return tuple(steps)


def type_for_count(types, count):
    """The alert type whose strike count is ``count`` (0 = titir), or None."""
    for name in types:
        if types[name] == count:
            return name
    return None


def valid_name(s, longest):
    """A neighbourhood or house id: letters, digits, '-' and '_', 1..longest characters."""
    if not isinstance(s, str) or not 0 < len(s) <= longest:
        return False
    for c in s:
        if not (c.isalpha() or c.isdigit() or c in "-_") or ord(c) > 127:
            return False
    return True


# what each payload kind must hold: field -> type name ("s" str, "i" int, "b" bool)
_NEEDS = {
    "alert": (("id", "s"), ("type", "s"), ("house", "s"), ("seq", "i"), ("t", "i")),
    "cancel": (("id", "s"), ("house", "s")),
    "ack": (("id", "s"), ("house", "s")),
    "command": (("cmd", "s"), ("id", "s")),
}


def _typed(v, kind):
    if kind == "s":
        return isinstance(v, str) and 0 < len(v) <= 40
    if kind == "i":
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0
    return isinstance(v, bool)


def parse(prefix, topic, payload):
    """(kind, sender, fields) for a message this house acts on, or (None, why, None).

    ``prefix`` is "kandig/v1/NET/". Kinds: alert, cancel, ack (from a house or the hub) and
    command (from the hub). The sender is the house id, or "hub"."""
    if not topic.startswith(prefix):
        return None, "foreign topic", None
    parts = topic[len(prefix):].split("/")
    if len(parts) == 3 and parts[0] == "house" and valid_name(parts[1], 16):
        sender, kind = parts[1], parts[2]
        if kind not in ("alert", "cancel", "ack"):
            return None, "not for houses", None
    elif len(parts) == 2 and parts[0] == "hub":
        sender, kind = "hub", parts[1]
        if kind not in ("alert", "cancel", "command"):
            return None, "not for houses", None
    else:
        return None, "unknown topic", None
    if len(payload) > MAX_PAYLOAD:
        return None, "payload over %d bytes" % MAX_PAYLOAD, None
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeError):
        return None, "not JSON", None
    if not isinstance(data, dict):
        return None, "not a JSON object", None
    if data.get("v") != PROTOCOL:
        return None, "protocol version %r" % (data.get("v"),), None
    for field, kind_of in _NEEDS[kind]:
        if not _typed(data.get(field), kind_of):
            return None, "field %s missing or wrong" % field, None
    if kind != "command" and data["house"] != sender:
        return None, "house %r on %s's topic" % (data["house"], sender), None
    if kind == "alert" and not isinstance(data.get("drill", False), bool):
        return None, "field drill missing or wrong", None
    return kind, sender, data
