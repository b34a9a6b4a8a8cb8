"""Run one device's firmware on the virtual board: ``simrun.py SPEC.json`` (see vhw/sim.py).

Kept tiny so that benchmarks can run everything else precompiled with mpy-cross.
"""

import sys

from vhw import runtime

runtime.install()

import json  # noqa: E402

from vhw import sim  # noqa: E402

with open(sys.argv[1]) as f:
    sim.run(json.load(f))
