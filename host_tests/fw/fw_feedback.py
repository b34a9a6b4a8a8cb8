"""kit.feedback's player on virtual time, both runtimes: edges on their deadlines, and how often
the player wakes while a step lasts (``slice_ms``)."""

import asyncio
import time

import fwhelp
from fwhelp import check
from kit.feedback import Player


class Recorder:
    """Outputs that remember (ticks_ms, on) of every change."""

    def __init__(self):
        self.edges = []

    def set(self, on, freq):
        if not self.edges or self.edges[-1][1] != on:
            self.edges.append((time.ticks_ms(), on))


class CountingPlayer(Player):
    def __init__(self, outputs, **kwargs):
        super().__init__(outputs, **kwargs)
        self.wakes = 0

    def tick(self, now):
        self.wakes += 1
        return super().tick(now)


def play(slice_ms, switch_at_ms=None, ms=2000):
    """A 150 ms beep every 2 s; optionally titir (100/100 ms) from ``switch_at_ms`` on, started
    while the player sleeps in the long step. Returns (edges relative to the start, wakes)."""
    out = Recorder()
    p = CountingPlayer(out, slice_ms=slice_ms)
    t0 = time.ticks_ms()

    async def main():
        task = asyncio.create_task(p.run())
        p.set_loop(((1, 150, 2700), (0, 1850, 0)))
        if switch_at_ms is not None:
            await asyncio.sleep_ms(switch_at_ms)
            p.set_loop(((1, 100, 2700), (0, 100, 0)))
        await asyncio.sleep_ms(ms - (switch_at_ms or 0))
        task.cancel()

    fwhelp.run(main, ms + 100)
    return [(time.ticks_diff(t, t0), on) for t, on in out.edges], p.wakes


def test_a_long_step_costs_one_wake_per_slice():
    # While the siren pauses 1850 ms, the player wakes every slice_ms, not every 20 ms
    # (Kandig's units play with a 100 ms slice: 5 times fewer wake-ups while a siren sounds).
    edges, wakes = play(100)
    check(edges[:3] == [(0, 0), (0, 1), (150, 0)], "edges %r" % edges)
    check(wakes <= 2000 // 100 + 3, "%d wakes in 2 s with a 100 ms slice" % wakes)
    _, default_wakes = play(20)
    check(default_wakes >= 2000 // 20, "%d wakes in 2 s with the 20 ms default" % default_wakes)


def test_a_pattern_started_during_a_long_step_is_on_time():
    # The new pattern's first step is applied at once; its next edges come on their deadlines
    # because its steps (100 ms) are no shorter than the slice the player sleeps at most.
    edges, _ = play(100, switch_at_ms=1037)
    after = [(t, on) for t, on in edges if t >= 1037]
    check(after[:5] == [(1037, 1), (1137, 0), (1237, 1), (1337, 0), (1437, 1)], "edges %r" % after)
