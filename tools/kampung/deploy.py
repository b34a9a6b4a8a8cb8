"""``kampung deploy DEVICE --board B [--port P]``: put a device's bundle on a board with mpremote.

Builds the bundle (``kampung build``), hashes the bundle's files on the board and reads its
``manifest.json`` (what the last deploy put there), then in one mpremote session creates
folders, sends only the files whose sha256 on the board differs, removes files that no longer
belong, clears the crash counter (a clean deploy ends safe mode),
writes the new manifest, resets the board and shows its console for a few seconds.

Without ``--port`` it deploys to a virtual board (``kampung vboard``) whose flash is the folder
``build/vboard/<board>``, so a second deploy sends only what changed, as on a real board.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from kampung import ROOT, build

MPREMOTE = str(Path(sys.executable).parent / "mpremote")


def mpremote_shown() -> str:
    """How to type mpremote in a hint: it lives in the virtualenv, not on everyone's PATH."""
    rel = os.path.relpath(MPREMOTE)
    return rel if not rel.startswith("..") else MPREMOTE


class DeployError(RuntimeError):
    pass


HINTS = {
    "failed to access": "the port is busy: close other serial monitors (Thonny, screen, another "
                        "mpremote) and try again",
    "no device found": "no board found: check the USB cable (some are charge-only) and --port",
    "could not enter raw repl": "the board did not answer: press its reset (EN) button, or if "
                                "main.py is stuck in a tight loop, hold BOOT while pressing reset, "
                                "then run `kampung flash` to start clean",
}


def mpremote(port: str, *args: str, timeout: float = 120) -> str:
    try:
        proc = subprocess.run([MPREMOTE, "connect", port, *args], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise DeployError(f"mpremote {' '.join(args[:1])} got no answer from {port} within {timeout:g} s"
                          f"\n  what to try: {HINTS['could not enter raw repl']}") from e
    if proc.returncode != 0:
        text = proc.stdout + proc.stderr
        hint = next((h for k, h in HINTS.items() if k.lower() in text.lower()), None)
        last = text.strip().splitlines()[-1] if text.strip() else f"exit {proc.returncode}"
        raise DeployError(f"mpremote failed: {last}" + (f"\n  what to try: {hint}" if hint else ""))
    return proc.stdout


# Runs on the board: the sha256 of each file the bundle has (what is really on the flash, so a
# file damaged or edited there is sent again) and the manifest of the last deploy (which files
# it put there, so those no longer in the bundle can go). One line each; no file is read whole.
_REMOTE_STATE = """import hashlib, binascii, json
b = bytearray(512)
for p in %r:
    try:
        with open(p, 'rb') as f:
            d = hashlib.sha256()
            while True:
                n = f.readinto(b)
                if not n:
                    break
                d.update(b if n == 512 else b[:n])
        print('H', p, binascii.hexlify(d.digest()).decode())
    except OSError:  # missing, a folder, or unreadable: sent again
        print('H', p, '-')
for k, name in (('M', 'manifest.json'), ('C', 'config.json')):
    try:
        with open(name) as f:
            print(k, json.dumps(json.load(f)))
    except (OSError, ValueError):  # missing or torn
        print(k, '{}')
"""


def remote_state(port: str, paths: list[str]) -> tuple[dict[str, str], dict, dict]:
    """({path: sha256 on the board, or "-"}, the board's manifest.json, its config.json; {}
    for a file missing or cut short)."""
    out = mpremote(port, "exec", _REMOTE_STATE % (paths,))
    hashes: dict[str, str] = {}
    found: dict[str, dict] = {"M": {}, "C": {}}
    for line in out.splitlines():
        if line.startswith("H "):
            path, _, digest = line[2:].rpartition(" ")
            hashes[path] = digest
        elif line[:2] in ("M ", "C "):
            try:
                data = json.loads(line[2:])
            except json.JSONDecodeError:
                data = {}  # a cut write
            found[line[0]] = data if isinstance(data, dict) else {}
    return hashes, found["M"], found["C"]


def polarity_changes(device: str, old: dict, new: dict) -> list[tuple[str, object, object]]:
    """The wiring polarities (``*_active``: which pin level drives a relay) that a deploy would
    change on a board already set up for ``device``: (field, on the board, in the bundle). A
    field a config leaves out is the firmware's default."""
    if old.get("device") != device or not isinstance(old.get(device), dict):
        return []
    schema = build.settings_schema(device)
    new_section = new.get(device, {})
    changes = []
    for field, (default, _rule) in schema.items():
        if field.endswith("_active"):
            was, will = old[device].get(field, default), new_section.get(field, default)
            if was != will:
                changes.append((field, was, will))
    return changes


def plan(local: dict, hashes: dict[str, str], remote: dict) -> tuple[list[str], list[str]]:
    """(files to send, files to remove): every file whose sha256 on the board differs from the
    bundle's, and every file the last deploy put there that the bundle no longer has."""
    want = local["files"]
    send = [f for f in want if f != "manifest.json" and hashes.get(f) != want[f]["sha256"]]
    have = remote.get("files")
    remove = [f for f in have if isinstance(f, str) and f not in want] if isinstance(have, dict) else []
    return send, remove


def deploy(bundle: Path, port: str, progress=print, allow_polarity_change: bool = False) -> dict:
    if not port.startswith(("COM", "socket:", "rfc2217:")) and not Path(port).exists():
        raise DeployError(f"no serial port {port}: list the ports with `{mpremote_shown()} connect list`")
    local = json.loads((bundle / "manifest.json").read_text())
    hashes, remote, board_config = remote_state(port, [f for f in local["files"] if f != "manifest.json"])
    changes = polarity_changes(local["device"], board_config,
                               json.loads((bundle / "config.json").read_text()))
    if changes and not allow_polarity_change:
        said = "; ".join(f"{f} {was} on the board, {will} in this deploy" for f, was, will in changes)
        raise DeployError(
            f"this deploy would turn a relay around ({said}): on a module wired the other way "
            f"that holds it energised (a lock open). Pass --config with the board's "
            f"{', '.join(f for f, _, _ in changes)}, or --allow-polarity-change if the wiring "
            "changed; nothing was sent")
    send, remove = plan(local, hashes, remote)
    folders = sorted({"/".join(f.split("/")[:i]) for f in send for i in range(1, f.count("/") + 1)},
                     key=lambda d: (d.count("/"), d))
    # one exec: make folders, drop stale files and the crash counter (tolerating missing ones)
    prep = ("import os\n"
            f"for d in {folders!r}:\n try:\n  os.mkdir(d)\n except OSError:\n  pass\n"
            # an (empty) folder where a file goes would take the file inside it
            f"for f in {send!r}:\n try:\n  os.stat(f)[0] & 0x4000 and os.rmdir(f)\n except OSError:\n  pass\n"
            f"for f in {remove + ['crashes.json']!r}:\n try:\n  os.remove(f)\n except OSError:\n  pass\n")
    args: list[str] = ["exec", prep]
    total = 0
    for f in send:
        args += ["+", "fs", "cp", str(bundle / f), f":{f}"]
        total += local["files"][f]["size"]
    args += ["+", "fs", "cp", str(bundle / "manifest.json"), ":manifest.json"]
    progress(f"sending {len(send)} of {len(local['files'])} files ({total} bytes), "
             f"removing {len(remove)}")
    try:
        mpremote(port, *args)
    except DeployError as e:
        raise DeployError(f"{e}\n  then deploy again: it checks every file on the board and "
                          "sends what is missing or damaged") from e
    return {"sent": send, "removed": remove, "bytes": total}


def watch(port: str, seconds: float, show=print) -> str:
    """Reset the board and show its console for ``seconds``.

    The port is opened first and the reset sent through it (raw REPL, machine.reset()), so not
    a byte of the boot log is lost between a reset and opening the port."""
    import serial

    out = b""
    with serial.Serial(port, 115200, timeout=0.2) as s:
        s.write(b"\r\x03\x03")
        time.sleep(0.1)
        s.write(b"\x01")  # raw REPL
        time.sleep(0.1)
        s.reset_input_buffer()
        s.write(b"import machine\nmachine.reset()\x04")
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            out += s.read(4096)
    text = out.decode(errors="replace")
    # what the board printed after accepting the command (raw REPL answers "OK")
    text = text.split("OK", 1)[1] if "OK" in text else text
    for line in text.splitlines():
        line = line.strip("\x04>")
        if line.strip():
            show("  | " + line)
    return text


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kampung deploy", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("device")
    ap.add_argument("--board", default="esp32_devkitc")
    ap.add_argument("--port", help="serial port of a real board (default: a virtual board)")
    ap.add_argument("--mpy", action="store_true", help="send .mpy compiled for the chip")
    ap.add_argument("--config", type=Path, help="this device's settings (JSON)")
    ap.add_argument("--site", type=Path, help="settings shared by a site (JSON)")
    ap.add_argument("--watch", type=float, default=3.0, help="seconds of console to show after the reset")
    ap.add_argument("--allow-polarity-change", action="store_true",
                    help="deploy even when a relay's polarity (relay_active, siren_active) would "
                         "change on a board already set up for this device")
    args = ap.parse_args(argv)
    bundle = ROOT / "build" / f"{args.device}-{args.board}"
    try:
        build.build(args.device, args.board, bundle, mpy=args.mpy, site=args.site, config=args.config)
        if args.port:
            deploy(bundle, args.port, allow_polarity_change=args.allow_polarity_change)
            watch(args.port, args.watch)
            print(f"-- {args.watch:g} s of the console shown; the board runs on (--watch S for more, "
                  f"`{mpremote_shown()} connect {args.port} repl` to follow it, Ctrl-] to leave)")
            return 0
        from kampung.vboard import VirtualBoard

        flash = ROOT / "build" / "vboard" / args.board
        with VirtualBoard(flash, args.board, args.device) as vb:
            print(f"virtual {args.board} on {vb.port} (flash: {flash.relative_to(ROOT)})")
            deploy(bundle, vb.port, allow_polarity_change=args.allow_polarity_change)
            watch(vb.port, args.watch)
        print(f"-- {args.watch:g} s of the console shown, then the virtual board stopped; its flash "
              f"stays in {flash.relative_to(ROOT)} (--watch S to see more; to press keys and "
              f"buttons, run the device in the simulator: .venv/bin/kampung sim {args.device})")
        return 0
    except (build.BuildError, DeployError) as e:
        print(f"kampung deploy: {e}", file=sys.stderr)
        return 2
