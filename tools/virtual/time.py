"""Virtual ``time`` for the ESP32 firmware: extends the built-in module with the virtual clock.

On MicroPython this file is found on the path before the built-in ``time`` (an extensible
built-in), so ``import time`` gets it; the built-in is reached by importing with an empty
``sys.path``. On CPython, ``vhw.runtime.install()`` loads this file as ``time`` and keeps the real
module as ``_vhw_real_time``.

ticks_ms/ticks_us wrap at 2**30 like an ESP32. Sleeping advances the virtual clock: a blocking
sleep on the device blocks the whole device, and the virtual board charges the same time.
"""

import sys

try:
    import _vhw_real_time as _rt  # CPython: put there by vhw.runtime.install()
except ImportError:
    _saved = sys.path[:]
    sys.path.clear()
    import time as _rt  # MicroPython: the built-in module

    sys.path.extend(_saved)
    del _saved

from vhw import clock as _clock

# Epoch: MicroPython on the ESP32 counts seconds from 2000-01-01. The virtual RTC starts at
# vhw.board's rtc_base (seconds since 2000) and moves with the virtual clock.
_EPOCH_2000_DAYS = 10957  # days from 1970-01-01 to 2000-01-01
rtc_base = [757382400]  # 2024-01-01 00:00:00 in seconds since 2000; machine.RTC().datetime() moves it


def ticks_ms():
    return _clock.ticks_ms()


def ticks_us():
    return _clock.ticks_us()


def ticks_cpu():
    return _clock.ticks_us()


def ticks_add(ticks, delta):
    return _clock.ticks_add(ticks, delta)


def ticks_diff(ticks1, ticks2):
    return _clock.ticks_diff(ticks1, ticks2)


def _whole(n):
    if not isinstance(n, int):
        raise TypeError("can't convert %s to int" % type(n).__name__)  # as the ESP32 port
    return n


def sleep_us(us):
    if _whole(us) > 0:
        _clock.advance(us)


def sleep_ms(ms):
    if _whole(ms) > 0:
        _clock.advance(ms * 1000)


def sleep(seconds):
    if seconds > 0:
        _clock.advance(int(seconds * 1000000))


def time():
    return rtc_base[0] + _clock.us // 1000000


def time_ns():
    return (rtc_base[0] * 1000000 + _clock.us) * 1000


def _civil(days):
    # days since 2000-01-01 -> (year, month, mday); Howard Hinnant's civil_from_days algorithm
    z = days + _EPOCH_2000_DAYS + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + (1 if m <= 2 else 0), m, d)


def gmtime(secs=None):
    """(year, month, mday, hour, minute, second, weekday 0=Monday, yearday), as on the ESP32."""
    if secs is None:
        secs = time()
    days = secs // 86400
    rem = secs - days * 86400
    y, m, d = _civil(days)
    jan1 = days - (_days_before(y, m) + d - 1)
    return (y, m, d, rem // 3600, rem // 60 % 60, rem % 60, (days + 5) % 7, days - jan1 + 1)


def _days_before(y, m):
    cum = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)[m - 1]
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    return cum + (1 if leap and m > 2 else 0)


localtime = gmtime  # the ESP32 has no time zones: local time is whatever the RTC was set to


def mktime(t):
    y, m, d = t[0], t[1], t[2]
    yy = y - 1 if m <= 2 else y
    era = yy // 400
    yoe = yy - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468 - _EPOCH_2000_DAYS
    return days * 86400 + t[3] * 3600 + t[4] * 60 + t[5]


if sys.implementation.name != "micropython":

    def __getattr__(name):  # CPython: stdlib modules imported later still find time.monotonic...
        return getattr(_rt, name)
