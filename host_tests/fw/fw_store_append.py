"""kit.store.append_line, the rotating log of Akrubutan's soil.csv and Kuword's audit.csv: exact
contents across the copy's chunk boundaries, RAM that does not grow with the log (counted with
gc.mem_alloc on MicroPython, and a 64 KB log appended with less heap free than that), and a power
cut at every unit of a streamed append (old log or new, never a torn one)."""

import os
import sys

import fwhelp
from fwhelp import check
from kit import store
from vhw import flash

LOG = "append_t.csv"


def _clean():
    fwhelp.remove(LOG, LOG + ".tmp", LOG + ".1")


def _fill(size):
    """A log of exactly ``size`` bytes of whole lines ("r0000....\\n"), its bytes returned."""
    rows = bytearray()
    i = 0
    while len(rows) < size:
        rows += b"r%04d" % i + b"." * 25 + b"\n"  # 31 bytes: chunks of 512 end mid-line
        i += 1
    data = bytes(rows[:size - 1]) + b"\n" if size else b""
    with open(LOG, "wb") as f:
        f.write(data)
    return data


def _read(name):
    try:
        with open(name, "rb") as f:
            return f.read()
    except OSError:
        return None


def test_append_keeps_every_byte_across_the_chunk_boundaries():
    for size in (0, 1, 511, 512, 513, 1024, 1500, 4096):
        _clean()
        old = _fill(size)
        store.append_line(LOG, "new,row", 100000)
        got = _read(LOG)
        check(got == old + b"new,row\n", "a %d-byte log: %d bytes after the append, ends %r"
              % (size, len(got), got[-20:]))
        check(_read(LOG + ".tmp") is None, "the copy was renamed, not left beside the log")
    _clean()
    store.append_line(LOG, "first", 100)
    check(_read(LOG) == b"first\n", "a missing log starts with the line")
    _clean()


def test_a_tmp_left_by_a_cut_is_overwritten_not_appended_to():
    _clean()
    old = _fill(700)
    with open(LOG + ".tmp", "wb") as f:
        f.write(b"half of a cut copy" * 40)
    store.append_line(LOG, "after", 100000)
    check(_read(LOG) == old + b"after\n", "the cut copy leaked into the log: %r" % _read(LOG)[-40:])
    _clean()


def _allocated(size):
    """Bytes the heap gives out during one append to a ``size``-byte log, GC off: nothing is
    freed, so this is the whole allocation, an upper bound of the peak."""
    import gc

    _fill(size)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        store.append_line(LOG, "1700000000,42,31.5,6.20", 1 << 20)
        return gc.mem_alloc() - before
    finally:
        gc.enable()


def test_the_ram_of_an_append_does_not_grow_with_the_log():
    if sys.implementation.name != "micropython":
        raise fwhelp.Skip("gc.mem_alloc is MicroPython's")
    _clean()
    _fill(100)
    store.append_line(LOG, "warm-up", 1 << 20)  # the copy buffer is allocated once, here
    small = _allocated(1000)
    big = _allocated(65536)
    # Before the copy was streamed: 64 KB read + 64 KB old + line = about 130 KB for `big`.
    check(big <= small + 32, "a 64 KB log took %d bytes, a 1 KB log %d: RAM grows with the log"
          % (big, small))
    check(big < 1024, "an append allocated %d bytes (two file objects, the line and names "
          "should take well under 1 KB)" % big)
    check(os.stat(LOG)[6] == 65536 + 24, "the append happened: %d bytes" % os.stat(LOG)[6])
    _clean()


def test_a_64_kb_log_is_appended_with_less_free_heap_than_the_log():
    if sys.implementation.name != "micropython":
        raise fwhelp.Skip("gc.mem_free is MicroPython's")
    import gc

    _clean()
    old = _fill(65536)
    # big blocks, each as large as still fits, take the heap down to about 16 KB free (many
    # small ones would leave only holes too small for anything: not a board's tight heap)
    hog = []
    gc.collect()
    while gc.mem_free() > 20 * 1024:
        size = gc.mem_free() - 16 * 1024
        while size >= 1024:
            try:
                hog.append(bytearray(size))
                break
            except MemoryError:
                size = size * 3 // 4
        else:
            break
    gc.collect()
    free = gc.mem_free()
    try:
        store.append_line(LOG, "tight,heap", 1 << 20)
    except MemoryError:
        hog = None
        gc.collect()
        raise AssertionError("MemoryError appending to a 64 KB log with %d bytes free" % free) from None
    hog = None
    gc.collect()
    check(_read(LOG) == old + b"tight,heap\n", "the log after the append on a tight heap")
    # the unix port's heap keeps holes under 1 KB from the tests before: 20-50 KB in all, less
    # than the log, which the append before streaming read whole (and then copied)
    check(free < 60 * 1024, "the heap was not tight: %d bytes free" % free)
    _clean()


def test_a_power_cut_at_every_unit_of_a_streamed_append_leaves_the_old_log_or_the_new():
    _clean()
    old = _fill(1300)  # three chunks, the last one partial
    new = old + b"cut,here\n"
    outcomes = {"old": 0, "new": 0}
    units = 0
    while True:
        flash.cut_after(units)
        try:
            store.append_line(LOG, "cut,here", 100000)
            cut = False
        except flash.PowerCut:
            cut = True
        finally:
            flash.disarm()
        got = _read(LOG)
        check(got in (old, new), "cut after %d units: a log of %s bytes, neither old (%d) nor new (%d)"
              % (units, None if got is None else len(got), len(old), len(new)))
        outcomes["new" if got == new else "old"] += 1
        if not cut:
            break
        check(got == old, "cut after %d units but the new log is in place" % units)
        units += 1
    # every byte of the copy and of the line, then the rename, is a cut point
    check(units == len(new) + 1, "cut points: %d, expected %d" % (units, len(new) + 1))
    check(outcomes == {"old": len(new) + 1, "new": 1}, outcomes)
    # the meter appends again after a cut: the half copy left in .tmp is not in the new log
    _clean()
    _fill(1300)
    flash.cut_after(700)
    try:
        store.append_line(LOG, "lost", 100000)
    except flash.PowerCut:
        pass
    finally:
        flash.disarm()
    store.append_line(LOG, "next", 100000)
    check(_read(LOG) == old + b"next\n", "after a cut: %r" % _read(LOG)[-30:])
    _clean()


def test_a_power_cut_while_a_full_log_rotates_keeps_every_row_once():
    _clean()
    old = _fill(1000)
    for units in range(0, 12):
        _clean()
        _fill(1000)
        flash.cut_after(units)
        try:
            store.append_line(LOG, "rot", 1000)
        except flash.PowerCut:
            pass
        finally:
            flash.disarm()
        cur, prev = _read(LOG), _read(LOG + ".1")
        check((cur, prev) in ((old, None), (None, old), (b"rot\n", old)),
              "cut after %d units: log %r, .1 %s bytes" % (units, cur, None if prev is None else len(prev)))
    _clean()
