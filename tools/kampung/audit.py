"""``kampung audit``: print a Kuword lock's audit log, from a board or from a folder of its files.

Who opened the door, wrong codes, lockouts and alarms, read from a board with mpremote or from
a folder holding its files.

    kampung audit --port /dev/ttyUSB0      # from the board (mpremote fs cat)
    kampung audit --flash path/to/flash    # from a copy of the flash (`kampung sim --flash DIR`)

The board keeps ``audit.csv`` and the previous ``audit.csv.1`` (kit.store.append_line); each
line is ``seconds since 2000-01-01 (the ESP32's epoch),uptime ms,who,result``. No PIN is ever
written there. Reading over USB stops the lock's program, so the board is reset afterwards
(machine.reset(); a soft reset from the raw REPL would not run main.py again) and the lock
runs again, before its watchdog could count the pause as a crash. Like any reset, that ends
timed guest codes on a board whose clock is not set (docs/kuword.md). Duress and other
alarms that nobody can repeat at will are also kept in ``alarms.csv``, which door and tamper
records cannot flush. A board without
network time starts its clock at 2000-01-01 after every power cut: such times print as
"clock not set" with the uptime instead.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from kampung import localtime
from kampung.localtime import WIB

FILES = ("audit.csv.1", "audit.csv")
ALARM_FILES = ("alarms.csv.1", "alarms.csv")  # duress, damaged store, config errors: never flushed by door records
EPOCH_2000 = 946684800  # MicroPython on the ESP32 counts time.time() from 2000-01-01, not 1970
CLOCK_SET_AFTER = 1577836800 - EPOCH_2000  # 2020-01-01: earlier readings come from a clock never set
LAST_EPOCH = 253402300799 - EPOCH_2000  # 9999-12-31 23:59:59, the last time strftime can show


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
        epoch = int(parts[0])
        if not -EPOCH_2000 <= epoch <= LAST_EPOCH:  # a damaged line: no clock reads that
            problems.append(f"{source}:{n}: time {parts[0][:24]} is outside 1970-9999: {line[:60]!r}")
            continue
        records.append({"epoch": epoch, "uptime_ms": int(parts[1]), "who": parts[2], "result": parts[3]})
    return records, problems


def when(rec: dict, utc_offset_h: float = WIB) -> str:
    """The record's local time (WIB by default), or its uptime when the clock was never set."""
    if rec["epoch"] >= CLOCK_SET_AFTER:
        tz = localtime.zone(utc_offset_h)
        try:
            return datetime.fromtimestamp(rec["epoch"] + EPOCH_2000, tz).strftime("%Y-%m-%d %H:%M:%S ") + str(tz)
        except (OverflowError, ValueError, OSError):  # the last hours of 9999 UTC, east of it
            return f"time {rec['epoch']} (past the year 9999 in {tz})"
    return f"clock not set, up {rec['uptime_ms'] / 1000:.1f} s"


def read_flash(folder: Path) -> list[tuple[str, str]]:
    return [(name, (folder / name).read_bytes().decode("utf-8", "replace"))
            for name in FILES + ALARM_FILES if (folder / name).is_file()]


# Runs on the board: each file in binary (a byte that is not UTF-8, or a folder where a file
# should be, must not stop the read), printed as a bytes literal the host decodes.
_READ = """
for n in %r:
    try:
        f = open(n, 'rb')
        try:
            print('=== ' + n)
            print(repr(f.read()))
        finally:
            f.close()
    except Exception as e:
        print('!!! %%s %%r' %% (n, e))
"""


def read_port(port: str) -> list[tuple[str, str]]:
    """The log files from a board over mpremote. The board is reset afterwards in every case
    (also when the read fails), so the lock runs again."""
    import ast

    from kampung.deploy import mpremote

    try:
        out = mpremote(port, "exec", _READ % (FILES + ALARM_FILES,))
    finally:
        mpremote(port, "reset")
    files: list[tuple[str, str]] = []
    name = None
    for line in out.splitlines():
        if line.startswith("=== "):
            name = line[4:]
        elif line.startswith("!!! "):
            print(f"warning: {line[4:]}", file=sys.stderr)
        elif name is not None and line.startswith(("b'", 'b"')):
            files.append((name, ast.literal_eval(line).decode("utf-8", "replace")))
            name = None
    return files


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kampung audit", description=(__doc__ or "").splitlines()[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port of the board (mpremote)")
    where.add_argument("--flash", type=Path, help="a folder with the board's files")
    ap.add_argument("--utc-offset", type=localtime.option, default=WIB,
                    help="hours from UTC for the times shown, -12 to 14 (default 7, WIB)")
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
        print("(the board was reset after the read so the lock runs again; on a board whose clock "
              "is not set, that ends timed guest codes)", file=sys.stderr)
    if not files:
        print("no audit log yet (audit.csv is written by Kuword on its first event)")
        return 0
    heading = True
    for name, text in files:
        if name in ALARM_FILES and heading:  # files come in FILES + ALARM_FILES order
            print("-- alarm log (duress, damaged store, config errors; also in the audit log above) --")
            heading = False
        records, problems = parse(text, name)
        for p in problems:
            print(f"warning: {p}", file=sys.stderr)
        for rec in records:
            print(f"{when(rec, args.utc_offset):<34} {rec['who']:<10} {rec['result']}")
    return 0
