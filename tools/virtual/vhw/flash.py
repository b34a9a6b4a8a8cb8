"""Power cuts during flash writes.

``cut_after(n)`` arms a power cut: the next ``n`` units of flash work happen, then the power
goes. A unit is one byte written to a file, or one ``os.rename``/``os.remove`` (the moment a
rename lands matters as much as the bytes). Bytes written before the cut stay in the file, as
on a real flash whose pages were programmed; the file is not closed tidily. The cut raises
``PowerCut`` (a ``Reset`` with cause PWRON_RESET), which no firmware ``except Exception``
catches, so the code after the cut point never runs.

    flash.cut_after(17)
    try:
        store.write_json("x.json", {...})
    except flash.PowerCut:
        pass
    flash.disarm()

Fake/real difference: LittleFS on the board commits a file's data on close/sync, so a cut file
there may read back shorter than what was written here; both are "partial", which is what the
firmware must survive. Writes through ``open`` only (the firmware has no other path).
"""

import builtins
import os

from vhw import Reset
from vhw import board as vboard

_real_open = builtins.open
_real_rename = os.rename
_real_remove = os.remove
_budget = [None]


class PowerCut(Reset):
    def __init__(self):
        super().__init__(vboard.PWRON_RESET, 0, "power cut during a flash write")


def _spend(n):
    """How many of ``n`` units may still happen; raises nothing itself."""
    left = _budget[0]
    if left is None:
        return n
    use = min(n, left)
    _budget[0] = left - use
    return use


def _cut():
    disarm()
    raise PowerCut()


class _CutFile:
    def __init__(self, f):
        self._f = f

    def write(self, data):
        n = len(data)
        ok = _spend(n)
        if ok < n:
            self._f.write(data[:ok])
            self._f.close()
            _cut()
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()
        return False

    def __iter__(self):
        return iter(self._f)


def _open(path, mode="r", *args, **kwargs):
    f = _real_open(path, mode, *args, **kwargs)
    if _budget[0] is not None and ("w" in mode or "a" in mode or "+" in mode):
        return _CutFile(f)
    return f


def _rename(a, b):
    if _spend(1) < 1:
        _cut()
    _real_rename(a, b)


def _remove(path):
    if _spend(1) < 1:
        _cut()
    _real_remove(path)


def cut_after(units):
    _budget[0] = units
    builtins.open = _open
    os.rename = _rename
    os.remove = _remove


def disarm():
    _budget[0] = None
    builtins.open = _real_open
    os.rename = _real_rename
    os.remove = _real_remove
