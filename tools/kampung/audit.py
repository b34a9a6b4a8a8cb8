"""``kampung audit``: print a Kuword lock's audit log, from a board or from a folder of its files.

Who opened the door, wrong codes, lockouts and alarms, read from a board with mpremote or from
a folder holding its files.

    kampung audit --port /dev/ttyUSB0      # from the board (mpremote fs cat)
    kampung audit --flash path/to/flash    # from a copy of the flash (`kampung sim --flash DIR`)

The board keeps ``audit.csv`` and the previous ``audit.csv.1`` (kit.store.append_line); each
line is ``seconds since 2000-01-01 (the ESP32's epoch),uptime ms,who,result``. No PIN is ever
written there. Reading over USB stops the lock's program, so the board is reset afterwards
(machine.reset(); a soft reset from the raw REPL would not run main.py again) and the lock
runs again, before its watchdog could count the pause as a crash. A board without
network time starts its clock at 2000-01-01 after every power cut: such times print as
"clock not set" with the uptime instead.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

FILES = ("audit.csv.1", "audit.csv")
EPOCH_2000 = 946684800  # MicroPython on the ESP32 counts time.time() from 2000-01-01, not 1970
CLOCK_SET_AFTER = 1577836800 - EPOCH_2000  # 2020-01-01: earlier readings come from a clock never set


def parse(text: str, source: str) -> tuple[list[dict], list[str]]:
    """Records from the log text, and a problem line for each line that is not a record."""
    records, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(",", 3)
        if len(parts) != 4 or not parts[0].lstrip("-").isdigit() or not parts[1].isdigit():
            problems.append(f"{source}:{n}: not an audit record: {line[:60]!r}")
            continue
        records.append({"epoch": int(parts[0]), "uptime_ms": int(parts[1]), "who": parts[2], "result": parts[3]})
    return records, problems


def when(rec: dict) -> str:
    if rec["epoch"] >= CLOCK_SET_AFTER:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(rec["epoch"] + EPOCH_2000))
    return f"clock not set, up {rec['uptime_ms'] / 1000:.1f} s"


def read_flash(folder: Path) -> list[tuple[str, str]]:
    return [(name, (folder / name).read_text()) for name in FILES if (folder / name).is_file()]


def read_port(port: str) -> list[tuple[str, str]]:
    from kampung.deploy import mpremote

    code = ("for n in %r:\n try:\n  f=open(n)\n except OSError:\n  continue\n print('=== '+n)\n"
            " print(f.read(),end='')\n f.close()\n") % (FILES,)
    out = mpremote(port, "exec", code, "reset")
    files: list[tuple[str, str]] = []
    name: str | None = None
    lines: list[str] = []
    for line in out.splitlines():
        if line.startswith("=== "):
            if name:
                files.append((name, "\n".join(lines)))
            name, lines = line[4:], []
        elif name:
            lines.append(line)
    if name:
        files.append((name, "\n".join(lines)))
    return files


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kampung audit", description=(__doc__ or "").splitlines()[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port of the board (mpremote)")
    where.add_argument("--flash", type=Path, help="a folder with the board's files")
    args = ap.parse_args(argv)
    if args.flash is not None:
        if not args.flash.is_dir():
            print(f"kampung audit: {args.flash} is not a folder", file=sys.stderr)
            return 2
        files = read_flash(args.flash)
    else:
        from kampung.deploy import DeployError

        try:
            files = read_port(args.port)
        except DeployError as e:
            print(f"kampung audit: {e}", file=sys.stderr)
            return 1
    if not files:
        print("no audit log yet (audit.csv is written by Kuword on its first event)")
        return 0
    for name, text in files:
        records, problems = parse(text, name)
        for p in problems:
            print(f"warning: {p}", file=sys.stderr)
        for rec in records:
            print(f"{when(rec):<34} {rec['who']:<10} {rec['result']}")
    return 0
