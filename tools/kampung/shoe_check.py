"""Reading the shoe's event log: which state the firmware's logic was in, and what the buzzer did.

Used by the tests and the benchmarks. The pings the virtual sensor answered (``ping`` events)
are replayed through the firmware's own pure logic (it runs unchanged on CPython), so the
expected state at every moment comes from the same code as the device, and the buzzer's PWM
events show what a walker actually heard.
"""

from __future__ import annotations

import bisect
import sys

from kampung import FIRMWARE

for _p in (FIRMWARE, FIRMWARE / "lib"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from apps.blind_shoe import logic  # noqa: E402
from apps.blind_shoe.settings import SCHEMA  # noqa: E402
from kit import config  # noqa: E402

ZONE_HZ = 2700
PULSE_MS = 60


def default_logic(overrides: dict | None = None):
    return logic.ShoeLogic(config.validate(SCHEMA, overrides or {}, "check"), lambda a, b: a - b)


def expected_states(events: list[dict], overrides: dict | None = None) -> list[tuple[int, int]]:
    """[(t_ms of the ping that confirmed it, state)] for every state change."""
    return [(t, state) for t, state, _ in _changes(events, overrides)]


def _changes(events: list[dict], overrides: dict | None = None) -> list[tuple[int, int, int]]:
    """[(t_ms, state, index of the confirming ping in the log)], up to the first button press
    (a press changes the range, which the replay cannot know)."""
    shoe = default_logic(overrides)
    out = []
    for i, e in enumerate(events):
        if e["kind"] == "input" and part_is_button(e["part"]):
            break
        if e["kind"] == "ping":
            cm = e["cm"]
            mm = None if cm is None else int(round(cm * 10))
            if mm is not None and mm > shoe.edges[3] + 100:
                mm = None  # beyond the range the device listens to (app.Shoe._range_mm)
            if shoe.reading(e["t_ms"], mm):
                out.append((e["t_ms"], shoe.state, i))
    return out


def part_is_button(name: str) -> bool:
    return name == "button" or name.endswith("_button")


def buzzer_edges(events: list[dict]) -> list[tuple[int, int, int, int]]:
    """[(t_ms, on 0/1, freq, index in the log)] whenever the buzzer starts or stops sounding."""
    out: list[tuple[int, int, int, int]] = []
    for i, e in enumerate(events):
        if e["part"] == "buzzer" and e["kind"] == "pwm":
            on = 1 if e["duty"] > 0 else 0
            if not out or out[-1][1] != on or (on and out[-1][2] != e["freq"]):
                out.append((e["t_ms"], on, e["freq"], i))
    return out


def zone_intervals(events: list[dict]) -> list[tuple[int, int]]:
    """[(start, end)] of the buzzer sounding at the zone tone."""
    out, since = [], None
    for t, on, freq, _ in buzzer_edges(events):
        sounding = on and freq == ZONE_HZ
        if sounding and since is None:
            since = t
        elif not sounding and since is not None:
            out.append((since, t))
            since = None
    if since is not None:
        out.append((since, events[-1]["t_ms"]))
    return out


def on_fraction(intervals: list[tuple[int, int]], start: int, end: int) -> float:
    i = max(0, bisect.bisect_left(intervals, (start, -1)) - 1)
    total = 0
    while i < len(intervals) and intervals[i][0] < end:
        a, b = intervals[i]
        total += max(0, min(b, end) - max(a, start))
        i += 1
    return total / (end - start)


def raw_zone(shoe, cm) -> int:
    """The zone one ping alone would put the walker in (no filter, no hysteresis)."""
    if cm is None or cm * 10 > shoe.edges[3] + 100:
        return logic.CLEAR
    for i, edge in enumerate(shoe.edges):
        if cm * 10 < edge:
            return i
    return logic.CLEAR


def latencies(events: list[dict], skip_before_ms: int = 1500, since: str = "confirm",
              warnings_only: bool = False) -> list[int]:
    """For each state change: ms from the confirming ping to the start of the matching pattern,
    as seen on the buzzer. A pulse pattern started at S shows an 'on' edge at S (invisible when
    the buzzer was already on) and an 'off' edge at S + 60 ms, so S is found from the first edge
    after the change. Changes overlapping another tone (ready, confirmations, battery) or too
    short to show an edge are skipped. A change that the buzzer contradicts (sounding in CLEAR,
    stopping in the continuous zone, beeping at another zone's rhythm) counts as infinite.

    ``since="confirm"`` times from the ping that confirms the change (the issue's definition);
    ``since="first"`` from the first ping of the unbroken run that already showed the new zone,
    so the filter's own delay is included. ``warnings_only`` keeps changes to a closer zone."""
    states = _changes(events)
    edges = buzzer_edges(events)
    order = [e[3] for e in edges]
    pings = [(i, e) for i, e in enumerate(events) if e["kind"] == "ping"]
    ping_pos = {i: k for k, (i, _) in enumerate(pings)}
    shoe = default_logic()
    periods = {z: sum(step[1] for step in shoe.programs[z]) for z in (1, 2, 3)}
    out = []
    for n, (t_confirm, state, idx) in enumerate(states):
        before = states[n - 1][1] if n else logic.CLEAR
        if t_confirm < skip_before_ms or (warnings_only and (state >= before or state == logic.FAULT)):
            continue  # warnings_only: only changes to a closer zone (hysteresis delays the rest)
        t = t_confirm
        if since == "first":
            # the earliest ping of the unbroken run of pings that already showed this zone
            k = ping_pos[idx]
            while k > 0 and raw_zone(shoe, pings[k - 1][1]["cm"]) == state:
                k -= 1
            t = pings[k][1]["t_ms"]
        t_next = states[n + 1][0] if n + 1 < len(states) else events[-1]["t_ms"]
        # edges logged after the confirming ping (same-ms edges before it were the old pattern)
        i = bisect.bisect_left(order, idx)
        window = [e for e in edges[i:] if e[0] < t_next]
        before = edges[i - 1] if i else (0, 0, 0, 0)
        if any(e[1] and e[2] != ZONE_HZ for e in window + [before]):
            continue  # another pattern's tone: not a zone change to judge
        on_at_change = before[1] == 1
        if state == logic.CLEAR:
            if any(e[1] for e in window):
                out.append(10**9)
            elif on_at_change:
                offs = [e for e in window if not e[1]]
                if offs:
                    out.append(offs[0][0] - t)
            else:
                out.append(0)
        elif state == 0:
            if any(not e[1] for e in window):
                out.append(10**9)
            elif not on_at_change:
                ons = [e for e in window if e[1]]
                if ons:
                    out.append(ons[0][0] - t)
            else:
                out.append(0)
        elif state in (1, 2, 3):
            if not window:
                continue
            first = window[0]
            start = first[0] if first[1] else first[0] - PULSE_MS
            ons = [e[0] for e in window if e[1]]
            if len(ons) >= 2 and ons[1] - ons[0] != periods[state]:
                out.append(10**9)  # the wrong rhythm for this zone
                continue
            out.append(max(0, start - t))
    return out
