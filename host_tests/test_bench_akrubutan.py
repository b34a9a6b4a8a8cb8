"""Akrubutan's benchmark model (tools/kampung/bench_akrubutan.py): the awake-time phases read
from an event log, and the battery-life arithmetic. The figures themselves come from
``make bench``; nothing here asserts a duration the simulation happens to give."""

from __future__ import annotations

import pytest

from kampung import bench_akrubutan as ba
from kampung import sim


def _log(t, text):
    return {"t_ms": t, "part": "system", "kind": "log", "text": text}


def _cycle(t0, cause, n, dark=True, probe=True):
    """One field-logging wake as the firmware prints it: app start at +5 ms, probe found at
    +300 ms, three 'Mengukur' screens, the result screen, the #n line, deep sleep."""
    ev = [{"t_ms": t0, "part": "system", "kind": "boot", "n": n, "cause": cause},
          _log(t0, "[%8d] kampung: akrubutan on esp32_devkitc (ESP32)" % t0),
          _log(t0 + 5, "[%8d] akrubutan: probe auto measure 20 s sleep_min 30" % (t0 + 5)),
          _log(t0 + 5, "[%8d] pin: button=GPIO27" % (t0 + 5)),
          _log(t0 + 5, "OLED: Akrubutan siap")]
    if probe:
        ev.append(_log(t0 + 300, "[%8d] akrubutan: Probe renke alamat 1 4800 baud" % (t0 + 300)))
    start = t0 + 300 if probe else t0 + 5
    for i, t in enumerate((start, start + 1800, start + 3600)):
        ev.append(_log(t, "OLED: Mengukur... %ds" % (20 - 2 * i)))
        ev.append({"t_ms": t + 1, "part": "oled", "kind": "oled", "text": ["Mengukur..."] + [""] * 7})
    end = start + 4520
    ev += [_log(end - 20, "OLED: Lembab 51.6% | pH 5.40"),
           {"t_ms": end - 20, "part": "oled", "kind": "oled", "text": ["Lembab 51.6%", "pH 5.40"] + [""] * 6},
           _log(end, "[%8d] akrubutan: #%d ec=420 k=160" % (end, n)),
           _log(end, "[%8d] akrubutan: Tidur 30 menit" % end)]
    if dark:
        ev.append({"t_ms": end, "part": "oled", "kind": "oled", "text": [""] * 8, "ram": "00" * 1024})
    ev.append({"t_ms": end, "part": "system", "kind": "reset", "cause": 4, "why": "deepsleep"})
    return ev


def test_awake_time_and_its_phases_come_from_the_event_log():
    events = _cycle(0, 1, 1) + _cycle(1804820, 4, 2) + [
        {"t_ms": 1900000, "part": "system", "kind": "end", "boots": 2}]
    first, wake = ba.awake_cycles(events, sample_ms=1000, convert_ms=750)
    assert wake["cause"] == 4 and first["cause"] == 1, (first, wake)
    assert wake["awake_ms"] == 4820, wake
    assert (wake["boot_ms"], wake["search_ms"], wake["measure_ms"], wake["log_ms"]) == (5, 295, 4520, 0), wake
    assert wake["boot_ms"] + wake["search_ms"] + wake["measure_ms"] + wake["log_ms"] == wake["awake_ms"]
    # three sample screens (the result screen is not a sample): two waits, three conversions
    assert (wake["samples"], wake["waits_ms"], wake["ds18b20_ms"]) == (3, 2000, 2250), wake
    assert wake["other_ms"] == 4520 - 2000 - 2250, wake
    assert first["period_ms"] == 1804820 and "period_ms" not in wake, (first, wake)
    assert wake["oled_dark_asleep"], "the OLED went dark before the deep sleep"


def test_a_lit_oled_at_deep_sleep_and_a_meter_without_probe_are_told():
    (c,) = ba.awake_cycles(_cycle(0, 1, 1, dark=False, probe=False))
    assert not c["oled_dark_asleep"], c
    assert c["search_ms"] == 0 and c["samples"] == 3, c


def test_boots_that_do_not_end_in_deep_sleep_are_not_samples():
    events = _cycle(0, 1, 1)
    events[-1] = {"t_ms": 4820, "part": "system", "kind": "reset", "cause": 2, "why": "machine.reset()"}
    assert ba.awake_cycles(events) == []
    crashed = _cycle(0, 1, 1)[:-1] + [{"t_ms": 4900, "part": "system", "kind": "exception",
                                        "type": "OSError", "message": "x"}]
    assert ba.awake_cycles(crashed) == []


MODULE = ba.BUILDS["module_switched"]
AS_WIRED = ba.BUILDS["devkitc_as_wired"]


def test_battery_life_is_usable_energy_over_the_average_draw():
    b = ba.battery(9.0, 1800.0, MODULE)
    awake = 9.0 + ba.BOOT_S
    average = (b["awake_w"] * awake + b["asleep_w"] * (1800.0 - awake)) / 1800.0
    assert b["average_w"] == pytest.approx(average), b
    energy_wh = 2 * 2.6 * 3.7 * ba.USABLE  # two 2600 mAh cells in parallel at 3.7 V
    assert b["days"] == pytest.approx(energy_wh / b["average_w"] / 24), b
    assert b["average_ma"] == pytest.approx(b["average_w"] / 3.7 * 1000), b


def test_battery_draw_by_hand():
    # bare module asleep: ESP32 10 uA + OLED in sleep mode 20 uA + LDO 4 uA, straight from the cells
    assert ba.battery(9.0, 1800.0, MODULE)["asleep_w"] == pytest.approx(3.7 * 0.034e-3)
    # as wired on a DevKitC, OLED dark: the 3.3 V loads (ESP32 10 uA, OLED 20 uA, board 3.8 mA,
    # moisture 5 mA, transceiver 1 mA, DS18B20 standby) at 5 V through an 85 % boost, plus the
    # pH module (10 mA at 5 V) and the probe (0.15 W at 12 V) through their boosts
    rail = (0.010 + 0.020 + 3.8 + 5.0 + 1.0 + 0.00075) * 5.0 / 1000 / 0.85
    expected = rail + 5.0 * 10.0 / 1000 / 0.85 + 0.15 / 0.85
    assert ba.battery(9.0, 1800.0, AS_WIRED, oled_dark=True)["asleep_w"] == pytest.approx(expected)
    lit = ba.battery(9.0, 1800.0, AS_WIRED, oled_dark=False)["asleep_w"]
    assert lit == pytest.approx(expected + (10.0 - 0.020) * 5.0 / 1000 / 0.85)


def test_sleeping_sensors_cost_more_than_the_awake_time_on_a_devkitc():
    wired = ba.battery(9.0, 1800.0, AS_WIRED)
    switched = ba.battery(9.0, 1800.0, ba.BUILDS["devkitc_switched"])
    module = ba.battery(9.0, 1800.0, MODULE)
    assert wired["days"] < switched["days"] < module["days"], (wired, switched, module)
    assert module["awake_share"] > 0.5 > switched["awake_share"], (switched, module)
    longer = ba.battery(9.0, 3600.0, MODULE)
    assert longer["days"] > module["days"], "sampling half as often lasts longer"


def test_bench_scenarios_are_valid_and_the_sleep_one_sleeps():
    for path in (ba.MEASURE_SCENARIO, ba.SLEEP_SCENARIO):
        assert sim.load_scenario(path)["device"] == "akrubutan", path
    data = sim.load_scenario(ba.SLEEP_SCENARIO)
    assert data["config"]["akrubutan"]["sleep_min"] == 30, data["config"]


def test_the_field_logging_scenario_gives_wakes_the_extraction_can_read():
    # guards the markers (the firmware's console lines) against drifting from awake_cycles
    proc, events, _ = sim.simulate("akrubutan", scenario=ba.SLEEP_SCENARIO)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    cycles = ba.awake_cycles(events)
    assert [c["cause"] for c in cycles] == [1, 4], cycles  # power-on, then a deep-sleep wake
    for c in cycles:
        assert c["samples"] >= 5, f"a measurement needs 5 agreeing samples: {c}"
        assert c["boot_ms"] + c["search_ms"] + c["measure_ms"] + c["log_ms"] == c["awake_ms"], c
