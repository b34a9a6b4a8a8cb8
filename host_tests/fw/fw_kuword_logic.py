"""Kuword's pure logic: lockout schedule, relock and door timers, battery levels, guest expiry,
anti-peep candidates. No hardware; time is passed in (ESP32 tick arithmetic from vhw.clock)."""

from apps.kuword import logic
from fwhelp import check
from vhw import clock

PERIOD = 1 << 30


def test_lockout_after_five_then_doubling_to_the_cap():
    lock = logic.Lockout(5, 30, 3600)
    waits = []
    for _ in range(14):
        lock.fails += 1
        waits.append(lock.wait_s())
    # 4 free wrong codes, the 5th locks 30 s, then 60, 120 ... capped at one hour
    check(waits == [0, 0, 0, 0, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600], waits)
    check(lock.left() == 0, lock.left())
    lock.fails = 10 ** 6  # no overflow, no huge shifts
    check(lock.wait_s() == 3600, lock.wait_s())
    lock.fails = 2
    check(lock.left() == 3, lock.left())


def test_relock_after_unlock_time_across_the_tick_wrap():
    door = logic.Lock(5000, 30000, clock.ticks_diff)
    start = PERIOD - 2000  # unlocked 2 s before the ESP32's ticks_ms wraps
    door.unlock(start)
    check(door.tick(clock.ticks_add(start, 4999)) is None, "relocked early")
    check(door.tick(clock.ticks_add(start, 5000)) == "relock", "did not relock after 5 s")
    check(door.state == logic.LOCKED, door.state)


def test_door_opened_relocks_when_closed_and_ajar_releases_the_relay():
    door = logic.Lock(5000, 30000, clock.ticks_diff)
    door.unlock(0)
    check(door.door(False, 1000) is None, "opening the door is not a relock")
    check(door.tick(6000) is None, "an open door must not relock on the unlock timer")
    check(door.door(True, 7000) == "relock", "closing the door must relock")
    door.unlock(10000)
    door.door(False, 11000)
    check(door.tick(40999) is None, "ajar too early")
    # a door contact that fails open (cut wire) must not hold the lock released for good
    check(door.tick(41000) == "ajar", "no ajar alarm after 30 s open")
    check(door.state == logic.LOCKED and door.tick(90000) is None, door.state)
    check(door.door(True, 91000) == "closed", "closing after the alarm ends it")


def test_door_opened_while_locked_is_forced():
    door = logic.Lock(5000, 30000, clock.ticks_diff)
    check(door.door(False, 100) == "forced", "a door opened while locked")
    check(door.door(True, 200) == "closed", "closed again")
    door.unlock(1000, door_open=True)  # a code typed while the door stands open
    check(door.state == logic.AJAR, door.state)
    check(door.door(True, 2000) == "relock", "relocks when that door closes")


def test_battery_two_levels_with_hysteresis():
    b = logic.Battery(4600, 4200)
    seen = [b.reading(mv) for mv in (5000, 4590, 4650, 4690, 4700, 4100, 4250, 4350, 4800)]
    check(seen == [None, logic.BATT_LOW, None, None, logic.BATT_OK, logic.BATT_CRITICAL, None,
                   logic.BATT_LOW, logic.BATT_OK], seen)


def test_guest_expiry_is_fail_secure_when_the_clock_goes_back():
    made = 800000000
    check(logic.guest_valid(0, 0, 5), "untimed guest code")
    check(logic.guest_valid(made + 3600, made, made + 10), "inside its hour")
    check(not logic.guest_valid(made + 3600, made, made + 3600), "expired at the hour")
    check(not logic.guest_valid(made + 3600, made, 5), "a clock reset by a power cut reads before 'made'")


def test_candidates_plain_and_anti_peep():
    check(logic.candidates("123456", [6], 0) == ["123456"], "plain")
    check(logic.candidates("98123456", [6], 0) == ["98123456"], "no anti-peep: only the entry")
    got = logic.candidates("98123456", [6], 4)
    check(got == ["981234", "812345", "123456"], got)
    check(logic.candidates("12345678901", [6], 4) is None, "longer than 6 + 4 digits is refused")
    check(logic.candidates("123", [6], 4) == [], "shorter than every code: a wrong code")
    got = logic.candidates("11111", [4], 2)
    check(got == ["1111"], "duplicates tested once: %r" % got)
    check(logic.candidates("1234", [], 3) == ["1234"], "an empty store")
