"""``kampung sim``: run a device's firmware on the virtual board from a scenario.

A scenario (JSON, format in docs/scenarios.md) names the device, board, config overrides,
duration, an optional start value of the tick counter, part settings and a timeline of inputs.
The firmware runs unchanged under MicroPython (default) or CPython; the virtual hardware writes
what it observed as JSON lines (docs/event-log.md). Same input and runtime: same bytes out.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from kampung import BOARDS, ROOT, VIRTUAL, boards, runtimes, summary, traces

SCENARIOS = ROOT / "tools" / "kampung" / "scenarios"
DEFAULT_SCENARIO = {"blind_shoe": SCENARIOS / "blind_shoe_walk.json"}
KNOWN_KEYS = {"device", "board", "config", "duration_ms", "start_ticks_ms", "parts", "inputs",
              "description", "log_pings"}
INPUT_KEYS = {"at_ms", "part", "trace", "cm", "fault", "volts", "press_ms", "state", "temp_c",
              "keys", "column", "no_echo"}


class ScenarioError(ValueError):
    pass


def load_scenario(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read scenario ({e.strerror})") from e
    except json.JSONDecodeError as e:
        raise ScenarioError(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from e
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a JSON object")
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        raise ScenarioError(f"{path}: unknown field(s) {sorted(unknown)}; known: {sorted(KNOWN_KEYS)}")
    for i, item in enumerate(data.get("inputs", [])):
        where = f"{path}: inputs[{i}]"
        if not isinstance(item, dict) or "part" not in item or "at_ms" not in item:
            raise ScenarioError(f"{where}: each input needs 'at_ms' and 'part'")
        if not isinstance(item["at_ms"], int) or item["at_ms"] < 0:
            raise ScenarioError(f"{where}: 'at_ms' must be a whole number >= 0, not {item['at_ms']!r}")
        bad = set(item) - INPUT_KEYS
        if bad:
            raise ScenarioError(f"{where}: unknown key(s) {sorted(bad)}; known: {sorted(INPUT_KEYS)}")
    data["_dir"] = str(path.parent)
    data["_source"] = str(path)
    return data


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
    end_ms = 0
    for item in inputs:
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
            end_ms = max(end_ms, item["at_ms"] + (tr.samples[-1][0] if tr.samples else 0) + 1000)
        item.pop("column", None)
        item.pop("no_echo", None)
    duration = duration_ms or scenario.get("duration_ms") or end_ms or 30000
    config = {"device": device}
    config.update(scenario.get("config", {}))
    flash.mkdir(parents=True, exist_ok=True)
    (flash / "board.json").write_text(json.dumps(
        {"board": board, "chip": chip["name"], "device": device, "pins": pins}, indent=1))
    (flash / "config.json").write_text(json.dumps(config, indent=1))
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


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kampung sim", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("device", choices=sorted(json.loads((BOARDS / "devices.json").read_text()).keys() - {"_doc"}))
    ap.add_argument("--board", help="board name (boards/*.json); default from the scenario or esp32_devkitc")
    ap.add_argument("--scenario", type=Path, help="scenario JSON (default: the device's built-in one)")
    ap.add_argument("--trace", type=Path, help="distance log CSV to replay through the virtual sonar")
    ap.add_argument("--runtime", choices=runtimes.RUNTIMES, default="micropython")
    ap.add_argument("--out", type=Path, help="write the event log (JSON lines) here")
    ap.add_argument("--duration-ms", type=int, help="override the scenario's duration")
    ap.add_argument("--heap-kb", type=int, help="MicroPython heap size (like an ESP32's free RAM)")
    ap.add_argument("--quiet", action="store_true", help="no summary, only the exit status")
    args = ap.parse_args(argv)
    if args.device not in DEFAULT_SCENARIO and not args.scenario:
        print(f"kampung sim: {args.device} has no built-in scenario yet; pass --scenario", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        proc, events, problems = simulate(
            args.device, board=args.board, scenario=args.scenario, trace=args.trace,
            runtime=args.runtime, out=args.out, duration_ms=args.duration_ms, heap_kb=args.heap_kb)
    except (ScenarioError, traces.TraceError, boards.BoardError, runtimes.RuntimeMissing) as e:
        print(f"kampung sim: {e}", file=sys.stderr)
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
    crashed = [e for e in events if e["kind"] == "exception"]
    if crashed:
        e = crashed[0]
        print(f"kampung sim: the firmware stopped at {e['t_ms']} ms with {e['type']}: {e['message']}",
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
