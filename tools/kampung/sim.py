"""``kampung sim``: run a device's firmware on the virtual board from a scenario.

A scenario (JSON, format in docs/scenarios.md) names the device, board, config overrides,
duration, an optional start value of the tick counter, part settings and a timeline of inputs.
The firmware runs unchanged under MicroPython (default) or CPython; the virtual hardware writes
what it observed as JSON lines (docs/event-log.md). Same input and runtime: same bytes out.
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

from kampung import BOARDS, ROOT, VIRTUAL, boards, runtimes, summary, traces

SCENARIOS = ROOT / "tools" / "kampung" / "scenarios"
DEFAULT_SCENARIO = {"blind_shoe": SCENARIOS / "blind_shoe_walk.json", "kuword": SCENARIOS / "kuword_day.json",
                    "kandig": SCENARIOS / "kandig_local.json",
                    "akrubutan": SCENARIOS / "akrubutan_field.json"}
KNOWN_KEYS = {"device", "board", "config", "duration_ms", "start_ticks_ms", "parts", "inputs",
              "description", "log_pings", "files"}


class ScenarioError(ValueError):
    pass


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


MAX_DURATION_MS = 24 * 3600 * 1000  # a day of device time; longer runs are surely a mistake
TICKS_PERIOD = 1 << 30


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


# What the probe's 16-bit registers can hold, read signed or unsigned (-32768..65535 raw; a
# value beyond would wrap): % x 10, degrees C x 10 (-3276.8 is the 0x8000 of a faulty probe),
# uS/cm, pH x 100 (JXCT), mg/kg (-5 is the 65531 of a damaged register)
_PROBE_RANGES = {"moisture": (-3276.8, 6553.5), "temperature": (-3276.8, 6553.5),
                 "ec": (-32768, 65535), "ph": (-327.68, 655.35), "n": (-32768, 65535),
                 "p": (-32768, 65535), "k": (-32768, 65535)}
_PROBE_VALUES = tuple(_PROBE_RANGES)

# What each kind of part accepts as an input: key -> (check, words for the valid values)
_KEYS = "0123456789ABCD*#"
_CM = (lambda v: v is None or (_is_num(v) and 0 <= v <= 1000), "a distance in cm (0-1000) or null")
_INPUTS = {
    "sonar": {"trace": (lambda v: isinstance(v, str) and v != "", "a CSV file name"),
              "column": (lambda v: isinstance(v, (str, int)), "a column name or index"),
              "no_echo": (lambda v: True, "no-echo values"),
              "cm": _CM,
              "fault": (lambda v: v in (None, "unplugged", "stuck_high"), "null, 'unplugged' or 'stuck_high'"),
              "temp_c": (lambda v: _is_num(v) and -40 <= v <= 85, "degrees C from -40 to 85")},
    "button": {"press_ms": (lambda v: _is_int(v) and 1 <= v <= 600000, "ms held, 1-600000")},
    "battery": {"volts": (lambda v: _is_num(v) and 0 <= v <= 30, "volts from 0 to 30")},
    "wifi": {"state": (lambda v: v in ("up", "down"), "'up' or 'down'")},
    "keypad": {"keys": (lambda v: isinstance(v, str) and v != "" and all(c in _KEYS for c in v),
                        f"keys of the 4x4 keypad ({_KEYS})"),
               "hold": (lambda v: isinstance(v, str) and v != "" and all(c in _KEYS for c in v),
                        "keys to hold down together"),
               "release": (lambda v: isinstance(v, str) and all(c in _KEYS for c in v), "keys to let go"),
               "hold_ms": (lambda v: _is_int(v) and 1 <= v <= 60000, "ms each key is held, 1-60000"),
               "gap_ms": (lambda v: _is_int(v) and 0 <= v <= 60000, "ms between keys, 0-60000")},
    "door_contact": {"state": (lambda v: v in ("open", "closed"), "'open' or 'closed'")},
    "tamper": {"state": (lambda v: v in ("open", "closed"), "'open' or 'closed'")},
    "lcd": {"fault": (lambda v: v in ("drop_nibble", "i2c_error", "power_cycle"),
                      "'drop_nibble', 'i2c_error' or 'power_cycle'"),
            "count": (lambda v: _is_int(v) and 1 <= v <= 1000,
                      "how many (I2C writes that fail, or nibbles dropped), 1-1000")},
    "power": {"off_ms": (lambda v: _is_int(v) and 0 <= v <= 3600000, "ms without power, 0-3600000")},
    "soil_moisture": {"volts": (lambda v: _is_num(v) and 0 <= v <= 3.3, "volts at the pin, 0-3.3"),
                      "trace": (lambda v: isinstance(v, str) and v != "",
                                "a moisture log (the 7-week pot format: time, raw 10-bit count)"),
                      "every_ms": (lambda v: _is_int(v) and 1 <= v <= 3600000,
                                   "ms of device time per row of the trace, 1-3600000"),
                      "start_row": (lambda v: _is_int(v) and v >= 1,
                                    "the trace's row to start from (1 = its first row)")},
    "ph": {"volts": (lambda v: _is_num(v) and 0 <= v <= 3.3, "volts at the pin, 0-3.3")},
    "soil_probe": {"values": (lambda v: isinstance(v, dict) and all(
                       k in _PROBE_RANGES and _is_num(x) and _PROBE_RANGES[k][0] <= x <= _PROBE_RANGES[k][1]
                       for k, x in v.items()),
                       "an object of readings: " + ", ".join(f"{k} {lo}-{hi}" for k, (lo, hi)
                                                               in _PROBE_RANGES.items())),
                   "fault": (lambda v: v in ("drop", "corrupt", "stray", "slow", "off", "ok"),
                             "'drop', 'corrupt', 'stray', 'slow', 'off' or 'ok'"),
                   "count": (lambda v: _is_int(v) and 1 <= v <= 1000, "how many frames, 1-1000")},
    "ds18b20": {"temp_c": (lambda v: _is_num(v) and -55 <= v <= 125, "degrees C from -55 to 125"),
                "fault": (lambda v: v in ("unplugged", "parasite", "noise", "ok"),
                          "'unplugged', 'parasite', 'noise' or 'ok'")},
}
_ACTIONS = {"sonar": ("trace", "cm", "fault", "temp_c"), "button": ("press_ms",),
            "battery": ("volts",), "wifi": ("state",), "keypad": ("keys", "hold", "release"),
            "door_contact": ("state",), "tamper": ("state",), "lcd": ("fault",), "power": ("off_ms",),
            "soil_moisture": ("volts", "trace"), "ph": ("volts",), "soil_probe": ("values", "fault"),
            "ds18b20": ("temp_c", "fault")}
_PARTS = {"sonar": {"variant": (lambda v: v in ("hcsr04", "jsn_sr04t"), "'hcsr04' or 'jsn_sr04t'"),
                    "temp_c": _INPUTS["sonar"]["temp_c"], "cm": _CM,
                    "fault": _INPUTS["sonar"]["fault"]},
          "battery": {"volts": _INPUTS["battery"]["volts"],
                      "divider": (lambda v: _is_num(v) and 1 <= v <= 20, "a ratio from 1 to 20")},
          "button": {"bounce": (lambda v: isinstance(v, bool), "true or false")},
          "keypad": {"bounce": (lambda v: isinstance(v, bool), "true or false"),
                     "diodes": (lambda v: isinstance(v, bool), "true or false")},
          "lcd": {"addr": (lambda v: v is None or v in (0x27, 0x3F), "39 (0x27), 63 (0x3F) or null (no LCD)")},
          "door_contact": {"closed": (lambda v: isinstance(v, bool), "true or false")},
          "tamper": {"closed": (lambda v: isinstance(v, bool), "true or false")},
          "soil_moisture": {"volts": _INPUTS["soil_moisture"]["volts"]},
          "ph": {"volts": _INPUTS["ph"]["volts"]},
          "soil_probe": {"family": (lambda v: v in ("jxct", "renke"), "'jxct' or 'renke'"),
                         "addr": (lambda v: _is_int(v) and 1 <= v <= 247, "an address 1-247"),
                         "baud": (lambda v: v in (2400, 4800, 9600), "2400, 4800 or 9600"),
                         "fitted": (lambda v: isinstance(v, bool), "true or false"),
                         "values": _INPUTS["soil_probe"]["values"]},
          "ds18b20": {"temp_c": _INPUTS["ds18b20"]["temp_c"],
                      "fitted": (lambda v: isinstance(v, bool), "true or false")},
          "oled": {"addr": (lambda v: v is None or v in (0x3C, 0x3D), "60 (0x3C), 61 (0x3D) or null (no OLED)")}}


def part_kind(name: str) -> str:
    return "button" if name == "button" or name.endswith("_button") else name


def _check_keys(where: str, item: dict, rules: dict) -> None:
    for key, value in item.items():
        if key not in rules:
            raise ScenarioError(f"{where}: unknown key {key!r}; valid: {sorted(rules)}")
        ok, words = rules[key]
        if not ok(value):
            raise ScenarioError(f"{where}: {key!r} is {value!r}; it must be {words}")


def validate_scenario(data, path) -> None:
    """Check every field and input before anything runs: errors name the file, the field or
    input index, and what would be valid."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a JSON object")
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        raise ScenarioError(f"{path}: unknown field(s) {sorted(unknown)}; known: {sorted(KNOWN_KEYS)}")
    if "duration_ms" in data and not (_is_int(data["duration_ms"]) and 0 < data["duration_ms"] <= MAX_DURATION_MS):
        raise ScenarioError(f"{path}: 'duration_ms' is {data['duration_ms']!r}; it must be a whole "
                            f"number from 1 to {MAX_DURATION_MS} (one day)")
    if "start_ticks_ms" in data and not (_is_int(data["start_ticks_ms"]) and 0 <= data["start_ticks_ms"] < TICKS_PERIOD):
        raise ScenarioError(f"{path}: 'start_ticks_ms' is {data['start_ticks_ms']!r}; it must be a whole "
                            f"number from 0 to {TICKS_PERIOD - 1} (the ESP32's ticks wrap at 2**30)")
    for name, text in (data.get("files") or {}).items() if isinstance(data.get("files"), dict) else ():
        if not isinstance(text, str) or "/" in name or name.startswith("."):
            raise ScenarioError(f"{path}: files: {name!r} must map a plain file name to its text")
    for key, kind in (("config", dict), ("parts", dict), ("inputs", list), ("device", str), ("files", dict),
                      ("board", str), ("description", str), ("log_pings", bool)):
        if key in data and not isinstance(data[key], kind):
            raise ScenarioError(f"{path}: {key!r} must be a JSON {'object' if kind is dict else kind.__name__}")
    if "device" in data.get("config", {}):
        raise ScenarioError(f"{path}: config: 'device' comes from the scenario's own 'device' field")
    for name, settings in data.get("parts", {}).items():
        rules = _PARTS.get(part_kind(name))
        if rules is None or not isinstance(settings, dict):
            raise ScenarioError(f"{path}: parts: {name!r} is not a part with settings; parts with "
                                f"settings: {', '.join(sorted(_PARTS))} (an object each)")
        _check_keys(f"{path}: parts.{name}", settings, rules)
    for i, item in enumerate(data.get("inputs", [])):
        where = f"{path}: inputs[{i}]"
        if not isinstance(item, dict) or "part" not in item or "at_ms" not in item:
            raise ScenarioError(f"{where}: each input is an object with 'at_ms' and 'part'")
        if not _is_int(item["at_ms"]) or not 0 <= item["at_ms"] <= MAX_DURATION_MS:
            raise ScenarioError(f"{where}: 'at_ms' must be a whole number >= 0, not {item['at_ms']!r}")
        kind = part_kind(str(item["part"]))
        if kind not in _INPUTS:
            raise ScenarioError(f"{where}: part {item['part']!r} takes no inputs; parts: "
                                f"{', '.join(sorted(_INPUTS))} (or a role ending in _button)")
        rest = {k: v for k, v in item.items() if k not in ("at_ms", "part")}
        _check_keys(where, rest, _INPUTS[kind])
        actions = [k for k in rest if k in _ACTIONS[kind]]
        if len(actions) != 1:
            raise ScenarioError(f"{where}: a {kind} input needs exactly one of {list(_ACTIONS[kind])}")
        if kind == "soil_moisture" and "trace" not in rest and ({"every_ms", "start_row"} & set(rest)):
            raise ScenarioError(f"{where}: 'every_ms' and 'start_row' go with a 'trace'")


def load_scenario(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read scenario ({e.strerror})") from e
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{path}: not a text file (JSON must be UTF-8): {e.reason}") from e
    except ValueError as e:
        msg = f":{e.lineno}:{e.colno}: not valid JSON: {e.msg}" if isinstance(e, json.JSONDecodeError) else f": {e}"
        raise ScenarioError(f"{path}{msg}") from e
    validate_scenario(data, path)
    data["_dir"] = str(path.parent)
    data["_source"] = str(path)
    return data


# The 7-week pot log (../shared/data/soil/moisture_pot_7weeks) is raw 10-bit counts of a 5 V
# Arduino whose author calibrated 680 in air and 360 in water. Replayed through the virtual
# capacitive probe, a count keeps its place between those two and becomes the ESP32 volts of
# the same place between the default calibration (2.70 V dry, 1.15 V wet; calibration_points
# C05/C06): the soil's story is kept, the electrical scale is the ESP32's.
POT_AIR, POT_WATER = 680, 360
ESP_DRY_V, ESP_WET_V = 2.70, 1.15


def moisture_trace(path: Path, where: str) -> list[float]:
    """Volts at the ESP32 pin, one per row of a pot-format log (time, raw count[, fraction])."""
    if not path.is_file():
        raise ScenarioError(f"{where}: moisture trace {path} not found (paths in a scenario are "
                            "relative to the scenario file)")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        cols = line.split(",")
        try:
            raw = float(cols[1])
        except (IndexError, ValueError):
            raise ScenarioError(f"{path}:{n}: expected 'time,raw count[,fraction]', got {line[:60]!r}") from None
        frac = (raw - POT_AIR) / (POT_WATER - POT_AIR)
        out.append(round(ESP_DRY_V + frac * (ESP_WET_V - ESP_DRY_V), 4))
    if not out:
        raise ScenarioError(f"{path}: no rows")
    return out


def build_spec(scenario: dict, *, device: str, board: str | None, trace: Path | None,
               flash: Path, out: Path, duration_ms: int | None = None,
               problems: list[str] | None = None) -> dict:
    if scenario.get("device", device) != device:
        raise ScenarioError(f"{scenario.get('_source')}: scenario is for {scenario['device']!r}, not {device!r}")
    board = board or scenario.get("board") or "esp32_devkitc"
    pins = boards.pin_map(board, device)
    chip = boards.chip_for(board)
    inputs = [dict(i) for i in scenario.get("inputs", [])]
    if trace is not None:
        inputs = [i for i in inputs if "trace" not in i]
        inputs.insert(0, {"at_ms": 0, "part": "sonar", "trace": str(trace)})
    available = {"wifi"} | {r for r in pins if part_kind(r) == "button"}
    available |= {"sonar"} if {"sonar_trig", "sonar_echo"} <= set(pins) else set()
    available |= {"battery"} if "battery" in pins else set()
    available |= {"power"}
    available |= {"keypad"} if "keypad_row1" in pins else set()
    available |= {r for r in ("lcd", "door_contact", "tamper") if r in pins or r + "_scl" in pins}
    available |= {r for r in ("soil_moisture", "ph") if r in pins}
    available |= {"soil_probe"} if "rs485_tx" in pins else set()
    available |= {"ds18b20"} if "onewire" in pins else set()
    available |= {"oled"} if "oled_scl" in pins else set()
    where = scenario.get("_source", "scenario")
    for i, item in enumerate(inputs):
        if item["part"] not in available:
            raise ScenarioError(f"{where}: inputs[{i}]: {device} on {board} has no part {item['part']!r}; "
                                f"its parts: {', '.join(sorted(available))} (that board's {device} pin map "
                                f"has no {item['part']}: remove those inputs, or run on a board that has "
                                f"one, e.g. --board esp32_devkitc)")
    for name in scenario.get("parts", {}):
        if name not in available:
            raise ScenarioError(f"{where}: parts: {device} on {board} has no part {name!r}; "
                                f"its parts: {', '.join(sorted(available))}")
    end_ms = 0
    for item in inputs:
        if "trace" in item and item["part"] == "soil_moisture":
            tpath = Path(item["trace"])
            if not tpath.is_absolute() and "_dir" in scenario:
                tpath = Path(scenario["_dir"]) / tpath
            volts = moisture_trace(tpath, scenario.get("_source", "scenario"))
            first = item.pop("start_row", 1)
            if first > len(volts):
                raise ScenarioError(f"{where}: start_row {first} is past the end of {tpath} "
                                    f"({len(volts)} rows)")
            item["_trace"] = volts[first - 1:]
            item["trace"] = tpath.name
            continue
        if "trace" in item:
            tpath = Path(item["trace"])
            if not tpath.is_absolute() and "_dir" in scenario and tpath != trace:
                tpath = Path(scenario["_dir"]) / tpath  # relative to the scenario file
            if not tpath.is_file():
                where = scenario.get("_source", "--trace")
                raise ScenarioError(f"{where}: trace file {tpath} not found"
                                    + (" (paths in a scenario are relative to the scenario file)"
                                       if "_source" in scenario else ""))
            kwargs = {}
            if "column" in item:
                kwargs["distance_column"] = item["column"]
            if "no_echo" in item:
                kwargs["no_echo"] = item["no_echo"]
            tr = traces.read_trace(tpath, **kwargs)
            if problems is not None:
                problems.extend(tr.problems)
            item["samples"] = [[t, None if cm is None else round(cm, 1)] for t, cm in tr.samples]
            item["trace"] = tpath.name
            length = tr.samples[-1][0] if tr.samples else 0
            if length > MAX_DURATION_MS:
                raise ScenarioError(f"{tpath}: the trace spans {length / 3600000:.0f} hours; "
                                    "more than a day is surely a bad timestamp (check with "
                                    "`kampung trace show`)")
            end_ms = max(end_ms, item["at_ms"] + length + 1000)
        item.pop("column", None)
        item.pop("no_echo", None)
    duration = duration_ms or scenario.get("duration_ms") or end_ms or 30000
    config = {"device": device}
    config.update(scenario.get("config", {}))
    flash.mkdir(parents=True, exist_ok=True)
    (flash / "board.json").write_text(json.dumps(boards.board_json(board, device), indent=1))
    (flash / "config.json").write_text(json.dumps(config, indent=1))
    for name, text in scenario.get("files", {}).items():
        (flash / name).write_text(text)  # raw flash contents, e.g. a half-written config
    return {
        "device": device, "board": board, "chip": chip, "pins": pins,
        "duration_ms": int(duration), "start_ticks_ms": scenario.get("start_ticks_ms", 0),
        "parts": scenario.get("parts", {}), "inputs": inputs, "flash": str(flash), "out": str(out),
        "log_pings": scenario.get("log_pings", True),
    }


def simulate(device: str, *, board: str | None = None, scenario: Path | None = None,
             trace: Path | None = None, runtime: str = "micropython", out: Path | None = None,
             duration_ms: int | None = None, heap_kb: int | None = None, quiet: bool = False,
             flash: Path | None = None, extra: dict | None = None,
             roots: tuple[Path, Path] | None = None):
    """Run one simulation; returns (CompletedProcess, list of event dicts, trace problems)."""
    if scenario is None and device in DEFAULT_SCENARIO and trace is None:
        scenario = DEFAULT_SCENARIO[device]
    data = load_scenario(scenario) if scenario else {"device": device}
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kampung-sim-") as tmp:
        tmpdir = Path(tmp)
        events_path = out or tmpdir / "events.jsonl"
        events_path.parent.mkdir(parents=True, exist_ok=True)
        spec = build_spec(data, device=device, board=board, trace=trace,
                          flash=flash or tmpdir / "flash", out=events_path,
                          duration_ms=duration_ms, problems=problems)
        spec.update(extra or {})
        spec_path = tmpdir / "spec.json"
        spec_path.write_text(json.dumps(spec))
        script = (roots[0] if roots else VIRTUAL) / "simrun.py"
        proc = runtimes.run(runtime, script, [str(spec_path)], heap_kb=heap_kb, roots=roots)
        events = []
        if events_path.exists():
            events = [json.loads(line) for line in events_path.read_text().splitlines() if line]
    return proc, events, problems


OLED_W, OLED_H = 128, 64


def oled_picture(events: list[dict], part: str | None = None) -> bytes | None:
    """The last picture an OLED showed: its display RAM as the glass shows it (1024 bytes, the
    SSD1306's layout: 8 pages of 128 columns, each byte a column of 8 pixels, least significant
    bit on top), from the ``ram`` of the last ``oled`` event; None when no OLED showed one."""
    for e in reversed(events):
        if e["kind"] == "oled" and (part is None or e["part"] == part):
            return bytes.fromhex(e["ram"])
    return None


def png_from_pages(ram: bytes, width: int = OLED_W, height: int = OLED_H) -> bytes:
    """A 1-bit greyscale PNG (lit pixel = white) of a page-layout display RAM; the standard
    library only: rows of packed bits, each after filter byte 0, deflated (PNG spec, ISO/IEC
    15948: IHDR, IDAT, IEND chunks, each with its CRC-32)."""
    if len(ram) != width * height // 8:
        raise ValueError(f"a {width}x{height} display has {width * height // 8} bytes of RAM, not {len(ram)}")
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter: none
        page, bit = (y >> 3) * width, 1 << (y & 7)
        for x0 in range(0, width, 8):
            byte = 0
            for x in range(x0, min(x0 + 8, width)):
                if ram[page + x] & bit:
                    byte |= 0x80 >> (x - x0)
            raw.append(byte)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + chunk(b"IEND", b""))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kampung sim", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("device", choices=sorted(json.loads((BOARDS / "devices.json").read_text()).keys() - {"_doc"}))
    ap.add_argument("--board", help="board name (boards/*.json); default from the scenario or esp32_devkitc")
    ap.add_argument("--scenario", type=Path, help="scenario JSON (default: the device's built-in one)")
    ap.add_argument("--trace", type=Path, help="distance log CSV to replay through the virtual sonar")
    ap.add_argument("--runtime", choices=runtimes.RUNTIMES, default="micropython")
    ap.add_argument("--out", type=Path, help="write the event log (JSON lines) here")
    ap.add_argument("--png", type=Path, help="save the OLED's last picture (128x64, its exact display "
                    "RAM, lit pixels white) as a PNG here")
    ap.add_argument("--duration-ms", type=int, help="override the scenario's duration")
    ap.add_argument("--heap-kb", type=int, help="MicroPython heap size (like an ESP32's free RAM)")
    ap.add_argument("--quiet", action="store_true", help="no summary, only the exit status")
    ap.add_argument("--flash", type=Path, help="keep the virtual board's flash in this folder (for "
                    "example to read a lock's audit log with `kampung audit --flash DIR`); it must "
                    "be empty or not exist")
    args = ap.parse_args(argv)
    if args.duration_ms is not None and not 0 < args.duration_ms <= MAX_DURATION_MS:
        print(f"kampung sim: --duration-ms must be from 1 to {MAX_DURATION_MS}", file=sys.stderr)
        return 2
    for opt, path in (("--out", args.out), ("--png", args.png)):
        if path is not None and path.is_dir():
            print(f"kampung sim: {opt} {path} is a folder; give a file name", file=sys.stderr)
            return 2
    if args.flash is not None and args.flash.exists() and (not args.flash.is_dir() or any(args.flash.iterdir())):
        print(f"kampung sim: --flash {args.flash} must be an empty folder or a new one (a board starts "
              "with a clean flash)", file=sys.stderr)
        return 2
    if args.device not in DEFAULT_SCENARIO and not args.scenario:
        print(f"kampung sim: {args.device} has no built-in scenario yet; pass --scenario", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        proc, events, problems = simulate(
            args.device, board=args.board, scenario=args.scenario, trace=args.trace,
            runtime=args.runtime, out=args.out, duration_ms=args.duration_ms, heap_kb=args.heap_kb,
            flash=args.flash)
    except (ScenarioError, traces.TraceError, boards.BoardError, runtimes.RuntimeMissing) as e:
        print(f"kampung sim: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"kampung sim: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    wall = time.perf_counter() - started
    for p in problems:
        print(f"trace: {p}", file=sys.stderr)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        print(f"kampung sim: the {args.runtime} process failed (exit {proc.returncode})", file=sys.stderr)
        return 1
    if not args.quiet:
        print_summary(events, args, wall)
    if args.png is not None:
        picture = oled_picture(events)
        if picture is None:
            print(f"kampung sim: --png: no OLED showed a picture in this run ({args.device}'s board has "
                  "no OLED, or the scenario left it unplugged)", file=sys.stderr)
            return 2
        try:
            args.png.parent.mkdir(parents=True, exist_ok=True)  # as --out does
            args.png.write_bytes(png_from_pages(picture))
        except OSError as e:
            print(f"kampung sim: --png {args.png}: {e.strerror or e}", file=sys.stderr)
            return 2
        if not args.quiet:
            print(f"OLED picture ({OLED_W}x{OLED_H}, the last one shown): {args.png}")
    crashed = [e for e in events if e["kind"] == "exception"]
    if crashed:
        e = crashed[0]
        print(f"kampung sim: the firmware stopped at {e['t_ms']} ms with {e['type']}: {e['message']}",
              file=sys.stderr)
        return 3
    errors = [e for e in events if e["kind"] == "log" and "] ERROR:" in e["text"]]
    if errors:
        for e in errors[:5]:
            print(f"kampung sim: at {e['t_ms']} ms the device reported {e['text'].split('] ', 1)[1]}",
                  file=sys.stderr)
        return 3
    return 0


def print_summary(events: list[dict], args, wall: float) -> None:
    end = max((e["t_ms"] for e in events), default=0)
    print(f"{args.device} on {args.runtime}: {end / 1000:.1f} s of device time in {wall:.2f} s")
    for line in summary.render(events):
        print(line)
    counts: dict[str, int] = {}
    for e in events:
        key = f"{e['part']}/{e['kind']}"
        counts[key] = counts.get(key, 0) + 1
    print("events:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"full event log (every edge): {args.out}" if args.out else
          "full event log (every edge, JSON lines): add --out FILE")
