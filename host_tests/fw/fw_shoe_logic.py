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


def test_jsn_blind_zone_keeps_warning_while_the_object_stays():
    # found by a break-it session: at exactly 30 cm the hold never started, and a held warning
    # went silent after 2 s with the walker standing 10 cm from a wall
    shoe = logic.ShoeLogic(settings(sensor="jsn_sr04t"), diff)
    feed(shoe, [1000, 600, 450, 350, 300, 300])
    states = feed(shoe, [None] * 150, t0=360)  # 9 s of no echo: the object is in the blind zone
    check(states == [0] * 150, "closest-zone warning all along: %s" % states[-5:])
    states = feed(shoe, [None] * 30, t0=360 + 150 * 60)
    check(states[-1] == logic.FAULT, "after 10 s of silence: the fault pattern, never silence")
    states = feed(shoe, [1200, 1200, 1200], t0=20000)
    check(states[-1] == 2, "an echo from further away ends it: %s" % states)


def test_jsn_walk_into_the_blind_zone():
    shoe = logic.ShoeLogic(settings(sensor="jsn_sr04t"), diff)
    # 150 cm -> 10 cm at 1.3 m/s (78 mm per 60 ms), the sensor goes blind under 20 cm
    readings = []
    mm = 1500
    while mm > 100:
        readings.append(mm if mm >= 200 else None)
        mm -= 78
    states = feed(shoe, readings + [None] * 100)
    check(logic.CLEAR not in states[8:], "never silent on the way in: %s" % states)


def test_jsn_walking_away_in_open_space_is_not_held():
    shoe = logic.ShoeLogic(settings(sensor="jsn_sr04t"), diff)
    states = feed(shoe, [1000, 1000, 1000, 1500, 1500] + [None] * logic.CLEAR_AFTER)
    check(states[-1] == logic.CLEAR, "no echo after a far reading is a clear path: %s" % states)


def test_hcsr04_no_echo_is_clear():
    plain = logic.ShoeLogic(settings(), diff)
    feed(plain, [250, 250, 250])
    states = feed(plain, [None] * logic.CLEAR_AFTER, t0=180)
    check(states[-1] == logic.CLEAR, "an HC-SR04 has no blind zone to hold: %s" % states)
    check(states[:-1] == [0] * (logic.CLEAR_AFTER - 1), "but lost echoes alone never clear: %s" % states)


def test_lost_echoes_never_break_a_warning():
    # found by a second break-it session: a hand at 8 cm answering one ping in three gave no
    # warning at all, and 20 % lost echoes broke the continuous tone 53 times a minute
    shoe = logic.ShoeLogic(settings(), diff)
    states = feed(shoe, [80, None, None] * 20)
    check(states[4:] == [0] * (len(states) - 4), "one echo in three: still warned: %s" % states[:8])
    shoe = logic.ShoeLogic(settings(), diff)
    pattern = [300, 300, None, 300, 300, 300, None, None, 300, None, 300, 300, 300, None, 300]
    states = feed(shoe, pattern * 8)
    check(states[1:] == [0] * (len(states) - 1), "lost echoes keep the warning: %s" % states)


def test_noisy_reading_at_a_zone_edge_does_not_flicker():
    # found by a second break-it session: 199/204 cm around the 2 m edge beeped every 142 ms
    shoe = logic.ShoeLogic(settings(), diff)
    states = feed(shoe, [1990, 2040] * 40)
    check(len(set(states[2:])) == 1, "one state at the edge: %s" % states[:12])


def test_jsn_lost_echo_on_the_way_into_the_blind_zone():
    # found by a second break-it session: 60, 45, 45, one lost echo, then 10 cm (blind): silence
    shoe = logic.ShoeLogic(settings(sensor="jsn_sr04t"), diff)
    states = feed(shoe, [600, 600, 450, 450, None] + [None] * 60)
    check(logic.CLEAR not in states[2:], "never silent: %s" % states)
    # running at 3 m/s (18 cm a cycle): the last echo is 37 cm
    shoe = logic.ShoeLogic(settings(sensor="jsn_sr04t"), diff)
    states = feed(shoe, [1450, 1270, 1090, 910, 730, 550, 370] + [None] * 60)
    check(logic.CLEAR not in states[2:], "never silent at a run: %s" % states)


def test_jsn_hold_is_the_closest_zone_at_every_range():
    # found by a second break-it session: at range x0.5 the 20 cm edge made the hold zone 1
    shoe = logic.ShoeLogic(settings(sensor="jsn_sr04t", range_index=0), diff)
    check(shoe.edges[0] == 200, shoe.edges)
    states = feed(shoe, [500, 400, 300, 250, 250] + [None] * 40)
    check(states[-1] == 0, "continuous warning: %s" % states)


def test_blind_zone_hold_across_the_tick_wrap():
    shoe = logic.ShoeLogic(settings(sensor="jsn_sr04t"), diff)
    t0 = PERIOD - 3000
    feed(shoe, [250, 250, 250], t0=t0)
    states = feed(shoe, [None] * 180, t0=t0 + 180)
    check(states[:160] == [0] * 160, "held across the wrap: %s" % states[:5])
    check(states[-1] == logic.FAULT, "and the 10 s limit counts across it too: %s" % states[-3:])


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
    from apps.blind_shoe import settings as shoe_settings

    # found by a break-it session: [60, ...] validated and then silenced the closest zone
    for periods in ([60, 200, 450, 900], [0, 50, 450, 900], [0, 900, 450, 200], [30, 200, 450, 900]):
        try:
            shoe_settings.check(settings(zone_period_ms=periods), "config.json [blind_shoe]")
        except config.ConfigError as e:
            check("config.json [blind_shoe]" in str(e) and "zone_period_ms" in str(e), str(e))
        else:
            raise AssertionError("accepted zone_period_ms %s" % periods)
    try:
        settings(zone_period_ms=[0, 200.5, 450, 900])
    except config.ConfigError as e:
        check("whole numbers" in str(e), str(e))
    else:
        raise AssertionError("a fractional period must be refused")
    try:
        shoe_settings.check(settings(sensor="jsn_sr04t", zones_cm=[5, 6, 7, 8],
                                     range_steps=[0.25, 0.25, 0.25]), "c")
    except config.ConfigError as e:
        check("zones_cm" in str(e) and "JSN" in str(e), str(e))
    else:
        raise AssertionError("a JSN range inside its blind zone must be refused")
    check(shoe_settings.check(settings(), "c")["pulse_ms"] == 60, "defaults pass")


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
