"""Akrubutan's benchmark model (tools/kampung/bench_akrubutan.py): the awake-time phases read
from an event log, and the battery-life arithmetic. The figures themselves come from
``make bench``; nothing here asserts a duration the simulation happens to give."""

from __future__ import annotations

import pytest

from kampung import bench_akrubutan as ba
from kampung import sim


def _log(t, text):
    return {"t_ms": t, "part": "system", "kind": "log", "text": text}


def _pin(t, part, value):
    return {"t_ms": t, "part": part, "kind": "pin", "value": value}


def _cycle(t0, cause, n, dark=True, probe=True, switch=True, off=True):
    """One field-logging wake as the firmware runs it: app start at +5 ms with the sensors
    switched on, one RS485 frame after a 1000 ms warm-up, the probe line, three 'Mengukur'
    screens 1000 ms apart, the result screen 700 ms after the last, the #n line, the sensors
    off, deep sleep."""
    ev = [{"t_ms": t0, "part": "system", "kind": "boot", "n": n, "cause": cause},
          _log(t0, "[%8d] kampung: akrubutan on esp32_devkitc (ESP32)" % t0)]
    if switch:
        ev.append(_pin(t0, "sensor_power", 0))
    ev += [_log(t0 + 5, "[%8d] akrubutan: probe auto measure 20 s sleep_min 30" % (t0 + 5)),
           _log(t0 + 5, "[%8d] pin: button=GPIO27" % (t0 + 5))]
    if switch:
        ev.append(_pin(t0 + 5, "sensor_power", 1))
    ev.append(_log(t0 + 5, "OLED: Akrubutan siap"))
    start = t0 + 5 + (1000 if switch else 0)
    if probe:
        ev += [_pin(start, "rs485_de", 1), _pin(start + 16, "rs485_de", 0),
               _log(start + 40, "[%8d] akrubutan: Probe renke alamat 1 4800 baud" % (start + 40))]
        start += 40
    for i in range(3):
        t = start + 1000 * i
        ev.append(_log(t, "OLED: Mengukur... %ds" % (20 - i)))
        ev.append({"t_ms": t, "part": "oled", "kind": "oled", "text": ["Mengukur..."] + [""] * 7})
        if probe:
            ev += [_pin(t + 25, "rs485_de", 1), _pin(t + 42, "rs485_de", 0)]
    shown = start + 2000 + 700
    end = shown + 23
    ev += [_log(shown, "OLED: Lembab 51.6% | pH 5.40"),
           {"t_ms": shown, "part": "oled", "kind": "oled", "text": ["Lembab 51.6%", "pH 5.40"] + [""] * 6},
           _log(end, "[%8d] akrubutan: #%d ec=420 k=160" % (end, n)),
           _log(end, "[%8d] akrubutan: Tidur 30 menit" % end)]
    if switch and off:
        ev.append(_pin(end, "sensor_power", 0))
    if dark:
        ev.append({"t_ms": end, "part": "oled", "kind": "oled", "text": [""] * 8, "ram": "00" * 1024})
    ev.append({"t_ms": end, "part": "system", "kind": "reset", "cause": 4, "why": "deepsleep"})
    return ev


def test_awake_time_and_its_phases_come_from_the_event_log():
    events = _cycle(0, 1, 1) + _cycle(1804768, 4, 2) + [
        {"t_ms": 1900000, "part": "system", "kind": "end", "boots": 2}]
    first, wake = ba.awake_cycles(events)
    assert wake["cause"] == 4 and first["cause"] == 1, (first, wake)
    assert wake["awake_ms"] == 5 + 1000 + 40 + 2700 + 23, wake
    assert (wake["boot_ms"], wake["warmup_ms"], wake["probe_ms"], wake["measure_ms"], wake["log_ms"]) == \
        (5, 1000, 40, 2700, 23), wake
    assert wake["boot_ms"] + wake["warmup_ms"] + wake["probe_ms"] + wake["measure_ms"] + wake["log_ms"] == \
        wake["awake_ms"]
    assert wake["probe_frames"] == 1, "the frames during the samples are not the probe check's"
    # three sample screens 1000 ms apart; the last sample took 700 ms (to the result screen)
    assert (wake["samples"], wake["sample_period_ms"], wake["sample_busy_ms"]) == (3, 1000, 700), wake
    assert wake["waits_ms"] == 2700 - 3 * 700, wake
    assert wake["switched"] and wake["sensors_off_asleep"] and wake["sensors_on_ms"] == wake["awake_ms"] - 5, wake
    assert first["period_ms"] == 1804768 and "period_ms" not in wake, (first, wake)
    assert wake["oled_dark_asleep"], "the OLED went dark before the deep sleep"


def test_a_lit_oled_a_meter_without_probe_and_one_without_switch_are_told():
    (c,) = ba.awake_cycles(_cycle(0, 1, 1, dark=False, probe=False, switch=False))
    assert not c["oled_dark_asleep"], c
    assert not c["switched"] and c["sensors_on_ms"] is None and not c["sensors_off_asleep"], c
    assert (c["warmup_ms"], c["probe_ms"], c["probe_frames"], c["samples"]) == (0, 0, 0, 3), c
    (c,) = ba.awake_cycles(_cycle(0, 1, 1, off=False))
    assert c["switched"] and not c["sensors_off_asleep"], "left on when the deep sleep began: %s" % c


def test_boots_that_do_not_end_in_deep_sleep_are_not_samples():
    events = _cycle(0, 1, 1)
    events[-1] = {"t_ms": 4820, "part": "system", "kind": "reset", "cause": 2, "why": "machine.reset()"}
    assert ba.awake_cycles(events) == []
    crashed = _cycle(0, 1, 1)[:-1] + [{"t_ms": 4900, "part": "system", "kind": "exception",
                                        "type": "OSError", "message": "x"}]
    assert ba.awake_cycles(crashed) == []


MODULE = ba.BUILDS["module_switched"]
DEVKITC = ba.BUILDS["devkitc_switched"]
UNSWITCHED = ba.BUILDS["devkitc_unswitched"]


def test_battery_life_is_usable_energy_over_the_average_draw():
    b = ba.battery(9.0, 1800.0, MODULE, sensors_on_s=8.0, sensors_off_asleep=True)
    awake = 9.0 + ba.BOOT_S
    average = (b["awake_w"] * awake + b["asleep_w"] * (1800.0 - awake)) / 1800.0
    assert b["average_w"] == pytest.approx(average), b
    energy_wh = 2 * 2.6 * 3.7 * ba.USABLE  # two 2600 mAh cells in parallel at 3.7 V
    assert b["days"] == pytest.approx(energy_wh / b["average_w"] / 24), b
    assert b["average_ma"] == pytest.approx(b["average_w"] / 3.7 * 1000), b


# what the switched sensors cost at the cells while on: moisture probe and transceiver on 3.3 V,
# the pH module (10 mA at 5 V) and the probe (0.15 W at 12 V) through 85 % boosts
SENSORS_MODULE = 3.7 * (5.0 + 1.0) / 1000 + 5.0 * 10.0 / 1000 / 0.85 + 0.15 / 0.85
SENSORS_DEVKITC = 5.0 * (5.0 + 1.0) / 1000 / 0.85 + 5.0 * 10.0 / 1000 / 0.85 + 0.15 / 0.85


def test_battery_draw_by_hand():
    # bare module asleep, sensors off: ESP32 10 uA + OLED in sleep mode 20 uA + LDO 4 uA + the
    # DS18B20's standby 0.75 uA (it stays on the 3.3 V rail), straight from the cells
    b = ba.battery(9.0, 1800.0, MODULE, sensors_on_s=8.0, sensors_off_asleep=True)
    assert b["asleep_w"] == pytest.approx(3.7 * 0.03475e-3)
    # awake: ESP32 44 mA + OLED 10 mA + LDO + DS18B20 1 mA for 10 s, the sensors for 8 of them
    base = 3.7 * (44.0 + 10.0 + 0.004 + 1.0) / 1000
    assert b["awake_w"] == pytest.approx(base + SENSORS_MODULE * 8.0 / 10.0)
    # no switch on a DevKitC, OLED dark: the 3.3 V loads at 5 V through an 85 % boost (board
    # 3.8 mA), and every sensor all the time
    rail = (0.010 + 0.020 + 3.8 + 0.00075) * 5.0 / 1000 / 0.85
    assert ba.battery(9.0, 1800.0, UNSWITCHED, oled_dark=True)["asleep_w"] == pytest.approx(rail + SENSORS_DEVKITC)
    lit = ba.battery(9.0, 1800.0, UNSWITCHED, oled_dark=False)["asleep_w"]
    assert lit == pytest.approx(rail + SENSORS_DEVKITC + (10.0 - 0.020) * 5.0 / 1000 / 0.85)


def test_the_switch_counts_only_what_the_event_log_shows():
    on = ba.battery(9.0, 1800.0, DEVKITC, sensors_on_s=8.0, sensors_off_asleep=True)
    never = ba.battery(9.0, 1800.0, DEVKITC, sensors_on_s=None)  # the log shows no switching
    left_on = ba.battery(9.0, 1800.0, DEVKITC, sensors_on_s=8.0, sensors_off_asleep=False)
    unswitched = ba.battery(9.0, 1800.0, UNSWITCHED)
    assert never["average_w"] == pytest.approx(unswitched["average_w"]), "no switching seen: always on"
    assert left_on["asleep_w"] == pytest.approx(on["asleep_w"] + SENSORS_DEVKITC), "left on while asleep"
    assert on["days"] > 10 * unswitched["days"], (on, unswitched)
    assert unswitched["days"] < left_on["days"] < 1.01 * unswitched["days"], "off only during the boot"


def test_sleeping_sensors_cost_more_than_the_awake_time_on_a_devkitc():
    wired = ba.battery(9.0, 1800.0, UNSWITCHED)
    switched = ba.battery(9.0, 1800.0, DEVKITC, sensors_on_s=9.0, sensors_off_asleep=True)
    module = ba.battery(9.0, 1800.0, MODULE, sensors_on_s=9.0, sensors_off_asleep=True)
    assert wired["days"] < switched["days"] < module["days"], (wired, switched, module)
    assert module["awake_share"] > 0.5 > switched["awake_share"], (switched, module)
    longer = ba.battery(9.0, 3600.0, MODULE, sensors_on_s=9.0, sensors_off_asleep=True)
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
    warmup = ba._firmware_defaults()["warmup_ms"]
    for c in cycles:
        assert c["samples"] >= 5, f"a measurement needs 5 agreeing samples: {c}"
        assert c["boot_ms"] + c["warmup_ms"] + c["probe_ms"] + c["measure_ms"] + c["log_ms"] == c["awake_ms"], c
        assert c["switched"] and c["sensors_off_asleep"] and c["warmup_ms"] >= warmup, c
        assert c["sensors_on_ms"] <= c["awake_ms"], c
    first, wake = cycles
    assert first["probe_frames"] > 1 and wake["probe_frames"] == 1, "a search at power-on, one frame at a wake"
