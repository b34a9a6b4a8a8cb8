"""The shoe's settings: defaults, allowed values and where the defaults come from.

Change them in ``config.json`` on the board (or a scenario's ``config``), inside the device's
section, for example ``{"device": "blind_shoe", "blind_shoe": {"zones_cm": [30, 60, 100, 150]}}``
to warn later. Sources for the defaults:

- zones_cm [40, 80, 140, 200]: the closest zone (continuous signal) ends at 40 cm because the
  original Kampung IT shoe vibrated at 30-40 cm. 200 cm at a walking speed of about 1.3 m/s
  (Bohannon 1997, comfortable gait of adults 20-79 years: 1.27-1.46 m/s) gives about 1.5 s of
  warning; the HC-SR04's 15 degree beam at shoe height sees the floor much further out.
- zone_period_ms [0, 200, 450, 900]: faster when closer, continuous in the closest zone, as
  in parking sensors and electronic travel aids that code distance as pulse rate.
- period_ms 60: HC-SR04 datasheet, "over 60 ms measurement cycle".
- air_temp_c 27: mean air temperature in Magelang (about 26-27 C at 380 m); it sets the speed
  of sound (331.3 + 0.606 T m/s), an error of 10 C moves readings by under 2 %.
- battery_low_v 3.5: a 1S Li-ion cell has about 10 % charge left at 3.5 V under light load.
- buzzer_hz 2700: the resonance of common 12 mm piezo buzzers (loudest per watt).
"""

SCHEMA = {
    "lang": ("id", ("choice", "id", "en")),
    "sensor": ("hcsr04", ("choice", "hcsr04", "jsn_sr04t")),
    "zones_cm": ([40, 80, 140, 200], ("rising", 4, 5, 400)),
    "zone_period_ms": ([0, 200, 450, 900], ("ints", 4, 0, 5000)),
    "pulse_ms": (60, ("int", 20, 500)),
    "range_steps": ([0.5, 1.0, 1.5], ("list", 3, 0.25, 2.0)),
    "range_index": (1, ("int", 0, 2)),
    "mode": ("both", ("choice", "both", "buzzer", "vibration")),
    "period_ms": (60, ("int", 60, 1000)),
    "air_temp_c": (27, ("int", -20, 60)),
    "fault_after": (5, ("int", 1, 50)),
    "buzzer_hz": (2700, ("int", 100, 10000)),
    "vibration_percent": (80, ("int", 10, 100)),
    "battery_divider": (2.0, ("num", 1.0, 10.0)),
    "battery_low_v": (3.5, ("num", 2.5, 12.0)),
    "battery_every_s": (10, ("int", 1, 3600)),
    "long_press_ms": (800, ("int", 300, 5000)),
    "watchdog_s": (10, ("int", 0, 60)),  # 0 = off; reset when the measuring loop stops
}


def check(s, source):
    """Rules between fields, checked once when the settings are loaded (ConfigError names the
    file and field)."""
    from kit.config import ConfigError

    periods = s["zone_period_ms"]
    pulse = s["pulse_ms"]
    for i in range(4):
        p = periods[i]
        if (p or i) and p <= pulse:
            raise ConfigError("%s: field 'zone_period_ms' is %r; each period must be longer than "
                              "pulse_ms (%d), only the first may be 0 (continuous)" % (source, periods, pulse))
        if i and p <= periods[i - 1] and periods[i - 1]:
            raise ConfigError("%s: field 'zone_period_ms' is %r; periods must grow with distance "
                              "(closer = faster)" % (source, periods))
    top_mm = int(min(s["range_steps"]) * s["zones_cm"][3] * 10)
    if s["sensor"] == "jsn_sr04t" and top_mm <= 300:
        raise ConfigError("%s: fields 'zones_cm' x 'range_steps' reach only %d cm; a JSN-SR04T "
                          "cannot see closer than 20 cm, so the shortest range must exceed 30 cm"
                          % (source, top_mm // 10))
    return s

