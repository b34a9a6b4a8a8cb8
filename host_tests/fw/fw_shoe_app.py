"""The shoe's app on the virtual board: patterns, rhythm, faults, button, wrap-around."""

import os

import fwhelp
from apps.blind_shoe import app, logic
from apps.blind_shoe.settings import SCHEMA
from fwhelp import check
from kit import config
from kit.hal import Hal
from vhw import clock
from vhw.parts.hcsr04 import HCSR04 as VirtualHCSR04
from vhw.parts.simple import Battery, Button

PINS = {"sonar_trig": 13, "sonar_echo": 34, "buzzer": 25, "vibration": 26, "button": 27,
        "battery": 35}


def setup(start_ms=0, **over):
    try:
        os.remove(app.PREFS)
    except OSError:
        pass
    board = fwhelp.fresh_board(None, PINS, start_ms)
    sonar = VirtualHCSR04(board, 13, 34, temp_c=27)
    button = Button(board, 27)
    battery = Battery(board, 35, 3.9)
    shoe = app.Shoe(Hal({"pins": PINS}), config.validate(SCHEMA, over, "test"))
    return board, sonar, button, battery, shoe


def buzzer_edges(since_ms=0):
    out = []
    for e in fwhelp.events("pwm", "buzzer"):
        if e["t_ms"] >= since_ms:
            on = 1 if e["duty"] > 0 else 0
            if not out or out[-1][1] != on:
                out.append((e["t_ms"], on, e["freq"]))
    return out


def test_zone_rhythm_is_exact_while_measuring():
    board, sonar, button, battery, shoe = setup()
    sonar.set_distance(100.0)  # zone 2: 60 ms beep every 450 ms
    fwhelp.run(shoe.run, 6000)
    edges = [e for e in buzzer_edges(1000) if e[2] == 2700]
    ons = [e[0] for e in edges if e[1] == 1]
    offs = [e[0] for e in edges if e[1] == 0]
    periods = [ons[i + 1] - ons[i] for i in range(len(ons) - 1)]
    widths = [min([f for f in offs if f > on]) - on for on in ons if [f for f in offs if f > on]]
    check(len(periods) >= 8 and set(periods) == {450}, "periods %s" % periods)
    check(set(widths) == {60}, "pulse widths %s" % widths)
    pings = fwhelp.events("ping", "sonar")
    gaps = [pings[i + 1]["t_ms"] - pings[i]["t_ms"] for i in range(len(pings) - 1)]
    check(min(gaps) >= 60, "never faster than 60 ms: %s" % min(gaps))
    check(len(pings) > 6000 // 80, "measures steadily: %d pings" % len(pings))


def test_closest_zone_is_continuous_and_vibrates():
    board, sonar, button, battery, shoe = setup()
    sonar.set_distance(25.0)
    fwhelp.run(shoe.run, 3000)
    edges = buzzer_edges(1000)
    check(edges == [] or (len(edges) == 1 and edges[0][1] == 1), "continuous: %s" % edges)
    last = fwhelp.events("pwm", "buzzer")[-1]
    check(last["duty"] > 0 and last["freq"] == 2700, "and sounding: %s" % last)
    vib = fwhelp.events("pwm", "vibration")
    check(vib[-1]["duty"] > 0.7, "vibration on: %s" % vib[-1])


def test_approach_changes_pattern_within_one_cycle():
    board, sonar, button, battery, shoe = setup()
    sonar.set_distance(None)
    t_change = 1500
    clock.at(t_change * 1000, lambda: sonar.set_distance(30.0))
    fwhelp.run(shoe.run, 2500)
    pings = [e for e in fwhelp.events("ping", "sonar") if e["t_ms"] >= t_change]
    confirm = pings[1]["t_ms"]  # the second close reading confirms (median of 3)
    cont = [e for e in buzzer_edges(t_change) if e[1] == 1]
    check(cont, "no buzzer after the approach")
    latency = cont[0][0] - confirm
    check(0 <= latency <= 20, "pattern change %d ms after the confirming ping" % latency)


def test_unplugged_sensor_plays_the_fault_pattern():
    board, sonar, button, battery, shoe = setup()
    sonar.set_distance(100.0)
    sonar.fault = "unplugged"
    fwhelp.run(shoe.run, 4000)
    freqs = set([e[2] for e in buzzer_edges(600) if e[1] == 1])
    check(freqs == {logic.TONE_FAULT}, "fault tone only: %s" % freqs)
    check(shoe.logic.state == logic.FAULT, shoe.logic.state)


def test_echo_stuck_high_then_recovers():
    board, sonar, button, battery, shoe = setup()
    sonar.set_distance(100.0)
    sonar.fault = "stuck_high"
    states = []
    clock.at(2000000, lambda: states.append(shoe.logic.state))

    def unstick():
        sonar.fault = None

    clock.at(2000001, unstick)
    fwhelp.run(shoe.run, 3000)
    check(states == [logic.FAULT], "stuck echo is a fault: %s" % states)
    check(shoe.logic.state == 2, "recovers to zone 2: %s" % shoe.logic.state)


def test_rhythm_survives_the_tick_wrap():
    # start 5 s before the ESP32's ticks_ms wraps at 2**30
    board, sonar, button, battery, shoe = setup(start_ms=(1 << 30) - 5000)
    sonar.set_distance(100.0)
    fwhelp.run(shoe.run, 10000)
    ons = [e[0] for e in buzzer_edges(1000) if e[1] == 1 and e[2] == 2700]
    periods = set([ons[i + 1] - ons[i] for i in range(len(ons) - 1)])
    check(periods == {450}, "periods across the wrap: %s" % periods)
    import time

    check(time.ticks_ms() < 6000, "ticks wrapped: %d" % time.ticks_ms())


def test_button_cycles_range_and_mode_and_remembers():
    board, sonar, button, battery, shoe = setup()
    sonar.set_distance(None)

    async def scenario():
        import asyncio

        task = asyncio.create_task(shoe.run())
        await asyncio.sleep_ms(1000)
        button.press(150)
        await asyncio.sleep_ms(1000)
        button.press(1200)
        await asyncio.sleep_ms(2000)
        task.cancel()

    fwhelp.run(scenario, 5000)
    check(shoe.logic.range_index == 2, "short press: next range, got %d" % shoe.logic.range_index)
    check(shoe.settings["mode"] == "buzzer", "long press: both -> buzzer, got %s" % shoe.settings["mode"])
    with open(app.PREFS) as f:
        saved = f.read()
    check('"mode": "buzzer"' in saved and '"range_index": 2' in saved, saved)
    # a fresh shoe reads the saved preferences back
    board2 = fwhelp.fresh_board(None, PINS)
    VirtualHCSR04(board2, 13, 34)
    shoe2 = app.Shoe(Hal({"pins": PINS}), config.validate(SCHEMA, {}, "test"))
    check(shoe2.logic.range_index == 2 and shoe2.settings["mode"] == "buzzer", "prefs reloaded")


def test_corrupt_prefs_fall_back_to_defaults():
    # found by a break-it session: a cut write of the prefs file stopped the shoe at boot
    for content in ('{"range_index": 1', '{"range_index": 1.0, "mode": "loud"}', "[]"):
        setup()
        with open(app.PREFS, "w") as f:
            f.write(content)
        board = fwhelp.fresh_board(None, PINS)
        VirtualHCSR04(board, 13, 34)
        shoe = app.Shoe(Hal({"pins": PINS}), config.validate(SCHEMA, {}, "test"))
        check(shoe.logic.range_index == 1 and shoe.settings["mode"] == "both", content)


def test_reminders_never_cover_an_obstacle_warning():
    # found by a break-it session: the battery reminder replaced the continuous warning for 1 s
    board, sonar, button, battery, shoe = setup(battery_every_s=1)
    sonar.set_distance(30.0)
    battery.set_volts(3.3)
    fwhelp.run(shoe.run, 5000)
    edges = buzzer_edges(1000)
    check(edges == [] or all(e[1] == 1 and e[2] == 2700 for e in edges), "continuous: %s" % edges)
    last = fwhelp.events("pwm", "buzzer")[-1]
    check(last["duty"] > 0 and last["freq"] == 2700, "and sounding: %s" % last)


def test_a_warning_cuts_a_confirmation_short():
    board, sonar, button, battery, shoe = setup()
    sonar.set_distance(None)
    clock.at(1000000, lambda: button.press(150))
    clock.at(1250000, lambda: sonar.set_distance(30.0))
    fwhelp.run(shoe.run, 3000)
    confirms = [e for e in buzzer_edges(1000) if e[1] and e[2] == logic.TONE_INFO]
    cont = [e for e in buzzer_edges(1250) if e[1] and e[2] == 2700]
    check(cont and cont[0][0] < 1450, "warning within a cycle of the obstacle: %s" % cont)
    check(all(e[0] < cont[0][0] for e in confirms), "no confirmation beep after it: %s" % confirms)


def test_button_during_a_warning_never_interrupts_it():
    # found by a second break-it session: a short press at 30 cm replaced the continuous tone by
    # confirmation beeps for a second; nine quick presses silenced it for 7 s
    board, sonar, button, battery, shoe = setup()
    sonar.set_distance(15.0)
    for i in range(9):
        clock.at(2000000 + i * 200000, lambda: button.press(45))
    clock.at(6000000, lambda: sonar.set_distance(None))
    fwhelp.run(shoe.run, 9000)
    warn = [e for e in buzzer_edges(1000) if e[0] < 6000]
    check(warn == [] or warn == [(warn[0][0], 1, 2700)], "never interrupted: %s" % warn)
    later = [e for e in buzzer_edges(6000) if e[1] and e[2] == logic.TONE_INFO]
    check(0 < len(later) <= 3, "the latest confirmation plays once the path is clear: %s" % later)
    check(shoe.logic.range_index == (1 + 9) % 3, "all nine presses counted: %d" % shoe.logic.range_index)


def test_cancelled_shoe_goes_quiet():
    board, sonar, button, battery, shoe = setup()
    sonar.set_distance(25.0)  # continuous warning

    async def scenario():
        import asyncio

        task = asyncio.create_task(shoe.run())
        await asyncio.sleep_ms(1000)
        task.cancel()
        await asyncio.sleep_ms(100)

    fwhelp.run(scenario, 2000)
    last = fwhelp.events("pwm", "buzzer")[-1]
    check(last["duty"] == 0.0 and shoe.tasks == [], "deinit silences and cancels: %s" % last)


def test_low_battery_pattern():
    board, sonar, button, battery, shoe = setup(battery_every_s=1)
    sonar.set_distance(None)
    battery.set_volts(3.3)
    fwhelp.run(shoe.run, 6000)
    check(shoe.battery_logic.low, "3.3 V is below 3.5 V")
    beeps = [e for e in buzzer_edges(0) if e[1] == 1 and e[2] == logic.TONE_FAULT]
    check(len(beeps) == 3, "three low-battery beeps once: %s" % beeps)
