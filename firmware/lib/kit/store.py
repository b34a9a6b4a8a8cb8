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


_CHUNK = 512  # copy size of append_line: RAM it needs, whatever the log's size
_buf = []  # its buffer, allocated at the first append and reused (no heap churn per row)


def _copy(src, dst):
    """Copy the open file ``src`` to ``dst`` through the one small buffer."""
    if not _buf:
        _buf.append(bytearray(_CHUNK))
    buf = _buf[0]
    while True:
        n = src.readinto(buf)
        if not n:
            return
        # a full chunk is written as it is: a slice would allocate a memoryview every chunk
        dst.write(buf if n == _CHUNK else memoryview(buf)[:n])


def append_line(path, line, max_bytes=4096):
    """Append one text line to a rotating log, atomically.

    The old log is copied to ``path + ".tmp"`` in 512-byte chunks, the line is added, and the
    copy is renamed over ``path``, as ``write_bytes`` does: a power cut leaves the old log or
    the new one, never a torn line. The log is never read whole: an append needs the same
    RAM whatever the log's size (the 512-byte buffer, kept, and about 450 bytes of file
    objects and strings), so a 256 KB log appends on a heap with a few KB free. When the
    file would grow past ``max_bytes`` it is renamed to ``path + ".1"`` (replacing the previous
    one) and a new file starts: the log never takes more than about twice ``max_bytes`` of
    flash (plus the copy while it is written), and the newest lines are always kept."""
    data = line.encode() + b"\n"
    try:
        size = os.stat(path)[6]
    except OSError:
        size = 0
    if size and size + len(data) > max_bytes:
        os.rename(path, path + ".1")  # rotated without reading it: a huge file costs no RAM
        size = 0
    tmp = path + ".tmp"
    with open(tmp, "wb") as out:  # "wb" truncates a .tmp left by an earlier cut
        if size:
            with open(path, "rb") as f:
                _copy(f, out)
        out.write(data)
    os.rename(tmp, path)
