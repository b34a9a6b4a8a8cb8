"""The human summary of an event log folds rhythms without inventing ones."""

from kampung import summary


def pwm(t, duty, freq=2700, part="buzzer"):
    return {"t_ms": t, "part": part, "kind": "pwm", "freq": freq, "duty": duty}


def test_a_rhythm_is_folded_into_one_line():
    events = [pwm(t, d) for k in range(5) for t, d in ((1000 + 450 * k, 0.5), (1060 + 450 * k, 0.0))]
    assert summary.pwm_lines(events, "buzzer") == [(1000, "beeps 60 ms every 450 ms at 2700 Hz, 5 times")]


def test_two_beeps_at_a_pattern_change_are_not_called_a_rhythm():
    events = [pwm(2902, 0.5), pwm(2962, 0.0), pwm(3390, 0.5), pwm(3450, 0.0)]
    assert summary.pwm_lines(events, "buzzer") == [(2902, "on 60 ms at 2700 Hz"), (3390, "on 60 ms at 2700 Hz")]


def test_sound_still_on_at_the_end_and_sonar_changes():
    events = [pwm(100, 0.5), {"t_ms": 0, "part": "sonar", "kind": "ping", "cm": None},
              {"t_ms": 60, "part": "sonar", "kind": "ping", "cm": 100.0},
              {"t_ms": 120, "part": "sonar", "kind": "ping", "cm": 95.0},
              {"t_ms": 180, "part": "sonar", "kind": "ping", "cm": 30.0}]
    lines = summary.render(events)
    assert any("on from here (2700 Hz) to the end of the run" in line for line in lines), lines
    sonar = [line for line in lines if "sonar" in line]
    assert len(sonar) == 3 and "no echo" in sonar[0] and "30 cm" in sonar[2], sonar
