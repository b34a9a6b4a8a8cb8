"""Benchmark (MicroPython or CPython): heap bytes allocated per steady-state measurement cycle of
the shoe. ``bench_alloc.py`` prints one JSON line per case.

One cycle is what the ``sense`` task does every period: trigger, time the echo, filter, decide
(``Shoe.measure_once``), with the virtual sensor answering. Ping events are off so the virtual
board itself allocates nothing; GC is disabled so ``gc.mem_alloc`` only grows.
"""

import sys

from vhw import runtime

runtime.install()

import gc  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

from vhw import board as vboard  # noqa: E402
from vhw import clock  # noqa: E402
from vhw.parts.hcsr04 import HCSR04  # noqa: E402

PINS = {"sonar_trig": 13, "sonar_echo": 34, "buzzer": 25, "vibration": 26, "button": 27}
CYCLES = 200


def case(name, cm, fault=None):
    board = vboard.install(vboard.Board(None, PINS))
    board.log_pings = False
    clock.reset(0, runtime.async_base())
    sonar = HCSR04(board, 13, 34, temp_c=27)
    sonar.set_distance(cm)
    sonar.fault = fault
    from apps.blind_shoe import app
    from apps.blind_shoe.settings import SCHEMA
    from kit import config
    from kit.hal import Hal

    shoe = app.Shoe(Hal({"pins": PINS}), config.validate(SCHEMA, {}, "bench"))
    for _ in range(20):  # warm up: the filter settles, the state stops changing
        shoe.measure_once()
        time.sleep_ms(60)
    if not hasattr(gc, "mem_alloc"):
        return {"case": name, "bytes_per_cycle": None, "note": "CPython has no gc.mem_alloc"}
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for _ in range(CYCLES):
        shoe.measure_once()
        time.sleep_ms(60)
    after = gc.mem_alloc()
    gc.enable()
    return {"case": name, "bytes_per_cycle": (after - before) / CYCLES, "cycles": CYCLES}


for args in (("obstacle at 1 m", 100.0), ("clear path", None), ("closest zone", 25.0),
             ("sensor unplugged (fault)", 100.0, "unplugged"),
             ("ECHO stuck high (fault)", 100.0, "stuck_high")):
    print(json.dumps(case(*args)))
sys.stdout.flush()
