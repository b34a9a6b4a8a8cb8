"""The virtual clock: microseconds of device time, ESP32 tick wrapping, alarms.

Device time only moves when something waits: ``time.sleep_us``, ``machine.time_pulse_us``,
an asyncio sleep (the event loop's idle wait advances the clock instead of sleeping), or the
simulator. So a minute of device time costs milliseconds of host time, and every run with the
same input is the same.

Two views of the same clock:
- the device view (``time.ticks_ms/us``) wraps at 2**30 like an ESP32 and can start anywhere,
  for example 5 s before the wrap;
- the asyncio view on MicroPython counts from the host's real tick counter and never wraps,
  because the C task queue stamps some tasks with the real counter (see docs/virtual-hardware.md).
"""

import heapq

from vhw import SimEnd

PERIOD = 1 << 30  # ESP32: ticks_ms and ticks_us wrap at 2**30
_HALF = PERIOD >> 1
_MASK = PERIOD - 1

us = 0  # virtual microseconds since the simulation started (never wraps)
start_ticks_ms = 0  # device ticks_ms at us == 0
async_base_ms = 0  # asyncio view: ticks at us == 0 (MicroPython: the real counter at reset)
end_us = None  # raise SimEnd when time would pass this
wdt_deadline = None  # absolute us; checked on every advance (no allocation when feeding)
wdt_hook = None
ended = False  # the simulation is over: CPython's asyncio.run may still run cleanup code
# Real time (houses on a real network): the clock follows the host's monotonic clock, because a
# broker on a real socket answers in real time. ``real_us`` is set by vhw.runtime (the host's
# microsecond counter); ``realtime`` is its reading at us == 0, or None on pure virtual time.
real_us = None
realtime = None
_alarms = []
_seq = [0]
_cancelled = {}


def reset(start_ms=0, base_ms=0, end=None):
    global us, start_ticks_ms, async_base_ms, end_us, wdt_deadline, wdt_hook, ended, realtime
    us = 0
    realtime = None
    start_ticks_ms = start_ms & _MASK
    async_base_ms = base_ms
    end_us = end
    wdt_deadline = None
    wdt_hook = None
    ended = False
    del _alarms[:]
    _cancelled.clear()


def follow_real_time():
    """From now on the clock runs with the host's clock (see ``realtime``)."""
    global realtime
    realtime = real_us() - us


def real_now():
    """The virtual time (us) the host's clock has reached, in real-time mode."""
    return real_us() - realtime


def catch_up(limit):
    """Real-time mode: advance to the host's clock, but not past ``limit`` (an alarm or a wake-up
    due there must run first; the next wait catches up the rest)."""
    now = real_now()
    if now > limit:
        now = limit
    if now > us:
        advance_to(now)


def ticks_ms():
    return (start_ticks_ms + us // 1000) & _MASK


def ticks_us():
    return (start_ticks_ms * 1000 + us) & _MASK


def ticks_add(ticks, delta):
    return (ticks + delta) & _MASK


def ticks_diff(a, b):
    return ((a - b + _HALF) & _MASK) - _HALF


def async_ticks():
    return async_base_ms + us // 1000


def at(due_us, fn):
    """Call ``fn()`` when the clock reaches ``due_us``. Returns a handle for ``cancel``."""
    _seq[0] += 1
    heapq.heappush(_alarms, (due_us, _seq[0], fn))
    return _seq[0]


def after(delay_us, fn):
    return at(us + delay_us, fn)


def cancel(handle):
    _cancelled[handle] = True


def next_alarm():
    while _alarms and _alarms[0][1] in _cancelled:
        del _cancelled[heapq.heappop(_alarms)[1]]
    return _alarms[0][0] if _alarms else None


def advance_to(target):
    """Move time forward to ``target`` us, firing alarms and the watchdog on the way."""
    global us, ended
    while True:
        due = next_alarm()
        if wdt_deadline is not None and wdt_deadline <= target and (due is None or wdt_deadline < due):
            due = wdt_deadline
            if end_us is not None and due > end_us:
                break
            us = max(us, due)
            wdt_hook()  # raises Reset
        if due is None or due > target:
            break
        if end_us is not None and due > end_us:
            break
        _, _, fn = heapq.heappop(_alarms)
        if due > us:
            us = due
        fn()
    if end_us is not None and target >= end_us:
        us = end_us
        ended = True
        raise SimEnd("end of simulation")
    if target > us:
        us = target


def advance(delta_us):
    advance_to(us + delta_us)
