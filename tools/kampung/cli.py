"""The ``kampung`` command: simulator, boards, traces, build, flash, deploy, virtual board, benchmarks.

    kampung sim blind_shoe                 # the shoe on its built-in walking scenario
    kampung sim blind_shoe --trace FILE    # replay a recorded HC-SR04 log
    kampung sim kuword --flash DIR         # the keypad lock's built-in day; keep its flash
    kampung boards check                   # validate every board x device pin map
    kampung trace show FILE                # how a distance log is read
    kampung build blind_shoe --board B     # the bundle one board needs (add --mpy to compile)
    kampung flash --board B --firmware F   # write MicroPython onto a board with esptool
    kampung deploy blind_shoe [--port P]   # send the bundle (to a virtual board without --port)
    kampung vboard                         # a virtual ESP32 on a serial port for mpremote
    kampung audit --port P                 # a Kuword lock's audit log (or --flash DIR)
    kampung soil export --port P OUT.csv   # Akrubutan's soil log as one CSV (`soil plot`: a PNG)
    kampung bench                          # memory, latency and size figures
    kampung hub broker-config|run|set-password  # the Kandig neighbourhood hub
"""

from __future__ import annotations

import importlib
import os
import sys

# command -> module of the kampung package whose main(argv) runs it
COMMANDS = {"sim": "sim", "boards": "boards", "trace": "traces", "build": "build",
            "flash": "flash", "deploy": "deploy", "vboard": "vboard", "bench": "bench",
            "audit": "audit", "soil": "soil", "hub": "hub.cli"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd in COMMANDS:
        module = importlib.import_module(f"kampung.{COMMANDS[cmd]}")
        try:
            return module.main(rest)
        except BrokenPipeError:  # `kampung ... | head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    print(f"kampung: unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
