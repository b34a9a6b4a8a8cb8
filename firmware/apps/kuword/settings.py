"""Kuword's settings: defaults, allowed values and where the defaults come from.

Change them in ``config.json`` on the board (or a scenario's ``config``), inside the device's
section, for example ``{"device": "kuword", "kuword": {"unlock_s": 8}}``. Sources:

- fail_limit 5, lockout_s 30, doubling up to lockout_cap_s 3600: commercial keypad locks lock
  the keypad for minutes after 5-6 wrong codes; with the cap of one hour an attacker gets 34
  answers the first day and 24 a day after, so one 6-digit PIN takes about 57 years on
  average, any one of 22 codes (master, 20 users, duress) about 5 years, and a 4-digit PIN
  under a year
  (tools/kampung/kuword_attack.py; ``make bench``; docs/kuword.md).
- min_len 4 / max_len 8: 4 digits is the least any lock accepts; 6 is the recommended length.
- entry_timeout_s 10: a half-typed code is forgotten after 10 s without a key.
- unlock_s 5: the usual release time of a door strike; with a door contact the lock relocks
  as soon as the door closes again.
- door_ajar_s 30: how long the door may stay open before the alarm sounds.
- door_contact 1, tamper 1: the switches the board map wires are fitted; set 0 for one that is
  not, or its pull-up reads "open" for ever (a door never closing, a tamper alarm at boot).
- forced_alarm_s 0: a door opened while locked is always recorded; with N > 0 the siren also
  sounds for N s (or until a valid code). Off by default: the inside handle of a mortise lock
  opens a locked door, and Kuword has no exit button input yet.
- peep_extra 0: anti-peep entry off; with N > 0 a code may be hidden among up to N extra
  digits. One entry counts as one wrong code but tests every position of every stored code
  length inside it: an entry of n digits tests n - L + 1 codes of length L, up to
  longest + N - L + 1 (a 4-digit code among 12 digits: 9), so it multiplies an attacker's rate
  by that much (docs/kuword.md).
- battery_low_v / battery_critical_v 4.6 / 4.2: four AA cells (the usual lock supply) under a
  solenoid load; below 4.2 V a solenoid may no longer pull.
- buzzer_hz 2700: the resonance of common 12 mm piezo buzzers (key clicks and the "granted"
  tone use it; "denied" and alarms keep their own low and high pitches).
- iterations 0 = the firmware's default PBKDF2 iteration count (about 0.3 s per check on an
  ESP32 at 240 MHz, docs/pin-store.md).
"""

SCHEMA = {
    "lang": ("id", ("choice", "id", "en")),
    "min_len": (4, ("int", 4, 8)),
    "max_len": (8, ("int", 4, 12)),
    "entry_timeout_s": (10, ("int", 3, 120)),
    "fail_limit": (5, ("int", 1, 20)),
    "lockout_s": (30, ("int", 5, 3600)),
    "lockout_cap_s": (3600, ("int", 5, 86400)),
    "unlock_s": (5, ("int", 1, 120)),
    "door_ajar_s": (30, ("int", 5, 3600)),
    "forced_alarm_s": (0, ("int", 0, 3600)),
    "door_contact": (1, ("int", 0, 1)),
    "tamper": (1, ("int", 0, 1)),
    "peep_extra": (0, ("int", 0, 8)),
    "guest_max_h": (168, ("int", 1, 999)),  # 3 digits at most: the prompt never takes a PIN
    "iterations": (0, ("int", 0, 1000000)),
    "relay_active": (1, ("int", 0, 1)),
    "buzzer_hz": (2700, ("int", 100, 10000)),
    "battery_divider": (2.0, ("num", 1.0, 10.0)),
    "battery_low_v": (4.6, ("num", 2.5, 24.0)),
    "battery_critical_v": (4.2, ("num", 2.5, 24.0)),
    "battery_every_s": (60, ("int", 1, 3600)),
    "lcd_refresh_s": (60, ("int", 0, 3600)),
    "watchdog_s": (10, ("int", 0, 60)),
}


def check(s, source):
    """Rules between fields (ConfigError names the file and field)."""
    from kit.config import ConfigError

    if s["max_len"] < s["min_len"]:
        raise ConfigError("%s: field 'max_len' is %d; it must be at least min_len (%d)"
                          % (source, s["max_len"], s["min_len"]))
    if s["lockout_cap_s"] < s["lockout_s"]:
        raise ConfigError("%s: field 'lockout_cap_s' is %d; it must be at least lockout_s (%d)"
                          % (source, s["lockout_cap_s"], s["lockout_s"]))
    if s["battery_critical_v"] >= s["battery_low_v"]:
        raise ConfigError("%s: field 'battery_critical_v' is %s; it must be below battery_low_v (%s)"
                          % (source, s["battery_critical_v"], s["battery_low_v"]))
    if s["max_len"] + s["peep_extra"] > 16:
        raise ConfigError("%s: fields 'max_len' + 'peep_extra' are %d; at most 16 digits fit an entry"
                          % (source, s["max_len"] + s["peep_extra"]))
    return s
