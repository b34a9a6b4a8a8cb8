"""Run the ``test_*`` functions of one firmware test module: ``fwrunner.py MODULE [SHARED_DATA]``.

Runs on MicroPython unix and on CPython. Each test gets a fresh virtual board and clock. One JSON
line per test: {"test": name, "ok": true} or {"test": name, "ok": false, "error": traceback}.
A test skips itself by raising ``fwhelp.Skip("why")``.
"""

import sys

from vhw import runtime

runtime.install()

import json  # noqa: E402

import fwhelp  # noqa: E402


def main():
    name = sys.argv[1]
    if len(sys.argv) > 2:
        fwhelp.SHARED_DATA[0] = sys.argv[2]
    module = __import__(name)
    tests = sorted([n for n in dir(module) if n.startswith("test_")])
    for test in tests:
        fwhelp.fresh_board()
        try:
            getattr(module, test)()
            line = {"test": test, "ok": True}
        except fwhelp.Skip as s:
            line = {"test": test, "ok": True, "skip": str(s)}
        except BaseException as e:  # noqa: BLE001 - report everything, including SimEnd/Reset
            line = {"test": test, "ok": False, "error": runtime.exception_text(e)}
        print(json.dumps(line))


main()
