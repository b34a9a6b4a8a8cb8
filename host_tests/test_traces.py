"""Host tests for kampung.traces: the real HC-SR04 logs and synthetic malformed files."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from kampung import SHARED_DATA
from kampung.traces import Trace, TraceError, distance_at, main, read_trace, to_jsonable

HCSR04 = SHARED_DATA / "hcsr04"
APPROACH = HCSR04 / "approach_object" / "distance_log.csv"
HAND = HCSR04 / "hand_dropouts" / "ultrasonic_data_20260227_225818.csv"
PLATEAUS = HCSR04 / "long_plateaus" / "distance_log.csv"


def _real(path: Path) -> Trace:
    if not HCSR04.is_dir():
        pytest.skip(f"shared data not found at {HCSR04}")
    return read_trace(path)


def _write(tmp_path: Path, text: str, name: str = "trace.csv", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def _assert_monotonic(trace: Trace) -> None:
    times = [t for t, _ in trace.samples]
    assert times[0] == 0
    assert all(b >= a for a, b in itertools.pairwise(times))


# ------------------------------------------------------------------------ real recorded files

# (file, rows, no-echo rows, gaps, duration from PROVENANCE.md in s, tolerance in s, time format)
REAL = [
    pytest.param(APPROACH, 556, 0, 0, 60.4, 0.1, "epoch-seconds", id="approach_object"),
    pytest.param(HAND, 110, 26, 0, 15.45, 0.1, "clock", id="hand_dropouts"),
    # 24 min 04 s between the first and last whole second; the last second's rows are spread
    # over that second, so the trace ends up to 1 s later.
    pytest.param(PLATEAUS, 6950, 92, 0, 1444.0, 1.0, "epoch-seconds", id="long_plateaus"),
]


@pytest.mark.parametrize("path, rows, no_echo, gaps, duration_s, tol, fmt", REAL)
def test_real_file_loads(
    path: Path, rows: int, no_echo: int, gaps: int, duration_s: float, tol: float, fmt: str
) -> None:
    trace = _real(path)
    assert trace.problems == []
    assert trace.rows == rows
    assert trace.no_echo_count == no_echo
    assert sum(1 for _, cm in trace.samples if cm is None) == no_echo + gaps
    assert trace.gaps == gaps
    assert len(trace.samples) == rows + gaps
    assert trace.time_format == fmt
    assert trace.duration_ms / 1000 == pytest.approx(duration_s, abs=tol)
    _assert_monotonic(trace)
    for _, cm in trace.samples:
        assert cm is None or 0 < cm < 400
    assert str(path) in trace.summary()
    assert "\n" not in trace.summary()


def test_approach_object_uses_raw_column_and_keeps_spikes() -> None:
    trace = _real(APPROACH)
    assert trace.distance_column == "Raw Distance (cm)"
    assert [cm for _, cm in trace.samples[:3]] == [38.45, 37.59, 37.49]  # not the smoothed 37.84
    # Single-sample spikes are real sensor output; filtering them is the firmware's job.
    distances = [cm for _, cm in trace.samples if cm is not None]
    assert max(distances) == pytest.approx(189.94)
    assert min(distances) == pytest.approx(8.73)
    # The longest step is 212 ms, under 2 x the 109 ms median: at most one missed reading, which
    # is below the 2.5 x dropout threshold, so no "no echo" marker is inserted.
    assert trace.median_interval_ms == pytest.approx(109, abs=1)
    steps = [b[0] - a[0] for a, b in itertools.pairwise(trace.samples)]
    assert max(steps) == 212


def test_hand_dropouts_is_crlf_and_400_is_no_echo() -> None:
    trace = _real(HAND)
    assert b"\r\n" in HAND.read_bytes()
    assert trace.distance_column == "Distance_cm"
    assert trace.no_echo_values == {"400"}
    assert trace.samples[0] == (0, None)  # the first reading is a 400 clamp
    assert trace.samples[1] == (107, 98.0)
    assert trace.samples[-1] == (15450, 8.0)


def test_long_plateaus_spreads_whole_seconds_and_drops_minus_one() -> None:
    trace = _real(PLATEAUS)
    assert trace.spread_seconds
    assert trace.no_echo_values == {"-1"}
    # The first second has 2 rows, the next ones 5: spread evenly over each second.
    assert [t for t, _ in trace.samples[:8]] == [0, 500, 1000, 1200, 1400, 1600, 1800, 2000]
    assert trace.median_interval_ms == 200
    assert len({t for t, _ in trace.samples}) == len(trace.samples)  # no shared timestamps


def test_cli_show_real_file(capsys: pytest.CaptureFixture[str]) -> None:
    _real(HAND)
    assert main(["show", str(HAND), "--rows", "3"]) == 0
    out = capsys.readouterr().out
    assert "110 rows" in out and "26 no-echo" in out
    assert "no echo" in out and "98.0" in out


# ------------------------------------------------------------------------ malformed rows

MALFORMED = """time,distance
1750000000.0,10
1750000000.1,11,12
abc,12
1750000000.2,abc
1750000000.3,13

1750000000.25,14
1750000000.4,
1750000000.5,15
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_malformed_rows_are_reported_with_line_numbers(tmp_path: Path, newline: str) -> None:
    path = _write(tmp_path, MALFORMED, newline=newline)
    trace = read_trace(path)
    assert trace.problems == [
        f"{path}:3: expected 2 columns like the header, found 3; row skipped",
        f"{path}:4: unparsable time 'abc' (expected Unix epoch seconds); row skipped",
        f"{path}:5: unparsable distance 'abc' in column 'distance' "
        "(expected a number in cm, blank, or a declared no-echo value); row skipped",
        f"{path}:8: time goes backwards ('1750000000.25' is before the previous row); "
        "row skipped",
    ]
    # Rows 3-5 missing leave a 300 ms step (> 2.5 x the 100 ms median): a dropout marker.
    assert trace.samples == [(0, 10.0), (100, None), (300, 13.0), (400, None), (500, 15.0)]
    assert trace.no_echo_values == {""}
    assert (trace.rows, trace.no_echo_count, trace.gaps) == (4, 1, 1)


def test_unparsable_time_before_format_is_known(tmp_path: Path) -> None:
    path = _write(tmp_path, "t,dist\nnoon,5\n0.0,5\n0.1,6\n")
    trace = read_trace(path)
    assert trace.problems == [
        f"{path}:2: unparsable time 'noon' (expected epoch seconds, milliseconds, "
        "HH:MM:SS(.fff) or YYYY-MM-DD HH:MM:SS); row skipped"
    ]
    assert trace.time_format == "seconds"
    assert trace.samples == [(0, 5.0), (100, 6.0)]


# ------------------------------------------------------------------------ time formats


def test_crlf_and_lf_read_the_same(tmp_path: Path) -> None:
    text = "Timestamp,Distance_cm\n12:00:00.000,50\n12:00:00.125,51\n12:00:00.250,400\n"
    lf = read_trace(_write(tmp_path, text, "lf.csv"))
    crlf = read_trace(_write(tmp_path, text, "crlf.csv", newline="\r\n"))
    assert lf.samples == crlf.samples == [(0, 50.0), (125, 51.0), (250, None)]


def test_epoch_ms_by_magnitude(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,distance\n1750625799918,38.4\n1750625800028,37.6\n")
    trace = read_trace(path)
    assert trace.time_format == "epoch-ms"
    assert trace.samples == [(0, 38.4), (110, 37.6)]


@pytest.mark.parametrize("header", ["time_ms", "millis", "Time (ms)", "timeMs"])
def test_ms_by_header_hint(tmp_path: Path, header: str) -> None:
    path = _write(tmp_path, f"{header},distance_cm\n5000,20\n5060,21\n5120,22\n")
    trace = read_trace(path)
    assert trace.time_format == "ms"
    assert trace.samples == [(0, 20.0), (60, 21.0), (120, 22.0)]


def test_clock_time_passes_midnight(tmp_path: Path) -> None:
    text = (
        "Timestamp,Distance_cm\n23:59:59.800,30\n23:59:59.900,31\n"
        "00:00:00.000,32\n00:00:00.100,33\n"
    )
    trace = read_trace(_write(tmp_path, text))
    assert trace.time_format == "clock"
    assert trace.problems == []
    assert trace.samples == [(0, 30.0), (100, 31.0), (200, 32.0), (300, 33.0)]


def test_clock_time_small_step_back_is_a_problem(tmp_path: Path) -> None:
    text = "time,distance\n10:00:01,30\n10:00:00,31\n10:00:02,32\n"
    path = _write(tmp_path, text)
    trace = read_trace(path)
    assert trace.problems == [
        f"{path}:3: time goes backwards ('10:00:00' is before the previous row); row skipped"
    ]
    assert trace.samples == [(0, 30.0), (1000, 32.0)]


def test_whole_seconds_are_spread_evenly(tmp_path: Path) -> None:
    text = "timestamp,distance\n1748704397,10\n1748704397,11\n1748704397,12\n1748704398,13\n"
    trace = read_trace(_write(tmp_path, text))
    assert trace.spread_seconds
    assert [t for t, _ in trace.samples] == [0, 333, 667, 1000]


def test_whole_seconds_one_row_each_are_not_spread(tmp_path: Path) -> None:
    trace = read_trace(_write(tmp_path, "timestamp,distance\n100,10\n101,11\n102,12\n"))
    assert not trace.spread_seconds
    assert [t for t, _ in trace.samples] == [0, 1000, 2000]


def test_iso_datetime(tmp_path: Path) -> None:
    text = "datetime,distance\n2025-06-22 20:56:39.500,40\n2025-06-22 20:56:40.000,41\n"
    trace = read_trace(_write(tmp_path, text))
    assert trace.time_format == "datetime"
    assert trace.samples == [(0, 40.0), (500, 41.0)]


def test_semicolon_decimal_comma_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufefftime;distance (cm)\n0,0;12,5\n0,1;13,0\n".encode())
    trace = read_trace(path)
    assert trace.time_column == "time"
    assert trace.samples == [(0, 12.5), (100, 13.0)]


# ------------------------------------------------------------------------ no echo


def test_no_echo_values_are_never_distances(tmp_path: Path) -> None:
    text = "t,dist\n0.0,-1\n0.1,0\n0.2,\n0.3,400\n0.4,512.3\n0.5,nan\n0.6,399.9\n0.7,2\n"
    trace = read_trace(_write(tmp_path, text))
    assert [cm for _, cm in trace.samples] == [None] * 6 + [399.9, 2.0]
    assert trace.no_echo_values == {"-1", "0", "", "400", "512.3", "nan"}
    assert trace.no_echo_count == 6


def test_declared_no_echo_and_max_range(tmp_path: Path) -> None:
    text = "t,dist\n0.0,999\n0.1,timeout\n0.2,250\n0.3,120\n"
    path = _write(tmp_path, text)
    undeclared = read_trace(path)
    assert [p.split(":")[1] for p in undeclared.problems] == ["3"]  # 'timeout' is malformed
    trace = read_trace(path, no_echo=[999, "TIMEOUT"], max_range_cm=200)
    assert trace.problems == []
    assert [cm for _, cm in trace.samples] == [None, None, None, 120.0]
    assert trace.no_echo_values == {"999", "timeout", "250"}
    assert read_trace(path, no_echo="timeout").rows == 4


# ------------------------------------------------------------------------ dropouts (gaps)


def test_missing_rows_become_one_no_echo_sample(tmp_path: Path) -> None:
    rows = [(0.0, 50), (0.1, 51), (0.2, 52), (0.3, 53), (0.8, 54), (0.9, 55), (1.0, 56)]
    text = "time,distance\n" + "".join(f"{t},{d}\n" for t, d in rows)
    trace = read_trace(_write(tmp_path, text))
    assert trace.gaps == 1
    assert trace.median_interval_ms == 100
    assert trace.samples[3:6] == [(300, 53.0), (400, None), (800, 54.0)]
    assert distance_at(trace, 399) == 53.0
    assert distance_at(trace, 450) is None
    assert distance_at(trace, 800) == 54.0


def test_step_of_exactly_two_and_a_half_intervals_is_not_a_gap(tmp_path: Path) -> None:
    rows = [0.0, 0.1, 0.2, 0.3, 0.55, 0.65]
    text = "time,distance\n" + "".join(f"{t},50\n" for t in rows)
    trace = read_trace(_write(tmp_path, text))
    assert trace.gaps == 0


# ------------------------------------------------------------------------ column detection


def test_prefers_raw_over_smoothed_and_can_be_overridden(tmp_path: Path) -> None:
    text = (
        "Smoothed Distance (cm),Timestamp,Distance (cm),avg_dist\n"
        "20,100.0,30,25\n21,100.1,31,26\n"
    )
    path = _write(tmp_path, text)
    trace = read_trace(path)
    assert (trace.time_column, trace.distance_column) == ("Timestamp", "Distance (cm)")
    assert [cm for _, cm in trace.samples] == [30.0, 31.0]
    smooth = read_trace(path, distance_column="smoothed distance (cm)")
    assert [cm for _, cm in smooth.samples] == [20.0, 21.0]
    by_index = read_trace(path, time_column=1, distance_column=3)
    assert [cm for _, cm in by_index.samples] == [25.0, 26.0]


def test_override_to_unknown_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "time,distance\n0,1\n")
    with pytest.raises(TraceError, match=r"distance_column='range' not found; columns are "
                       r"\['time', 'distance'\]"):
        read_trace(path, distance_column="range")
    with pytest.raises(TraceError, match=r"time_column=5 is not a column index"):
        read_trace(path, time_column=5)


# ------------------------------------------------------------------------ unusable files


def test_no_recognisable_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "when,how_far\n1,2\n")
    with pytest.raises(TraceError) as err:
        read_trace(path)
    msg = str(err.value)
    assert isinstance(err.value, ValueError)
    assert str(path) in msg
    assert "['when', 'how_far']" in msg
    assert "'time', 'timestamp' or 't'" in msg and "time_column=NAME" in msg


def test_no_distance_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,range_cm\n1,2\n")
    with pytest.raises(TraceError, match=r"no distance column among \['timestamp', 'range_cm'\]"
                       r".*containing 'dist'.*distance_column=NAME"):
        read_trace(path)


def test_headerless_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "1750625799.9,38.45\n1750625800.0,37.59\n")
    with pytest.raises(TraceError, match=r"first line looks like data.*header row"):
        read_trace(path)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "empty file"),
        ("\n\n", "empty file"),
        ("time,distance\n", r"header \['time', 'distance'\] but no data rows"),
        ("time,distance\nx,1\n1,2,3\n", r"no usable rows: all 2 data rows were skipped "
                                        r"\(first problem: .*:2: unparsable time 'x'"),
    ],
    ids=["empty", "blank-lines", "header-only", "all-malformed"],
)
def test_unusable_files(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(TraceError, match=expected) as err:
        read_trace(path)
    assert str(err.value).startswith(f"{path}:")


# ------------------------------------------------------------------------ lookups and output


def _tiny(tmp_path: Path) -> Trace:
    return read_trace(_write(tmp_path, "time,distance\n10.0,20.04\n10.1,-1\n10.2,30.06\n"))


def test_distance_at_is_zero_order_hold(tmp_path: Path) -> None:
    trace = _tiny(tmp_path)
    assert distance_at(trace, -1) is None
    assert distance_at(trace, 0) == 20.04
    assert distance_at(trace, 99.9) == 20.04
    assert distance_at(trace, 100) is None
    assert distance_at(trace, 150) is None
    assert distance_at(trace, 200) == 30.06
    assert distance_at(trace, 10**9) == 30.06


def test_to_jsonable(tmp_path: Path) -> None:
    data = to_jsonable(_tiny(tmp_path))
    assert data == [[0, 20.0], [100, None], [200, 30.1]]
    assert json.dumps(data, separators=(",", ":")) == "[[0,20.0],[100,null],[200,30.1]]"


def test_cli_show_synthetic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, MALFORMED)
    assert main(["show", str(path), "--rows", "2", "--problems", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{path}: 4 rows over 0.5 s")
    assert out[1] == "problems (4):"
    assert out[2].startswith(f"  {path}:3: expected 2 columns")
    assert out[3] == "  ... and 3 more"
    assert out[4].split() == ["t_ms", "distance_cm"]
    assert out[5].split() == ["0", "10.0"]


def test_cli_errors_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "a,b\n1,2\n")
    assert main(["show", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kampung trace: ") and "no time column" in err
    assert main(["show", str(tmp_path / "missing.csv")]) == 1
    assert "missing.csv" in capsys.readouterr().err
