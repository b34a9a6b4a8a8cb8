"""``kampung sim`` end to end: the shoe on its built-in scenario and on every real recording,
on both runtimes. The event log must show the feedback following the recorded distances."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kampung import FIRMWARE, SHARED_DATA, VIRTUAL, runtimes, sim

RUNTIMES = runtimes.RUNTIMES
TRACES = sorted((SHARED_DATA / "hcsr04").glob("*/*.csv")) if (SHARED_DATA / "hcsr04").is_dir() else []

from kampung.shoe_check import expected_states, latencies, logic, on_fraction, zone_intervals  # noqa: E402

DUTY = {0: 1.0, 1: 60 / 200, 2: 60 / 450, 3: 60 / 900, logic.CLEAR: 0.0}
TOLERANCE = 0.03  # zone 3 (0.067) and clear (0) must be told apart


def run(tmp_path: Path, runtime: str, **kwargs):
    out = tmp_path / f"events-{runtime}.jsonl"
    proc, events, problems = sim.simulate("blind_shoe", runtime=runtime, out=out, **kwargs)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out.read_bytes(), events, problems


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_default_scenario_is_deterministic(tmp_path, runtime):
    first, events, _ = run(tmp_path / "a", runtime)
    second, _, _ = run(tmp_path / "b", runtime)
    assert first == second, "same input and runtime must give the same bytes"
    kinds = {(e["part"], e["kind"]) for e in events}
    for want in [("buzzer", "pwm"), ("vibration", "pwm"), ("sonar", "ping"), ("sonar", "input"),
                 ("button", "input"), ("system", "boot"), ("system", "log")]:
        assert want in kinds, f"missing {want} in {sorted(kinds)}"
    assert events[-1]["kind"] == "end" and events[-1]["t_ms"] == 30000


def test_both_runtimes_agree_on_the_default_scenario(tmp_path):
    mp, _, _ = run(tmp_path, "micropython")
    cp, _, _ = run(tmp_path, "cpython")
    assert mp == cp, "the built-in scenario gives the same event log on both runtimes"


def check_feedback_follows(events):
    """Over every stretch of >= 3 s in one state, the buzzer's on-time matches the pattern."""
    states = expected_states(events)
    intervals = zone_intervals(events)
    checked = 0
    for i in range(len(states) - 1):
        t0, zone = states[i]
        j = i
        while j + 1 < len(states) and states[j + 1][1] == zone:
            j += 1
        t1 = states[j][0] if j + 1 >= len(states) else states[j + 1][0]
        if t1 - t0 < 3000 or zone not in DUTY or t0 < 1500:
            continue
        frac = on_fraction(intervals, t0 + 100, t1)
        assert abs(frac - DUTY[zone]) < TOLERANCE, f"zone {zone} from {t0} to {t1} ms: on {frac:.3f}"
        checked += 1
    return checked


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_default_walk_feedback_follows_distance(tmp_path, runtime):
    _, events, _ = run(tmp_path, runtime)
    assert check_feedback_follows(events) >= 2


@pytest.mark.skipif(not TRACES, reason=f"shared data not found at {SHARED_DATA / 'hcsr04'}")
@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("trace", TRACES, ids=lambda p: p.parent.name)
def test_real_trace_feedback_follows_recording(tmp_path, runtime, trace):
    data, events, problems = run(tmp_path, runtime, trace=trace)
    _TRACE_LOGS[(trace, runtime)] = data
    assert problems == [], problems
    pings = [e for e in events if e["kind"] == "ping"]
    assert pings and pings[0]["t_ms"] < 100
    assert events[-1]["kind"] == "end"
    assert not [e for e in events if e["kind"] == "exception"], "the firmware crashed"
    checked = check_feedback_follows(events)
    assert checked >= 1, "no stretch of the recording was long enough to check"
    lat = latencies(events)
    assert lat and max(lat) <= 60, f"pattern must follow within one 60 ms cycle: max {max(lat)} ms"
    first = latencies(events, since="first", warnings_only=True)
    assert first and max(first) <= 150, f"closer obstacle warned within 150 ms: max {max(first)} ms"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_walk_starting_5s_before_the_tick_wrap(tmp_path, runtime):
    scen = json.loads(sim.DEFAULT_SCENARIO["blind_shoe"].read_text())
    scen["start_ticks_ms"] = (1 << 30) - 5000
    scen["inputs"][0]["trace"] = str(sim.SCENARIOS / "walk.csv")
    path = tmp_path / "wrap.json"
    path.write_text(json.dumps(scen))
    _, events, _ = run(tmp_path, runtime, scenario=path)
    assert check_feedback_follows(events) >= 2
    lat = latencies(events)
    assert lat and max(lat) <= 60, lat
    logs = [e["text"] for e in events if e["kind"] == "log"]
    ticks = [int(t[1:t.index("]")]) for t in logs]
    assert ticks[0] == (1 << 30) - 5000 and ticks[-1] < 30000, f"console ticks wrapped: {ticks}"


_TRACE_LOGS: dict = {}


@pytest.mark.skipif(not TRACES, reason=f"shared data not found at {SHARED_DATA / 'hcsr04'}")
@pytest.mark.parametrize("trace", TRACES, ids=lambda p: p.parent.name)
def test_runtimes_agree_on_real_traces(tmp_path, trace):
    # found by a break-it session: CPython ran same-millisecond tasks in another order than
    # MicroPython, and long_plateaus drifted apart after 512 s
    logs = []
    for runtime in RUNTIMES:
        if (trace, runtime) not in _TRACE_LOGS:
            _TRACE_LOGS[(trace, runtime)] = run(tmp_path / runtime, runtime, trace=trace)[0]
        logs.append(_TRACE_LOGS[(trace, runtime)])
    assert logs[0] == logs[1], "MicroPython and CPython must write the same event log"


def test_scenario_errors_name_file_and_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"device": "blind_shoe",\n "inputs": [{"at_ms": 0, "part": "sonar", "cms": 3}]}')
    with pytest.raises(sim.ScenarioError, match=r"bad.json: inputs\[0\]: unknown key 'cms'; valid: \['cm',"):
        sim.load_scenario(bad)
    bad.write_text('{"device": "blind_shoe",\n "inputs": [}')
    with pytest.raises(sim.ScenarioError, match=r"bad.json:2:\d+: not valid JSON"):
        sim.load_scenario(bad)
    bad.write_text('{"device": "blind_shoe", "duraton_ms": 5}')
    with pytest.raises(sim.ScenarioError, match="duraton_ms"):
        sim.load_scenario(bad)


BAD_SCENARIOS = [
    # found by a break-it session: each of these gave a traceback, a silent reinterpretation,
    # a hang or an exit code of 0
    ('{"inputs":[{"at_ms":100,"part":"sonr","cm":30}]}', "inputs[0]: part 'sonr'"),
    ('{"inputs":[{"at_ms":100,"part":"sonar","cm":"near"}]}', "'cm' is 'near'"),
    ('{"inputs":[{"at_ms":1,"part":"battery"}]}', "exactly one of ['volts']"),
    ('{"inputs":[{"at_ms":1,"part":"button","press_ms":"long"}]}', "'press_ms' is 'long'"),
    ('{"inputs":[{"at_ms":1,"part":"button","trace":"x.csv"}]}', "unknown key 'trace'"),
    ('{"inputs":[{"at_ms":0,"part":"sonar","fault":"smoke"}]}', "'fault' is 'smoke'"),
    ('{"inputs":[{"at_ms":0,"part":"sonar","cm":NaN}]}', "NaN is not a JSON number"),
    ('{"duration_ms":"abc"}', "'duration_ms' is 'abc'"),
    ('{"duration_ms":0}', "'duration_ms' is 0"),
    ('{"duration_ms":-500}', "'duration_ms' is -500"),
    ('{"duration_ms":100000000000}', "one day"),
    ('{"start_ticks_ms":5.5}', "'start_ticks_ms' is 5.5"),
    ('{"start_ticks_ms":1073741830}', "wrap at 2**30"),
    ('{"inputs":5}', "'inputs' must be a JSON list"),
    ('{"config":[1,2]}', "'config' must be a JSON object"),
    ('{"parts":[1]}', "'parts' must be a JSON object"),
    ('{"parts":{"sonnar":{}}}', "'sonnar' is not a part"),
    ('{"parts":{"sonar":{"variant":"srf05"}}}', "'variant' is 'srf05'"),
    ('{"config":{"device":"kandig"}}', "'device' comes from the scenario"),
    ('{"inputs":[{"at_ms":0,"part":"door_button","press_ms":5}]}', "has no part 'door_button'"),
]


@pytest.mark.parametrize("text,words", BAD_SCENARIOS, ids=[w for _, w in BAD_SCENARIOS])
def test_bad_scenarios_are_refused_before_running(tmp_path, capsys, text, words):
    scen = tmp_path / "s.json"
    scen.write_text(text)
    assert sim.main(["blind_shoe", "--scenario", str(scen), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "s.json" in err and words in err and "Traceback" not in err, err


def test_bad_files_and_paths_are_clear_errors(tmp_path, capsys):
    binary = tmp_path / "g.json"
    binary.write_bytes(b"\x00\xff\xfe")
    assert sim.main(["blind_shoe", "--scenario", str(binary)]) == 2
    assert "UTF-8" in capsys.readouterr().err
    assert sim.main(["blind_shoe", "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert sim.main(["blind_shoe", "--trace", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
    wild = tmp_path / "wild.csv"
    wild.write_text("timestamp,distance\n1750000000.0,50\n1750000000.1,40\n4102444800.0,45\n")
    assert sim.main(["blind_shoe", "--trace", str(wild)]) == 2
    assert "more than a day" in capsys.readouterr().err
    assert sim.main(["blind_shoe", "--duration-ms", "-100"]) == 2


def test_cpython_tracebacks_stay_out_of_the_event_log(tmp_path):
    # found by a break-it session: CPython's traceback module printed through the console
    # hook, so host paths landed in the event log as device 'log' lines
    scen = tmp_path / "s.json"
    scen.write_text(json.dumps({"duration_ms": 500, "config": {"blind_shoe": {"pulse_ms": 5}}}))
    logs = []
    for runtime in RUNTIMES:
        _, events, _ = run(tmp_path / runtime, runtime, scenario=scen)
        logs.append([e for e in events if e["kind"] in ("log", "exception")])
        assert not [t for t in logs[-1] if "Traceback" in str(t)], logs[-1]
    assert logs[0] == logs[1], logs


def test_malformed_trace_rows_are_reported_not_fatal(tmp_path, capsys):
    trace = tmp_path / "walk.csv"
    trace.write_text("t_ms,distance_cm\n0,100\n100,abc\n200,90\n300,80\n")
    rc = sim.main(["blind_shoe", "--trace", str(trace), "--runtime", "cpython", "--quiet",
                   "--out", str(tmp_path / "e.jsonl")])
    err = capsys.readouterr().err
    assert rc == 0
    assert "walk.csv:3" in err and "abc" in err, err


def config_errors(events):
    return [e["text"] for e in events if e["kind"] == "log" and "] ERROR:" in e["text"]]


def test_bad_config_is_reported_and_the_shoe_runs_on_safe_defaults(tmp_path):
    scen = tmp_path / "s.json"
    scen.write_text(json.dumps({"device": "blind_shoe", "duration_ms": 1000,
                                "config": {"blind_shoe": {"zones_cm": [10, 5, 30, 40]}}}))
    for runtime in RUNTIMES:
        _, events, _ = run(tmp_path / runtime, runtime, scenario=scen)
        errors = config_errors(events)
        assert errors and "config.json [blind_shoe]" in errors[0] and "zones_cm" in errors[0], errors
        assert "safe defaults" in errors[0]
        assert [e for e in events if e["kind"] == "pwm" and e["duty"] > 0], "the shoe still works"
        assert not [e for e in events if e["kind"] in ("exception", "reset")]


def test_language_setting_changes_device_texts(tmp_path):
    for lang, words in (("id", "jangkauan 300 cm"), ("en", "range 300 cm")):
        scen = json.loads(sim.DEFAULT_SCENARIO["blind_shoe"].read_text())
        scen["config"]["blind_shoe"]["lang"] = lang
        scen["inputs"][0]["trace"] = str(sim.SCENARIOS / "walk.csv")
        path = tmp_path / f"{lang}.json"
        path.write_text(json.dumps(scen))
        _, events, _ = run(tmp_path / lang, "micropython", scenario=path)
        logs = " | ".join(e["text"] for e in events if e["kind"] == "log")
        assert words in logs, logs


def test_flat_config_is_refused_not_ignored(tmp_path):
    scen = tmp_path / "flat.json"
    scen.write_text(json.dumps({"device": "blind_shoe", "duration_ms": 500,
                                "config": {"zones_cm": [60, 100, 150, 200]}}))
    _, events, _ = run(tmp_path, "micropython", scenario=scen)
    errors = config_errors(events)
    assert errors and "'zones_cm'" in errors[0] and '"blind_shoe"' in errors[0], errors


def test_cli_exit_codes_for_crash_and_missing_trace(tmp_path, capsys):
    scen = tmp_path / "bad.json"
    scen.write_text(json.dumps({"device": "blind_shoe", "duration_ms": 500,
                                "config": {"blind_shoe": {"pulse_ms": 5}}}))
    assert sim.main(["blind_shoe", "--scenario", str(scen), "--quiet"]) == 3
    assert "pulse_ms" in capsys.readouterr().err
    assert sim.main(["blind_shoe", "--trace", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv not found" in capsys.readouterr().err
    scen.write_text(json.dumps({"device": "blind_shoe", "inputs": [
        {"at_ms": 0, "part": "sonar", "trace": "walk.csv"}]}))
    assert sim.main(["blind_shoe", "--scenario", str(scen)]) == 2
    assert "relative to the scenario file" in capsys.readouterr().err


SLEEPER = '''import machine
rtc = machine.RTC()
print("boot", machine.reset_cause(), bytes(rtc.memory()))
rtc.memory(b"kept")
machine.deepsleep(60000)
'''


def _sleeper(tmp_path: Path, runtime: str, inputs: list, duration_ms: int) -> list:
    """A firmware that prints its reset cause and RTC memory, writes the memory, deep-sleeps 60 s."""
    fw = tmp_path / "fw"
    fw.mkdir()
    (fw / "main.py").write_text(SLEEPER)
    scen = tmp_path / "s.json"
    scen.write_text(json.dumps({"device": "blind_shoe", "duration_ms": duration_ms, "inputs": inputs}))
    proc, events, _ = sim.simulate("blind_shoe", runtime=runtime, scenario=scen, out=tmp_path / "e.jsonl",
                                   roots=(VIRTUAL, fw))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert events and events[-1]["kind"] == "end", events[-3:]
    return events


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_power_cut_during_deep_sleep_boots_from_power_on_without_rtc_memory(tmp_path, runtime):
    # boot 1 at 0 s sleeps to 60 s; the power goes at 30 s for 1 s (and, while it is off, once
    # more: a second cut inside the first); boot 2 at 31.5 s sleeps to 91.5 s, boot 3 then
    events = _sleeper(tmp_path, runtime, [{"at_ms": 30000, "part": "power", "off_ms": 1000},
                                          {"at_ms": 30500, "part": "power", "off_ms": 1000}], 100000)
    boots = [(e["t_ms"], e["cause"]) for e in events if e["kind"] == "boot"]
    pwron, deepsleep = 1, 4  # machine.PWRON_RESET, machine.DEEPSLEEP_RESET on the ESP32 port
    assert boots == [(0, pwron), (31500, pwron), (91500, deepsleep)], boots
    resets = [(e["t_ms"], e["why"]) for e in events if e["kind"] == "reset"]
    assert resets == [(0, "deepsleep"), (30000, "power cut"), (30500, "power cut"),
                      (31500, "deepsleep"), (91500, "deepsleep")], resets
    said = [e["text"] for e in events if e["kind"] == "log"]
    # the RTC's slow memory kept through deep sleep, lost in the power cut
    assert said == ["boot 1 b''", "boot 1 b''", "boot 4 b'kept'"], said


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_power_cut_after_the_firmware_stopped_reboots_it(tmp_path, runtime):
    # main raising an exception leaves the board idle at the REPL; the power still comes back
    fw = tmp_path / "fw"
    fw.mkdir()
    (fw / "main.py").write_text('import machine\nprint("boot", machine.reset_cause())\nraise ValueError("x")\n')
    scen = tmp_path / "s.json"
    scen.write_text(json.dumps({"device": "blind_shoe", "duration_ms": 5000,
                                "inputs": [{"at_ms": 2000, "part": "power", "off_ms": 500}]}))
    proc, events, _ = sim.simulate("blind_shoe", runtime=runtime, scenario=scen, out=tmp_path / "e.jsonl",
                                   roots=(VIRTUAL, fw))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    boots = [(e["t_ms"], e["cause"]) for e in events if e["kind"] == "boot"]
    assert boots == [(0, 1), (2500, 1)], boots
    assert [e["kind"] for e in events].count("exception") == 2


ADC_PROBE = '''import json
from kit.hal import Hal
with open("board.json") as f:
    hal = Hal(json.load(f))
adc = hal.adc("battery")
print("adc", hal.adc_max_uv(), adc.read_uv(), adc.read())
'''


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("board,top_uv", [("esp32_devkitc", 3100000), ("esp32c3_supermini", 2500000),
                                          ("esp32s3_devkitc1", 3100000)])
def test_the_virtual_adc_reads_up_to_the_chips_top_and_the_hal_says_where(tmp_path, runtime, board, top_uv):
    # 3.0 V at the pin (6 V through the shoe's 2:1 battery divider): an ESP32 or S3 reads it
    # (11 dB: 0-3.1 V), an ESP32-C3 clips at 2.5 V (ESP-IDF ADC guide, ADC Attenuation)
    fw = tmp_path / "fw"
    shutil.copytree(FIRMWARE / "lib", fw / "lib")
    (fw / "main.py").write_text(ADC_PROBE)
    scen = tmp_path / "s.json"
    scen.write_text(json.dumps({"device": "blind_shoe", "duration_ms": 100,
                                "parts": {"battery": {"volts": 6.0, "divider": 2.0}}}))
    proc, events, _ = sim.simulate("blind_shoe", board=board, runtime=runtime, scenario=scen,
                                   out=tmp_path / "e.jsonl", roots=(VIRTUAL, fw))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    said = [e["text"].split() for e in events if e["kind"] == "log" and e["text"].startswith("adc")]
    assert len(said) == 1, [e for e in events if e["kind"] in ("log", "exception")]
    _, max_uv, uv, raw = said[0]
    assert int(max_uv) == top_uv, said
    if top_uv < 3000000:
        assert (int(uv), int(raw)) == (top_uv, 4095), f"{board}: 3.0 V must clip at the top: {said}"
    else:
        assert abs(int(uv) - 3000000) < 1000 and int(raw) < 4095, f"{board}: 3.0 V reads as such: {said}"


@pytest.mark.parametrize("text", [
    '{"device": "akrubutan", "parts": {"soil_probe": {"values": {"k": 65536}}}}',
    '{"device": "akrubutan", "inputs": [{"at_ms": 0, "part": "soil_probe", "values": {"ph": 700}}]}',
    '{"device": "akrubutan", "inputs": [{"at_ms": 0, "part": "soil_probe", "values": {"temperature": -3300}}]}',
])
def test_a_probe_value_its_registers_cannot_hold_is_refused(tmp_path, capsys, text):
    """Found by the break test of 2026-12-04: k 65536 wrapped to 0 in the virtual probe's
    16-bit register and the meter said rendah."""
    scen = tmp_path / "s.json"
    scen.write_text(text)
    assert sim.main(["akrubutan", "--scenario", str(scen), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "s.json" in err and "k -32768-65535" in err and "ph -327.68-655.35" in err, err
    assert "Traceback" not in err, err
