"""Boot and runtime messages: printed to the REPL/serial console with the device's time."""

import time


def info(*parts):
    print("[%8d]" % time.ticks_ms(), *parts)
