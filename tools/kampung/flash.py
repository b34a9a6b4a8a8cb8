"""``kampung flash --board B --firmware FILE [--port P]``: put MicroPython on a bare board.

Checks before anything is written: the file is an ESP image (magic byte 0xE9) built for the
board's chip (the chip id in its extended header: a C3 image on an ESP32 bricks nothing but
never boots), its sha256 matches when one is given, and the port exists. Then esptool erases the
flash and writes the image at the chip's offset (0x1000 on the ESP32, 0x0 on the C3 and S3).
With no ``--port`` the only USB serial port that looks like an ESP32 board is used.

    kampung flash --board esp32_devkitc --firmware ESP32_GENERIC-20250415-v1.25.0.bin
    kampung flash --board esp32c3_supermini --firmware fw.bin --dry-run   # show the plan only
    kampung flash --board esp32_devkitc --download                      # the board's pinned image

``--download`` fetches the image named in ``boards/<board>.json`` (``image.name``, from
``image.url`` or micropython.org's firmware folder) into ``build/firmware/`` and flashes it
only if its sha256 equals ``image.sha256``. A board without a pinned sha256 is refused: pin one
only after checking the file (for example against a second download on another network).
"""

from __future__ import annotations

import argparse
import hashlib
import struct
import subprocess
import sys
from pathlib import Path

from kampung import ROOT, boards

CACHE = ROOT / "build" / "firmware"
RELEASES = "https://micropython.org/resources/firmware/"

# Chip ids in the ESP image extended header (esptool's IMAGE_CHIP_ID values)
CHIP_IDS = {"esp32": 0, "esp32s2": 2, "esp32c3": 5, "esp32s3": 9, "esp32c2": 12, "esp32c6": 13}
# USB vendor ids of the serial bridges on ESP32 boards: Silicon Labs CP210x, WCH CH340/CH9102,
# FTDI, and Espressif's own USB (C3/S3 native USB-Serial-JTAG)
USB_VIDS = {0x10C4: "CP210x", 0x1A86: "CH340/CH9102", 0x0403: "FTDI", 0x303A: "Espressif USB"}
BAUD = 460800


class FlashError(ValueError):
    pass


def inspect_image(path: Path) -> dict:
    """Header facts of an ESP firmware image; FlashError when it is not one."""
    try:
        head = path.open("rb").read(24)
    except OSError as e:
        raise FlashError(f"{path}: cannot read the firmware ({e.strerror}); download a .bin for "
                         "your board from micropython.org/download and give its path") from e
    if len(head) < 24 or head[0] != 0xE9:
        raise FlashError(f"{path}: not an ESP firmware image (first byte must be 0xE9); "
                         "download a .bin for your board from micropython.org/download")
    chip_id = struct.unpack_from("<H", head, 12)[0]
    names = {v: k for k, v in CHIP_IDS.items()}
    return {"segments": head[1], "chip_id": chip_id, "chip": names.get(chip_id, f"unknown ({chip_id})"),
            "size": path.stat().st_size}


def download(board: str, cache: Path = CACHE, root: Path | None = None, timeout: float = 60) -> tuple[Path, str]:
    """The board's pinned image in ``cache`` (fetched when missing), checked against its pinned
    sha256: (path, sha256). FlashError says what to do when there is no pin, no network or a
    file that does not match."""
    import urllib.request

    data = boards.load_board(board, root)
    image = data.get("image") or {}
    name, pin = image.get("name"), image.get("sha256")
    url = image.get("url") or (RELEASES + str(name))
    if pin and not (isinstance(pin, str) and len(pin) == 64 and all(c in "0123456789abcdef" for c in pin)):
        raise FlashError(f"{board}: image.sha256 in boards/{board}.json must be 64 lowercase hex digits "
                         "(`kampung boards check` says more)")
    if not pin:
        raise FlashError(f"{board}: no sha256 pinned for {name} (boards/{board}.json image.sha256), so a "
                         f"download cannot be trusted. Download {url} yourself, check it, then run "
                         f"`kampung flash --board {board} --firmware FILE --sha256 HASH` (and pin HASH)")
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / str(name)
    if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != pin:
        part = path.with_name(path.name + ".part")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, part.open("wb") as out:
                while chunk := response.read(65536):
                    out.write(chunk)
        except OSError as e:
            part.unlink(missing_ok=True)
            raise FlashError(f"{board}: cannot download {url} ({e}); check the network, or download it "
                             "by hand and use --firmware FILE --sha256 HASH") from e
        actual = hashlib.sha256(part.read_bytes()).hexdigest()
        if actual != pin:
            part.unlink()
            raise FlashError(f"{url}: sha256 is {actual}, but {pin} is pinned in boards/{board}.json: "
                             "the download is damaged or not the pinned release; nothing was written")
        part.replace(path)  # only a checked file gets the real name
    return path, pin


def find_port() -> str:
    from serial.tools import list_ports

    found = [p for p in list_ports.comports() if p.vid in USB_VIDS]
    if len(found) == 1:
        return found[0].device
    if not found:
        raise FlashError("no ESP32 board found on USB (looked for CP210x, CH340, FTDI and Espressif "
                         "USB serial ports): plug it in with a data cable, or give --port")
    listing = ", ".join(f"{p.device} ({USB_VIDS[p.vid]})" for p in found)
    raise FlashError(f"several boards found: {listing}; choose one with --port")


def plan(board: str, firmware: Path, port: str, sha256: str | None = None, baud: int = BAUD) -> list[list[str]]:
    """The esptool commands (argument lists) that flash ``firmware`` onto ``board``."""
    chip = boards.chip_for(board)
    chip_key = boards.load_board(board)["chip"]
    info = inspect_image(firmware)
    if info["chip_id"] != CHIP_IDS[chip_key]:
        raise FlashError(f"{firmware}: image is for {info['chip']}, but {board} has an {chip['name']}; "
                         f"use an {chip.get('micropython_board', chip_key)} image")
    if sha256 is not None:
        actual = hashlib.sha256(firmware.read_bytes()).hexdigest()
        if actual != sha256.lower():
            raise FlashError(f"{firmware}: sha256 is {actual}, expected {sha256}: the download is "
                             "damaged or a different file; download it again")
    offset = chip["flash_offset"]
    base = ["--chip", chip_key, "--port", port, "--baud", str(baud)]
    return [base + ["erase-flash"], base + ["write-flash", offset, str(firmware)]]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kampung flash", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--board", required=True, help="board name (boards/*.json)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--firmware", type=Path, help="MicroPython .bin for the board")
    src.add_argument("--download", action="store_true",
                     help="fetch the board's pinned release image and check its sha256")
    ap.add_argument("--port", help="serial port (default: the only ESP32-looking USB port)")
    ap.add_argument("--sha256", help="expected sha256 of the firmware file")
    ap.add_argument("--baud", type=int, default=BAUD)
    ap.add_argument("--dry-run", action="store_true", help="check and print the esptool commands only")
    args = ap.parse_args(argv)
    try:
        firmware, sha256 = args.firmware, args.sha256
        if args.download:
            firmware, sha256 = download(args.board)
            print(f"{firmware}: sha256 {sha256} matches the pin")
        port = args.port or ("PORT" if args.dry_run else find_port())
        steps = plan(args.board, firmware, port, sha256, args.baud)
    except (FlashError, boards.BoardError) as e:
        print(f"kampung flash: {e}", file=sys.stderr)
        return 2
    esptool = str(Path(sys.executable).parent / "esptool")
    for step in steps:
        print("esptool " + " ".join(step))
        if args.dry_run:
            continue
        if subprocess.run([esptool, *step]).returncode != 0:
            print("kampung flash: esptool failed. If it could not connect: hold BOOT, press EN/RST, "
                  "release BOOT, and try again; close any serial monitor using the port.", file=sys.stderr)
            return 1
    return 0
