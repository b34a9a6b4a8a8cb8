"""Akrubutan benchmarks (part of ``make bench``): the heap one measurement needs, the awake time
of one field-logging sample in virtual time, and the battery life that awake time implies.

Heap: ``kampung.bench.peak_heap`` and ``smallest_heap`` (the same method as the shoe's and
Kuword's figures) on ``scenarios/akrubutan_bench.json``: one short press measuring with every
sensor answering (capacitive probe, pH module, DS18B20, a Renke-style RS485 probe found by the
search at boot), the result shown, printed and logged.

Awake time: ``scenarios/akrubutan_bench_sleep.json`` runs the default settings with
``sleep_min`` 30 (field logging): power-on, then a wake from deep sleep. ``awake_cycles`` reads
each boot -> deep-sleep reset of the event log and splits it into phases from the device's own
console lines (``kampung sim`` keeps them as ``log`` events):

- boot: the boot event to the app's first ``akrubutan:`` line (settings read, drivers set up);
- probe search: to the next ``akrubutan:`` line (the probe found, or none);
- measuring: to the result's ``akrubutan: #N`` line; the samples are the ``OLED:`` screens shown
  meanwhile less the result screen (one "Mengukur..." screen a sample: with the default
  ``sample_ms`` each sample's countdown differs, so none is folded away). Of it, the waits
  between samples are (samples - 1) x ``sample_ms`` and the DS18B20 conversions samples x
  ``CONVERT_MS`` (firmware/lib/drivers/ds18b20.py); the rest is the probe's Modbus reads, the
  OLED redraws and the ADC;
- result and log: to the deep-sleep reset.

Virtual time has no cost for the ESP32's own start (bootloader, MicroPython, imports from
flash) nor for flash writes: the battery model adds ``BOOT_S`` for them.

Battery: ``battery`` turns the awake time and the sample period into an average draw from two
18650 cells, for three builds (``BUILDS``); every current below names its source.
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

# What each build keeps powered while the ESP32 sleeps. "as wired": every sensor on the supply
# all the time (nothing switches them: the board map has no switch role), and the OLED as the
# firmware leaves it (read from the event log: dark or lit when the deep sleep starts).
# "switched": a P-MOSFET high-side switch (e.g. an AO3401 driven from a GPIO through an NPN, or
# a load-switch IC) cuts the 12 V probe supply and the sensors' 3.3/5 V while asleep, and the
# OLED is dark; the firmware has no such switch yet (it would need a ``sensor_power`` role, and
# time for the probe to start before the search).
BUILDS = {
    "devkitc_as_wired": {"board": "devkitc", "sensors_off_asleep": False, "oled_off_asleep": None,
                         "words": "ESP32-DevKitC, sensors always powered (as wired today)"},
    "devkitc_switched": {"board": "devkitc", "sensors_off_asleep": True, "oled_off_asleep": True,
                         "words": "ESP32-DevKitC, sensors switched off by a MOSFET while asleep "
                                  "(not in the firmware yet)"},
    "module_switched": {"board": "module", "sensors_off_asleep": True, "oled_off_asleep": True,
                        "words": "bare ESP32 module on a low-quiescent LDO, sensors switched off "
                                 "while asleep"},
}


def _line(e: dict) -> str:
    return e.get("text", "") if e.get("kind") == "log" else ""


def awake_cycles(events: list[dict], sample_ms: int = 1000, convert_ms: int = 750) -> list[dict]:
    """Each boot that ends in a deep-sleep reset: its awake time and phases (ms), from the event
    log (see the module's docstring for the markers)."""
    out = []
    cur: dict | None = None
    for e in events:
        if e.get("kind") == "boot":
            cur = {"t_boot": e["t_ms"], "cause": e.get("cause"), "marks": [], "oled": []}
            continue
        if cur is None:
            continue
        text = _line(e)
        if "] akrubutan: " in text:
            if _RESULT.search(text) and "result" not in cur:
                cur["result"] = e["t_ms"]
            elif "result" not in cur:
                cur["marks"].append(e["t_ms"])
        elif text.startswith("OLED: ") and "result" not in cur:
            cur["oled"].append(e["t_ms"])
        elif e.get("kind") == "oled":
            cur["dark"] = _dark(e)
        elif e.get("kind") == "reset":
            if e.get("why") == "deepsleep" and "result" in cur and cur["marks"]:
                out.append(_phases(cur, e["t_ms"], sample_ms, convert_ms))
            cur = None
    for a, b in zip(out, out[1:], strict=False):
        a["period_ms"] = b["t_boot"] - a["t_boot"]
    return out


def _dark(e: dict) -> bool:
    """An OLED event showing nothing lit (switched off, or a blank screen)."""
    if "ram" in e:
        return not e["ram"].strip("0")
    return not any(line.strip() for line in e.get("text", []))


def _phases(c: dict, t_sleep: int, sample_ms: int, convert_ms: int) -> dict:
    t_app = c["marks"][0]
    t_found = c["marks"][1] if len(c["marks"]) > 1 else t_app  # no probe fitted: no search
    # the first screen after the app starts is "Akrubutan siap", shown before the search
    screens = [t for t in [t for t in c["oled"] if t >= t_app][1:] if t >= t_found]
    t_measure = screens[0] if screens else t_found
    samples = max(len(screens) - 1, 0)  # the last screen before the #N line is the result
    measure = c["result"] - t_measure
    waits = max(samples - 1, 0) * sample_ms
    ds18b20 = samples * convert_ms
    return {"t_boot": c["t_boot"], "cause": c["cause"], "awake_ms": t_sleep - c["t_boot"],
            "boot_ms": t_app - c["t_boot"], "search_ms": t_measure - t_app, "measure_ms": measure,
            "samples": samples, "waits_ms": waits, "ds18b20_ms": ds18b20,
            "other_ms": measure - waits - ds18b20, "log_ms": t_sleep - c["result"],
            "oled_dark_asleep": c.get("dark", True)}


def battery(awake_s: float, period_s: float, build: dict, oled_dark: bool = True) -> dict:
    """Average draw from the cells and the life it gives, for one sample every ``period_s`` with
    ``awake_s`` awake (``BOOT_S`` is added here). Power is counted at the cells: each rail's
    power over its converter's efficiency (a linear regulator passes its input current). The
    DS18B20 is counted at its active current for the whole awake time (it converts for most of
    it, and it is small either way). ``oled_dark``: whether the OLED is dark while asleep, for
    a build that leaves it to the firmware."""
    awake = awake_s + BOOT_S
    asleep = max(period_s - awake, 0.0)
    devkitc = build["board"] == "devkitc"

    def rail_3v3(ma):  # what a 3.3 V load costs at the cells, in W
        if devkitc:  # boost to 5 V, then the DevKitC's linear regulator (same current in and out)
            return 5.0 * ma / 1000 / BOOST_EFF
        return CELL_V * ma / 1000  # LDO straight from the cells

    def state(awake_now: bool) -> float:
        on = awake_now or not build["sensors_off_asleep"]
        dark = oled_dark if build["oled_off_asleep"] is None else build["oled_off_asleep"]
        oled = OLED_ON if awake_now or not dark else OLED_OFF
        ma = (ESP32_ACTIVE if awake_now else ESP32_DEEPSLEEP) + oled
        ma += DEVKITC_OVERHEAD if devkitc else BARE_LDO_Q
        if on:
            ma += MOISTURE + RS485_XCVR + (DS18B20_ACTIVE if awake_now else DS18B20_STANDBY)
        watts = rail_3v3(ma)
        if on:
            watts += 5.0 * PH_MODULE / 1000 / BOOST_EFF + PROBE_W / BOOST_EFF
        return watts

    p_awake, p_asleep = state(True), state(False)
    average_w = (p_awake * awake + p_asleep * asleep) / (awake + asleep)
    energy_wh = CELLS * CELL_MAH / 1000 * CELL_V * USABLE
    return {"awake_w": p_awake, "asleep_w": p_asleep, "average_w": average_w,
            "average_ma": average_w / CELL_V * 1000, "days": energy_wh / average_w / 24,
            "awake_share": p_awake * awake / (average_w * (awake + asleep))}


def _firmware_defaults() -> tuple[int, int]:
    """The default ``sample_ms`` (apps/akrubutan/settings.py) and the DS18B20's CONVERT_MS,
    read from the firmware so the figures follow it."""
    for p in (FIRMWARE, FIRMWARE / "lib"):
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    from apps.akrubutan import settings  # plain data, no machine import

    text = (FIRMWARE / "lib" / "drivers" / "ds18b20.py").read_text(encoding="utf-8")
    found = re.search(r"^CONVERT_MS = (\d+)", text, re.M)
    return settings.SCHEMA["sample_ms"][0], int(found.group(1)) if found else 750


def awake_figures(roots=None) -> dict:
    """The field-logging scenario's wake from deep sleep (the power-on boot is the same but for
    its cause), its phases, and the battery life for each build."""
    from kampung.bench import run_sim

    sample_ms, convert_ms = _firmware_defaults()
    proc, events, _ = run_sim(device="akrubutan", scenario=SLEEP_SCENARIO, roots=roots)
    cycles = awake_cycles(events, sample_ms, convert_ms)
    if proc.returncode != 0 or len(cycles) < 2:
        raise RuntimeError(f"the field-logging scenario gave {len(cycles)} sleep cycles:\n"
                           + (proc.stdout + proc.stderr)[-2000:])
    wake = cycles[1]
    period_s = wake.get("period_ms", cycles[0]["period_ms"]) / 1000
    life = {name: battery(wake["awake_ms"] / 1000, period_s, b, wake["oled_dark_asleep"])
            for name, b in BUILDS.items()}
    return {"wake": wake, "power_on": cycles[0], "period_s": period_s, "battery": life}


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
    heap, size, a = k["heap"], k["size"], k["awake"]
    need = k["small"] - k["small_base"]
    w = a["wake"]
    parts = {"probe search at boot": w["search_ms"], "waits between samples": w["waits_ms"],
             "DS18B20 conversions": w["ds18b20_ms"], "Modbus reads, OLED redraws, ADC": w["other_ms"]}
    top = max(parts, key=lambda p: parts[p])
    out: list[tuple[str, str, str, bool | None]] = [
        ("akrubutan: peak live GC heap of the firmware, one measurement with every sensor",
         f"{heap['firmware']} B (whole simulation {heap['peak_live']} B, virtual board alone "
         f"{heap['baseline']} B)", "<= 48 KB", heap["firmware"] <= 48 * 1024),
        ("akrubutan: smallest -X heapsize, whole simulation / virtual board alone",
         f"{k['small']} KB / {k['small_base']} KB", "", None),
        ("akrubutan: ... difference: heap the meter needs", f"{need} KB", "<= 48 KB", need <= 48),
        ("akrubutan: awake time per field-logging sample (wake -> deep sleep), default settings",
         f"{_s(w['awake_ms'])}: boot {w['boot_ms']} ms, probe search {_s(w['search_ms'])}, measuring "
         f"{_s(w['measure_ms'])} ({w['samples']} samples: waits {_s(w['waits_ms'])}, DS18B20 "
         f"{_s(w['ds18b20_ms'])}, Modbus + OLED + ADC {_s(w['other_ms'])}), result + log "
         f"{w['log_ms']} ms; largest: {top}", "", None),
    ]
    for name, b in BUILDS.items():
        life = a["battery"][name]
        words = b["words"]
        if b["oled_off_asleep"] is None:
            words += ", OLED " + ("dark" if w["oled_dark_asleep"] else "left lit") + " in deep sleep (firmware)"
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
