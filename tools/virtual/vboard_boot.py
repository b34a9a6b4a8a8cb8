"""Start-up of the virtual board's MicroPython process (run as ``micropython -i vboard_boot.py``).

Like an ESP32 after a reset: the virtual hardware is set up from ``board.json`` in the flash
folder (the working directory), ``main.py`` runs if it is there, then the REPL takes over for
mpremote. A reset (machine.reset, the watchdog) ends the process and the relay in
``tools/kampung/vboard.py`` starts it again, as a real board reboots; RTC memory and the flash
folder survive. The board's event log goes to the file named by $KAMPUNG_VBOARD_EVENTS.
"""

import os
import sys

from vhw import runtime

runtime.install()

import json  # noqa: E402

from vhw import Reset, clock, devices  # noqa: E402
from vhw import board as vboard  # noqa: E402

sys.path[:0] = ["", "lib"]  # as on the board: the flash root, then /lib


def _spec():
    path = os.getenv("KAMPUNG_VBOARD_SPEC")
    if not path:
        return {}
    with open(path) as f:
        return json.load(f)


_SPEC = _spec()


def _setup():
    spec = _SPEC
    events = os.getenv("KAMPUNG_VBOARD_EVENTS")
    out = open(events, "a") if events else None
    pins = {}
    try:
        with open("board.json") as f:
            pins = json.load(f).get("pins", {})
    except (OSError, ValueError):
        pass
    board = vboard.install(vboard.Board(spec.get("chip"), pins, out))
    board.log_pings = False
    board.reset_cause = spec.get("reset_cause", 1)
    clock.reset(0, runtime.async_base())
    devices.wire(board, spec.get("device", ""), pins, spec.get("parts", {}))
    board.emit("system", "boot", "cause", board.reset_cause)
    return board


BOARD = _setup()
_code = None
if not _SPEC.get("skip_main"):
    try:
        with open("main.py") as _f:
            _code = _f.read()
    except OSError:
        pass
# the relay holds the port's bytes until here: a Ctrl-C now interrupts main.py (or reaches the
# REPL), as on a board, instead of killing an interpreter that is still starting
_up = os.getenv("KAMPUNG_VBOARD_UP")
if _up:
    open(_up, "w").close()
if _code is not None:
    try:
        exec(_code, globals())  # main.py runs in the REPL's namespace, as on a board
    except KeyboardInterrupt:
        print("main.py interrupted")
    except Reset as _r:
        BOARD.emit("system", "reset", "cause", _r.cause, "why", _r.why)
        _reset = os.getenv("KAMPUNG_VBOARD_RESET")
        if _reset:  # under -i, sys.exit only reaches the REPL: the relay ends the process
            with open(_reset + ".new", "w") as _f:
                _f.write(str(_r.cause))
            os.rename(_reset + ".new", _reset)  # the relay never reads it half written
        sys.exit(100 + _r.cause)
    except Exception as _e:  # noqa: BLE001 - a board prints it and stops at the REPL
        sys.print_exception(_e)
