"""Helpers for firmware tests (both runtimes): fresh boards, running coroutines on virtual time,
reading the event log, finding the shared data."""

import asyncio
import json

from vhw import board as vboard
from vhw import clock, runtime

SHARED_DATA = [None]


class Skip(Exception):
    pass


def fresh_board(chip=None, roles=None, start_ms=0):
    """A new virtual board (events kept in memory) and a clock reset to ``start_ms`` ticks."""
    b = vboard.install(vboard.Board(chip, roles or {}))
    clock.reset(start_ms, runtime.async_base())
    return b


def run(coro_fn, duration_ms):
    """Run ``coro_fn()`` for ``duration_ms`` of virtual time, then stop everything."""
    clock.end_us = clock.us + duration_ms * 1000

    async def wrapper():
        await coro_fn()

    try:
        asyncio.run(wrapper())
    except SystemExit as e:
        if type(e).__name__ != "SimEnd":
            raise
    finally:
        clock.end_us = None
        clock.ended = False
        asyncio.new_event_loop()


def events(kind=None, part=None):
    out = []
    for line in vboard.BOARD.events:
        e = json.loads(line)
        if (kind is None or e["kind"] == kind) and (part is None or e["part"] == part):
            out.append(e)
    return out


def shared(path):
    """Path of a file under ../shared/data, or Skip with a clear message when it is absent."""
    base = SHARED_DATA[0]
    full = "%s/%s" % (base, path)
    try:
        open(full).close()
    except OSError:
        raise Skip("shared data not found at %s (tests that replay real recordings need "
                   "../shared beside the checkout)" % full) from None
    return full


def remove(*names):
    """Delete files from the virtual flash (the test's working folder) if they exist."""
    import os

    for name in names:
        try:
            os.remove(name)
        except OSError:
            pass


def check(cond, message):
    """assert with a message that shows the state (assert vanishes at -O; this does not)."""
    if not cond:
        raise AssertionError(message)


def raises(exc_type, fn, *words):
    """fn() must raise exc_type whose text holds every one of words; returns the exception."""
    try:
        fn()
    except exc_type as e:
        for w in words:
            check(w in str(e), "%r not in %r" % (w, str(e)))
        return e
    raise AssertionError("%s not raised" % exc_type.__name__)
