"""``kampung sim`` end to end: the shoe on its built-in scenario and on every real recording,
on both runtimes. The event log must show the feedback following the recorded distances."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kampung import SHARED_DATA, runtimes, sim

RUNTIMES = runtimes.RUNTIMES
TRACES = sorted((SHARED_DATA / "hcsr04").glob("*/*.csv")) if (SHARED_DATA / "hcsr04").is_dir() else []

from kampung.shoe_check import expected_states, latencies, logic, on_fraction, zone_intervals  # noqa: E402

DUTY = {0: 1.0, 1: 60 / 200, 2: 60 / 450, 3: 60 / 900, logic.CLEAR: 0.0}


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
    """Over every stretch of >= 2.5 s in one state, the buzzer's on-time matches the pattern."""
    states = expected_states(events)
    intervals = zone_intervals(events)
    checked = 0
    for i in range(len(states) - 1):
        t0, zone = states[i]
        j = i
        while j + 1 < len(states) and states[j + 1][1] == zone:
            j += 1
        t1 = states[j][0] if j + 1 >= len(states) else states[j + 1][0]
        if t1 - t0 < 2500 or zone not in DUTY or t0 < 1500:
            continue
        frac = on_fraction(intervals, t0 + 100, t1)
        assert abs(frac - DUTY[zone]) < 0.12, f"zone {zone} from {t0} to {t1} ms: on {frac:.2f}"
        checked += 1
    return checked


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_default_walk_feedback_follows_distance(tmp_path, runtime):
    _, events, _ = run(tmp_path, runtime)
    assert check_feedback_follows(events) >= 3


@pytest.mark.skipif(not TRACES, reason=f"shared data not found at {SHARED_DATA / 'hcsr04'}")
@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("trace", TRACES, ids=lambda p: p.parent.name)
def test_real_trace_feedback_follows_recording(tmp_path, runtime, trace):
    data, events, problems = run(tmp_path, runtime, trace=trace)
    assert problems == [], problems
    pings = [e for e in events if e["kind"] == "ping"]
    assert pings and pings[0]["t_ms"] < 100
    assert events[-1]["kind"] == "end"
    assert not [e for e in events if e["kind"] == "exception"], "the firmware crashed"
    checked = check_feedback_follows(events)
    assert checked >= 1, "no stretch of the recording was long enough to check"
    lat = latencies(events)
    assert lat and max(lat) <= 60, f"pattern must follow within one 60 ms cycle: max {max(lat)} ms"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_walk_starting_5s_before_the_tick_wrap(tmp_path, runtime):
    scen = json.loads(sim.DEFAULT_SCENARIO["blind_shoe"].read_text())
    scen["start_ticks_ms"] = (1 << 30) - 5000
    scen["inputs"][0]["trace"] = str(sim.SCENARIOS / "walk.csv")
    path = tmp_path / "wrap.json"
    path.write_text(json.dumps(scen))
    _, events, _ = run(tmp_path, runtime, scenario=path)
    assert check_feedback_follows(events) >= 3
    lat = latencies(events)
    assert lat and max(lat) <= 60, lat
    logs = [e["text"] for e in events if e["kind"] == "log"]
    ticks = [int(t[1:t.index("]")]) for t in logs]
    assert ticks[0] == (1 << 30) - 5000 and ticks[-1] < 30000, f"console ticks wrapped: {ticks}"


def test_scenario_errors_name_file_and_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"device": "blind_shoe",\n "inputs": [{"at_ms": 0, "part": "sonar", "cms": 3}]}')
    with pytest.raises(sim.ScenarioError, match=r"bad.json: inputs\[0\]: unknown key\(s\) \['cms'\]"):
        sim.load_scenario(bad)
    bad.write_text('{"device": "blind_shoe",\n "inputs": [}')
    with pytest.raises(sim.ScenarioError, match=r"bad.json:2:\d+: not valid JSON"):
        sim.load_scenario(bad)
    bad.write_text('{"device": "blind_shoe", "duraton_ms": 5}')
    with pytest.raises(sim.ScenarioError, match="duraton_ms"):
        sim.load_scenario(bad)


def test_malformed_trace_rows_are_reported_not_fatal(tmp_path, capsys):
    trace = tmp_path / "walk.csv"
    trace.write_text("t_ms,distance_cm\n0,100\n100,abc\n200,90\n300,80\n")
    rc = sim.main(["blind_shoe", "--trace", str(trace), "--runtime", "cpython", "--quiet",
                   "--out", str(tmp_path / "e.jsonl")])
    err = capsys.readouterr().err
    assert rc == 0
    assert "walk.csv:3" in err and "abc" in err, err


def test_bad_config_is_reported_by_the_firmware(tmp_path):
    scen = tmp_path / "s.json"
    scen.write_text(json.dumps({"device": "blind_shoe", "duration_ms": 1000,
                                "config": {"blind_shoe": {"zones_cm": [10, 5, 30, 40]}}}))
    for runtime in RUNTIMES:
        _, events, _ = run(tmp_path / runtime, runtime, scenario=scen)
        exc = [e for e in events if e["kind"] == "exception"]
        assert exc and "zones_cm" in exc[0]["message"] and "config.json" in exc[0]["message"], exc


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
    exc = [e for e in events if e["kind"] == "exception"]
    assert exc and "'zones_cm'" in exc[0]["message"] and '"blind_shoe"' in exc[0]["message"], exc


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
