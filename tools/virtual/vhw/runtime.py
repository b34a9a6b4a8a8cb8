"""Put asyncio and ``time`` on the virtual clock, on either runtime. Call ``install()`` first.

MicroPython: ``time.py`` next to this package already extends the built-in ``time``. asyncio is
imported here and its tick functions are pointed at the never-wrapping asyncio view of the clock
(the C task queue stamps tasks with the host's real counter, period 2**62, so the 2**30 device
view would break its ordering at the wrap). The idle wait of the event loop
(``IOQueue.wait_io_event``) advances the virtual clock instead of sleeping.

CPython: ``time.py`` is loaded as the ``time`` module (the real one stays reachable as
``_vhw_real_time``), asyncio gets an event loop whose ``time()`` is the virtual clock and whose
selector advances it, and the MicroPython-only asyncio names the firmware uses (``sleep_ms``,
``ThreadSafeFlag``, ``wait_for_ms``) are added. These shims are the only runtime differences.

Real time (houses on a real broker, ``clock.follow_real_time()``): the idle wait really sleeps
(in whole ms, as the unix port's poll does), and after every wait, even one that did not sleep,
the clock is brought to the host's clock (up to the next alarm), so events are stamped when
they happen rather than when the process last slept.
"""

import sys

from vhw import clock

MICROPYTHON = sys.implementation.name == "micropython"
_installed = [False]


def _advance_waiting(target, poll):
    """Advance to ``target`` (us) alarm by alarm; after each alarm ``poll()`` may say IO is ready."""
    while clock.us < target:
        nxt = clock.next_alarm()
        step = target if nxt is None or nxt >= target else nxt
        clock.advance_to(step)
        if step < target and poll():
            return


def _install_micropython():
    import asyncio
    import asyncio.core as core
    import time as vtime  # our time.py

    _rt = vtime._rt
    for mod in (core, asyncio):
        mod.ticks = clock.async_ticks
        mod.ticks_add = _rt.ticks_add
        mod.ticks_diff = _rt.ticks_diff
    original = core.IOQueue.wait_io_event
    clock.real_us = vtime._rt.ticks_us  # the unix port's counter: period 2**62, no wrap

    def wait_io_event(self, dt):
        _woken[0] = False
        if clock.realtime is not None:
            # dt counts from the asyncio view's whole ms
            original(self, _ms_until(_real_stop((clock.us // 1000 + dt) * 1000 if dt >= 0 else -1)))
            _catch_up_real()
            return
        if dt == 0 or (dt < 0 and self.map and clock.end_us is None):
            original(self, dt)
            return
        if dt < 0:
            target = clock.end_us if clock.end_us is not None else clock.us + 3600 * 1000000
        else:
            target = (clock.us // 1000 + dt) * 1000
        if not self.map:
            _advance_waiting(target, _never)
            return
        waiting = len(self.map)

        def poll():
            original(self, 0)
            return len(self.map) != waiting or _woken[0]

        original(self, 0)
        if len(self.map) == waiting:
            _advance_waiting(target, poll)

    core.IOQueue.wait_io_event = wait_io_event
    asyncio.ThreadSafeFlag = _thread_safe_flag(asyncio)



# MicroPython: the C TaskQueue stamps tasks pushed without a key (create_task, Event.set, a
# cancel) with the host's real tick counter, and Task.cancel compares keys with it. Keeping the
# asyncio view of the virtual clock this far ahead of the real counter makes such tasks always
# "due now" (they run next, in the order they were pushed) and lets cancel find sleeping tasks
# "in the future", as on a board. The period of the unix port's ticks is 2**62, so no wrap.
ASYNC_LEAD_MS = 1 << 40


def async_base():
    """The value the asyncio view of the clock starts from (see ASYNC_LEAD_MS)."""
    if MICROPYTHON:
        import time

        return time._rt.ticks_ms() + ASYNC_LEAD_MS
    return 0


def _never():
    return _woken[0]


# set by a virtual ThreadSafeFlag: a task woke, so an idle wait must stop advancing the clock
_woken = [False]


def _thread_safe_flag(asyncio):
    """ThreadSafeFlag for the virtual board, on both runtimes. The virtual parts raise their
    IRQs in the firmware's own thread (from clock alarms), so an Event does what the real flag
    does; set() also ends the idle wait at once, as a real IRQ wakes the board. (MicroPython's
    own flag is a poll()ed object: on the unix port an event loop holding one polls every 1 ms,
    ~1000 wake-ups a second per idle house, which an ESP32's poll loop does not cost in Python.)"""

    class ThreadSafeFlag:
        def __init__(self):
            self._event = asyncio.Event()

        def set(self):
            _woken[0] = True
            self._event.set()

        def clear(self):
            self._event.clear()

        async def wait(self):
            await self._event.wait()
            self._event.clear()

    return ThreadSafeFlag


def _real_stop(until_us):
    """Real-time mode: the virtual time a wait until ``until_us`` (-1: for ever) may last until;
    the next alarm (a scenario input, a machine.Timer) comes first."""
    if until_us < 0:
        stop = clock.end_us if clock.end_us is not None else clock.us + 3600 * 1000000
    else:
        stop = until_us
    nxt = clock.next_alarm()
    if nxt is not None and nxt < stop:
        stop = nxt
    return stop


def _catch_up_real():
    """Real-time mode, after every wait (a timed one, one cut short by IO, or a poll that did
    not wait at all): the clock goes to the host's clock, up to the next alarm (which then
    fires; the ones after it wait for the next wait). Catching up only to the wait's own
    end would leave the clock behind by however late the host woke the process, and by
    everything run since, until some socket happened to wake it: events would be stamped
    early, and the busier the host, the earlier."""
    clock.catch_up(_real_stop(-1))


def _ms_until(stop):
    """Whole ms of real time until ``stop``, at most 1 s (each wait re-checks the alarms)."""
    ms = (stop - clock.real_now() + 999) // 1000
    return 0 if ms < 0 else (1000 if ms > 1000 else ms)


def _install_cpython():
    import asyncio
    import importlib.util
    import os
    import selectors
    import time as real_time

    sys.modules["_vhw_real_time"] = real_time
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location("time", os.path.join(here, "time.py"))
    vtime = importlib.util.module_from_spec(spec)
    sys.modules["time"] = vtime
    spec.loader.exec_module(vtime)

    clock.real_us = lambda: real_time.monotonic_ns() // 1000

    woken = _woken

    class VirtualSelector(selectors.DefaultSelector):
        def select(self, timeout=None):
            if clock.realtime is not None:
                stop = _real_stop(-1 if timeout is None else clock.us + int(timeout * 1000000 + 0.999999))
                ready = super().select(_ms_until(stop) / 1000)
                _catch_up_real()
                return ready
            ready = super().select(0)
            if ready or timeout == 0:
                return ready
            if timeout is None:
                target = clock.end_us if clock.end_us is not None else clock.us + 3600 * 1000000
            else:
                target = clock.us + int(timeout * 1000000 + 0.999999)
            found = []
            woken[0] = False

            def poll():
                found.extend(super(VirtualSelector, self).select(0))
                # a ThreadSafeFlag set by an interrupt (a virtual part's alarm) wakes its task
                # now, as MicroPython's poll-based flag does, not at the next timer
                return bool(found) or woken[0]

            _advance_waiting(target, poll)
            return found or super().select(0)

    class VirtualLoop(asyncio.SelectorEventLoop):
        def __init__(self):
            super().__init__(VirtualSelector())
            self._ties = {}

        def time(self):
            return clock.us / 1000000

        def call_at(self, when, callback, *args, context=None):
            # MicroPython's task queue runs tasks due at the same tick in the order they were
            # scheduled; CPython's heap does not promise that. A tiny per-instant offset
            # (far below a microsecond) restores first-come-first-served, so both runtimes
            # interleave same-millisecond tasks alike.
            when = round(when * 1000000) / 1000000  # on the clock's microsecond grid
            n = self._ties.get(when, 0)
            self._ties[when] = n + 1
            if len(self._ties) > 4096:
                now = self.time()
                self._ties = {w: k for w, k in self._ties.items() if w >= now}
            return super().call_at(when + n * 1e-10, callback, *args, context=context)

    class Policy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self):
            return VirtualLoop()

    asyncio.set_event_loop_policy(Policy())

    async def sleep_ms(ms):
        # MicroPython wakes a task on the ticks_ms grid (key = ticks_ms() + ms): do the same so
        # both runtimes produce the same event log.
        target_us = (clock.us // 1000 + max(0, ms)) * 1000
        await asyncio.sleep((target_us - clock.us) / 1000000)

    async def wait_for_ms(aw, ms):
        return await asyncio.wait_for(aw, ms / 1000)

    asyncio.sleep_ms = sleep_ms
    asyncio.wait_for_ms = wait_for_ms
    asyncio.ThreadSafeFlag = _thread_safe_flag(asyncio)


def install():
    if _installed[0]:
        return
    _installed[0] = True
    if MICROPYTHON:
        _install_micropython()
    else:
        _install_cpython()


def exception_text(exc):
    """The traceback as text, on either runtime."""
    import io

    buf = io.StringIO()
    if MICROPYTHON:
        sys.print_exception(exc, buf)
    else:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=buf)
    return buf.getvalue()
