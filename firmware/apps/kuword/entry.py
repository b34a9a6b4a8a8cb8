"""Kuword's key collector: turns single key presses into a typed code (pure: no hardware, no
clock). The keypad driver (drivers/keypad.py) delivers keys; this collects digits; the lock
logic decides what a code means. Like ESPHome's key_collector between matrix_keypad and a lock.

Keys: ``0``-``9`` append a digit; ``#`` ends the entry; ``*`` deletes the last digit, and ``*``
on an empty entry cancels (the lock may leave a menu); ``A``-``D`` are function keys passed
through untouched (menus). Any other character is ignored (never raised: a lock must not stop
on an odd keymap).

Lengths: an entry ending with fewer than ``min_len`` digits is rejected as SHORT. Digits are
accepted up to the hard cap of 16 (CAP, what a 16-character LCD row can show) even beyond
``max_len``: anti-peep entry hides the right code among extra digits, and stopping at max_len
would instead silently submit the first max_len digits of something else. An entry longer than
``max_len`` comes back as LONG, not CODE, so the caller decides: reject it, or look for a stored
code inside it (apps/kuword/logic.candidates, with its peep_extra limit).

Time: ``now`` is ticks in ms (time.ticks_ms()) and ``diff`` is time.ticks_diff, passed in so
tests use any tick period and the maths stays right across the 2**30 wrap. A half-typed code is
forgotten ``timeout_ms`` after its last key: ``tick(now)`` reports it (call it at least once a
second, so the LCD clears and no timestamp gets older than ticks_diff's half period), and a key
arriving after the timeout starts a fresh entry even if ``tick`` was not called.

``feed`` returns None while the entry goes on (a digit added or deleted, a digit beyond CAP or
an unknown character ignored: ``length()`` and ``masked()`` tell the LCD what changed) and an
event tuple ``(kind, value)`` when the lock has something to act on; ``tick`` returns
(TIMEOUT, n) or None:

    CODE (digits)   ``#`` with min_len..max_len digits; the entry is cleared
    LONG (digits)   ``#`` with more than max_len digits (up to CAP); cleared
    SHORT (n)       ``#`` with fewer than min_len digits (0 for a lone ``#``); cleared
    CANCEL (0)      ``*`` on an empty entry
    FUNCTION (key)  ``A``..``D``; the digits typed so far are kept
    TIMEOUT (n)     from ``tick``: n half-typed digits were forgotten

    entry = KeyCollector(4, 8, 10000, time.ticks_diff)   # min_len, max_len, timeout_ms, diff
    entry.feed("5", time.ticks_ms())    # -> None; entry.masked() -> "*"
    entry.feed("#", time.ticks_ms())    # -> ("short", 1)
"""

CAP = 16

CODE = "code"
LONG = "long"
SHORT = "short"
CANCEL = "cancel"
FUNCTION = "function"
TIMEOUT = "timeout"

END_KEY = "#"
BACK_KEY = "*"
DIGITS = "0123456789"
FUNCTION_KEYS = "ABCD"


class KeyCollector:
    def __init__(self, min_len, max_len, timeout_ms, diff):
        self.set_lengths(min_len, max_len)
        if timeout_ms <= 0:
            raise ValueError("timeout_ms must be positive, not %r" % (timeout_ms,))
        self.timeout_ms = timeout_ms
        self.diff = diff
        self._digits = ""
        self._last = 0  # ticks of the last key while digits are held

    def set_lengths(self, min_len, max_len):
        """New code lengths (a menu asking for a new code may want others); 1 <= min <= max <= CAP."""
        if not 1 <= min_len <= max_len <= CAP:
            raise ValueError("code lengths must satisfy 1 <= min_len <= max_len <= %d, not "
                             "min_len=%r max_len=%r" % (CAP, min_len, max_len))
        self.min_len = min_len
        self.max_len = max_len

    def length(self):
        return len(self._digits)

    def clear(self):
        self._digits = ""

    def typed(self):
        """The digits as typed, for answers that are not secret (a menu choice, a number)."""
        return self._digits

    def masked(self):
        """One ``*`` per digit typed (the LCD shows the length, never the digits)."""
        return "*" * len(self._digits)

    def tick(self, now):
        """Forget a half-typed code ``timeout_ms`` after its last key: (TIMEOUT, n) or None."""
        n = len(self._digits)
        if n and self.diff(now, self._last) >= self.timeout_ms:
            self._digits = ""
            return (TIMEOUT, n)
        return None

    def feed(self, k, now):
        """One key press at ``now``: None while the entry goes on, else an event tuple."""
        self.tick(now)  # a stale half-typed code never prefixes the new key
        self._last = now
        n = len(self._digits)
        if len(k) == 1 and k in DIGITS:
            if n < CAP:
                self._digits += k
            return None
        if k == BACK_KEY:
            if not n:
                return (CANCEL, 0)
            self._digits = self._digits[:-1]
            return None
        if k == END_KEY:
            digits = self._digits
            self._digits = ""
            if n < self.min_len:
                return (SHORT, n)
            return (LONG if n > self.max_len else CODE, digits)
        if len(k) == 1 and k in FUNCTION_KEYS:
            return (FUNCTION, k)
        return None
