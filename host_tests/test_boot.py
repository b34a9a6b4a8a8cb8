"""Boot on the virtual board: safe defaults for a broken config, a crash counter that ends a
crash loop in safe mode, and the watchdog fed only by a healthy app (both runtimes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kampung import FIRMWARE, VIRTUAL, runtimes, sim


def simulate(tmp_path, runtime, scenario: dict, firmware: Path = FIRMWARE):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"device": "blind_shoe", **scenario}))
    proc, events, _ = sim.simulate("blind_shoe", runtime=runtime, scenario=path,
                                   out=tmp_path / "e.jsonl", roots=(VIRTUAL, firmware))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return events


def logs(events):
    return [e["text"].split("] ", 1)[1] for e in events if e["kind"] == "log"]


def broken_firmware(tmp_path, patch: str) -> Path:
    """A copy of the firmware whose shoe misbehaves as ``patch`` (Python) says at start."""
    fw = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, fw)
    app = fw / "apps/blind_shoe/app.py"
    app.write_text(app.read_text().replace("def main(hal, settings):\n",
                                           "def main(hal, settings):\n" + patch))
    return fw


@pytest.mark.parametrize("runtime", runtimes.RUNTIMES)
@pytest.mark.parametrize("text", ['{"device": "blind_shoe", "blind_shoe": {"zones_c', "", "[1, 2]"],
                         ids=["cut-write", "empty", "not-an-object"])
def test_corrupt_config_boots_on_safe_defaults(tmp_path, runtime, text):
    events = simulate(tmp_path, runtime, {"duration_ms": 2000, "files": {"config.json": text},
                                          "inputs": [{"at_ms": 0, "part": "sonar", "cm": 30}]})
    errors = [t for t in logs(events) if t.startswith("ERROR")]
    assert errors and "config.json" in errors[0] and "safe defaults" in errors[0], logs(events)
    on = [e for e in events if e["kind"] == "pwm" and e["part"] == "buzzer" and e["duty"] > 0]
    assert on and on[-1]["freq"] == 2700, "the shoe warns at 30 cm on its defaults"
    assert [e["kind"] for e in events].count("boot") == 1, "no crash loop"


@pytest.mark.parametrize("runtime", runtimes.RUNTIMES)
def test_a_config_for_another_device_boots_on_safe_defaults(tmp_path, runtime):
    """Found by the break test of 2026-12-04: a kandig config.json on a lock board was taken
    without a word (and for a lock, relay_active then fell back to 1)."""
    text = '{"device": "kandig", "blind_shoe": {"zones_cm": [50, 90, 150, 220]}}'
    events = simulate(tmp_path, runtime, {"duration_ms": 2000, "files": {"config.json": text}})
    errors = [t for t in logs(events) if t.startswith("ERROR")]
    assert errors and "field 'device' is 'kandig', but this board runs blind_shoe" in errors[0], errors


@pytest.mark.parametrize("runtime", runtimes.RUNTIMES)
def test_a_crash_the_counter_cannot_record_is_safe_mode_even_with_the_watchdog_running(tmp_path, runtime):
    """Found by the break test of 2026-12-04: with crashes.json unwritable (a full flash; here a
    folder in its place) a crash stopped at the REPL with a bare OSError. Resetting uncounted
    would loop for ever (and keep mpremote out): it is safe mode, said as such, LED blinking."""
    # the app started its watchdog (2 s), which no ESP32 can stop, before it crashed
    fw = broken_firmware(tmp_path, "    hal.watchdog(2)\n    raise OSError(5)\n")
    flash = tmp_path / "flash"
    (flash / "crashes.json").mkdir(parents=True)
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"device": "blind_shoe", "duration_ms": 5000}))
    proc, events, _ = sim.simulate("blind_shoe", runtime=runtime, scenario=path, flash=flash,
                                   out=tmp_path / "e.jsonl", roots=(VIRTUAL, fw))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = logs(events)
    assert any("crashes.json could not be written" in t for t in text), text
    assert any("SAFE MODE (a crash that crashes.json cannot count)" in t for t in text), text
    assert not [e for e in events if e["kind"] == "reset"], "no reset loop: safe mode feeds the watchdog"


@pytest.mark.parametrize("runtime", runtimes.RUNTIMES)
def test_crash_loop_ends_in_safe_mode(tmp_path, runtime):
    fw = broken_firmware(tmp_path, "    raise OSError(5)  # a broken sensor module, say\n")
    events = simulate(tmp_path, runtime, {"duration_ms": 20000}, fw)
    boots = [e for e in events if e["kind"] == "boot"]
    resets = [e for e in events if e["kind"] == "reset"]
    assert len(boots) == 4 and len(resets) == 3, (boots, resets)
    text = logs(events)
    assert sum("ERROR: OSError" in t for t in text) == 3, text
    assert any("SAFE MODE (3 crashes within 60 s)" in t for t in text), text
    assert events[-1]["kind"] == "end" and events[-1]["t_ms"] == 20000


@pytest.mark.parametrize("runtime", runtimes.RUNTIMES)
def test_safe_mode_blinks_the_onboard_led(tmp_path, runtime):
    fw = broken_firmware(tmp_path, "    raise OSError(5)\n")
    events = simulate(tmp_path, runtime, {"duration_ms": 5000, "board": "esp32c3_supermini"}, fw)
    led = [e for e in events if e["part"] == "gpio8" and e["kind"] == "pin"]
    assert len(led) > 10, "the C3 SuperMini's LED (GPIO8) blinks in safe mode"
    assert {led[i + 1]["t_ms"] - led[i]["t_ms"] for i in range(len(led) - 1)} == {166}


@pytest.mark.parametrize("runtime", runtimes.RUNTIMES)
def test_watchdog_resets_a_hung_app_and_counts_it(tmp_path, runtime):
    # the measuring loop hangs from the start: nothing feeds the watchdog (10 s by default)
    fw = broken_firmware(tmp_path, "    Shoe.measure_once = lambda self: time.sleep_ms(3600000)\n")
    events = simulate(tmp_path, runtime, {"duration_ms": 45000}, fw)
    resets = [e for e in events if e["kind"] == "reset"]
    assert resets and resets[0]["why"] == "watchdog" and resets[0]["t_ms"] >= 10000, resets
    text = logs(events)
    assert any("the watchdog reset the board" in t for t in text), text
    assert any("SAFE MODE" in t for t in text), "three hangs within a minute end in safe mode"


def test_a_healthy_shoe_keeps_the_watchdog_fed(tmp_path):
    events = simulate(tmp_path, "micropython", {"duration_ms": 60000,
                                                "inputs": [{"at_ms": 0, "part": "sonar", "cm": 100}]})
    assert not [e for e in events if e["kind"] == "reset"]


@pytest.mark.parametrize("runtime", runtimes.RUNTIMES)
def test_an_app_that_resets_at_once_every_boot_ends_the_run_as_a_reset_loop(tmp_path, runtime):
    """In virtual time such a board reset for ever without time passing: the run hung until
    its 300 s timeout (seen while testing the crash counter on an unwritable flash)."""
    fw = broken_firmware(tmp_path, "    import machine\n    machine.reset()\n")
    events = simulate(tmp_path, runtime, {"duration_ms": 5000}, fw)
    loop = [e for e in events if e["kind"] == "exception"]
    assert loop and loop[-1]["type"] == "ResetLoop", events[-3:]
    assert "100 resets without any time passing" in loop[-1]["message"]
