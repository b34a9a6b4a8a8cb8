"""Akrubutan benchmarks (part of ``make bench``): the heap one measurement needs, the awake time
of one field-logging sample in virtual time, and the battery life that awake time implies.

Heap: ``kampung.bench.peak_heap`` and ``smallest_heap`` (the same method as the shoe's and
Kuword's figures) on ``scenarios/akrubutan_bench.json``: one short press measuring with every
sensor answering (capacitive probe, pH module, DS18B20, a Renke-style RS485 probe found by the
search at boot), the result shown, printed and logged.

Awake time: ``scenarios/akrubutan_bench_sleep.json`` runs the default settings with
``sleep_min`` 30 (field logging) on the DevKitC map, whose ``sensor_power`` switch is wired:
power-on, then a wake from deep sleep. ``awake_cycles`` reads each boot -> deep-sleep reset of
the event log and splits it into phases at what the virtual hardware saw and the device said:

- boot: the boot event to the sensors' switch-on (the ``sensor_power`` pin going high), or to
  the app's first ``akrubutan:`` line when nothing switches them;
- sensor warm-up: to the first RS485 frame (the ``rs485_de`` pin rising) or, without RS485
  traffic, the first measuring screen;
- probe: to the first measuring screen ("Mengukur... 20s", the firmware's own text): one frame
  to the probe remembered in the RTC memory, or a search of the bus (its frames are counted);
- measuring: to the result's ``akrubutan: #N`` line. The samples are the measuring screens
  (one a sample: each shows its own countdown); they start ``sample_ms`` apart, and the last
  one, which the result follows at once, gives one sample's own time (the OLED redraw and the
  DS18B20 conversion, with the Modbus reads and the ADC during it); the rest is waiting;
- result and log: to the deep-sleep reset.

The same log says how long the sensors' supply was on (``sensor_power`` high) and whether it
was off when the deep sleep began; without ``sensor_power`` events nothing switched it.

Virtual time has no cost for the ESP32's own start (bootloader, MicroPython, imports from
flash) nor for flash writes: the battery model adds ``BOOT_S`` for them (the switched sensors
are still off then: the pin is not driven before the app starts).

Battery: ``battery`` turns the awake time, the sensors' on time and the sample period into an
average draw from two 18650 cells, for three builds (``BUILDS``); every current below names its
source.
"""

from __future__ import annotations

import re
import sys

from kampung import FIRMWARE
from kampung.sim import SCENARIOS

MEASURE_SCENARIO = SCENARIOS / "akrubutan_bench.json"
SLEEP_SCENARIO = SCENARIOS / "akrubutan_bench_sleep.json"
_RESULT = re.compile(r"\] akrubutan: #\d+ ")

# -- the battery ------------------------------------------------------------------------------
# Two 18650 cells of 2600 mAh (a common rating) in parallel (1S2P): one TP4056-type charger
# module, no balancing of cells in series; the pack gives 3.0-4.2 V, 3.7 V nominal. The 5 V
# (DevKitC's 5V pin, pH module) and 12 V (RS485 probe) rails come from boost converters
# (MT3608-type), counted at BOOST_EFF. USABLE: cells in a hot field box lose capacity with age,
# and the last part of a discharge is below what the converters accept.
CELL_MAH = 2600
CELLS = 2
CELL_V = 3.7
USABLE = 0.8
BOOST_EFF = 0.85
BOOT_S = 1.0  # not in virtual time: bootloader, MicroPython start, imports (an allowance)

# -- currents (mA unless named otherwise) -------------------------------------------------------
# ESP32 Series Datasheet (Espressif, v3.5), table "Power consumption by power modes":
# Modem-sleep (CPU on, Wi-Fi/BT off) at 160 MHz, dual-core, 27-44 mA: MicroPython runs the ESP32
# at 160 MHz by default and Akrubutan never starts Wi-Fi; the upper end is taken.
ESP32_ACTIVE = 44.0
ESP32_DEEPSLEEP = 0.010  # same table: Deep-sleep, RTC timer + RTC memory, 10 uA
# ESP32-DevKitC V4 fed at 5 V, measured in deep sleep: 3.8 mA (lucidar.me, "Power consumption
# of ESP32-DevKitC V4"): its LDO's quiescent current, the USB-UART bridge (CP210x) and the
# power LED. Clones with an AMS1117 draw more: its datasheet gives 5 mA typical quiescent alone.
DEVKITC_OVERHEAD = 3.8
BARE_LDO_Q = 0.004  # a bare ESP32 module on an HT7333-class LDO: 4 uA quiescent (Holtek)
# RS485 probe: <= 0.15 W at 12 V DC (JXCT JXBS-3001 manual VER1.1; Renke RS-NPK-N01-TR manual;
# DFRobot SEN0605 wiki), i.e. 12.5 mA at 12 V. ../shared/data/modbus gives the supply range
# (12-24 V) but no current.
PROBE_W = 0.15
PH_MODULE = 10.0  # PH-4502C-type module at 5 V: "working current 5-10 mA" (sellers' spec sheet)
MOISTURE = 5.0  # capacitive probe v1.2 at 3.3 V: operating current 5 mA (DFRobot SEN0193 wiki)
DS18B20_ACTIVE, DS18B20_STANDBY = 1.0, 0.00075  # Maxim DS18B20 datasheet: 1 mA, 750 nA typical
# SSD1306 128x64 module: about 10 mA showing a screen of text (its charge pump drives the lit
# pixels: more pixels, more current; an estimate, measure yours); display off (0xAE, sleep
# mode): <= 10 uA on each of VDD and VCC (Solomon Systech SSD1306 datasheet).
OLED_ON, OLED_OFF = 10.0, 0.020
RS485_XCVR = 1.0  # 3.3 V RS-485 transceiver, receiver on: ~0.8 mA typ, 1.5 mA max (Maxim MAX3079E
# family; the MAX3485 is of the same order). DE and /RE are tied, so it never shuts down.

# The builds. "unswitched": no switch fitted (sensor_power left unwired, as the role is
# optional): the sensors are on the supply all the time. "switched": the sensor_power pin drives
# a high-side switch ahead of the sensors' supplies (a load switch on the cells' line to the 5 V
# and 12 V boost converters and one on the sensors' 3.3 V, or a P-MOSFET driven through an NPN):
# the sensors draw only while the event log shows the pin high, and nothing in deep sleep if the
# log shows it low when the sleep began; the boost converters' no-load current is then cut too
# (not counted). The DS18B20 and the OLED stay on the 3.3 V rail in every build (750 nA standby;
# the OLED as the firmware leaves it, read from the event log).
BUILDS = {
    "devkitc_unswitched": {"board": "devkitc", "switch": False,
                           "words": "ESP32-DevKitC, no switch fitted (sensor_power unwired): sensors "
                                    "always powered"},
    "devkitc_switched": {"board": "devkitc", "switch": True,
                         "words": "ESP32-DevKitC, sensors on the sensor_power switch"},
    "module_switched": {"board": "module", "switch": True,
                        "words": "bare ESP32 module on a low-quiescent LDO, sensors on the "
                                 "sensor_power switch"},
}


def _line(e: dict) -> str:
    return e.get("text", "") if e.get("kind") == "log" else ""


def _measuring_pattern() -> re.Pattern:
    """The console line of a measuring screen, in either language (apps/akrubutan/texts.py)."""
    texts = _firmware_module("texts")
    fmts = [re.escape(texts.text(lang, "measuring")).replace("%d", r"\d+") for lang in ("id", "en")]
    return re.compile("^OLED: (?:%s)$" % "|".join(fmts))


def awake_cycles(events: list[dict]) -> list[dict]:
    """Each boot that ends in a deep-sleep reset: its awake time and phases (ms), from the event
    log (see the module's docstring for the markers)."""
    measuring = _measuring_pattern()
    out = []
    cur: dict | None = None
    for e in events:
        if e.get("kind") == "boot":
            cur = {"t_boot": e["t_ms"], "cause": e.get("cause"), "app": None, "power": [], "frames": [],
                   "screens": []}
            continue
        if cur is None:
            continue
        text = _line(e)
        if "] akrubutan: " in text:
            if cur["app"] is None:
                cur["app"] = e["t_ms"]
            if _RESULT.search(text) and "result" not in cur:
                cur["result"] = e["t_ms"]
        elif measuring.match(text) and "result" not in cur:
            cur["screens"].append(e["t_ms"])
        elif text.startswith("OLED: ") and cur["screens"] and "shown" not in cur:
            cur["shown"] = e["t_ms"]  # the result screen, right after the last sample
        elif e.get("kind") == "pin" and e.get("part") == "sensor_power":
            cur["power"].append((e["t_ms"], e["value"]))
        elif e.get("kind") == "pin" and e.get("part") == "rs485_de" and e.get("value") == 1:
            cur["frames"].append(e["t_ms"])
        elif e.get("kind") == "oled":
            cur["dark"] = _dark(e)
        elif e.get("kind") == "reset":
            if e.get("why") == "deepsleep" and "result" in cur and cur["screens"] and cur["app"] is not None:
                out.append(_phases(cur, e["t_ms"]))
            cur = None
    for a, b in zip(out, out[1:], strict=False):
        a["period_ms"] = b["t_boot"] - a["t_boot"]
    return out


def _dark(e: dict) -> bool:
    """An OLED event showing nothing lit (switched off, or a blank screen)."""
    if "ram" in e:
        return not e["ram"].strip("0")
    return not any(line.strip() for line in e.get("text", []))


def _sensors(power: list[tuple[int, int]], t_sleep: int) -> tuple[int | None, int, bool]:
    """(switch-on time or None, ms the supply was on, whether it was off when the sleep began)
    from the sensor_power pin's writes; no writes: nothing switches the sensors."""
    on_at, on_ms, first_on, level = None, 0, None, 0
    for t, v in power:
        if v and on_at is None:
            on_at = t
            first_on = t if first_on is None else first_on
        elif not v and on_at is not None:
            on_ms += t - on_at
            on_at = None
        level = v
    if on_at is not None:
        on_ms += t_sleep - on_at
    return first_on, on_ms, bool(power) and not level


def _phases(c: dict, t_sleep: int) -> dict:
    t_on, sensors_on_ms, off_asleep = _sensors(c["power"], t_sleep)
    start = t_on if t_on is not None else c["app"]
    screens = [t for t in c["screens"] if t >= start]
    t_measure = screens[0]
    later = [t for t in c["frames"] if start <= t < t_measure]
    warm_end = min(later[0], t_measure) if (later and t_on is not None) else (t_measure if t_on is not None else start)
    samples = len(screens)
    shown = c.get("shown", c["result"])
    measure = shown - t_measure
    one = shown - screens[-1]  # the last sample: the result screen follows it at once
    period = (screens[-1] - screens[0]) / (samples - 1) if samples > 1 else 0.0
    return {"t_boot": c["t_boot"], "cause": c["cause"], "awake_ms": t_sleep - c["t_boot"],
            "boot_ms": start - c["t_boot"], "warmup_ms": warm_end - start, "probe_ms": t_measure - warm_end,
            "probe_frames": len([t for t in later if t >= warm_end]), "measure_ms": measure,
            "samples": samples, "sample_period_ms": period, "sample_busy_ms": one,
            "waits_ms": max(measure - samples * one, 0), "log_ms": t_sleep - shown,
            "switched": bool(c["power"]), "sensors_on_ms": sensors_on_ms if c["power"] else None,
            "sensors_off_asleep": off_asleep, "oled_dark_asleep": c.get("dark", True)}


def battery(awake_s: float, period_s: float, build: dict, oled_dark: bool = True,
            sensors_on_s: float | None = None, sensors_off_asleep: bool = False) -> dict:
    """Average draw from the cells and the life it gives, for one sample every ``period_s`` with
    ``awake_s`` awake (``BOOT_S`` is added here). Power is counted at the cells: each rail's
    power over its converter's efficiency (a linear regulator passes its input current). The
    DS18B20 is counted at its active current for the whole awake time (it converts for most of
    it, and it is small either way). ``oled_dark``: whether the OLED is dark while asleep (the
    firmware's doing, from the event log). For a build with the switch, ``sensors_on_s`` (a
    wake) and ``sensors_off_asleep`` are what the event log shows; ``sensors_on_s`` None means
    the log shows no switching, so the sensors are on all the time."""
    awake = awake_s + BOOT_S
    asleep = max(period_s - awake, 0.0)
    devkitc = build["board"] == "devkitc"

    def rail_3v3(ma):  # what a 3.3 V load costs at the cells, in W
        if devkitc:  # boost to 5 V, then the DevKitC's linear regulator (same current in and out)
            return 5.0 * ma / 1000 / BOOST_EFF
        return CELL_V * ma / 1000  # LDO straight from the cells

    def base(awake_now: bool) -> float:  # the ESP32, its board, the OLED and the DS18B20
        oled = OLED_ON if awake_now or not oled_dark else OLED_OFF
        ma = (ESP32_ACTIVE if awake_now else ESP32_DEEPSLEEP) + oled
        ma += DEVKITC_OVERHEAD if devkitc else BARE_LDO_Q
        ma += DS18B20_ACTIVE if awake_now else DS18B20_STANDBY
        return rail_3v3(ma)

    # the switched (or switchable) sensors: moisture probe and transceiver on 3.3 V, the pH
    # module on 5 V and the RS485 probe on 12 V through their boost converters
    sensors_w = rail_3v3(MOISTURE + RS485_XCVR) + 5.0 * PH_MODULE / 1000 / BOOST_EFF + PROBE_W / BOOST_EFF
    if not build["switch"] or sensors_on_s is None:
        on_awake, on_asleep = awake, asleep
    else:
        on_awake, on_asleep = min(sensors_on_s, awake), (0.0 if sensors_off_asleep else asleep)
    awake_j = base(True) * awake + sensors_w * on_awake
    asleep_j = base(False) * asleep + sensors_w * on_asleep
    average_w = (awake_j + asleep_j) / (awake + asleep)
    energy_wh = CELLS * CELL_MAH / 1000 * CELL_V * USABLE
    return {"awake_w": awake_j / awake, "asleep_w": asleep_j / asleep if asleep else base(False),
            "average_w": average_w, "average_ma": average_w / CELL_V * 1000,
            "days": energy_wh / average_w / 24, "awake_share": awake_j / (awake_j + asleep_j)}


def _firmware_module(name: str):
    for p in (FIRMWARE, FIRMWARE / "lib"):
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    import importlib

    return importlib.import_module("apps.akrubutan." + name)  # plain data, no machine import


def _firmware_defaults() -> dict:
    """The default settings the figures depend on (apps/akrubutan/settings.py) and the DS18B20's
    CONVERT_MS, read from the firmware so the figures follow it."""
    schema = _firmware_module("settings").SCHEMA
    text = (FIRMWARE / "lib" / "drivers" / "ds18b20.py").read_text(encoding="utf-8")
    found = re.search(r"^CONVERT_MS = (\d+)", text, re.M)
    return {"sample_ms": schema["sample_ms"][0], "warmup_ms": schema["sensor_warmup_ms"][0],
            "convert_ms": int(found.group(1)) if found else 750}


def awake_figures(roots=None) -> dict:
    """The field-logging scenario's wake from deep sleep and the power-on boot before it, their
    phases, and the battery life for each build with what the wake's event log shows."""
    from kampung.bench import run_sim

    proc, events, _ = run_sim(device="akrubutan", scenario=SLEEP_SCENARIO, roots=roots)
    cycles = awake_cycles(events)
    if proc.returncode != 0 or len(cycles) < 2:
        raise RuntimeError(f"the field-logging scenario gave {len(cycles)} sleep cycles:\n"
                           + (proc.stdout + proc.stderr)[-2000:])
    wake = cycles[1]
    period_s = wake.get("period_ms", cycles[0]["period_ms"]) / 1000
    on_s = wake["sensors_on_ms"] / 1000 if wake["sensors_on_ms"] is not None else None
    life = {name: battery(wake["awake_ms"] / 1000, period_s, b, wake["oled_dark_asleep"], on_s,
                          wake["sensors_off_asleep"])
            for name, b in BUILDS.items()}
    return {"wake": wake, "power_on": cycles[0], "period_s": period_s, "battery": life,
            "defaults": _firmware_defaults()}


def figures(roots) -> dict:
    """Everything ``make bench`` reports for Akrubutan."""
    from kampung.bench import bundle, peak_heap, smallest_heap

    return {"heap": peak_heap(roots, "akrubutan", MEASURE_SCENARIO),
            "small": smallest_heap(roots, device="akrubutan", scenario=MEASURE_SCENARIO),
            "small_base": smallest_heap(roots, no_firmware=True, device="akrubutan", scenario=MEASURE_SCENARIO),
            "awake": awake_figures(roots), "size": bundle("akrubutan")}


def _s(ms: float) -> str:
    return f"{ms / 1000:.2f} s"


def rows(k: dict) -> list[tuple[str, str, str, bool | None]]:
    size, a = k["size"], k["awake"]
    w, first, d = a["wake"], a["power_on"], a["defaults"]
    busy = w["samples"] * w["sample_busy_ms"]
    parts = {"sensor warm-up": w["warmup_ms"], "probe check or search": w["probe_ms"],
             "the samples themselves": busy, "waits between samples": w["waits_ms"]}
    top = max(parts, key=lambda p: parts[p])
    probe = (f"{w['probe_frames']} frame to the probe remembered in RTC memory" if w["probe_frames"] == 1
             else f"{w['probe_frames']} frames")
    from kampung.bench import heap_rows

    out = heap_rows("akrubutan", "one measurement with every sensor", "meter", k) + [
        ("akrubutan: awake time per field-logging sample (wake -> deep sleep), default settings",
         f"{_s(w['awake_ms'])}: boot {w['boot_ms']} ms, sensor warm-up {_s(w['warmup_ms'])} "
         f"(sensor_warmup_ms {d['warmup_ms']}), probe {_s(w['probe_ms'])} ({probe}), measuring "
         f"{_s(w['measure_ms'])} ({w['samples']} samples every {_s(w['sample_period_ms'])}, each "
         f"{_s(w['sample_busy_ms'])}: OLED redraw, DS18B20 conversion ({d['convert_ms']} ms) with "
         f"the Modbus reads and ADC during it; waits {_s(w['waits_ms'])}), result screen + log "
         f"{w['log_ms']} ms; largest: {top}", "", None),
        ("akrubutan: awake time of the first boot after power-on (nothing in RTC memory)",
         f"{_s(first['awake_ms'])}, of which probe search {_s(first['probe_ms'])} "
         f"({first['probe_frames']} frames)", "", None),
    ]
    if w["switched"]:
        sensors = (f"sensors on {_s(w['sensors_on_ms'])} a wake, "
                   + ("off in deep sleep" if w["sensors_off_asleep"] else "LEFT ON in deep sleep")
                   + " (event log)")
    else:
        sensors = "nothing switched the sensors (event log)"
    oled = "OLED " + ("dark" if w["oled_dark_asleep"] else "left lit") + " in deep sleep (event log)"
    for name, b in BUILDS.items():
        life = a["battery"][name]
        words = b["words"] + (": " + sensors if b["switch"] else "") + "; " + oled
        out.append((f"akrubutan: battery life, 2 x 18650 (5200 mAh, 3.7 V), a sample every "
                    f"{a['period_s'] / 60:.1f} min: {words}",
                    f"{life['days']:.1f} days (average {life['average_ma']:.2f} mA from the cells; "
                    f"{life['awake_w']:.3f} W awake, {life['asleep_w'] * 1000:.1f} mW asleep; awake time "
                    f"{life['awake_share']:.0%} of the energy)", "", None))
    out.append((f"akrubutan bundle ({size['files']} files)",
                f"{size['plain']} B source, {size['mpy']} B .mpy ({size['mpy'] / size['plain']:.0%})", "", None))
    return out


if __name__ == "__main__":
    import tempfile
    from pathlib import Path

    from kampung.bench import compiled_roots

    with tempfile.TemporaryDirectory() as t:
        r = compiled_roots(Path(t))
        f = figures(r) if sys.argv[1:] != ["awake"] else None
        if f is None:
            print(awake_figures(r))
        else:
            for row in rows(f):
                print(" | ".join(str(x) for x in row))
