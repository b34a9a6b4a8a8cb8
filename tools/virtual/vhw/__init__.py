"""Virtual hardware for the Kampung IT firmware.

Loads unchanged in CPython and in the MicroPython unix port. The modules next to this package
(``machine.py``, ``time.py``, ``network.py``, ``esp32.py``) stand in for the ESP32's built-in
modules; ``vhw.board`` holds the state they share (pins, parts, the event log) and ``vhw.clock``
the virtual time everything runs on. See docs/virtual-hardware.md for the model and for every
known difference from a real ESP32.
"""


class SimEnd(SystemExit):
    """Raised by the clock when the simulated duration is over.

    A SystemExit so that neither firmware ``except Exception`` blocks nor asyncio swallow it.
    """


class Reset(SystemExit):
    """The board resets (machine.reset, watchdog, deep sleep). ``cause`` is a machine constant."""

    def __init__(self, cause, sleep_ms=0, why=""):
        # exit status 100 + cause: the virtual board's relay reads it to set reset_cause
        super().__init__(100 + cause)
        self.cause = cause
        self.sleep_ms = sleep_ms
        self.why = why
