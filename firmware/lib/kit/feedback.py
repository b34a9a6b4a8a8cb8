"""Feedback patterns on a buzzer and/or a vibration motor, played on exact deadlines.

A pattern is a tuple of steps ``(on, ms, freq_hz)``; ``ms == 0`` means "hold forever". A player
repeats one *loop* pattern (the device's state) and can interleave *one-shot* patterns
(confirmations). Edges are scheduled against absolute tick deadlines, so a task that blocks the
loop for a moment delays one edge but never shifts the rhythm; ``next_edge_ms`` lets a sensor
task start its blocking measurement only when no edge is due.

    player = Player(outputs)
    player.set_loop(((1, 60, 2700), (0, 340, 0)))   # beep 60 ms every 400 ms
    asyncio.create_task(player.run())
"""

import asyncio
import time

SLICE_MS = 20  # while playing, the player wakes at least this often to pick up a new loop
BUZZER = 1
VIBRATION = 2
BOTH = 3


class Outputs:
    """Buzzer and vibration motor on PWM; ``mode`` selects which of them sound."""

    def __init__(self, buzzer=None, vibration=None, mode=BOTH, vibration_duty=52000):
        self.buzzer = buzzer
        self.vibration = vibration
        self.mode = mode
        self.vibration_duty = vibration_duty
        self._on = -1
        self._freq = -1

    def set(self, on, freq):
        if on == self._on and freq == self._freq:
            return
        self._on = on
        self._freq = freq
        if self.buzzer is not None:
            if on and self.mode & BUZZER:
                self.buzzer.freq(freq)
                self.buzzer.duty_u16(32768)
            else:
                self.buzzer.duty_u16(0)
        if self.vibration is not None:
            self.vibration.duty_u16(self.vibration_duty if on and self.mode & VIBRATION else 0)

    def refresh(self):
        on, freq = self._on, self._freq
        self._on = -1
        self.set(on, freq)

    def off(self):
        self.set(0, 0)

    def deinit(self):
        self.off()
        for pwm in (self.buzzer, self.vibration):
            if pwm is not None:
                pwm.deinit()


class Player:
    """Plays patterns on ``outputs``. ``slice_ms``: while a step lasts longer, the player still
    wakes this often, because a pattern started meanwhile (its first step is applied at once)
    may have its next edge before the current step ends. A pattern whose first step is at
    least ``slice_ms`` long is therefore never late: give the shortest step the device plays
    (the shoe's 60 ms beeps keep the default; Kandig's rhythms, 100 ms at the shortest, use
    that, and its units wake 5 times less often while a siren sounds)."""

    def __init__(self, outputs, slice_ms=SLICE_MS):
        if not isinstance(slice_ms, int) or slice_ms < 1:
            raise ValueError("slice_ms must be an integer >= 1, not %r" % (slice_ms,))
        self.outputs = outputs
        self.slice_ms = slice_ms
        self.loop = ((0, 0, 0),)
        self.once = []  # queued one-shot patterns
        self.pattern = self.loop
        self.step = 0
        self.next_edge_ms = None  # ticks_ms of the next output change, None = nothing due
        self._wake = asyncio.Event()  # a pattern started: an idle player has edges to play
        self._start(self.loop, time.ticks_ms())

    def _start(self, pattern, now):
        self.pattern = pattern
        self.step = 0
        self._apply(now)
        self._wake.set()

    def _apply(self, now):
        on, ms, freq = self.pattern[self.step]
        self.outputs.set(on, freq)
        self.next_edge_ms = time.ticks_add(now, ms) if ms else None

    def set_loop(self, pattern, now=None, urgent=False):
        """Switch the repeating pattern. It takes effect at once unless a one-shot is playing;
        ``urgent`` (a warning) cuts the one-shots short instead of waiting for them."""
        if pattern is self.loop:
            return
        self.loop = pattern
        if urgent and self.once:
            self.once = []
        if self.pattern is not pattern and not self._playing_once():
            self._start(pattern, time.ticks_ms() if now is None else now)

    def play_once(self, pattern):
        self.once.append(pattern)
        if not self._playing_once():
            self._start(self.once[0], time.ticks_ms())

    def _playing_once(self):
        return bool(self.once) and self.pattern is self.once[0]

    def tick(self, now):
        """Advance past every edge due at ``now``; return ms until the next one (None: none)."""
        while self.next_edge_ms is not None and time.ticks_diff(now, self.next_edge_ms) >= 0:
            due = self.next_edge_ms
            self.step += 1
            if self.step >= len(self.pattern):
                if self._playing_once():
                    self.once.pop(0)
                    self.pattern = self.once[0] if self.once else self.loop
                self.step = 0
            on, ms, freq = self.pattern[self.step]
            self.outputs.set(on, freq)
            self.next_edge_ms = time.ticks_add(due, ms) if ms else None
        if self.next_edge_ms is None:
            return None
        return time.ticks_diff(self.next_edge_ms, now)

    async def run(self):
        """Play edges on time. With no edge due (silence, or a step held for ever) the task
        sleeps until a pattern starts, so an idle device does not wake every SLICE_MS."""
        while True:
            wait = self.tick(time.ticks_ms())
            if wait is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            await asyncio.sleep_ms(self.slice_ms if wait > self.slice_ms else wait)
