"""Matrix keypad driver against the virtual keypad: bounce, fast typing, ghosting, wiring faults,
the tick wrap and the asyncio interface."""

import asyncio
import gc
import sys
import time

from machine import Pin

import fwhelp
from apps.kuword import entry
from drivers.keypad import KEYMAP_3X4, Keypad
from fwhelp import check
from vhw import clock
from vhw.parts.keypad import Keypad as VirtualKeypad

ROWS = (13, 14, 27, 26)  # the esp32_devkitc kuword map: keypad pins 1-4
COLS = (25, 33, 32, 4)  # keypad pins 5-8


def make(diodes=False, bounce=True, start_ms=0, keymap="123A456B789C*0#D", rows=ROWS, cols=COLS):
    board = fwhelp.fresh_board(start_ms=start_ms)
    part = VirtualKeypad(board, rows, cols, keymap, diodes=diodes, bounce=bounce)
    pad = Keypad([Pin(n, Pin.OUT, value=1) for n in rows],
                 [Pin(n, Pin.IN, Pin.PULL_UP) for n in cols], keymap)
    return board, part, pad


def collect(pad, ms, step=15):
    """Poll every ``step`` ms of virtual time for ``ms``; the keys reported, as one string."""
    got = ""
    end = clock.us + ms * 1000
    while clock.us < end:
        k = pad.poll(time.ticks_ms())
        if k is not None:
            got += k
        time.sleep_ms(step)
    return got


def test_single_press_with_bounce_gives_exactly_one_key():
    for step in (1, 5, 15):
        board, part, pad = make()
        part.press("5", 80)
        # the contact really chatters: sample the raw scan every 100 us over the first 6 ms
        changes = 0
        last = pad.scan()
        for _ in range(60):
            time.sleep_us(100)
            now = pad.scan()
            changes += now != last
            last = now
        check(changes >= 6, "the virtual contact must bounce, saw %d changes" % changes)
        got = collect(pad, 400, step)
        check(got == "5", "polling every %d ms: one bouncing press gave %r" % (step, got))


def test_fast_typing_gives_exactly_those_keys():
    for step in (5, 15):
        board, part, pad = make()
        ms = part.type("1234#", 60, 60)
        check(ms == 5 * 60 + 4 * 60, ms)
        got = collect(pad, ms + 100, step)
        check(got == "1234#", "60 ms hold / 60 ms gap, polled every %d ms: %r" % (step, got))
    board, part, pad = make()
    part.type("A*0#D", 40, 30)  # faster than anyone types, still exact
    got = collect(pad, 500, 10)
    check(got == "A*0#D", got)


def test_same_key_twice_is_two_keys():
    board, part, pad = make()
    part.type("1155", 60, 60)
    got = collect(pad, 600)
    check(got == "1155", got)


def test_holding_a_key_gives_one_key_not_repeats():
    board, part, pad = make()
    part.press("7", 3000)
    got = collect(pad, 3300)
    check(got == "7", "held 3 s: %r" % got)


def test_second_key_while_holding_the_first_gives_no_wrong_key():
    board, part, pad = make()
    part.hold("1")
    got = collect(pad, 100)
    part.hold("2")
    got += collect(pad, 200)
    part.release("2")
    got += collect(pad, 200)
    part.release("1")
    got += collect(pad, 200)
    check(got == "1", "hold 1, tap 2 while holding: %r" % got)
    # rolling over (press 2, then let go of 1) types both, each once
    part.hold("1")
    got = collect(pad, 100)
    part.hold("2")
    got += collect(pad, 100)
    part.release("1")
    got += collect(pad, 100)
    part.release("2")
    got += collect(pad, 100)
    check(got == "12", "rollover 1 -> 2: %r" % got)


def test_three_key_ghost_is_seen_raw_and_never_reported():
    board, part, pad = make()
    part.hold("124")  # three corners of the rectangle rows 1-2 x columns 1-2
    time.sleep_ms(10)  # past the bounce
    raw = pad.keys(pad.scan())
    check(raw == "1245", "without diodes the matrix must show the ghost 5: %r" % raw)
    got = collect(pad, 300)
    check(got == "", "a ghost pattern must report nothing, got %r" % got)
    # one by one: 1 alone is real and reported; once 2 and 4 join, nothing (5 is a ghost)
    board, part, pad = make()
    part.hold("1")
    got = collect(pad, 100)
    part.hold("2")
    part.hold("4")
    got += collect(pad, 300)
    part.release("124")
    got += collect(pad, 100)
    check(got == "1", "only the key pressed alone counts: %r" % got)


def test_diodes_stop_the_ghost():
    board, part, pad = make(diodes=True)
    part.hold("124")
    time.sleep_ms(10)
    raw = pad.keys(pad.scan())
    check(raw == "124", "with diodes only the pressed keys show: %r" % raw)
    check(collect(pad, 300) == "", "three keys are still not one key")


def test_open_drain_rows_never_short_two_outputs():
    board, part, pad = make()
    part.hold("14")  # one column, two rows
    time.sleep_ms(10)
    check(pad.keys(pad.scan()) == "14", pad.keys(pad.scan()))
    check(part.shorts == 0, "open-drain rows: %d shorts" % part.shorts)
    # push-pull rows idle high would short row 2 (high) to row 1 (low) through keys 4 and 1
    for n in ROWS:
        Pin(n, Pin.OUT, value=1)
    Pin(ROWS[0]).value(0)
    Pin(COLS[0]).value()
    check(part.shorts == 1, "the virtual keypad must notice a short, counted %d" % part.shorts)


def test_column_without_pull_up_is_refused():
    # GPIO34-39 have no pull-up: the ESP32 port accepts PULL_UP there silently and the pin
    # floats, so the driver checks every column reads high while no row is driven.
    fwhelp.fresh_board()
    cols = [Pin(n, Pin.IN, Pin.PULL_UP) for n in (25, 33, 32, 34)]
    try:
        Keypad([Pin(n, Pin.OUT) for n in ROWS], cols)
    except ValueError as e:
        text = str(e)
        check("column 4" in text and "Pin(34)" in text and "pull-up" in text, text)
    else:
        raise AssertionError("a keypad column on GPIO34 must be refused")
    # the same with the virtual keypad wired there
    board = fwhelp.fresh_board()
    VirtualKeypad(board, ROWS, (25, 33, 32, 34))
    try:
        Keypad([Pin(n, Pin.OUT) for n in ROWS], [Pin(n, Pin.IN, Pin.PULL_UP) for n in (25, 33, 32, 34)])
    except ValueError as e:
        check("pull-up" in str(e), str(e))
    else:
        raise AssertionError("a floating column must be refused with the keypad attached")
    # a column configured without its pull-up is refused the same way
    fwhelp.fresh_board()
    try:
        Keypad([Pin(n, Pin.OUT) for n in ROWS], [Pin(n, Pin.IN) for n in COLS])
    except ValueError as e:
        check("column 1" in str(e), str(e))
    else:
        raise AssertionError("a column without pull-up must be refused")


def test_row_on_an_input_only_pin_is_refused():
    fwhelp.fresh_board()
    try:
        Keypad([Pin(n, Pin.IN) for n in (13, 14, 27, 35)], [Pin(n, Pin.IN, Pin.PULL_UP) for n in COLS])
    except ValueError as e:
        check("input" in str(e), str(e))
    else:
        raise AssertionError("a row on GPIO35 (input only) must be refused")


def test_bad_shapes_and_settings_are_refused():
    fwhelp.fresh_board()
    rows = [Pin(n, Pin.OUT) for n in ROWS]
    cols = [Pin(n, Pin.IN, Pin.PULL_UP) for n in COLS]
    cases = (
        ((rows[:3], cols), {}, "3 rows x 4 columns make 12"),
        ((rows, cols[:3]), {}, "has 16 keys"),
        ((rows, cols, "123A456B789C*0#1"), {}, "'1' twice"),
        ((rows, cols), {"debounce_ms": 5}, "10 to 20"),
        ((rows, cols), {"settle_us": 500}, "0 to 50"),
        (([], cols, ""), {}, "0 rows"),
    )
    for args, kwargs, words in cases:
        try:
            Keypad(*args, **kwargs)
        except ValueError as e:
            check(words in str(e), "%r does not say %r" % (str(e), words))
        else:
            raise AssertionError("accepted %d rows, %d cols, %s" % (len(args[0]), len(args[1]), kwargs))


def test_three_by_four_keypad():
    board, part, pad = make(keymap=KEYMAP_3X4, cols=COLS[:3])
    part.type("*0#9", 60, 60)
    got = collect(pad, 600)
    check(got == "*0#9", got)


def test_virtual_part_refuses_unknown_keys():
    board, part, pad = make()
    for bad in ("12x4", "E"):
        try:
            part.type(bad)
        except ValueError as e:
            check("123A456B789C*0#D" in str(e), str(e))
        else:
            raise AssertionError("typed %r" % bad)
    check(part.presses == 0 and clock.next_alarm() is None, "nothing may be scheduled by a refused input")
    try:
        part.press("12")
    except ValueError as e:
        check("one key" in str(e), str(e))
    else:
        raise AssertionError("press takes one key")


def test_typing_across_the_tick_wrap():
    board, part, pad = make(start_ms=(1 << 30) - 50)
    part.type("1234#", 60, 60)
    got = collect(pad, 700)
    check(time.ticks_ms() < 1000, "ticks must have wrapped, now %d" % time.ticks_ms())
    check(got == "1234#", "typing over the 2**30 wrap gave %r" % got)


def test_keypad_into_key_collector_across_the_wrap():
    board, part, pad = make(start_ms=(1 << 30) - 300)
    keys = entry.KeyCollector(4, 8, 10000, time.ticks_diff)
    part.type("12*345", 70, 60)
    events = []
    for _ in range(100):
        k = pad.poll(time.ticks_ms())
        if k is not None:
            events.append(keys.feed(k, time.ticks_ms()))
        time.sleep_ms(15)
    check(keys.masked() == "****", "after 12*345: %r" % keys.masked())
    time.sleep_ms(9000)
    part.press("#")
    for _ in range(20):
        k = pad.poll(time.ticks_ms())
        if k is not None:
            events.append(keys.feed(k, time.ticks_ms()))
        time.sleep_ms(15)
    check(events[-1] == (entry.CODE, "1345"), events)


def test_async_iterator_and_deinit():
    board, part, pad = make()
    got = []
    state = {"ended": False}

    async def reader():
        async for k in pad:
            got.append(k)
        state["ended"] = True

    async def main():
        part.type("0852#", 60, 60)
        task = asyncio.create_task(reader())
        await asyncio.sleep_ms(800)
        pad.deinit()
        await asyncio.sleep_ms(50)
        check(state["ended"], "deinit must end the async iteration")
        after = await pad.key()
        check(after is None, "key() after deinit must be None, got %r" % after)
        await task

    fwhelp.run(main, 1000)
    check("".join(got) == "0852#", got)
    for n in ROWS:
        s = board.pin(n)
        check(s.mode == "od" and s.out == 1, "row GPIO%d left %s/%d, want released" % (n, s.mode, s.out))
    check(pad.scan() == 0, "no scan after deinit")


def test_await_key_waits_for_the_next_key():
    board, part, pad = make(start_ms=(1 << 30) - 100)
    got = []

    async def main():
        clock.after(200000, lambda: part.press("B"))
        got.append(await pad.key())
        got.append(time.ticks_ms())

    fwhelp.run(main, 1000)
    check(got[0] == "B", got)
    # pressed at 200 ms (100 ms after the wrap); stable 15-30 ms later, found by the next poll
    check(100 + 15 <= got[1] <= 100 + 5 + 15 + 15, "key reported at tick %r" % got[1])


def test_scanning_allocates_nothing():
    if sys.implementation.name != "micropython":
        raise fwhelp.Skip("heap measurement needs MicroPython (gc.mem_alloc)")
    board, part, pad = make()
    part.hold("5")
    time.sleep_ms(10)
    for _ in range(3):
        pad.poll(time.ticks_ms())
    now = time.ticks_ms()
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(200):
        pad.poll(now)
    after = gc.mem_alloc()
    check(after - before == 0, "200 polls allocated %d bytes" % (after - before))
