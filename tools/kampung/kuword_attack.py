"""How many guesses does an attacker at a Kuword keypad get? The attack model behind the
brute-force test and the ``make bench`` figures.

The attacker types 6-digit codes as fast as the keypad takes them and starts the next one the
moment the keypad accepts keys again. The lockout rule is the firmware's own
(``apps/kuword/logic.Lockout``, imported from firmware/), and how the firmware treats power
cuts is modelled on what ``apps/kuword/app.py`` does, verified against the real firmware on
the virtual board by host_tests/test_kuword_attack.py:

- ``cut=None``: no power cuts.
- ``cut="lockout"``: the attacker pulls the power as soon as a lockout starts, hoping the lock
  forgets it. The count of wrong codes is on the flash and the lockout starts again in full at
  boot, so each cut only adds the boot time.
- ``cut="check"``: the power is pulled while a code is being checked, before the result shows
  (hoping the wrong code is not counted). The count goes up before the check, so every attempt
  is counted and none is answered.

    guesses = attack()                       # list of ms at which guesses are answered
    per_day = len(attack(seconds=86400))
"""

from __future__ import annotations

import sys

from kampung import FIRMWARE

for _p in (FIRMWARE, FIRMWARE / "lib"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from apps.kuword import logic  # noqa: E402  (firmware code, after the path is set)
from apps.kuword import settings as kuword_settings  # noqa: E402

TYPE_MS = 7 * 80 - 40  # "123456#": keys held 40 ms with 40 ms between them
CHECK_MS = 300  # one PBKDF2 check on an ESP32 (docs/pin-store.md); 0 on the virtual board
BOOT_MS = 1000  # power back on until the keypad is scanned


def defaults() -> dict:
    return {k: v[0] for k, v in kuword_settings.SCHEMA.items()}


def attack(settings: dict | None = None, seconds: int = 86400, cut: str | None = None,
           type_ms: int = TYPE_MS, check_ms: int = CHECK_MS, boot_ms: int = BOOT_MS,
           starts: list[int] | None = None) -> list[int]:
    """The times (ms from the first key) at which the lock answers a guess within ``seconds``;
    ``starts``, when given, receives the time the attacker starts typing each guess."""
    s = dict(defaults(), **(settings or {}))
    lockout = logic.Lockout(s["fail_limit"], s["lockout_s"], s["lockout_cap_s"])
    t = 0
    answered = []
    end = seconds * 1000
    while True:
        if starts is not None:
            starts.append(t)
        t += type_ms
        if t > end:
            return answered
        lockout.fails += 1  # persisted before the check starts
        if cut == "check":
            t += check_ms // 2 + boot_ms  # no answer; at boot a lockout starts in full
            wait = lockout.wait_s() * 1000
            t += wait
            continue
        t += check_ms
        if t > end:
            return answered
        answered.append(t)
        wait = lockout.wait_s() * 1000
        if wait:
            if cut == "lockout":
                t += boot_ms  # the cut lockout begins again, in full, at boot
            t += wait


def seconds_for(guesses: int, settings: dict | None = None, cut: str | None = None) -> float:
    """Seconds until the lock has answered ``guesses`` guesses. Once the lockout has reached its
    cap every further guess costs the same, so the model runs until then and extrapolates."""
    s = dict(defaults(), **(settings or {}))
    # the lockout reaches its cap after this many wrong codes (then it stays there)
    steady = s["fail_limit"] + 1
    while logic.Lockout(s["fail_limit"], s["lockout_s"], s["lockout_cap_s"], steady).wait_s() < s["lockout_cap_s"]:
        steady += 1
    times = _first(s, steady + 2, cut)
    if guesses <= len(times):
        return times[guesses - 1] / 1000
    step = times[-1] - times[-2]
    return (times[-1] + (guesses - len(times)) * step) / 1000


def _first(s: dict, n: int, cut: str | None) -> list[int]:
    seconds = 3600
    while True:
        times = attack(s, seconds=seconds, cut=cut)
        if len(times) >= n:
            return times[:n]
        seconds *= 2


def expected_years(settings: dict | None = None, digits: int = 6, codes: int = 1, cut: str | None = None) -> float:
    """Mean time to hit one of ``codes`` valid codes among 10**digits by guessing without
    repeats: (10**digits + 1) / (codes + 1) guesses on average."""
    guesses = round((10 ** digits + 1) / (codes + 1))
    return seconds_for(guesses, settings, cut) / 86400 / 365.25


def figures() -> dict:
    """Guesses answered in the first day and per day once the lockout is at its cap, and the
    expected years to find a 6-digit PIN (one code, or any of a full store of 22), for the
    default policy."""
    out = {}
    for cut in (None, "lockout", "check"):
        first_day = len(attack(cut=cut))
        later = len(attack(seconds=2 * 86400, cut=cut)) - first_day
        entry: dict[str, float] = {"first_day": first_day, "per_day_later": later}
        if cut != "check":
            entry["years_one_code"] = round(expected_years(cut=cut), 1)
            entry["years_any_of_22"] = round(expected_years(codes=22, cut=cut), 1)
        out[cut or "none"] = entry
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(figures(), indent=2))
