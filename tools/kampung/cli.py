"""The ``kampung`` command: simulator, board checks, traces, benchmarks.

    kampung sim blind_shoe                 # the shoe on its built-in walking scenario
    kampung sim blind_shoe --trace FILE    # replay a recorded HC-SR04 log
    kampung boards check                   # validate every board x device pin map
    kampung trace show FILE                # how a distance log is read
    kampung build blind_shoe --board B     # the bundle one board needs (add --mpy to compile)
    kampung flash --board B --firmware F   # write MicroPython onto a board with esptool
    kampung deploy blind_shoe [--port P]   # send the bundle (to a virtual board without --port)
    kampung vboard                         # a virtual ESP32 on a serial port for mpremote
    kampung bench                          # memory, latency and size figures
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "sim":
        from kampung import sim

        return sim.main(rest)
    if cmd == "boards":
        from kampung import boards

        return boards.main(rest)
    if cmd == "trace":
        from kampung import traces

        return traces.main(rest)
    if cmd == "build":
        from kampung import build

        return build.main(rest)
    if cmd == "flash":
        from kampung import flash

        return flash.main(rest)
    if cmd == "deploy":
        from kampung import deploy

        return deploy.main(rest)
    if cmd == "vboard":
        from kampung import vboard

        return vboard.main(rest)
    if cmd == "bench":
        from kampung import bench

        return bench.main(rest)
    print(f"kampung: unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
