"""``kampung bench`` (``make bench``): memory, latency, speed, size and security figures of the
shoe, the Kuword lock, Akrubutan (tools/kampung/bench_akrubutan.py) and Kandig
(tools/kampung/bench_kandig.py).

Prints a table and rewrites docs/benchmarks.md. Figures are counts, bytes and ratios (device
time per wall second), not raw times, so a busy machine does not blur them. See each function
for what exactly is measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from kampung import FIRMWARE, ROOT, SHARED_DATA, VIRTUAL, runtimes, shoe_check, sim

DOC = ROOT / "docs" / "benchmarks.md"
NOTES = """
Notes:
- Heap figures run the virtual hardware and the firmware precompiled with mpy-cross, as a
  board would load them. The virtual board's own modules (machine, time, the parts) live in the
  same MicroPython heap; on an ESP32 those are built in and cost no heap. So the firmware's share
  is the difference between a run with the firmware and the same scenario without it.
- The smallest heap is found by bisection and moves by a few KB with the heap's layout (for
  example the length of temporary paths): the MicroPython GC does not compact, so the answer
  depends on fragmentation, not only on the live total.
- Latency: for every state change the firmware's own logic confirms on the recorded pings, the
  time until the buzzer shows the new pattern, counted from the confirming reading (the filter
  needs two agreeing echoes) and from the first reading that showed the closer zone (includes
  the filter's delay); a wrong rhythm counts as infinite (see `tools/kampung/shoe_check.py`).
- Faults allocate: the driver raises an exception each cycle while the sensor is unplugged or
  its ECHO is stuck; the figure is shown, not a target (the fault pattern plays meanwhile).
- Kuword's and Kandig's heaps are over the 48 KB target. Nearly all of it is code: each
  imported .mpy module costs RAM for its bytecode, constants, function objects and interned
  names (Kuword's app.py about 13 KB; Kandig's kit.mqtt about 16 KB, app.py about 12 KB); the
  live objects and asyncio tasks are a few KB. The figures come from the 64-bit unix port. A
  one-off check on the 32-bit WebAssembly port (MicroPython 1.27, the same .mpy files) found
  imports cost about the same there (kit.mqtt 19 KB), so these figures are not inflated for an
  ESP32: bytecode is bytes, not pointers. An ESP32 without PSRAM has roughly 100 KB or more of
  GC heap free for Python; freezing the modules into a custom MicroPython image would move the
  code to flash. A one-off check of the other way, a ROMFS image (`mpremote romfs build`, the
  same .mpy files, mounted with the unix port's `vfs.VfsRom`): importing each app costs 30 KB
  (Kuword), 31 KB (Kandig), 28 KB (Akrubutan) instead of 54, 55 and 53 KB, about 44 % less, as
  bytecode and constants stay in flash; still above 48 KB for the whole device, and stock
  ESP32 images have no ROMFS partition (a custom image is needed for either way).
- Kandig latency: N houses, each the real firmware in its own MicroPython process in real time,
  on the same two cores as Mosquitto. The target's baseline is N-1 bare MicroPython subscriber
  processes (tools/kampung/bench_sub.py: receive, stamp, nothing else), measured in rounds
  alternating with the presses beside the running houses, and also alone before the houses
  start; "other processes" is the CPU other jobs on the machine used meanwhile. The remaining
  gap is CPU: on 2 cores the last house waits for the others' work, and the real firmware's
  receive-to-siren path costs about 2-4x a bare receive loop (one-off measurements: 210-450 us
  of CPU an alert, from /proc over 1000 alerts, vs ~105 us; inside it, timed with the host
  clock, the JSON check 18 us, the handler 70 us of which the siren's start 31 us and the
  console line 35 us; the rest is the MQTT read, the PUBACK and the siren's player task).
  Houses stamp events in whole milliseconds. "press -> siren" includes the pressing house's
  30 ms debounce and its button poll; "publish -> siren" starts at the alert's log line, just
  before the outbox hands it to MQTT (see tools/kampung/bench_kandig.py).
- Kandig hub: `kampung hub run` as its own process; its CPU time from /proc over the wall time
  of the load.
- Kuword's attack figures come from tools/kampung/kuword_attack.py, which uses the firmware's
  own lockout rule and is checked against the firmware on the virtual board by
  host_tests/test_kuword_attack.py; a PIN check is counted as 0.3 s (docs/pin-store.md).
- Akrubutan (tools/kampung/bench_akrubutan.py): the heap as for the shoe and Kuword, on
  `scenarios/akrubutan_bench.json` (one press measuring with every sensor answering). The awake
  time is virtual time in `scenarios/akrubutan_bench_sleep.json` (default settings,
  `sleep_min` 30): from the wake to the deep-sleep reset, split at the device's own console
  lines; the waits are (samples - 1) x `sample_ms`, the DS18B20 samples x 750 ms. Virtual time
  leaves out the ESP32's own start and flash writes: the battery model adds 1 s a wake.
  Battery: two 2600 mAh 18650 cells in parallel (one TP4056-type charger, no cell balancing),
  3.7 V, 80 % usable; 5 V and 12 V from boost converters at 85 %; a DevKitC makes its 3.3 V with
  a linear regulator from 5 V. Currents: ESP32 at 160 MHz (MicroPython's default) without
  Wi-Fi 44 mA, the top of the datasheet's 27-44 mA, and 10 uA in deep sleep (Espressif, ESP32
  Series Datasheet v3.5, power modes table); ESP32-DevKitC V4 overhead 3.8 mA in deep sleep
  (measured at 5 V by lucidar.me: regulator, USB-UART bridge, LED; the AMS1117 datasheet alone
  says 5 mA typical quiescent); a bare module's HT7333-class LDO 4 uA; RS485 probe 0.15 W at
  12 V (JXCT JXBS-3001 manual VER1.1, Renke RS-NPK-N01-TR manual, DFRobot SEN0605; the shared
  Modbus data gives no current); PH-4502C-type pH module 10 mA at 5 V (sellers' "5-10 mA");
  capacitive moisture probe 5 mA (DFRobot SEN0193); DS18B20 1 mA converting, 750 nA standby
  (Maxim datasheet); SSD1306 module about 10 mA showing text (an estimate: it grows with the
  pixels lit), <= 20 uA in sleep mode (Solomon Systech datasheet); RS-485 transceiver about
  1 mA. Whether the sensors' supply was switched is read from the event log (the optional
  `sensor_power` role: a GPIO-driven P-MOSFET high-side switch, on at the wake with a 1 s
  warm-up, off before deep sleep); a DevKitC without the switch fitted keeps them powered
  through deep sleep ("as wired").
"""
def run_sim(runtime="micropython", device="blind_shoe", **kwargs):
    """One simulation of a device on its standard scenario; returns (process, events, event
    log bytes)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "e.jsonl"
        proc, events, _ = sim.simulate(device, runtime=runtime, out=out, **kwargs)
        return proc, events, out.read_bytes() if out.exists() else b""


def compiled_roots(tmp: Path) -> tuple[Path, Path]:
    """The virtual hardware and the firmware precompiled with mpy-cross, as a board runs them
    after `kampung build`: no RAM spent compiling source at import."""
    roots = (tmp / "virtual", tmp / "firmware")
    runtimes.compile_tree(VIRTUAL, roots[0], keep_source=("simrun.py",))
    runtimes.compile_tree(FIRMWARE, roots[1])
    return roots


def peak_heap(roots, device="blind_shoe", scenario: Path | None = None) -> dict:
    """Live GC heap (gc.collect() then gc.mem_alloc() every 100 ms of device time) in the
    device's standard scenario (or ``scenario``), with the firmware and with the virtual board
    alone; the difference is what the firmware holds."""
    _, events, _ = run_sim(device=device, scenario=scenario, extra={"heap_probe": 100}, roots=roots)
    _, base, _ = run_sim(device=device, scenario=scenario, extra={"heap_probe": 100, "no_firmware": True},
                         roots=roots)
    peak = max(e["live"] for e in events if e["kind"] == "heap")
    baseline = max((e["live"] for e in base if e["kind"] == "heap"), default=0)
    return {"peak_live": peak, "baseline": baseline, "firmware": peak - baseline}


def smallest_heap(roots, no_firmware=False, device="blind_shoe", scenario: Path | None = None) -> int:
    """Smallest -X heapsize (KB) at which the standard scenario (or ``scenario``) gives the
    same event log."""
    extra = {"no_firmware": True} if no_firmware else None
    _, _, reference = run_sim(device=device, scenario=scenario, roots=roots, extra=extra)

    def ok(kb):
        try:
            proc, _, data = run_sim(device=device, scenario=scenario, heap_kb=kb, roots=roots, extra=extra)
        except ValueError:  # the run ran out of memory in the middle of an event-log line
            return False
        return proc.returncode == 0 and data == reference

    lo, hi = 4, 256  # lo fails, hi works
    if not ok(hi):
        return -1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def alloc_per_cycle() -> list[dict]:
    proc = runtimes.run("micropython", VIRTUAL / "bench_alloc.py", [])
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout + proc.stderr)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def trace_latency() -> list[dict]:
    rows = []
    traces = sorted((SHARED_DATA / "hcsr04").glob("*/*.csv"))
    for trace in traces:
        _, events, _ = run_sim(trace=trace)
        lat = shoe_check.latencies(events)
        first = shoe_check.latencies(events, since="first", warnings_only=True)
        rows.append({"trace": trace.parent.name, "changes": len(lat),
                     "median_ms": statistics.median(lat) if lat else None,
                     "max_ms": max(lat) if lat else None,
                     "closer": len(first), "first_median_ms": statistics.median(first) if first else None,
                     "first_max_ms": max(first) if first else None})
    return rows


def speed() -> dict:
    """Device seconds simulated per wall second, one minute of the walk scenario."""
    out = {}
    for runtime in runtimes.RUNTIMES:
        start = time.perf_counter()
        proc, _, _ = run_sim(runtime, duration_ms=60000)
        wall = time.perf_counter() - start
        out[runtime] = round(60 / wall, 1) if proc.returncode == 0 else None
    return out


def bundle(device="blind_shoe") -> dict:
    """Size of a device's code as `kampung build` bundles it: source, and .mpy (main.py stays
    source in both)."""
    from kampung import build

    def code(manifest):
        return sum(f["size"] for rel, f in manifest["files"].items() if rel.endswith((".py", ".mpy")))

    with tempfile.TemporaryDirectory() as tmp:
        none = Path(tmp) / "no-secrets.json"
        plain = build.build(device, "esp32_devkitc", Path(tmp) / "src", secrets=none)
        mpy = build.build(device, "esp32_devkitc", Path(tmp) / "mpy", mpy=True, secrets=none)
    files = sum(1 for rel in plain["files"] if rel.endswith(".py"))
    return {"files": files, "plain": code(plain), "mpy": code(mpy)}


def deploy_figures() -> dict:
    """Full deploy, then a one-file redeploy, to a virtual board with the real mpremote: files
    and bytes sent, and wall time as a multiple of one `mpremote fs cp` of one file (so the
    machine's speed cancels out)."""
    from kampung import build, deploy
    from kampung.vboard import VirtualBoard

    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        build.build("blind_shoe", "esp32_devkitc", bundle, secrets=Path(tmp) / "none.json")
        with VirtualBoard(Path(tmp) / "flash") as vb:
            start = time.perf_counter()
            deploy.mpremote(vb.port, "fs", "cp", str(bundle / "main.py"), ":probe.py")
            one_cp = time.perf_counter() - start
            start = time.perf_counter()
            full = deploy.deploy(bundle, vb.port, progress=lambda s: None)
            full_t = time.perf_counter() - start
            log = bundle / "lib/kit/log.py"
            log.write_text(log.read_text() + "# bench\n")
            manifest = json.loads((bundle / "manifest.json").read_text())
            manifest["files"]["lib/kit/log.py"] = {"size": log.stat().st_size, "sha256": build.sha256(log)}
            (bundle / "manifest.json").write_text(json.dumps(manifest))
            start = time.perf_counter()
            one = deploy.deploy(bundle, vb.port, progress=lambda s: None)
            one_t = time.perf_counter() - start
    return {"full_files": len(full["sent"]), "full_bytes": full["bytes"], "full_x": full_t / one_cp,
            "one_files": len(one["sent"]), "one_bytes": one["bytes"], "one_x": one_t / one_cp}


def kuword_figures(roots) -> dict:
    """Kuword: heap in its standard scenario (tools/kampung/scenarios/kuword_day.json: setup,
    menu, openings, lockout, power cut, alarms), the cost of one PIN check, the attack model."""
    from kampung import bench_pbkdf2, kuword_attack

    return {"heap": peak_heap(roots, "kuword"), "small": smallest_heap(roots, device="kuword"),
            "small_base": smallest_heap(roots, no_firmware=True, device="kuword"),
            "pbkdf2": bench_pbkdf2.measure(), "attack": kuword_attack.figures(),
            "size": bundle("kuword")}


def heap_rows(device: str, scenario: str, noun: str, k: dict) -> list[tuple[str, str, str, bool | None]]:
    """The three heap rows of a device: peak live heap, smallest -X heapsize with and without
    the firmware, and their difference (``k`` has heap, small, small_base)."""
    heap, need = k["heap"], k["small"] - k["small_base"]
    return [
        (f"{device}: peak live GC heap of the firmware, {scenario}",
         f"{heap['firmware']} B (whole simulation {heap['peak_live']} B, virtual board alone "
         f"{heap['baseline']} B)", "<= 48 KB", heap["firmware"] <= 48 * 1024),
        (f"{device}: smallest -X heapsize, whole simulation / virtual board alone",
         f"{k['small']} KB / {k['small_base']} KB", "", None),
        (f"{device}: ... difference: heap the {noun} needs", f"{need} KB", "<= 48 KB", need <= 48),
    ]


def kuword_rows(k: dict) -> list[tuple[str, str, str, bool | None]]:
    p, a, size = k["pbkdf2"], k["attack"], k["size"]
    none = a["none"]
    return heap_rows("kuword", "standard lock scenario", "lock", k) + [
        ("kuword: one PIN check, PBKDF2-HMAC-SHA256 iterations", f"{p['iterations']}",
         "~0.3 s on an ESP32 at 240 MHz (docs/pin-store.md)", None),
        ("kuword: one PIN check in plain `hashlib.sha256` of 64 bytes, MicroPython on this machine",
         f"{p['check_in_hashes']}x ({p['hashes_per_iteration']} per iteration; check {p['check_ms']} ms, "
         f"one hash {p['sha256_64_us']} us)", "", None),
        ("kuword: attacker's answered guesses, default policy, no power cuts",
         f"{none['first_day']} the first day, then {none['per_day_later']} a day", "", None),
        ("kuword: ... cutting the power at each lockout",
         f"{a['lockout']['first_day']} the first day, then {a['lockout']['per_day_later']} a day",
         "no more than without cuts", a["lockout"]["first_day"] <= none["first_day"]),
        ("kuword: ... cutting the power during each check", f"{a['check']['first_day']} answered", "0",
         a["check"]["first_day"] == 0),
        ("kuword: expected time to find a 6-digit PIN (one code)", f"{none['years_one_code']} years",
         "> 10 years", none["years_one_code"] > 10),
        ("kuword: ... to hit any one of 22 codes (master, 20 users, duress)",
         f"{none['years_any_of_22']} years", "", None),
        (f"kuword bundle ({size['files']} files)",
         f"{size['plain']} B source, {size['mpy']} B .mpy ({size['mpy'] / size['plain']:.0%})", "", None),
    ]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kampung bench")
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory(prefix="kampung-bench-")
    roots = compiled_roots(Path(tmp.name))
    heap = peak_heap(roots)
    small = smallest_heap(roots)
    small_base = smallest_heap(roots, no_firmware=True)
    allocs = alloc_per_cycle()
    lat = trace_latency() if (SHARED_DATA / "hcsr04").is_dir() else []
    spd = speed()
    size = bundle()
    dep = deploy_figures()
    lock = kuword_figures(roots)
    from kampung import bench_akrubutan, bench_kandig

    soil = bench_akrubutan.figures(roots)
    kandig = bench_kandig.figures(roots)
    rows: list[tuple[str, str, str, bool | None]] = [
        ("peak live GC heap of the firmware, standard scenario",
         f"{heap['firmware']} B (whole simulation {heap['peak_live']} B, virtual board alone "
         f"{heap['baseline']} B)", "<= 48 KB", heap["firmware"] <= 48 * 1024),
        ("smallest -X heapsize, whole simulation (firmware + virtual board)", f"{small} KB", "", None),
        ("... the virtual board alone (same scenario, no firmware)", f"{small_base} KB", "", None),
        ("... difference: heap the firmware needs", f"{small - small_base} KB", "<= 48 KB",
         small - small_base <= 48),
    ]
    for a in allocs:
        fault = "fault" in a["case"]
        rows.append((f"heap bytes per measurement cycle, {a['case']}",
                     f"{a['bytes_per_cycle']:g} (over {a['cycles']} cycles)",
                     "" if fault else "0", None if fault else a["bytes_per_cycle"] == 0))
    for r in lat:
        rows.append((f"latency, confirming reading -> pattern, {r['trace']} ({r['changes']} changes)",
                     f"median {r['median_ms']} ms, max {r['max_ms']} ms", "<= 60 ms (one cycle)",
                     r["max_ms"] is not None and r["max_ms"] <= 60))
        rows.append((f"latency, first reading in a closer zone -> pattern, {r['trace']} "
                     f"({r['closer']} changes)",
                     f"median {r['first_median_ms']} ms, max {r['first_max_ms']} ms", "<= 150 ms",
                     r["first_max_ms"] is not None and r["first_max_ms"] <= 150))
    if not lat:
        rows.append(("obstacle-to-feedback latency", f"skipped: no traces at {SHARED_DATA}", "", None))
    for runtime, ratio in spd.items():
        rows.append((f"device time per wall time, 1 min walk, {runtime}", f"{ratio} x", "> 60 x",
                     ratio is not None and ratio > 60))
    rows.append(("full deploy to the virtual board", f"{dep['full_files']} files, {dep['full_bytes']} B, "
                 f"{dep['full_x']:.1f}x the time of one `mpremote fs cp`", "", None))
    rows.append(("redeploy after changing one file", f"{dep['one_files']} file, {dep['one_bytes']} B, "
                 f"{dep['one_x']:.1f}x the time of one `mpremote fs cp`", "1 file", dep["one_files"] == 1))
    rows.append((f"shoe bundle ({size['files']} files)",
                 f"{size['plain']} B source, {size['mpy']} B .mpy ({size['mpy'] / size['plain']:.0%})",
                 "", None))
    rows += kuword_rows(lock)
    rows += bench_akrubutan.rows(soil)
    rows += bench_kandig.rows(kandig)
    mark = {True: "yes", False: "**no**", None: ""}
    lines = ["| figure | value | target | met |", "|---|---|---|---|"]
    lines += [f"| {f} | {v} | {t} | {mark[m]} |" for f, v, t, m in rows]
    tmp.cleanup()
    table = "\n".join(lines)
    print(table)
    if not args.no_doc:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(
            "# Benchmarks\n\nLatest figures from `make bench` (`kampung bench`); rerun it after a "
            "change and commit the result.\nHow each figure is measured: docstrings in "
            "`tools/kampung/bench.py` and `tools/virtual/bench_alloc.py`.\n\n" + table + "\n"
            + NOTES)
        print(f"\nwritten to {DOC.relative_to(ROOT)}")
    return 0
