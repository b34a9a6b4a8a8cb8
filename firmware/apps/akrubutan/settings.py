"""Akrubutan's settings: defaults, allowed values and where the defaults come from.

Change them in ``config.json`` on the board inside the device's section, for example
``{"device": "akrubutan", "akrubutan": {"probe": "renke", "moisture_dry_v": 2.73}}``.

- moisture_dry_v 2.70 / moisture_wet_v 1.15: a capacitive v1.2 probe on an ESP32 at 11 dB, in
  air and in water (calibration_points C03-C06: 2.70-2.73 V dry, 1.07-1.20 V wet). Measure your
  own probe: hold it in air, then in a glass of water up to the line, and read the console.
- ph_zero_v 2.5 / ph_gain 3.0: a PH-4502C-type module trimmed to 2.5 V at pH 7, amplifying the
  electrode about 3 times (its ~59 mV/pH becomes ~0.18 V/pH). The pH calibration (a long press:
  6.86, then 4.01 or 9.18) is kept in ph_cal.json and is due again after ph_cal_max_days.
- probe "auto": search the RS485 bus at boot for a JXCT- or Renke-style probe (address 1-16,
  9600/4800/2400 baud; searched again at a press while none is known); "jxct"/"renke" with
  probe_addr and probe_baud (0 = the family's default) skip the search (the probe is asked once
  at boot: silent, the OLED says so); "none": no RS485 probe fitted.
- measure_s 20, sample_ms 1000: a measurement samples for up to 20 s and stops early once the
  last 5 samples agree (the probes settle within 10 s: T90 < 10 s in the JXCT manual).
- log_max_bytes 16384: soil.csv rotates to soil.csv.1 past this (two files, ~300 rows each).
- sleep_min 0: 0 measures on the button; N > 0 is field logging: wake every N minutes from
  deep sleep, measure, log, sleep again.
- sensor_warmup_ms 1000: with a ``sensor_power`` switch in the board map, the time from
  switching the sensors' supply on to the first RS485 frame or sample. Neither
  ../shared/data/modbus nor the probe manuals' pages we could read give a start-up time; 1 s is
  what the common ESP32 example for these probes waits after starting before its first request
  (myduino/Industrial-Soil-Sensor-RS485, ESP32_7-in-1_Soil_Sensor.ino: delay(1000) in setup).
  The readings' own settling is left to the measurement (5 agreeing samples). A probe that
  misses its first frame is asked again, then searched for: lengthen this if the console often
  says the remembered probe did not answer.
- watchdog_s 10: the watchdog resets a meter whose loop stopped; 0 turns it off, otherwise at
  least 6 s (a sample can take ~4 s and the wait between samples up to 5 s).
- oled_off_min 5: on the button, the result (or the ready screen) stays on the OLED, its pages
  taking turns, until a press; after this many minutes without one the OLED goes dark (a lit
  SSD1306 draws 10-20 mA) and the next press only wakes it. 0 keeps it lit.
- crops: more crops for the advice, as [name (1-20 characters), lowest pH, highest pH], e.g.
  [["cabai", 6.0, 7.0]] from your extension officer's table.
"""

MIN_WATCHDOG_S = 6  # the longest the measuring loop goes without feeding it, plus a margin

SCHEMA = {
    "lang": ("id", ("choice", "id", "en")),
    "moisture_dry_v": (2.70, ("num", 0.0, 3.3)),
    "moisture_wet_v": (1.15, ("num", 0.0, 3.3)),
    "ph_zero_v": (2.5, ("num", 0.0, 3.3)),
    "ph_gain": (3.0, ("num", -20.0, 20.0)),
    "ph_cal_max_days": (30, ("int", 1, 365)),
    "probe": ("auto", ("choice", "auto", "jxct", "renke", "none")),
    "probe_addr": (1, ("int", 1, 247)),
    "probe_baud": (0, ("choice", 0, 2400, 4800, 9600)),
    "measure_s": (20, ("int", 3, 120)),
    "sample_ms": (1000, ("int", 200, 5000)),
    "log_max_bytes": (16384, ("int", 1024, 262144)),
    "sleep_min": (0, ("int", 0, 1440)),
    "sensor_warmup_ms": (1000, ("int", 0, 10000)),
    "crops": ([], ("crops",)),
    "watchdog_s": (10, ("int", 0, 60)),
    "oled_off_min": (5, ("int", 0, 60)),
}


def check(s, source):
    """Rules the field rules cannot say (ConfigError names the file and field)."""
    from kit.config import ConfigError

    if abs(s["moisture_dry_v"] - s["moisture_wet_v"]) < 0.3:
        raise ConfigError("%s: fields 'moisture_dry_v' %.2f and 'moisture_wet_v' %.2f must be at "
                          "least 0.3 V apart (air and water readings of the probe)"
                          % (source, s["moisture_dry_v"], s["moisture_wet_v"]))
    if s["watchdog_s"] and s["watchdog_s"] < MIN_WATCHDOG_S:
        raise ConfigError("%s: field 'watchdog_s' %d: 0 (off) or at least %d s; one sample can "
                          "take ~4 s (a DS18B20 read twice, an RS485 probe asked again) and the "
                          "wait between samples is up to 5 s (sample_ms)"
                          % (source, s["watchdog_s"], MIN_WATCHDOG_S))
    if abs(s["ph_gain"]) < 0.5:
        raise ConfigError("%s: field 'ph_gain' %r: the module's gain is 0.5-20 (either sign)"
                          % (source, s["ph_gain"]))
    return s
