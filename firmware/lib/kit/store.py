"""Atomic files on the board's flash.

``write_json(path, obj)`` writes ``path + ".tmp"`` completely, then renames it over ``path``.
LittleFS (the ESP32 default filesystem) renames atomically, so a power cut leaves either the
old file or the new one, never half of one. A leftover ``.tmp`` from a cut write is ignored.

    from kit import store
    store.write_json("/prefs.json", {"range": 1})
    prefs = store.read_json("/prefs.json", {})
"""

import errno
import json
import os


def write_bytes(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def write_json(path, obj):
    write_bytes(path, json.dumps(obj).encode())


class Unreadable(ValueError):
    """A file that exists but cannot be read (a flash error, a folder in its place): never the
    same as a missing file."""


def _unreadable(path, e):
    return Unreadable("%s: cannot be read (OSError %s)" % (path, e.args[0] if e.args else "?"))


def open_existing(path, mode="r"):
    """The open file, or None when it does not exist; Unreadable for any other error."""
    try:
        return open(path, mode)
    except OSError as e:
        if e.args and e.args[0] == errno.ENOENT:
            return None
        raise _unreadable(path, e) from None


def read_bytes(path):
    """The whole file, or None when it does not exist; Unreadable when it cannot be read."""
    f = open_existing(path, "rb")
    if f is None:
        return None
    try:
        return f.read()
    except OSError as e:
        raise _unreadable(path, e) from None
    finally:
        f.close()


def read_json(path, default=None):
    """The JSON in ``path``, or ``default`` when the file does not exist. Bad JSON, or a file
    that exists but cannot be read, raises ValueError naming the file."""
    f = open_existing(path)
    if f is None:
        return default
    try:
        return json.load(f)  # parsed from the stream: no copy of the whole file in RAM
    except ValueError:
        raise ValueError("%s: not valid JSON" % path) from None
    except OSError as e:
        raise _unreadable(path, e) from None
    finally:
        f.close()


def append_line(path, line, max_bytes=4096):
    """Append one text line to a rotating log, atomically.

    The file is rewritten through ``write_bytes`` (a power cut leaves the old log or the new
    one, never a torn line). When it would grow past ``max_bytes`` it is renamed to
    ``path + ".1"`` (replacing the previous one) and a new file starts: the log never takes
    more than about twice ``max_bytes`` of flash, and the newest lines are always kept."""
    data = line.encode() + b"\n"
    try:
        size = os.stat(path)[6]
    except OSError:
        size = 0
    old = b""
    if size and size + len(data) > max_bytes:
        os.rename(path, path + ".1")  # rotated without reading it: a huge file costs no RAM
    elif size:
        with open(path, "rb") as f:
            old = f.read()
    write_bytes(path, old + data)
