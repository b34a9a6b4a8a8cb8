"""Brute force against Kuword: the attack model (tools/kampung/kuword_attack.py) checked against
the real firmware on the virtual board, with and without power cuts, then the default
policy's guesses per day and the expected time to find a 6-digit PIN."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kampung import audit, kuword_attack, runtimes, sim

RUNTIMES = runtimes.RUNTIMES
T0 = 6000  # the master code is set by then
GUESSES = 8  # 5 free wrong codes, then one after each of the 30, 60 and 120 s lockouts
SLACK = 300  # ms per guess for the keypad's debounce and scan, added up over the run


def _attack_scenario(tmp: Path, cut: bool) -> tuple[Path, int]:
    starts: list[int] = []
    answers = kuword_attack.attack(seconds=400, cut="lockout" if cut else None, check_ms=0, starts=starts)
    answers, starts = answers[:GUESSES], starts[:GUESSES]
    inputs = [{"at_ms": 500, "part": "keypad", "keys": "123456#"},
              {"at_ms": 2500, "part": "keypad", "keys": "123456#"}]
    probes = 0
    lockout = kuword_attack.logic.Lockout(5, 30, 3600)
    for i, (start, answer) in enumerate(zip(starts, answers, strict=True)):
        at = T0 + start + SLACK * i
        inputs.append({"at_ms": at, "part": "keypad", "keys": "%06d#" % (900000 + i),
                       "hold_ms": 40, "gap_ms": 40})
        lockout.fails += 1
        wait = lockout.wait_s() * 1000
        if wait and i + 1 < GUESSES:
            answered_at = T0 + answer + SLACK * i
            if cut:
                inputs.append({"at_ms": answered_at + 500, "part": "power", "off_ms": 500})
            # a probe just before the lockout would end without the cut (or, with no cut, 2 s
            # before it ends): it must not be answered
            probe_at = answered_at + wait + (200 if cut else -2000)
            inputs.append({"at_ms": probe_at, "part": "keypad", "keys": "%06d#" % (800000 + i),
                           "hold_ms": 40, "gap_ms": 40})
            probes += 1
    inputs.sort(key=lambda item: item["at_ms"])
    end = T0 + starts[-1] + SLACK * GUESSES + 3000
    path = tmp / "attack.json"
    path.write_text(json.dumps({"device": "kuword", "duration_ms": end, "inputs": inputs,
                                "parts": {"battery": {"volts": 6.0}}}))
    return path, probes


@pytest.mark.parametrize("cut", [False, True], ids=["no-power-cuts", "power-cut-at-each-lockout"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_firmware_answers_exactly_the_guesses_the_model_counts(tmp_path, runtime, cut):
    scenario, probes = _attack_scenario(tmp_path, cut)
    flash = tmp_path / "flash"
    proc, events, _ = sim.simulate("kuword", runtime=runtime, scenario=scenario, flash=flash,
                                   out=tmp_path / "e.jsonl")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    records = []
    for name in audit.FILES:
        if (flash / name).exists():
            records += audit.parse((flash / name).read_text(), name)[0]
    denied = [r for r in records if r["result"] == "denied"]
    # which typed code did each answer follow? (the virtual clock does not restart at a reset,
    # so the audit's uptime is the simulation time) Answers come within 1 s of the '#'.
    typed = [(i["at_ms"] + 7 * 80 - 40, i["keys"]) for i in json.loads(scenario.read_text())["inputs"]
             if i["part"] == "keypad" and i["at_ms"] >= T0]
    for r in denied:
        before = [k for t, k in typed if t <= r["uptime_ms"] < t + 1000]
        assert before and before[-1].startswith("9"), \
            f"an answer at {r['uptime_ms']} ms follows {before}: a probe typed during a lockout was checked"
    lockouts = [r["result"] for r in records if r["result"].startswith("lockout")]
    assert len(denied) == GUESSES, f"{len(denied)} guesses answered, the model says {GUESSES} ({probes} probes)"
    started = [x for x in lockouts if not x.endswith(" at boot")]
    assert started == ["lockout 30s", "lockout 60s", "lockout 120s", "lockout 240s"], lockouts
    # a power cut restarts the lockout in full, and the audit log says so
    restored = [x.removesuffix(" at boot") for x in lockouts if x.endswith(" at boot")]
    assert restored == (started[:3] if cut else []), lockouts
    assert not [e for e in events if e["part"] == "relay" and e["value"] == 1], "the lock never opens"
    boots = [e for e in events if e["kind"] == "boot"]
    assert len(boots) == (1 + 3 if cut else 1), boots


def test_default_policy_guesses_per_day_and_years_to_find_a_6_digit_pin():
    figures = kuword_attack.figures()
    # the first day: 5 free guesses, then 30+60+...+1920 s of lockouts, then one guess an hour
    assert figures["none"]["first_day"] == 34, figures
    assert figures["none"]["per_day_later"] == 24, figures
    assert figures["none"]["years_one_code"] > 10, figures
    # cutting the power at each lockout only adds the boot time; cutting it during a check
    # means no answer at all, and the attempt still counts
    assert figures["lockout"]["first_day"] <= figures["none"]["first_day"], figures
    assert figures["check"]["first_day"] == 0, figures


def test_the_model_uses_the_firmware_lockout_rule():
    # a stricter policy in the settings changes the model the same way it changes the lock
    strict = kuword_attack.attack({"fail_limit": 3, "lockout_s": 60}, seconds=3600)
    assert len(strict) < len(kuword_attack.attack(seconds=3600))
    assert kuword_attack.expected_years({"lockout_cap_s": 600}) < kuword_attack.expected_years()
