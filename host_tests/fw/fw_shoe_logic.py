"""The shoe's pure logic: filter, zones, faults, button, battery (no hardware, no clock)."""

from apps.blind_shoe import logic
from apps.blind_shoe.settings import SCHEMA
from fwhelp import check
from kit import config

PERIOD = 1 << 30


def diff(a, b):
    # ESP32 ticks_diff: period 2**30
    return ((a - b + (PERIOD >> 1)) & (PERIOD - 1)) - (PERIOD >> 1)


def settings(**over):
    return config.validate(SCHEMA, over, "test")


def feed(shoe, readings, t0=0, step=60):
    states = []
    for i, mm in enumerate(readings):
        shoe.reading((t0 + i * step) & (PERIOD - 1), mm)
        states.append(shoe.state)
    return states


def test_zones_follow_the_default_edges():
    shoe = logic.ShoeLogic(settings(), diff)
    check(shoe.edges == [400, 800, 1400, 2000], shoe.edges)
    for mm, zone in ((300, 0), (600, 1), (1000, 2), (1700, 3), (2500, logic.CLEAR)):
        s = logic.ShoeLogic(settings(), diff)
        states = feed(s, [mm, mm, mm])
        check(states[-1] == zone, "%d mm -> %s, want %s" % (mm, states, zone))


def test_single_spike_and_single_dropout_are_rejected():
    shoe = logic.ShoeLogic(settings(), diff)
    # standing 1 m from a wall (zone 2); a 190 cm spike and a dropout each appear once
    states = feed(shoe, [1000, 1000, 1000, 1900, 1000, 1000, None, 1000, 1000, 150, 1000])
    check(states[2:] == [2] * 9, states)


def test_a_real_change_is_confirmed_by_the_second_reading():
    shoe = logic.ShoeLogic(settings(), diff)
    states = feed(shoe, [1000, 1000, 1000, 300, 300, 300])
    check(states == [logic.CLEAR, 2, 2, 2, 0, 0], "latency must be exactly one extra reading: %s" % states)


def test_hysteresis_stops_flutter_at_an_edge():
    shoe = logic.ShoeLogic(settings(), diff)
    states = feed(shoe, [790, 790, 810, 805, 795, 815, 820, 840, 840])
    check(states[1:7] == [1] * 6, "within 3 cm of the 80 cm edge it must stay in zone 1: %s" % states)
    check(states[-1] == 2, "beyond edge + 3 cm it leaves: %s" % states)


def test_faults_need_several_in_a_row_and_clear_on_a_reading():
    shoe = logic.ShoeLogic(settings(fault_after=5), diff)
    feed(shoe, [1000, 1000])
    for i in range(4):
        check(not shoe.fault(i), "fault %d must not switch yet" % i)
    check(shoe.fault(5) and shoe.state == logic.FAULT, shoe.state)
    feed(shoe, [1000, 1000])
    check(shoe.state == 2, "readings clear the fault: %s" % shoe.state)
    check(shoe.fault_total == 5, shoe.fault_total)


def test_covered_sensor_is_reported_as_blocked():
    shoe = logic.ShoeLogic(settings(), diff)
    states = feed(shoe, [20] * 90)  # 5.4 s at 2 cm: mud or a hand over the sensor
    check(states[5] == 0 and states[-1] == logic.FAULT, "blocked after 5 s: %s" % states[-10:])
    # first close median at reading 1 (t=60 ms); 5 s later is t=5060, i.e. reading 85 (5100 ms)
    check(states.index(logic.FAULT) == 85, "at 5.1 s: %d" % states.index(logic.FAULT))
    states = feed(shoe, [1000, 1000, 1000], t0=6000)
    check(states[-1] == 2, "uncovered: back to zone 2, %s" % states)
    shoe = logic.ShoeLogic(settings(), diff)
    states = feed(shoe, [20] * 50 + [300] * 3 + [20] * 50)
    check(logic.FAULT not in states, "the 5 s count restarts when it clears: %s" % states)


def test_jsn_blind_zone_hold():
    shoe = logic.ShoeLogic(settings(sensor="jsn_sr04t"), diff)
    feed(shoe, [400, 300, 250, 250])
    check(shoe.state == 0, shoe.state)
    # the object moved into the blind zone: no echo, but the shoe keeps warning for 2 s
    states = feed(shoe, [None] * 40, t0=240)  # last close reading at t=180; 60 ms steps
    check(states[:30] == [0] * 30, "held until 2 s after it: %s" % states)
    check(states[-1] == logic.CLEAR, "released after 2 s: %s" % states)
    plain = logic.ShoeLogic(settings(), diff)
    feed(plain, [250, 250, 250])
    states = feed(plain, [None, None], t0=180)
    check(states[-1] == logic.CLEAR, "an HC-SR04 has no blind zone to hold: %s" % states)


def test_blind_zone_hold_across_the_tick_wrap():
    shoe = logic.ShoeLogic(settings(sensor="jsn_sr04t"), diff)
    t0 = PERIOD - 100
    feed(shoe, [250, 250, 250], t0=t0)
    states = feed(shoe, [None] * 10, t0=t0 + 180)
    check(states == [0] * 10, "the 2 s hold must survive the wrap: %s" % states)


def test_patterns_code_distance_as_pulse_rate():
    shoe = logic.ShoeLogic(settings(), diff)
    p = shoe.programs
    check(p[0] == ((1, 0, 2700),), "closest zone is continuous: %s" % (p[0],))
    periods = [sum([step[1] for step in p[z]]) for z in (1, 2, 3)]
    check(periods == [200, 450, 900], "faster when closer: %s" % periods)
    check(p[logic.CLEAR] == ((0, 0, 0),), "clear path is silent")
    check(p[logic.FAULT][0][2] != 2700, "the fault pattern must not sound like a zone")


def test_range_button_scales_the_zones():
    shoe = logic.ShoeLogic(settings(), diff)
    confirm = shoe.next_range()
    check(shoe.range_index == 2 and shoe.edges[3] == 3000, shoe.edges)
    check(len([s for s in confirm if s[0]]) == 3, "third range confirmed by 3 beeps")
    shoe.next_range()
    check(shoe.range_index == 0 and shoe.edges[3] == 1000, shoe.edges)


def test_bad_settings_name_the_field():
    for over, word in (({"zones_cm": [80, 40, 140, 200]}, "increasing"), ({"period_ms": 20}, "60"),
                       ({"mode": "loud"}, "buzzer"), ({"zone_cm": 1}, "unknown")):
        try:
            settings(**over)
        except config.ConfigError as e:
            check(word in str(e) and "test" in str(e), str(e))
        else:
            raise AssertionError("accepted %s" % over)
    try:
        logic.ShoeLogic(settings(zone_period_ms=[0, 50, 450, 900]), diff)
    except ValueError as e:
        check("pulse_ms" in str(e), str(e))
    else:
        raise AssertionError("a period shorter than the pulse must be refused")


def test_button_debounce_short_and_long():
    b = logic.Button(800, diff)
    seq = [1, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1]  # a bounce sample, then a 4-sample (80 ms) press
    events = [b.sample(i * 20, level) for i, level in enumerate(seq)]
    check(events.count("short") == 1 and "long" not in events, events)
    b = logic.Button(800, diff)
    seq = [0] * 50 + [1, 1]
    events = [b.sample(i * 20, level) for i, level in enumerate(seq)]
    check(events.count("long") == 1 and "short" not in events, "long fires once while held: %s" % events)
    check(events.index("long") == 41, "at 800 ms after the press was confirmed: %d" % events.index("long"))


def test_long_press_across_the_wrap():
    b = logic.Button(800, diff)
    t0 = PERIOD - 300
    events = [b.sample((t0 + i * 20) & (PERIOD - 1), 0) for i in range(50)]
    check(events.count("long") == 1, events)


def test_battery_low_after_three_reads_with_hysteresis():
    bat = logic.Battery(3500)
    check([bat.reading(3400) for _ in range(3)] == [False, False, True], "third low read")
    check(not bat.reading(3550) and bat.low, "3.55 V is inside the 0.1 V hysteresis")
    bat.reading(3700)
    check(not bat.low, "cleared above 3.6 V")
