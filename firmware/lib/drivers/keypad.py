"""Matrix keypad scanner (4x4 membrane keypad of the Kuword lock; 3x4 works too).

Wiring: the common membrane keypads have an 8-pin ribbon, pins 1-4 = rows (top row first),
pins 5-8 = columns (left column first). Rows go to any output-capable GPIO, columns to inputs
with the internal pull-up (``Pin(n, Pin.IN, Pin.PULL_UP)``). The keypad is just switches, so
3.3 V is fine: no level shifting, no extra resistors. ESP32 GPIO34-39 have no pull-up and cannot
take a column (the constructor refuses a column that reads low while no row is driven), nor a
row (input only).

How it scans: one row at a time is pulled low and the columns are read; a pressed key at the
crossing pulls its column low. The driver switches the rows to open drain: a row that is not
being scanned floats instead of driving 3.3 V, so two keys pressed in one column never short a
high row to the low one. ``scan()`` returns the raw pressed set as a bitmask, bit
``row * ncols + col`` (key ``keymap[bit]``); it allocates nothing.

Settle time: after a row is released its wire is pulled back up only by the columns'
~45 kOhm pull-ups through any pressed key, which takes a few us on a long ribbon. MicroPython's
own call overhead (a few us per ``Pin.value``) covers it on the usual 10-20 cm ribbon; with long
wires set ``settle_us`` (e.g. 5-20). Too little settling shows an extra key in the next row,
which the rule below turns into "nothing", never into a wrong key.

Debounce: a set of pressed keys counts once it has read the same for ``debounce_ms`` (10-20,
default 15; membrane contacts chatter for up to ~5 ms). A key is reported once per press, when
it is the only key in a stable set; holding it does not repeat.

Ghosting rule: without diodes, three keys at three corners of a rectangle connect the fourth
corner too, so a scan with three or more keys may show keys nobody pressed. A key is therefore
reported only from a stable set of exactly one key (a single key can never be a ghost: a ghost
needs three real keys, and every real key shows). Any set with two or more keys reports
nothing. A key already reported stays "used" until it is seen released, so holding 1, tapping
2 and letting go of 2 gives "1" once and nothing for 2; rolling over from 1 to 2 (press 2,
release 1) gives "1" then "2".

    from machine import Pin
    rows = [Pin(n, Pin.OUT) for n in (13, 14, 27, 26)]
    cols = [Pin(n, Pin.IN, Pin.PULL_UP) for n in (25, 33, 32, 4)]
    pad = Keypad(rows, cols)                  # keymap "123A456B789C*0#D", 15 ms debounce
    async for k in pad:                       # or: k = await pad.key()
        print("key", k)
    # without asyncio: k = pad.poll(time.ticks_ms()) every debounce_ms -> "5" or None
"""

import asyncio
import time

from machine import Pin

KEYMAP_4X4 = "123A456B789C*0#D"
KEYMAP_3X4 = "123456789*0#"
MAX_KEYS = 30  # the pressed set is a bitmask; 30 bits stay a small int on the ESP32 (no heap)


class Keypad:
    def __init__(self, rows, cols, keymap=KEYMAP_4X4, *, debounce_ms=15, settle_us=0):
        rows = tuple(rows)
        cols = tuple(cols)
        if not rows or not cols:
            raise ValueError("keypad needs row and column pins, got %d rows and %d columns"
                             % (len(rows), len(cols)))
        if len(rows) * len(cols) != len(keymap):
            raise ValueError("keymap %r has %d keys but %d rows x %d columns make %d (row-major: "
                             "the first row's keys first)" % (keymap, len(keymap), len(rows),
                                                              len(cols), len(rows) * len(cols)))
        if len(keymap) > MAX_KEYS:
            raise ValueError("at most %d keys, not %d" % (MAX_KEYS, len(keymap)))
        for i in range(len(keymap)):
            if keymap.find(keymap[i]) != i:
                raise ValueError("keymap %r has %r twice" % (keymap, keymap[i]))
        if not 10 <= debounce_ms <= 20:
            raise ValueError("debounce_ms must be from 10 to 20, not %r" % (debounce_ms,))
        if not 0 <= settle_us <= 50:
            raise ValueError("settle_us must be from 0 to 50, not %r" % (settle_us,))
        self.keymap = keymap
        self.debounce_ms = debounce_ms
        self.settle_us = settle_us
        self._rows = rows
        self._cols = cols
        self._nc = len(cols)
        for row in rows:
            row.init(Pin.OPEN_DRAIN, value=1)  # released: floats, never drives 3.3 V
        for c in range(len(cols)):
            if not cols[c].value():
                raise ValueError("keypad column %d (%r) reads low with no row driven: a column "
                                 "needs a pull-up (Pin.IN, Pin.PULL_UP; ESP32 GPIO34-39 have "
                                 "none) and must not be shorted to GND" % (c + 1, cols[c]))
        self._raw = 0  # the last scan
        self._since = 0  # ticks_ms when the last scan first read _raw
        self._stable = 0  # the debounced set
        self._used = 0  # keys reported and not yet seen released
        self._closed = False

    def scan(self):
        """The raw pressed set now: bit ``row * ncols + col`` set for each key that reads
        pressed (ghost keys included). 24 pin calls, well under a millisecond on an ESP32;
        allocates nothing."""
        if self._closed:
            return 0
        cols = self._cols
        nc = self._nc
        settle = self.settle_us
        mask = 0
        bit = 1
        for row in self._rows:
            row.value(0)
            if settle:
                time.sleep_us(settle)
            for c in range(nc):
                if not cols[c].value():
                    mask |= bit << c
            row.value(1)
            bit <<= nc
        return mask

    def keys(self, mask):
        """The key characters of a scan mask, in keymap order (for logs and tests)."""
        out = ""
        for i in range(len(self.keymap)):
            if mask >> i & 1:
                out += self.keymap[i]
        return out

    def poll(self, now_ms):
        """One scan and debounce step at ``now_ms`` (time.ticks_ms()). Returns the key character
        when a key press has just become stable (once per press), else None. Call it every
        ``debounce_ms`` or more often."""
        raw = self.scan()
        if raw != self._raw:
            self._raw = raw
            self._since = now_ms
            return None
        if raw == self._stable or time.ticks_diff(now_ms, self._since) < self.debounce_ms:
            return None
        self._stable = raw
        self._used &= raw  # a key missing from a scan is released (real keys always show)
        if raw & (raw - 1) or raw & self._used or not raw:
            return None  # nothing, two or more keys (maybe ghosts), or the key already reported
        self._used |= raw
        i = 0
        while raw > 1:
            raw >>= 1
            i += 1
        return self.keymap[i]

    async def key(self):
        """Wait for the next key and return its character; None once ``deinit()`` was called.
        Polls every ``debounce_ms``: the loop is never blocked for more than one scan."""
        while not self._closed:
            k = self.poll(time.ticks_ms())
            if k is not None:
                return k
            await asyncio.sleep_ms(self.debounce_ms)
        return None

    def __aiter__(self):
        return self

    async def __anext__(self):
        k = await self.key()
        if k is None:
            raise StopAsyncIteration
        return k

    def deinit(self):
        """Release every row (open drain, high: nothing driven); ``key()`` then returns None
        and ``scan()`` 0."""
        for row in self._rows:
            row.value(1)
        self._closed = True
