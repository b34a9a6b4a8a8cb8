"""A readable account of an event log for people: ``kampung sim`` prints it.

The JSON-lines log has every edge (a shoe makes thousands). Here repeated pulses on a PWM output,
or on a digital output that toggles often, become one line ("beeps 60 ms every 450 ms at 2700
Hz, 12 times"), an OLED shows its text, sonar readings are shown
when the distance changes noticeably, and everything else (inputs, console lines, exceptions,
resets) is printed in full.
"""

from __future__ import annotations

FIELDS_HIDDEN = ("t_ms", "part", "kind")


def pulses(events: list[dict], part: str) -> list[tuple[int, int, int]]:
    """[(start, end or -1 if still on, freq)] of a PWM output being on (duty > 0)."""
    out: list[tuple[int, int, int]] = []
    on_since, freq = None, 0
    for e in events:
        if e["part"] != part or e["kind"] != "pwm":
            continue
        on = e["duty"] > 0
        if on and on_since is not None and e["freq"] != freq:
            out.append((on_since, e["t_ms"], freq))
            on_since = None
        if on and on_since is None:
            on_since, freq = e["t_ms"], e["freq"]
        elif not on and on_since is not None:
            out.append((on_since, e["t_ms"], freq))
            on_since = None
    if on_since is not None:
        out.append((on_since, -1, freq))
    return out


def pwm_lines(events: list[dict], part: str) -> list[tuple[int, str]]:
    """Runs of equal pulses folded into one line each."""
    lines: list[tuple[int, str]] = []
    ps = pulses(events, part)
    i = 0
    while i < len(ps):
        start, end, freq = ps[i]
        if end < 0:
            lines.append((start, f"on from here ({freq} Hz) to the end of the run"))
            break
        width = end - start
        j = i
        period = None
        while j + 1 < len(ps) and ps[j + 1][1] >= 0 and ps[j + 1][2] == freq \
                and ps[j + 1][1] - ps[j + 1][0] == width:
            gap = ps[j + 1][0] - ps[j][0]
            if period is None:
                period = gap
            if gap != period:
                break
            j += 1
        if j - i >= 2:  # three or more equal beeps at equal spacing: a rhythm
            lines.append((start, f"beeps {width} ms every {period} ms at {freq} Hz, {j - i + 1} times"))
            i = j + 1
        else:
            lines.append((start, f"on {width} ms at {freq} Hz"))
            i += 1
    return lines


def sonar_lines(events: list[dict]) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    last = "start"
    for e in events:
        if e["kind"] != "ping":
            continue
        cm = e["cm"]
        changed = last == "start" or (cm is None) != (last is None) or (
            cm is not None and last is not None and abs(cm - last) >= max(10.0, 0.2 * last))
        if changed:
            lines.append((e["t_ms"], "no echo (nothing in range)" if cm is None else f"{cm:g} cm"))
            last = cm
    return lines


def render(events: list[dict]) -> list[str]:
    rows: list[tuple[int, int, str, str]] = []
    pwm_parts = sorted({e["part"] for e in events if e["kind"] == "pwm"})
    for n, part in enumerate(pwm_parts):
        for t, text in pwm_lines(events, part):
            rows.append((t, 1 + n, part, text))
    for t, text in sonar_lines(events):
        rows.append((t, 0, "sonar", text))
    # a digital output that toggles often (a siren beating its code, an RS485 direction pin) is
    # folded like a PWM output: 1 = on
    counts: dict[str, int] = {}
    for e in events:
        if e["kind"] == "pin":
            counts[e["part"]] = counts.get(e["part"], 0) + 1
    busy = sorted(p for p, n in counts.items() if n > 12)
    as_pwm = [{"t_ms": e["t_ms"], "part": e["part"], "kind": "pwm", "duty": e["value"], "freq": 0}
              for e in events if e["kind"] == "pin" and e["part"] in busy]
    for n, part in enumerate(busy):
        for t, text in pwm_lines(as_pwm, part):
            # a pin makes no sound: its rhythm is "pulses" (an RS485 direction pin is no buzzer)
            text = text.replace(" at 0 Hz", "").replace(" (0 Hz)", "").replace("beeps ", "pulses ")
            rows.append((t, 1 + len(pwm_parts) + n, part, text))
    for e in events:
        if e["kind"] in ("pwm", "ping") or (e["kind"] == "pin" and e["part"] in busy):
            continue
        if e["kind"] == "oled":  # the picture itself is in the JSON log (ram) for --png
            rows.append((e["t_ms"], -1, e["part"], "shows: " + " | ".join(x for x in e["text"] if x)))
            continue
        extra = {k: v for k, v in e.items() if k not in FIELDS_HIDDEN}
        text = ", ".join(f"{k}={v}" for k, v in extra.items())
        rows.append((e["t_ms"], -1, e["part"], f"{e['kind']}: {text}" if text else e["kind"]))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [f"{t:>8} ms  {part:<10} {text}" for t, _, part, text in rows]
