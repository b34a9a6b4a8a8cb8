"""Board pin maps as data, and the checker that keeps them honest (`kampung boards`).

Three kinds of file live under ``boards/``:

- ``devices.json``: the roles each device needs (``sonar_trig`` is an ``out``, ``battery`` an
  ``adc``...), whether a role is optional, and whether the device uses Wi-Fi.
- ``chips/<chip>.json``: what the silicon can do: which GPIOs exist, which are input-only, which
  have no pull-up, which belong to the flash, USB or console, which are strapping pins, the ADC
  channel of each analog pin, the image offset.
- ``<board>.json``: one development board: its chip, the MicroPython image to flash, the on-board
  LED and BOOT button, and for every device a map ``role -> GPIO``.

The checker crosses the three, so a wrong pin is found on the desk instead of on the bench: an
output on an input-only pin, an analog role on ADC2 in a Wi-Fi device, two roles on one pin, a
required role left out. Every message names the file, the role and the pin and lists free pins
that would work. See ``docs/boards.md``.

Usage::

    kampung boards check [--board B] [--device D]     # exit 1 if any error
    kampung boards show esp32_devkitc blind_shoe       # role, GPIO, kind, wiring note
    kampung boards list

From Python (host only, no third-party packages)::

    from kampung import boards
    boards.pin_map("esp32_devkitc", "blind_shoe")      # {'sonar_trig': 13, ...}
    for finding in boards.check_all():
        print(finding)

Every function takes an optional ``root`` (the directory holding the board files, by default
``kampung.BOARDS``) so tests can point it at a copy with broken files.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import kampung

KINDS = (
    "out", "in", "in_pullup", "pwm", "adc", "i2c_sda", "i2c_scl", "uart_tx", "uart_rx",
    "onewire",
)
# Kinds that drive the pin at some point (open-drain ones included): not on input-only GPIOs.
OUTPUT_KINDS = frozenset({"out", "pwm", "i2c_sda", "i2c_scl", "uart_tx", "onewire"})

# Chip file keys and their JSON types. Extra keys are allowed (strapping_notes, psram_pins...).
CHIP_KEYS = {
    "name": str, "gpio": list, "input_only": list, "no_pullup": list, "flash": list,
    "strapping": list, "usb": list, "console_uart": list, "adc1": dict, "adc2": dict,
    "pwm": dict, "adc_max_mv": list, "flash_offset": str, "mpy_arch": str, "notes": str,
}
_CHIP_PIN_LISTS = ("input_only", "no_pullup", "flash", "strapping", "usb", "console_uart")
MPY_ARCHS = ("xtensawin", "rv32imc")

BOARD_REQUIRED = ("name", "chip", "image", "devices")
BOARD_OPTIONAL = ("notes", "onboard", "header", "psram", "accept")
ONBOARD_KEYS = ("led", "boot_button")

ERROR = "error"
WARNING = "warning"


class BoardError(ValueError):
    """A board, chip or devices file cannot be used; the message names the file."""


@dataclass(frozen=True)
class Finding:
    """One problem found in a board file.

    ``level`` is "error" or "warning"; ``file`` the board file as shown to the user; ``role``
    and ``pin`` are None for problems with the file's structure. ``rule`` is a short stable id
    ("input-only", "adc2-wifi", "strapping"... see docs/boards.md) for tests and tools.
    """

    level: str
    file: str
    role: str | None
    pin: int | None
    message: str
    device: str | None = None
    rule: str = ""

    def __str__(self):
        return f"{self.level}: {self.message}"


# -- files ------------------------------------------------------------------------------------


def _root(root):
    return Path(root) if root is not None else kampung.BOARDS


def _label(path):
    """The path as shown in messages: relative to the repository when inside it."""
    path = Path(path)
    try:
        return path.resolve().relative_to(kampung.ROOT).as_posix()
    except ValueError:
        return str(path)


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _read_json(path):
    label = _label(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BoardError(f"{label}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BoardError(f"{label}: cannot read: {exc}") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise BoardError(f"{label}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except _DuplicateKey as exc:
        key = exc.args[0]
        lines = [
            text.count("\n", 0, m.start()) + 1
            for m in re.finditer(r'"%s"\s*:' % re.escape(key), text)
        ]
        where = ", ".join(str(n) for n in lines)
        raise BoardError(
            f"{label}: key {key!r} appears twice in one object (lines with it: {where}); "
            "JSON would silently keep only the last one"
        ) from None


def _names(directory, exclude=()):
    if not directory.is_dir():
        return []
    return sorted(
        p.stem for p in directory.glob("*.json")
        if p.stem not in exclude and not p.stem.startswith("_")
    )


def _is_pin(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _close(word, choices):
    match = difflib.get_close_matches(str(word), list(choices), n=1)
    return f"did you mean {match[0]!r}? " if match else ""


def load_devices(root: Path | None = None) -> dict:
    """``devices.json`` without its ``_doc`` entries: device -> {"wifi", "roles"}."""
    path = _root(root) / "devices.json"
    label = _label(path)
    data = _read_json(path)
    if not isinstance(data, dict):
        raise BoardError(f"{label}: the top level must be a JSON object")
    devices = {}
    for device, spec in data.items():
        if device.startswith("_"):
            continue
        if not isinstance(spec, dict) or not isinstance(spec.get("roles"), dict):
            raise BoardError(f"{label}: {device}: needs a 'roles' object")
        if not isinstance(spec.get("wifi", False), bool):
            raise BoardError(f"{label}: {device}.wifi must be true or false")
        for role, rspec in spec["roles"].items():
            if not isinstance(rspec, dict) or rspec.get("kind") not in KINDS:
                kind = rspec.get("kind") if isinstance(rspec, dict) else rspec
                raise BoardError(
                    f"{label}: {device}.{role}: kind {kind!r} is not one of {', '.join(KINDS)}"
                )
        devices[device] = spec
    return devices


def device_names(root: Path | None = None) -> list:
    """The device ids in ``devices.json``, in file order."""
    return list(load_devices(root))


def device_roles(device: str, root: Path | None = None) -> dict:
    """role -> {"kind", "doc", "optional"} for one device, from ``devices.json``."""
    devices = load_devices(root)
    if device not in devices:
        label = _label(_root(root) / "devices.json")
        raise BoardError(
            f"{label}: unknown device {device!r}; {_close(device, devices)}"
            f"known devices: {', '.join(devices)}"
        )
    return {
        role: {
            "kind": spec["kind"],
            "doc": spec.get("doc", ""),
            "optional": bool(spec.get("optional", False)),
        }
        for role, spec in devices[device]["roles"].items()
    }


def chip_names(root: Path | None = None) -> list:
    return _names(_root(root) / "chips")


def load_chip(name: str, root: Path | None = None) -> dict:
    """``chips/<name>.json`` as a dict, after checking its keys and pin lists."""
    root = _root(root)
    path = root / "chips" / f"{name}.json"
    label = _label(path)
    if not path.is_file():
        known = chip_names(root)
        raise BoardError(
            f"{label}: no such chip {name!r}; {_close(name, known)}"
            f"known chips: {', '.join(known) or 'none'}"
        )
    chip = _read_json(path)
    if not isinstance(chip, dict):
        raise BoardError(f"{label}: the top level must be a JSON object")
    for key, kind in CHIP_KEYS.items():
        if not isinstance(chip.get(key), kind):
            raise BoardError(f"{label}: '{key}' must be a JSON {kind.__name__}")
    gpio = chip["gpio"]
    if not all(_is_pin(p) for p in gpio):
        raise BoardError(f"{label}: 'gpio' must list GPIO numbers (ints)")
    for key in _CHIP_PIN_LISTS + ("psram_pins",):
        for pin in chip.get(key, []):
            if pin not in gpio:
                raise BoardError(f"{label}: '{key}' lists GPIO{pin}, which is not in 'gpio'")
    for unit in ("adc1", "adc2"):
        for pin, channel in chip[unit].items():
            if not pin.isdigit() or int(pin) not in gpio or not _is_pin(channel):
                raise BoardError(f"{label}: '{unit}' entry {pin!r}: {channel!r} is not GPIO: int")
    try:
        int(chip["flash_offset"], 16)
    except ValueError:
        raise BoardError(f"{label}: 'flash_offset' must be hex like \"0x1000\"") from None
    if chip["mpy_arch"] not in MPY_ARCHS:
        raise BoardError(f"{label}: 'mpy_arch' must be one of {', '.join(MPY_ARCHS)}")
    pwm = chip["pwm"]
    if not (_is_pin(pwm.get("channels")) and _is_pin(pwm.get("timers"))):
        raise BoardError(f"{label}: 'pwm' needs integer 'channels' and 'timers'")
    tops = chip["adc_max_mv"]
    if len(tops) != 4 or not all(_is_pin(t) and t > 0 for t in tops) or tops != sorted(tops):
        raise BoardError(f"{label}: 'adc_max_mv' must be 4 rising mV values, the ADC's top at 0, "
                         "2.5, 6 and 11 dB")
    return chip


def adc_top_mv(chip: dict) -> int:
    """The highest voltage (mV) the chip's ADC reads at 11 dB, the attenuation kit.hal uses."""
    return chip["adc_max_mv"][3]


# A voltage written in an analog role's doc: "max 3.0 V", "below 3.1 V".
_VOLTS = re.compile(r"(\d+(?:\.\d+)?)\s?V\b")
# Standard resistor values (E12) for the divider suggested by the adc-range rule.
_E12 = (10, 12, 15, 18, 22, 27, 33, 39, 47, 56, 68, 82)


def documented_max_mv(doc: str) -> int | None:
    """The highest voltage an analog role's doc says reaches the pin, in mV, or None."""
    found = [float(v) for v in _VOLTS.findall(doc or "")]
    return int(max(found) * 1000 + 0.5) if found else None


def divider_for(max_mv: int, top_mv: int) -> tuple[float, float]:
    """(series kOhm, to-GND kOhm): 10 kOhm in series and the largest E12 value (1-820 kOhm) to
    GND that brings ``max_mv`` to at most 95 % of ``top_mv`` (room for resistor tolerance and
    the ADC's bend near its top)."""
    want = 0.95 * top_mv / max_mv
    best = 1.0
    for decade in (0.1, 1, 10):
        for value in _E12:
            r2 = round(value * decade, 1)
            if r2 / (10 + r2) <= want:
                best = max(best, r2)
    return 10, best


def board_names(root: Path | None = None) -> list:
    """Board ids: every ``<name>.json`` under the boards directory except devices.json."""
    return _names(_root(root), exclude=("devices",))


def _board_path(name, root):
    path = root / f"{name}.json"
    if not path.is_file():
        known = board_names(root)
        raise BoardError(
            f"{_label(path)}: no such board {name!r}; {_close(name, known)}"
            f"known boards: {', '.join(known) or 'none'}"
        )
    return path


def load_board(name: str, root: Path | None = None) -> dict:
    """``<name>.json`` as a dict. Only the JSON is checked here; see check_board()."""
    path = _board_path(name, _root(root))
    data = _read_json(path)
    if not isinstance(data, dict):
        raise BoardError(f"{_label(path)}: the top level must be a JSON object")
    return data


def chip_for(board: str | dict, root: Path | None = None) -> dict:
    """The chip description of a board (given by name or as a loaded dict)."""
    data = load_board(board, root) if isinstance(board, str) else board
    chip = data.get("chip")
    if not isinstance(chip, str):
        raise BoardError(f"board {data.get('name', '?')!r}: 'chip' must be a chip name")
    return load_chip(chip, root)


# -- checking ---------------------------------------------------------------------------------


class _Ctx:
    """One board file being checked: what the rules need to know about it."""

    def __init__(self, data, label, chip, devices, devices_label):
        self.data = data
        self.devices_label = devices_label
        self.label = label
        self.chip = chip
        self.devices = devices
        self.gpio = list(chip["gpio"])
        self.adc1 = {int(k): v for k, v in chip["adc1"].items()}
        self.adc2 = {int(k): v for k, v in chip["adc2"].items()}
        header = data.get("header")
        self.header = header if isinstance(header, list) and all(map(_is_pin, header)) else None
        self.psram = data.get("psram", True) is not False
        onboard = data.get("onboard") if isinstance(data.get("onboard"), dict) else {}
        self.led = onboard.get("led")
        self.boot_button = onboard.get("boot_button")
        accept = data.get("accept")
        self.accept = accept if isinstance(accept, dict) else {}
        self.findings = []

    def add(self, level, rule, message, device=None, role=None, pin=None):
        self.findings.append(
            Finding(level, self.label, role, pin, f"{self.label}: {message}", device, rule)
        )


def _pin_problems(ctx, kind, wifi, pin):
    """(level, rule, text) for using ``pin`` for a role of ``kind``; at most one error."""
    chip = ctx.chip
    name = chip["name"]
    if pin not in ctx.gpio:
        return [(ERROR, "no-such-pin", f"GPIO{pin} does not exist on the {name}")]
    if pin in chip["flash"]:
        return [(ERROR, "flash", f"GPIO{pin} is wired to the SPI flash/PSRAM and cannot be used")]
    if pin in chip["usb"]:
        side = ("D-", "D+")[chip["usb"].index(pin) % 2]
        return [(ERROR, "usb", f"GPIO{pin} is the native USB {side} line, which the REPL and "
                 "flashing use")]
    if ctx.header is not None and pin not in ctx.header:
        return [(ERROR, "header", f"GPIO{pin} is not broken out on this board's header")]
    if kind in OUTPUT_KINDS and pin in chip["input_only"]:
        return [(ERROR, "input-only", f"GPIO{pin} is input-only and cannot drive an output")]
    if kind == "in_pullup" and pin in chip["no_pullup"]:
        return [(ERROR, "no-pullup", f"GPIO{pin} has no internal pull-up, so a switch to GND "
                 "would leave it floating")]
    if kind == "adc" and pin not in ctx.adc1:
        if pin in ctx.adc2:
            if wifi:
                return [(ERROR, "adc2-wifi", f"GPIO{pin} is ADC2 channel {ctx.adc2[pin]}; ADC2 "
                         "cannot be read while Wi-Fi is on")]
        else:
            return [(ERROR, "no-adc", f"GPIO{pin} has no ADC channel")]

    problems = []
    console = chip["console_uart"]
    if pin in console:
        if console.index(pin) % 2 == 0:
            text = (f"GPIO{pin} is the console UART0 TX: the boot log comes out on it at every "
                    "reset and the UART REPL loses its output")
        else:
            text = (f"GPIO{pin} is the console UART0 RX: whatever the part drives on it is typed "
                    "into the UART REPL (a 0x03 byte is Ctrl-C)")
        problems.append((WARNING, "console", text))
    extra = []
    if pin == ctx.led:
        extra.append("it also drives the on-board LED")
    if pin == ctx.boot_button:
        extra.append("it is also the BOOT button")
    if pin in chip["strapping"]:
        note = chip.get("strapping_notes", {}).get(str(pin), "its level at reset sets the boot mode")
        text = f"GPIO{pin} is a strapping pin: {note}"
        if extra:
            text += "; " + " and ".join(extra)
        problems.append((WARNING, "strapping", text))
    elif extra:
        problems.append((WARNING, "onboard", f"GPIO{pin}: " + " and ".join(extra)))
    if ctx.psram and pin in chip.get("psram_pins", []):
        note = chip.get("psram_note", "taken by PSRAM on some modules")
        problems.append((WARNING, "psram", f"GPIO{pin} is {note}; set \"psram\": false in the "
                         "board file if its module has none"))
    return problems


def _candidates(ctx, kind, wifi, exclude):
    """Free pins that can take a role of ``kind``: (clean ones, ones with warnings only)."""
    clean, caveat = [], []
    for pin in sorted(ctx.header if ctx.header is not None else ctx.gpio):
        if pin in exclude:
            continue
        levels = {level for level, _, _ in _pin_problems(ctx, kind, wifi, pin)}
        if ERROR in levels:
            continue
        (caveat if levels else clean).append(pin)
    return clean, caveat


def _pins(pins):
    return ", ".join(str(p) for p in pins)


def _error_hint(ctx, kind, wifi, exclude, rule):
    clean, caveat = _candidates(ctx, kind, wifi, exclude)
    lead = "use ADC1 pins" if rule == "adc2-wifi" else "free pins that can"
    if clean:
        return f"; {lead}: {_pins(clean)}"
    if caveat:
        return f"; {lead} (with warnings): {_pins(caveat)}"
    return "; no free pin can: free one up first"


def _check_device(ctx, device, requested):
    spec = ctx.devices[device]
    roles = spec["roles"]
    wifi = bool(spec.get("wifi", False))
    pmap = ctx.data["devices"].get(device)
    if pmap is None:
        level = ERROR if requested else WARNING
        ctx.add(level, "no-device", f"no pin map for device {device!r}, so it cannot run on this "
                "board", device)
        return
    if not isinstance(pmap, dict):
        ctx.add(ERROR, "structure", f"devices.{device} must be an object of role: GPIO", device)
        return

    for role, value in pmap.items():
        if role not in roles:
            shown = f"GPIO{value}" if _is_pin(value) else json.dumps(value)
            ctx.add(ERROR, "unknown-role",
                    f"{device}.{role} = {shown}: {role!r} is not a role of {device} "
                    f"({ctx.devices_label}); {_close(role, roles)}roles: {', '.join(roles)}",
                    device, role, value if _is_pin(value) else None)

    mapped = {}
    for role in roles:
        value = pmap.get(role)
        if value is None:
            continue
        if not _is_pin(value):
            hint = ""
            if isinstance(value, str) and value.upper().removeprefix("GPIO").isdigit():
                hint = f" (write {int(value.upper().removeprefix('GPIO'))}, without quotes)"
            ctx.add(ERROR, "type", f"{device}.{role} = {json.dumps(value)}: a pin must be a "
                    f"GPIO number or null{hint}", device, role)
            continue
        mapped[role] = value

    used = {}
    for role, rspec in roles.items():
        kind = rspec["kind"]
        pin = mapped.get(role)
        others = {p for r, p in mapped.items() if r != role}
        if pin is None:
            if role not in pmap or pmap[role] is None:
                if not rspec.get("optional", False):
                    doc = f": {rspec['doc']}" if rspec.get("doc") else ""
                    hint = _error_hint(ctx, kind, wifi, others, "missing")
                    ctx.add(ERROR, "missing", f"{device}.{role}: required role ({kind}{doc}) is "
                            f"not mapped{hint}", device, role)
            continue
        where = f"{device}.{role} = GPIO{pin}"
        problems = _pin_problems(ctx, kind, wifi, pin)
        errors = [p for p in problems if p[0] == ERROR]
        if not errors and pin in used:
            errors = [(ERROR, "duplicate", f"GPIO{pin} is already used by {device}.{used[pin]}")]
        used.setdefault(pin, role)
        if errors:
            _, rule, text = errors[0]
            if rule == "no-pullup" and role.startswith("keypad_col"):
                text += ("; keypad columns rely on the pull-up to read a released key as 1 (rows "
                         "are the scanned outputs)")
            hint = _error_hint(ctx, kind, wifi, others, rule)
            ctx.add(ERROR, rule, f"{where}: {text}{hint}", device, role, pin)
            continue
        reason = ctx.accept.get(f"{device}.{role}")
        for level, rule, text in problems:
            if isinstance(reason, str) and reason:
                hint = f"; accepted: {reason}"
            else:
                clean, _ = _candidates(ctx, kind, wifi, others)
                hint = (f"; free pins without warnings: {_pins(clean)}" if clean
                        else "; no free pin avoids it")
            ctx.add(level, rule, f"{where}: {text}{hint}", device, role, pin)
        if kind == "adc":
            _check_adc_range(ctx, device, role, rspec, pin, where, reason)

    # An I2C bus needs both lines: lcd_sda without lcd_scl is half a bus.
    for role, rspec in roles.items():
        if rspec["kind"] != "i2c_sda":
            continue
        bus = role[: -len("_sda")] if role.endswith("_sda") else role
        partner = next((r for r, s in roles.items()
                        if s["kind"] == "i2c_scl" and r.startswith(bus)), None)
        if partner is not None and (role in mapped) != (partner in mapped):
            have, lack = (role, partner) if role in mapped else (partner, role)
            ctx.add(ERROR, "i2c-pair", f"{device}.{lack}: not mapped while {device}.{have} = "
                    f"GPIO{mapped[have]} is: an I2C bus needs both SDA and SCL", device, lack)

    pwm_roles = [r for r in mapped if roles[r]["kind"] == "pwm"]
    channels = ctx.chip["pwm"]["channels"]
    if len(pwm_roles) > channels:
        ctx.add(ERROR, "pwm-channels", f"{device}: {len(pwm_roles)} PWM roles but the "
                f"{ctx.chip['name']} has {channels} PWM channels", device)

    warned = {f.role for f in ctx.findings if f.device == device and f.level == WARNING}
    for key, reason in ctx.accept.items():
        dev, _, role = key.partition(".")
        if dev != device:
            continue
        if role not in roles:
            ctx.add(ERROR, "accept", f"accept.{key}: {role!r} is not a role of {device}", device)
        elif not isinstance(reason, str) or not reason.strip():
            ctx.add(ERROR, "accept", f"accept.{key}: give the reason as text", device, role)
        elif role not in warned:
            ctx.add(WARNING, "accept", f"accept.{key}: nothing to accept any more "
                    f"({device}.{role} has no warning); remove the entry", device, role)


def _volts(mv):
    """3000 -> "3.0", 3100 -> "3.1", 2450 -> "2.45"."""
    text = f"{mv / 1000:.2f}"
    return text[:-1] if text.endswith("0") else text


def _check_adc_range(ctx, device, role, rspec, pin, where, reason):
    """adc-range: the role's doc says its signal goes higher than the chip's ADC can read.
    Any ADC pin of the chip has the same range, so moving the role does not help: a divider
    does (and the role's calibration, made for volts at the pin, is then redone)."""
    max_mv = documented_max_mv(rspec.get("doc", ""))
    top = adc_top_mv(ctx.chip)
    if max_mv is None or max_mv <= top:
        return
    r1, r2 = divider_for(max_mv, top)
    scaled = max_mv * r2 / (r1 + r2) / 1000
    text = (f"{where}: the signal reaches {_volts(max_mv)} V ({ctx.devices_label}: "
            f"{rspec['doc']!r}) but the {ctx.chip['name']} ADC reads at most {_volts(top)} V "
            "(11 dB), so higher voltages all read as its top; fit a divider between the "
            f"signal and GPIO{pin} ({r1:g} kOhm in series, {r2:g} kOhm to GND: {_volts(max_mv)} V "
            f"-> {scaled:.2f} V) and calibrate the {role} input again")
    if isinstance(reason, str) and reason:
        text += f"; accepted: {reason}"
    ctx.add(WARNING, "adc-range", text, device, role, pin)


def _check_structure(data, label, root, devices):
    """Check the board file's own keys. Returns (ctx or None, findings so far)."""
    findings = []

    def add(level, rule, message):
        findings.append(Finding(level, label, None, None, f"{label}: {message}", None, rule))

    for key in data:
        if key not in BOARD_REQUIRED + BOARD_OPTIONAL:
            add(WARNING, "structure", f"unknown key {key!r}; "
                f"{_close(key, BOARD_REQUIRED + BOARD_OPTIONAL)}known keys: "
                f"{', '.join(BOARD_REQUIRED + BOARD_OPTIONAL)}")
    for key in BOARD_REQUIRED:
        if key not in data:
            add(ERROR, "structure", f"missing key {key!r}")
    if "name" in data and not (isinstance(data["name"], str) and data["name"].strip()):
        add(ERROR, "structure", "'name' must be a non-empty string")
    if "notes" in data and not isinstance(data["notes"], str):
        add(ERROR, "structure", "'notes' must be a string")
    if "psram" in data and not isinstance(data["psram"], bool):
        add(ERROR, "structure", "'psram' must be true or false")

    chip_name = data.get("chip")
    if not isinstance(chip_name, str):
        if "chip" in data:
            add(ERROR, "structure", "'chip' must be a chip name such as \"esp32\"")
        return None, findings
    try:
        chip = load_chip(chip_name, root)
    except BoardError as exc:
        add(ERROR, "chip", f"chip {chip_name!r}: {exc}")
        return None, findings
    chip_label = _label(root / "chips" / f"{chip_name}.json")

    image = data.get("image")
    if "image" in data and not isinstance(image, dict):
        add(ERROR, "structure", "'image' must be an object {\"name\": ..., \"offset\": ...}")
    elif isinstance(image, dict):
        name = image.get("name")
        if not isinstance(name, str) or not name.endswith(".bin"):
            add(ERROR, "image", f"image.name must be a firmware file name ending in .bin, "
                f"got {json.dumps(name)}")
        elif chip.get("micropython_board") and not name.startswith(chip["micropython_board"] + "-"):
            add(WARNING, "image", f"image.name {name!r} is not a {chip['micropython_board']} "
                f"image; check that it is built for the {chip['name']}")
        pin = image.get("sha256")
        if pin is not None and not (isinstance(pin, str) and len(pin) == 64
                                    and all(c in "0123456789abcdef" for c in pin)):
            add(ERROR, "image", f"image.sha256 must be 64 lowercase hex digits, got {json.dumps(pin)}")
        url = image.get("url")
        if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
            add(ERROR, "image", f"image.url must be an http(s):// address (the pinned sha256 "
                f"vouches for the file), got {json.dumps(url)}")
        offset = image.get("offset")
        want = chip["flash_offset"]
        try:
            ok = isinstance(offset, str) and int(offset, 16) == int(want, 16)
        except ValueError:
            ok = False
        if not ok:
            add(ERROR, "image", f"image.offset is {json.dumps(offset)} but {chip['name']} "
                f"images are flashed at {want} ({chip_label} flash_offset)")

    gpio = chip["gpio"]
    header = data.get("header")
    if header is not None:
        if not isinstance(header, list):
            add(ERROR, "structure", "'header' must be a list of the GPIO numbers broken out")
        else:
            for pin in header:
                if not _is_pin(pin):
                    add(ERROR, "type", f"header: {json.dumps(pin)} is not a GPIO number (int)")
                elif pin not in gpio:
                    add(ERROR, "no-such-pin", f"header: GPIO{pin} does not exist on the "
                        f"{chip['name']}")
    onboard = data.get("onboard")
    if onboard is not None:
        if not isinstance(onboard, dict):
            add(ERROR, "structure", "'onboard' must be an object {\"led\": ..., "
                "\"boot_button\": ...}")
        else:
            for key, pin in onboard.items():
                if key not in ONBOARD_KEYS:
                    add(WARNING, "structure", f"onboard.{key}: unknown key; known keys: "
                        f"{', '.join(ONBOARD_KEYS)}")
                elif pin is not None and not _is_pin(pin):
                    add(ERROR, "type", f"onboard.{key} = {json.dumps(pin)}: a pin must be a "
                        "GPIO number or null")
                elif pin is not None and pin not in gpio:
                    add(ERROR, "no-such-pin", f"onboard.{key} = GPIO{pin}: GPIO{pin} does not "
                        f"exist on the {chip['name']}")
    accept = data.get("accept")
    if accept is not None:
        if not isinstance(accept, dict):
            add(ERROR, "structure", "'accept' must be an object {\"device.role\": \"reason\"}")
        else:
            for key in accept:
                if key.partition(".")[0] not in devices:
                    add(ERROR, "accept", f"accept.{key}: keys are \"device.role\" with a device "
                        f"from {_label(root / 'devices.json')} ({', '.join(devices)})")

    maps = data.get("devices")
    if not isinstance(maps, dict):
        if "devices" in data:
            add(ERROR, "structure", "'devices' must be an object of device: {role: GPIO}")
        return None, findings
    for device in maps:
        if device not in devices:
            add(ERROR, "unknown-device", f"devices.{device}: unknown device; "
                f"{_close(device, devices)}known devices: {', '.join(devices)}")
    ctx = _Ctx(data, label, chip, devices, _label(root / "devices.json"))
    ctx.findings = findings
    return ctx, findings


def _check_data(data, label, root, device=None):
    devices = load_devices(root)
    if device is not None and device not in devices:
        device_roles(device, root)  # raises with the list of known devices
    if not isinstance(data, dict):
        return [Finding(ERROR, label, None, None, f"{label}: the top level must be a JSON object",
                        None, "structure")]
    ctx, findings = _check_structure(data, label, root, devices)
    if ctx is None:
        return findings
    for name in [device] if device is not None else list(devices):
        _check_device(ctx, name, requested=device is not None)
    return ctx.findings


def check_board(board_name: str, device: str | None = None,
                root: Path | None = None) -> list:
    """Findings for one board file (all devices, or only ``device``).

    Raises BoardError for a board or device that does not exist; a file that exists but does
    not parse is reported as an error finding with the line and column.
    """
    root = _root(root)
    path = _board_path(board_name, root)
    label = _label(path)
    try:
        data = _read_json(path)
    except BoardError as exc:
        if device is not None:
            device_roles(device, root)
        return [Finding(ERROR, label, None, None, str(exc), None, "json")]
    return _check_data(data, label, root, device)


def check_all(root: Path | None = None) -> list:
    """Findings for every board x every device."""
    findings = []
    for name in board_names(root):
        findings.extend(check_board(name, root=root))
    return findings


def pin_map(board: str | dict, device: str, root: Path | None = None, *,
            strict: bool = True) -> dict:
    """role -> GPIO for one device on one board; unmapped optional roles are left out.

    ``board`` is a board name or an already loaded board dict. Raises BoardError (naming the
    file and role) for an unknown device or role, a missing required role or a pin that is not
    a number, and with ``strict`` also for any error the checker finds (warnings pass).
    """
    root = _root(root)
    if isinstance(board, str):
        path = _board_path(board, root)
        label = _label(path)
        data = _read_json(path)
    else:
        data = board
        label = f"board {data.get('name', '?')!r}" if isinstance(data, dict) else "board"
    if not isinstance(data, dict):
        raise BoardError(f"{label}: the top level must be a JSON object")
    roles = device_roles(device, root)
    maps = data.get("devices")
    if not isinstance(maps, dict) or not isinstance(maps.get(device), dict):
        raise BoardError(f"{label}: no pin map for device {device!r}")
    pmap = maps[device]
    for role in pmap:
        if role not in roles:
            raise BoardError(f"{label}: {device}.{role}: unknown role; {_close(role, roles)}"
                             f"roles of {device}: {', '.join(roles)}")
    result = {}
    for role, spec in roles.items():
        value = pmap.get(role)
        if value is None:
            if not spec["optional"]:
                raise BoardError(f"{label}: {device}.{role}: required role is not mapped")
            continue
        if not _is_pin(value):
            raise BoardError(f"{label}: {device}.{role} = {json.dumps(value)}: a pin must be a "
                             "GPIO number")
        result[role] = value
    if strict:
        errors = [f.message for f in _check_data(data, label, root, device) if f.level == ERROR]
        if errors:
            raise BoardError("\n".join(errors))
    return result


# -- command line -----------------------------------------------------------------------------


def _plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def _cmd_check(args):
    root = args.boards_dir
    boards = [args.board] if args.board else board_names(root)
    devices = [args.device] if args.device else device_names(root)
    findings = []
    for name in boards:
        findings.extend(check_board(name, args.device, root))
    for finding in findings:
        print(finding)
    errors = sum(1 for f in findings if f.level == ERROR)
    warnings = sum(1 for f in findings if f.level == WARNING)
    accepted = sum(1 for f in findings if f.level == WARNING and "; accepted: " in f.message)
    tail = f" ({accepted} accepted in the board file, {warnings - accepted} to act on)" if accepted else ""
    print(f"{_plural(len(boards), 'board')} x {_plural(len(devices), 'device')} checked: "
          f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}{tail}")
    return 1 if errors else 0


def _kind_text(chip, kind, pin):
    if kind == "adc" and pin is not None:
        for unit in ("adc1", "adc2"):
            channel = chip[unit].get(str(pin))
            if channel is not None:
                return f"adc ({unit.upper()}_CH{channel}, 0-{_volts(adc_top_mv(chip))} V)"
    return kind


def _cmd_show(args):
    root = args.boards_dir
    data = load_board(args.board, root)
    roles = device_roles(args.device, root)
    chip = chip_for(data, root)
    image = data.get("image", {})
    print(f"{data.get('name', args.board)} [{args.board}]: {chip['name']}, flash "
          f"{image.get('name', '?')} at {image.get('offset', '?')}")
    wifi = load_devices(root)[args.device].get("wifi", False)
    print(f"{args.device} (Wi-Fi: {'yes' if wifi else 'no'})")
    pmap = data.get("devices", {}).get(args.device)
    pmap = pmap if isinstance(pmap, dict) else {}
    rows = [("role", "GPIO", "kind", "doc")]
    for role, spec in roles.items():
        pin = pmap.get(role)
        doc = spec["doc"]
        if spec["optional"]:
            doc = "(optional) " + doc if pin is not None else "(optional, not wired) " + doc
        rows.append((role, str(pin) if pin is not None else "-",
                     _kind_text(chip, spec["kind"], pin if _is_pin(pin) else None), doc.strip()))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3]))
        print((line + "  " + row[3]).rstrip())
    findings = check_board(args.board, args.device, root)
    for finding in findings:
        print(finding)
    return 1 if any(f.level == ERROR for f in findings) else 0


def _cmd_list(args):
    root = args.boards_dir
    for name in board_names(root):
        try:
            data = load_board(name, root)
        except BoardError as exc:
            print(f"{name}: {exc}")
            continue
        print(f"{name}: {data.get('name', '?')} ({data.get('chip', '?')})")
    return 0


def _parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--boards-dir", type=Path, default=None, metavar="DIR",
                        help="directory with the board files (default: the repository's boards/)")
    parser = argparse.ArgumentParser(prog="kampung boards",
                                     description="Check and show the board pin maps.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", parents=[common], help="check board files (exit 1 on errors)")
    check.add_argument("--board", help="only this board (default: all)")
    check.add_argument("--device", help="only this device (default: all)")
    check.set_defaults(func=_cmd_check)
    show = sub.add_parser("show", parents=[common], help="print one device's pins on one board")
    show.add_argument("board")
    show.add_argument("device")
    show.set_defaults(func=_cmd_show)
    listing = sub.add_parser("list", parents=[common], help="list the boards")
    listing.set_defaults(func=_cmd_list)
    return parser


def main(argv: list | None = None) -> int:
    """``kampung boards ...``; ``argv`` excludes the leading "boards". Returns the exit code."""
    try:
        args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args)
    except BoardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())


def board_json(board: str, device: str, root: Path | None = None) -> dict:
    """What the firmware reads at boot (``board.json`` on the board's flash): the device's pins
    by role, the chip's ADC top at 11 dB in mV (``Hal.adc_max_uv``), and the on-board LED
    kit.boot blinks in safe mode (when the board has a plain one)."""
    data = load_board(board, root)
    chip = chip_for(board, root)
    out = {"board": board, "chip": chip["name"], "device": device,
           "pins": pin_map(board, device, root), "adc_max_mv": adc_top_mv(chip)}
    led = (data.get("onboard") or {}).get("led")
    if led is not None and led not in out["pins"].values():
        out["onboard_led"] = led
    return out

