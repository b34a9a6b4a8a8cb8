"""Kuword's decisions, free of hardware and clocks: lockout policy, relock and door timers,
battery levels, guest-code expiry and anti-peep candidates.

The timers (``Lock``) take ``now`` (ticks in ms) and a ``diff`` function
(``time.ticks_diff`` on the board), so they survive the tick counter's wrap; the rest takes
plain values. Nothing here touches hardware, so the tests need none.

    lockout = Lockout(limit=5, base_s=30, cap_s=3600)
    lockout.fails = 5
    lockout.wait_s()        # -> 30 (then 60, 120, ... up to 3600)
"""

# door states
LOCKED = 0
OPEN = 1  # unlocked, waiting for the door to be opened or the unlock time to pass
AJAR = 2  # unlocked and the door is open; relocks when it closes

# battery levels
BATT_OK = 0
BATT_LOW = 1
BATT_CRITICAL = 2


class Lockout:
    """Wrong codes in a row and the lockout they earn.

    After ``limit`` wrong codes the keypad locks for ``base_s``; each further wrong code
    doubles it, up to ``cap_s``. Only a correct code resets the count: key presses, waiting and
    power cycles do not (the count is persisted by the app before a result is shown)."""

    def __init__(self, limit, base_s, cap_s, fails=0):
        self.limit = limit
        self.base_s = base_s
        self.cap_s = cap_s
        self.fails = fails

    def wait_s(self):
        """The lockout earned by the current count (0: none)."""
        over = self.fails - self.limit
        if over < 0:
            return 0
        if over >= 24:  # 2**24 * 5 s is far past any cap; avoid huge numbers
            return self.cap_s
        return min(self.cap_s, self.base_s << over)

    def left(self):
        """Tries left before the next lockout."""
        return max(0, self.limit - self.fails)


class Lock:
    """The door: locked, unlocked for ``unlock_ms``, or open while unlocked.

    ``tick(now)`` returns None, "relock" (unlock time over, door never opened) or "ajar": the
    door has stood open ``ajar_ms``; the relay is released then too, so a door contact that
    fails open (a cut wire reads "open") never holds the lock unlocked for good.
    ``door(closed, now)`` returns "relock" (an opened door closed again), "forced" (the door
    opened while locked: forced, or the mechanical key), "closed" (a door closed while
    locked) or None."""

    def __init__(self, unlock_ms, ajar_ms, diff):
        self.unlock_ms = unlock_ms
        self.ajar_ms = ajar_ms
        self.diff = diff
        self.state = LOCKED
        self.since = 0

    def unlock(self, now, door_open=False):
        """Release the lock; with the door already open, it relocks when the door closes."""
        self.state = AJAR if door_open else OPEN
        self.since = now

    def relock(self):
        self.state = LOCKED

    def door(self, closed, now):
        if not closed:
            if self.state == OPEN:
                self.state = AJAR
                self.since = now
                return None
            return "forced" if self.state == LOCKED else None
        if self.state == AJAR:
            self.state = LOCKED
            return "relock"
        return "closed" if self.state == LOCKED else None

    def tick(self, now):
        if self.state == OPEN and self.diff(now, self.since) >= self.unlock_ms:
            self.state = LOCKED
            return "relock"
        if self.state == AJAR and self.diff(now, self.since) >= self.ajar_ms:
            self.state = LOCKED
            return "ajar"
        return None


class Battery:
    """Two warning levels with 100 mV of hysteresis, so a voltage sagging under the solenoid
    does not flip the warning on and off."""

    def __init__(self, low_mv, critical_mv):
        self.low_mv = low_mv
        self.critical_mv = critical_mv
        self.level = BATT_OK

    def reading(self, mv):
        """Returns the new level when it changed, else None."""
        level = self.level
        if mv < self.critical_mv:
            level = BATT_CRITICAL
        elif mv < self.low_mv:
            level = BATT_LOW if self.level != BATT_CRITICAL or mv >= self.critical_mv + 100 else BATT_CRITICAL
        elif mv >= self.low_mv + 100:
            level = BATT_OK
        if level != self.level:
            self.level = level
            return level
        return None


def guest_valid(expires, made, now_s):
    """A timed guest code is valid from ``made`` until ``expires`` (epoch seconds; 0 = no
    time limit). A clock that reads earlier than ``made`` (reset by a power cut, no network
    time) cannot be trusted: the code counts as expired (fail-secure)."""
    if not expires:
        return True
    return made <= now_s < expires


def candidates(digits, lengths, peep_extra):
    """The codes an entry may contain. Without anti-peep (``peep_extra`` 0) only the entry
    itself; with it, every run of a stored code length inside the entry (the right code hidden
    among extra digits; an entry shorter than every code gives [], a wrong code), and None for
    an entry longer than the longest code + ``peep_extra``."""
    if not peep_extra or not lengths:
        return [digits]
    n = len(digits)
    if n > max(lengths) + peep_extra:
        return None  # too long: refused, not counted
    out = []
    for length in lengths:
        for start in range(n - length + 1):
            code = digits[start:start + length]
            if code not in out:
                out.append(code)
    return out
