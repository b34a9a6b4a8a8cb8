"""Kuword's app object on a virtual board: fail-secure on exceptions, inverted relays."""

import json

import fwhelp
from apps.kuword import app
from fwhelp import check
from kit.hal import Hal

PINS = {"keypad_row1": 13, "keypad_row2": 14, "keypad_row3": 27, "keypad_row4": 26,
        "keypad_col1": 25, "keypad_col2": 33, "keypad_col3": 32, "keypad_col4": 4,
        "relay": 23, "buzzer": 18, "lcd_sda": 21, "lcd_scl": 22}


def _relay_events():
    return [e["value"] for e in fwhelp.events("pin", "relay")]


def test_an_exception_in_a_task_leaves_the_lock_locked():
    board = fwhelp.fresh_board(roles=PINS)
    lock = app.Kuword(Hal({"pins": PINS}), app.load_settings({}, "test"))
    lock.set_relay(True)  # as during an opening

    def broken(now):
        raise RuntimeError("keypad wire cut")

    lock.keypad.poll = broken
    try:
        fwhelp.run(lock.run, 3000)
    except RuntimeError as e:
        check("keypad wire cut" in str(e), e)
    else:
        raise AssertionError("the exception must reach kit.boot (it records the crash and resets)")
    check(board.pin(23).out == 0, "relay left unlocked after an exception: %r" % _relay_events())
    check(_relay_events() == [0, 1, 0], _relay_events())


def test_inverted_relay_module_is_locked_at_construction():
    board = fwhelp.fresh_board(roles=PINS)
    app.Kuword(Hal({"pins": PINS}), app.load_settings({"relay_active": 0}, "test"))
    check(board.pin(23).out == 1, "an active-low relay module is locked with the pin high")


def test_settings_cross_checks_name_the_field():
    for values, field in (({"min_len": 6, "max_len": 5}, "max_len"),
                          ({"lockout_s": 600, "lockout_cap_s": 60}, "lockout_cap_s"),
                          ({"battery_low_v": 4.0, "battery_critical_v": 4.0}, "battery_critical_v"),
                          ({"max_len": 12, "peep_extra": 8}, "max_len")):
        try:
            app.load_settings(values, "config.json [kuword]")
        except ValueError as e:
            check("config.json [kuword]" in str(e) and field in str(e), str(e))
        else:
            raise AssertionError("accepted %s" % json.dumps(values))


def test_guest_codes_end_when_over_or_when_the_clock_is_not_set():
    import time

    from apps.kuword.pinstore import PinStore

    fwhelp.fresh_board(roles=PINS)
    fwhelp.remove("kuword_pins.json", "audit.csv", "audit.csv.1")
    saved = time.rtc_base[0]
    try:
        now = time.time()
        pins = PinStore("kuword_pins.json", 10)
        pins.create()
        for slot, expires, made in (("m", 0, 0), ("g1", now + 3600, now - 10), ("g2", now - 1, now - 7200),
                                    ("g3", 0, 0)):
            pins.put(slot, bytes([len(slot) + made % 7] * 32), 4, expires, made)
        pins.save()
        lock = app.Kuword(Hal({"pins": PINS}), app.load_settings({}, "test"))
        lock.pins.load()
        lock.purge_guests()
        check(sorted(lock.pins.codes) == ["g1", "g3", "m"], "expired g2 must go: %r" % sorted(lock.pins.codes))
        time.rtc_base[0] = 0  # a power cut without network time: the clock restarts at 2000-01-01
        lock.purge_guests(boot=True)
        check(sorted(lock.pins.codes) == ["g3", "m"], "a timed code cannot be judged: %r" % sorted(lock.pins.codes))
        again = PinStore("kuword_pins.json")
        again.load()
        check(sorted(again.codes) == ["g3", "m"], "the purge is saved")
        # a code made on a board whose clock was never set counts its hours while it runs:
        # opening the menu (a purge without boot) keeps it
        unset = time.time()
        lock.pins.put("g2", bytes([9] * 32), 4, unset + 3600, unset)
        lock.purge_guests()
        check("g2" in lock.pins.codes, "a fresh timed code on an unset clock was dropped")
    finally:
        time.rtc_base[0] = saved


def test_alarm_records_rate_limited_by_the_clock_not_the_wrapping_ticks():
    import time

    fwhelp.fresh_board(roles=PINS, start_ms=(1 << 30) - 1000)  # ticks wrap a second from now
    fwhelp.remove("audit.csv", "audit.csv.1")
    saved = time.rtc_base[0]
    try:
        lock = app.Kuword(Hal({"pins": PINS}), app.load_settings({}, "test"))
        lock.audit_alarm("tamper")
        lock.audit_alarm("tamper")  # the same second: skipped, counted
        time.rtc_base[0] += 7 * 86400  # a week later (ticks_diff over 2**29 ms would go negative)
        lock.audit_alarm("tamper")
        with open("audit.csv") as f:
            results = [line.split(",", 3)[3] for line in f.read().split("\n") if line]
        check(results == ["tamper", "tamper (+1)"], results)
    finally:
        time.rtc_base[0] = saved


def test_guest_hours_cannot_be_a_pin_length():
    try:
        app.load_settings({"guest_max_h": 1000}, "config.json [kuword]")
    except ValueError as e:
        check("guest_max_h" in str(e), str(e))
    else:
        raise AssertionError("a 4-digit hours answer could be a PIN typed by mistake")
