"""Read recorded HC-SR04 distance logs (CSV) into traces the simulator can replay.

Host-side only (CPython 3.11+, stdlib only). The files under ``../shared/data/hcsr04`` are read
exactly as they were published: LF or CRLF, a header row, a time column (epoch seconds, epoch
milliseconds, clock time ``HH:MM:SS.fff`` or ISO date-time) and a distance column in cm.

    trace = read_trace("distance_log.csv")
    trace.samples          # [(t_ms, cm or None), ...], t_ms counted from the first row
    distance_at(trace, 1234)   # zero-order hold: what the sensor "sees" at t = 1234 ms

"No echo" (blank, <= 0, >= ``max_range_cm``, NaN, or a declared sentinel) becomes ``None`` and is
never taken as a distance. Dropouts (missing rows) become an inserted ``None`` sample. Malformed
rows are reported in ``trace.problems`` with their line number and skipped. See docs/traces.md.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import io
import itertools
import math
import re
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

__all__ = [
    "GAP_FACTOR",
    "Trace",
    "TraceError",
    "distance_at",
    "main",
    "read_trace",
    "to_jsonable",
]

#: A time step longer than this many median intervals is a dropout (missing rows).
GAP_FACTOR = 2.5
#: A clock time that jumps back by more than this is taken as passing midnight.
_MIDNIGHT_JUMP_MS = 12 * 3600 * 1000
_DAY_MS = 24 * 3600 * 1000

_TIME_TOKENS = {"time", "timestamp", "t", "ts", "datetime", "epoch", "millis", "ms"}
_MS_TOKENS = {"ms", "millis", "msec", "msecs", "millisecond", "milliseconds"}
_DERIVED_TOKENS = ("smooth", "filter", "avg", "average", "mean", "median")
_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2}(?:[.,]\d+)?)$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_EPOCH_S_MIN = 1e8  # 1973-03-03: a seconds value this large is a Unix epoch time
_EPOCH_MS_MIN = 1e11  # the same instant in milliseconds

_FORMAT_HELP = {
    "epoch-seconds": "Unix epoch seconds",
    "epoch-ms": "Unix epoch milliseconds",
    "seconds": "seconds",
    "ms": "milliseconds",
    "clock": "clock time HH:MM:SS(.fff)",
    "datetime": "ISO date-time YYYY-MM-DD HH:MM:SS(.fff)",
    None: "epoch seconds, milliseconds, HH:MM:SS(.fff) or YYYY-MM-DD HH:MM:SS",
}


class TraceError(ValueError):
    """The file cannot be read as a distance trace (message names the file and the fix)."""


@dataclass
class Trace:
    """A distance trace: what a virtual HC-SR04 reports over time.

    ``samples`` holds ``(t_ms, cm)`` pairs with ``t_ms`` non-decreasing and counted from the first
    row; ``cm`` is ``None`` for "no echo" (a no-echo row, or a marker inserted for a dropout).
    ``len(samples) == rows + gaps``.
    """

    source: str
    samples: list[tuple[int, float | None]]
    problems: list[str]
    time_format: str
    time_column: str
    distance_column: str
    no_echo_values: set[str] = field(default_factory=set)
    gaps: int = 0
    rows: int = 0
    no_echo_count: int = 0
    median_interval_ms: float | None = None
    spread_seconds: bool = False

    @property
    def duration_ms(self) -> int:
        """Time of the last sample (the first is at 0)."""
        return self.samples[-1][0] if self.samples else 0

    def summary(self) -> str:
        """One line: rows, duration, format, columns, no-echo, gaps and problems."""
        interval = (
            "n/a" if self.median_interval_ms is None else f"{self.median_interval_ms:.0f} ms"
        )
        fmt = self.time_format + (", whole seconds spread" if self.spread_seconds else "")
        values = ", ".join(repr(v) for v in sorted(self.no_echo_values))
        no_echo = f"{self.no_echo_count} no-echo" + (f" ({values})" if values else "")
        return (
            f"{self.source}: {self.rows} rows over {self.duration_ms / 1000:.1f} s "
            f"(time '{self.time_column}' as {fmt}, distance '{self.distance_column}' cm), "
            f"median interval {interval}, {no_echo}, {self.gaps} gaps, "
            f"{len(self.problems)} problems"
        )


# --------------------------------------------------------------------------- column detection


def _tokens(name: str) -> list[str]:
    """Split a header into lower-case words: "Raw Distance (cm)" -> raw, distance, cm."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return re.findall(r"[a-z]+|\d+", spaced.lower())


def _is_time_name(name: str) -> bool:
    return any(tok in _TIME_TOKENS for tok in _tokens(name))


def _is_derived(name: str) -> bool:
    low = name.lower()
    return any(word in low for word in _DERIVED_TOKENS)


def _pick_column(
    header: list[str], wanted: str | int | None, what: str, src: str, exclude: int | None = None
) -> int | None:
    """Index of an explicitly requested column (name, case-insensitive, or 0-based index)."""
    if wanted is None:
        return None
    if isinstance(wanted, int):
        if 0 <= wanted < len(header) and wanted != exclude:
            return wanted
        raise TraceError(
            f"{src}: {what}={wanted} is not a column index; columns are "
            f"{_show_columns(header)} (0..{len(header) - 1})"
        )
    key = wanted.strip().lower()
    for i, name in enumerate(header):
        if name.strip().lower() == key and i != exclude:
            return i
    raise TraceError(f"{src}: {what}={wanted!r} not found; columns are {_show_columns(header)}")


def _show_columns(header: Sequence[str]) -> str:
    return "[" + ", ".join(repr(h) for h in header) + "]"


def _looks_numeric(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return bool(_CLOCK_RE.match(cell.strip()))
    return True


def _find_columns(
    header: list[str],
    time_column: str | int | None,
    distance_column: str | int | None,
    src: str,
) -> tuple[int, int]:
    cols = _show_columns(header)
    no_header = ""
    if header and all(_looks_numeric(h) for h in header):
        no_header = " (the first line looks like data: the file needs a header row first)"

    t_idx = _pick_column(header, time_column, "time_column", src)
    if t_idx is None:
        t_idx = next((i for i, h in enumerate(header) if _is_time_name(h)), None)
    if t_idx is None:
        raise TraceError(
            f"{src}: no time column among {cols}{no_header}; expected a header named 'time', "
            "'timestamp' or 't' (or containing the word 'time', 'millis' or 'ms'), "
            "or pass time_column=NAME"
        )

    d_idx = _pick_column(header, distance_column, "distance_column", src, exclude=t_idx)
    if d_idx is None:
        candidates = [i for i, h in enumerate(header) if "dist" in h.lower() and i != t_idx]
        raw = [i for i in candidates if not _is_derived(header[i])]
        preferred = [i for i in raw if "raw" in _tokens(header[i])]
        ordered = preferred or raw or candidates
        d_idx = ordered[0] if ordered else None
    if d_idx is None:
        raise TraceError(
            f"{src}: no distance column among {cols}{no_header}; expected a header containing "
            "'dist' (such as 'distance' or 'Distance_cm'), or pass distance_column=NAME"
        )
    if d_idx == t_idx:
        raise TraceError(f"{src}: time and distance cannot both be column {header[t_idx]!r}")
    return t_idx, d_idx


# --------------------------------------------------------------------------- value parsing


def _numeric(text: str, decimal_comma: bool) -> float:
    if decimal_comma:
        text = text.replace(",", ".")
    return float(text)


def _parse_clock(text: str) -> float | None:
    m = _CLOCK_RE.match(text)
    if not m:
        return None
    h, mnt, sec = int(m.group(1)), int(m.group(2)), float(m.group(3).replace(",", "."))
    if h > 23 or mnt > 59 or sec >= 60:
        return None
    return (h * 3600 + mnt * 60) * 1000 + sec * 1000


def _parse_datetime(text: str) -> datetime | None:
    if "-" not in text or ":" not in text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


_EPOCH = datetime(1970, 1, 1)


def _datetime_ms(dt: datetime, aware: bool) -> float | None:
    if (dt.tzinfo is not None) != aware:
        return None  # mixing naive and zoned times in one file
    if aware:
        return dt.astimezone(timezone.utc).timestamp() * 1000
    return (dt - _EPOCH).total_seconds() * 1000


class _TimeParser:
    """Turns raw time cells into milliseconds, once the file's format is known."""

    def __init__(self, header_name: str, decimal_comma: bool) -> None:
        self.ms_hint = any(tok in _MS_TOKENS for tok in _tokens(header_name))
        self.decimal_comma = decimal_comma
        self.format: str | None = None
        self.aware = False

    def detect(self, text: str) -> bool:
        """Fix the format from the first cell that parses; False if this one does not."""
        try:
            value = _numeric(text, self.decimal_comma)
        except ValueError:
            value = None
        if value is not None and math.isfinite(value):
            if self.ms_hint or abs(value) >= _EPOCH_MS_MIN:
                self.format = "epoch-ms" if abs(value) >= _EPOCH_MS_MIN else "ms"
            else:
                self.format = "epoch-seconds" if abs(value) >= _EPOCH_S_MIN else "seconds"
            return True
        if _parse_clock(text) is not None:
            self.format = "clock"
            return True
        dt = _parse_datetime(text)
        if dt is not None:
            self.format = "datetime"
            self.aware = dt.tzinfo is not None
            return True
        return False

    @property
    def unit_is_ms(self) -> bool:
        return self.format in ("epoch-ms", "ms")

    def parse(self, text: str) -> float | None:
        """Milliseconds (absolute within the file's own scale), or None if unparsable."""
        if self.format in ("epoch-seconds", "seconds", "epoch-ms", "ms"):
            try:
                value = _numeric(text, self.decimal_comma)
            except ValueError:
                return None
            if not math.isfinite(value):
                return None
            return value if self.unit_is_ms else value * 1000
        if self.format == "clock":
            return _parse_clock(text)
        if self.format == "datetime":
            dt = _parse_datetime(text)
            return None if dt is None else _datetime_ms(dt, self.aware)
        return None


class _NoEcho:
    """Decides whether a raw distance cell means "no echo"."""

    def __init__(self, declared: object, max_range_cm: float) -> None:
        self.max_range_cm = max_range_cm
        self.strings: set[str] = set()
        self.numbers: set[float] = set()
        items: Iterable[object]
        if declared is None:
            items = ()
        elif isinstance(declared, (str, int, float)):
            items = (declared,)
        elif isinstance(declared, Iterable):
            items = declared
        else:
            raise TypeError(f"no_echo must be a value or an iterable of values, not {declared!r}")
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise TypeError(f"no_echo values must be str, int or float, not {item!r}")
            if isinstance(item, str):
                self.strings.add(item.strip().lower())
                try:
                    self.numbers.add(float(item))
                except ValueError:
                    pass
            else:
                self.numbers.add(float(item))

    def classify(self, value: float) -> bool:
        return (
            math.isnan(value)
            or value <= 0
            or value >= self.max_range_cm
            or value in self.numbers
        )


# --------------------------------------------------------------------------- reading


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_trace(
    path: str | Path,
    *,
    time_column: str | int | None = None,
    distance_column: str | int | None = None,
    no_echo: object = None,
    max_range_cm: float = 400.0,
) -> Trace:
    """Read a CSV distance log; raises TraceError if it has no usable rows or columns.

    ``time_column``/``distance_column`` override detection (header name, case-insensitive, or a
    0-based index). ``no_echo`` declares extra sentinel values (one value or an iterable of str /
    numbers). Distances <= 0, >= ``max_range_cm``, blank or NaN are always "no echo".
    """
    src = str(path)
    if not max_range_cm > 0:
        raise ValueError(f"max_range_cm must be > 0, not {max_range_cm!r}")
    echo = _NoEcho(no_echo, max_range_cm)
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        text = fh.read()
    if not text.strip():
        raise TraceError(f"{src}: empty file; expected a header row such as 'timestamp,distance'")

    delimiter = _sniff_delimiter(next(line for line in text.splitlines() if line.strip()))
    decimal_comma = delimiter != ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] = []
    records: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line
            if not header:
                header = [cell.strip() for cell in record]
                continue
            records.append((reader.line_num, record))
    except csv.Error as exc:
        raise TraceError(f"{src}:{reader.line_num}: not readable as CSV: {exc}") from exc

    t_idx, d_idx = _find_columns(header, time_column, distance_column, src)
    t_name, d_name = header[t_idx], header[d_idx]
    if not records:
        raise TraceError(f"{src}: header {_show_columns(header)} but no data rows")

    times = _TimeParser(t_name, decimal_comma)
    problems: list[str] = []
    accepted: list[tuple[float, float | None]] = []  # (absolute ms, cm or None)
    whole_seconds = True
    no_echo_values: set[str] = set()
    day_offset = 0.0
    prev_ms: float | None = None

    def skip(line: int, what: str) -> None:
        problems.append(f"{src}:{line}: {what}; row skipped")

    for line, record in records:
        if len(record) != len(header):
            skip(line, f"expected {len(header)} columns like the header, found {len(record)}")
            continue
        t_raw = record[t_idx].strip()
        if times.format is None:
            times.detect(t_raw)
        t_ms = times.parse(t_raw)
        if t_ms is None:
            skip(line, f"unparsable time {t_raw!r} (expected {_FORMAT_HELP[times.format]})")
            continue
        if times.format == "clock":
            t_ms += day_offset
            if prev_ms is not None and t_ms < prev_ms - _MIDNIGHT_JUMP_MS:
                day_offset += _DAY_MS  # passed midnight
                t_ms += _DAY_MS

        d_raw = record[d_idx].strip()
        cm: float | None
        if d_raw == "" or d_raw.lower() in echo.strings:
            cm = None
        else:
            try:
                value = _numeric(d_raw, decimal_comma)
            except ValueError:
                skip(
                    line,
                    f"unparsable distance {d_raw!r} in column {d_name!r} "
                    "(expected a number in cm, blank, or a declared no-echo value)",
                )
                continue
            cm = None if echo.classify(value) else value
        if prev_ms is not None and t_ms < prev_ms:
            skip(line, f"time goes backwards ({t_raw!r} is before the previous row)")
            continue

        if cm is None:
            no_echo_values.add(d_raw)
        if times.unit_is_ms or t_ms % 1000 != 0:
            whole_seconds = False
        accepted.append((t_ms, cm))
        prev_ms = t_ms

    if not accepted:
        first = problems[0] if problems else "none"
        raise TraceError(
            f"{src}: no usable rows: all {len(records)} data rows were skipped "
            f"(first problem: {first})"
        )
    assert times.format is not None

    # Whole-second timestamps with several rows per second: spread each second's rows evenly.
    abs_ms = [t for t, _ in accepted]
    spread = whole_seconds and any(a == b for a, b in itertools.pairwise(abs_ms))
    if spread:
        abs_ms = _spread_seconds(abs_ms)

    t0 = abs_ms[0]
    readings = [(round(t - t0), cm) for t, (_, cm) in zip(abs_ms, accepted, strict=True)]
    samples, gaps, median = _mark_dropouts(readings)

    return Trace(
        source=src,
        samples=samples,
        problems=problems,
        time_format=times.format,
        time_column=t_name,
        distance_column=d_name,
        no_echo_values=no_echo_values,
        gaps=gaps,
        rows=len(accepted),
        no_echo_count=sum(1 for _, cm in accepted if cm is None),
        median_interval_ms=median,
        spread_seconds=spread,
    )


def _spread_seconds(abs_ms: list[float]) -> list[float]:
    """k rows stamped with the same second s go to s + i*1000/k for i = 0..k-1."""
    out: list[float] = []
    i = 0
    while i < len(abs_ms):
        j = i
        while j < len(abs_ms) and abs_ms[j] == abs_ms[i]:
            j += 1
        k = j - i
        out.extend(abs_ms[i] + n * 1000 / k for n in range(k))
        i = j
    return out


def _mark_dropouts(
    readings: list[tuple[int, float | None]],
) -> tuple[list[tuple[int, float | None]], int, float | None]:
    """Insert a None sample one median interval into every step > GAP_FACTOR x median."""
    steps = [b[0] - a[0] for a, b in itertools.pairwise(readings) if b[0] > a[0]]
    if not steps:
        return list(readings), 0, None
    median = float(statistics.median(steps))
    limit = GAP_FACTOR * median
    samples: list[tuple[int, float | None]] = [readings[0]]
    gaps = 0
    for prev, cur in itertools.pairwise(readings):
        if cur[0] - prev[0] > limit:
            samples.append((prev[0] + round(median), None))
            gaps += 1
        samples.append(cur)
    return samples, gaps, median


# --------------------------------------------------------------------------- lookups


def _sample_time(sample: tuple[int, float | None]) -> int:
    return sample[0]


def distance_at(trace: Trace, t_ms: float) -> float | None:
    """Zero-order hold: the distance of the last sample at or before ``t_ms``.

    ``None`` before the first sample and wherever that last sample is "no echo"; after the last
    sample its value is held.
    """
    i = bisect.bisect_right(trace.samples, t_ms, key=_sample_time)
    return None if i == 0 else trace.samples[i - 1][1]


def to_jsonable(trace: Trace) -> list[list[int | float | None]]:
    """Compact ``[[t_ms, cm_or_null], ...]`` with cm rounded to 0.1."""
    return [[t, None if cm is None else round(cm, 1)] for t, cm in trace.samples]


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """``kampung trace show FILE``: summary, problems and the first rows (argv excludes "trace")."""
    parser = argparse.ArgumentParser(
        prog="kampung trace", description="Inspect a recorded HC-SR04 distance log (CSV)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("show", help="print the summary, problems and the first rows")
    show.add_argument("file", type=Path)
    show.add_argument("--time-column", help="header name (or 0-based index) of the time column")
    show.add_argument("--distance-column", help="header name (or 0-based index) of the distance")
    show.add_argument(
        "--no-echo", action="append", default=[], metavar="VALUE",
        help="extra raw value meaning 'no echo' (repeatable)",
    )
    show.add_argument("--max-range", type=float, default=400.0, metavar="CM",
                      help="readings >= this are 'no echo' (default 400)")
    show.add_argument("--rows", type=int, default=10, metavar="N", help="rows to print (10)")
    show.add_argument("--problems", type=int, default=20, metavar="N",
                      help="problems to print (20)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    def column(value: str | None) -> str | int | None:
        return int(value) if value is not None and value.isdigit() else value

    try:
        trace = read_trace(
            args.file,
            time_column=column(args.time_column),
            distance_column=column(args.distance_column),
            no_echo=args.no_echo,
            max_range_cm=args.max_range,
        )
    except (TraceError, OSError) as exc:
        print(f"kampung trace: {exc}", file=sys.stderr)
        return 1

    print(trace.summary())
    if trace.problems:
        print(f"problems ({len(trace.problems)}):")
        for problem in trace.problems[: max(args.problems, 0)]:
            print(f"  {problem}")
        if len(trace.problems) > args.problems:
            print(f"  ... and {len(trace.problems) - args.problems} more")
    shown = trace.samples[: max(args.rows, 0)]
    if shown:
        print(f"{'t_ms':>8}  distance_cm")
        for t, cm in shown:
            print(f"{t:>8}  {'no echo' if cm is None else f'{cm:.1f}'}")
        if len(trace.samples) > len(shown):
            print(f"     ...  ({len(trace.samples) - len(shown)} more samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
