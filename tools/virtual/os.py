"""Virtual-board ``os``: the unix port's built-in ``os`` extended the way mpremote needs a board's.

On MicroPython this file is found before the built-in (an extensible module) and re-exports it.
Two differences from a board are mended (TOOLCHAIN notes): ``stat("")`` means the current
directory (the board's flash root), and ``ilistdir`` yields 4-tuples with the file size, so
``mpremote fs ls`` shows sizes and ``fs cp -r`` lands where it should. CPython never loads this
file (its ``os`` is imported before any of ours).
"""

import sys

_saved = sys.path[:]
sys.path.clear()
import os as _os  # noqa: E402  the built-in module

sys.path.extend(_saved)
del _saved

for _name in dir(_os):
    if not _name.startswith("__"):
        globals()[_name] = getattr(_os, _name)


def stat(path):
    return _os.stat(path or ".")


def ilistdir(path="."):
    base = path or "."
    for entry in _os.ilistdir(base):
        name, kind, inode = entry[0], entry[1], entry[2]
        size = 0
        if kind == 0x8000:
            size = _os.stat(base + "/" + name)[6]
        yield (name, kind, inode, size)


def listdir(path="."):
    return [e[0] for e in ilistdir(path)]
