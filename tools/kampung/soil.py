"""``kampung soil``: Akrubutan's soil log off a board into one CSV, and that CSV as a chart.

    kampung soil export --port /dev/ttyUSB0 tanah.csv         # from the board (mpremote)
    kampung soil export --flash DIR tanah.csv                 # from a folder of its files
    kampung soil export --port P --merge tanah.csv tanah.csv  # new rows into an earlier export
    kampung soil plot tanah.csv tanah.png [--lang en]         # moisture, pH, N/P/K over time

The meter appends one row per measurement to ``soil.csv`` and, past ``log_max_bytes``, renames
it to ``soil.csv.1`` and starts a new one (kit.store.append_line): the board keeps the last two
files only. ``export`` reads both (older first), checks every line against the firmware's own
columns (``HEADER`` in firmware/apps/akrubutan/app.py; a header line is skipped wherever it
is, and a file without one, as older firmware wrote after a rotation, reads the same) and
writes one CSV with the header once. Logs of older meters, whose rows end before the last
column, ``npk_moisture_pct`` (the RS485 probe's own moisture), are read too: the export
gives their rows that column empty. Lines that are not a
measurement (a torn write, a foreign line) are skipped with a warning naming file and line; a
row seen twice (same ``t``, ``seq`` and values, e.g. from merging two exports) is kept once.
Sources are read in this order: ``--merge`` files, ``--flash`` folders, ``--port`` boards; give
them oldest first. Reading over USB stops the meter's program, so the board is reset afterwards
and the meter runs again.

``plot`` draws the class bands from firmware/apps/akrubutan/logic.py itself (pH classes, and
rendah/sedang/tinggi per nutrient), draws the RS485 probe's own moisture beside the
capacitive probe's (the NPK confidence is judged from it), marks readings whose confidence is
*rendah* with an open circle, and uses the measurement number (``seq``) as x axis when the board had no clock
(``t`` = 0) or a wrong one (after 2200). Matplotlib's Agg renderer: no display needed.

Only files read from a board (``--flash``, ``--port``) take a last line without its newline
for a write cut short; an export or a CSV edited by hand (``plot``'s input, ``--merge``) keeps
it. A UTF-8 byte order mark (Excel's "CSV UTF-8") is ignored everywhere.
"""

from __future__ import annotations

import argparse
import ast
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from kampung import FIRMWARE, localtime
from kampung.localtime import WIB

for _p in (FIRMWARE, FIRMWARE / "lib"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from apps.akrubutan import app as akr_app  # noqa: E402  (firmware code, after the path is set)
from apps.akrubutan import logic, texts  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LOG = akr_app.LOG
FILES = (LOG + ".1", LOG)  # older first
HEADER = akr_app.HEADER
COLUMNS = tuple(HEADER.split(","))
# Columns a newer firmware added at the end of its rows; a row of an older meter ends before
# them and is read with them empty. The oldest header is the current one without them.
ADDED = ("npk_moisture_pct",)
OLD_HEADER = ",".join(COLUMNS[:-len(ADDED)])
NUMERIC = ("moisture_pct", "ph", "temp_c", "ec_us_cm", "n_mg_kg", "p_mg_kg", "k_mg_kg",
           "npk_moisture_pct")
# What each quantity can physically read (a value outside is a damaged or foreign line, not a
# measurement): percent, the pH scale, the DS18B20's range, and the 16-bit registers the probes
# report EC (uS/cm) and N, P, K (mg/kg) in.
RANGES = {"moisture_pct": (0, 100), "ph": (0, 14), "temp_c": (-55, 125), "ec_us_cm": (0, 65535),
          "n_mg_kg": (0, 65535), "p_mg_kg": (0, 65535), "k_mg_kg": (0, 65535),
          "npk_moisture_pct": (0, 100)}
CONFIDENCE = ("baik", "indikatif", "rendah")  # logic.confidence's flags
NUTRIENTS = ("n", "p", "k")
_FAULTS = re.compile(r"[A-Za-z0-9_;]*$")
_ENOENT = 2
# The latest t a row may have: 9999-12-31 00:00 UTC, a day before Python's dates end (so every
# UTC offset still has a date). A larger t is not a time at all: a damaged line.
T_MAX = 253402214400
# The latest t the chart puts on a time axis (2200-01-01 UTC; matplotlib's dates end with 9999,
# and the axis' margins go past the last point). A row after it has a clock gone wrong: the
# chart then uses seq, as for rows without a clock.
PLOT_T_MAX = 7258118400


class SoilError(RuntimeError):
    """A problem the user can act on; the message says what to do."""


def _stderr(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)


# -- the classes, from the firmware's logic ----------------------------------------------------

def _edge(classify, lo: float, hi: float) -> float:
    """The value between lo and hi where ``classify`` changes, to 0.001."""
    left = classify(lo)
    while hi - lo > 1e-7:
        mid = (lo + hi) / 2
        if classify(mid) == left:
            lo = mid
        else:
            hi = mid
    return round(hi, 3)


def _bands(classify, lo: float, hi: float, step: float) -> list[tuple[float, float, str]]:
    """[(from, to, class)] for a classifier over lo..hi: walked in ``step``s, each change found
    by bisection. The limits come from the firmware's function itself, so the chart always
    agrees with what the meter printed (logic.ph_class keeps its lowest limit, 4.5, in code
    rather than in PH_CLASSES)."""
    out: list[tuple[float, float, str]] = []
    start, name = lo, classify(lo)
    x = lo
    while x < hi:
        nxt = min(x + step, hi)
        if classify(nxt) != name:
            edge = _edge(classify, x, nxt)
            out.append((start, edge, name))
            start, name = edge, classify(nxt)
        x = nxt
    out.append((start, hi, name))
    return out


def ph_bands() -> list[tuple[float, float, str]]:
    """The pH classes over 0-14, lowest first."""
    return _bands(logic.ph_class, 0.0, 14.0, 0.05)


def npk_bands(nutrient: str) -> list[tuple[float, float, str]]:
    """rendah/sedang/tinggi for one nutrient (mg/kg); the top band ends at +inf."""
    high = logic.NPK_LIMITS[nutrient][-1]
    top = high * 100
    bands = _bands(lambda v: logic.npk_class(nutrient, v), 0.0, top, high / 50)
    return bands[:-1] + [(bands[-1][0], math.inf, bands[-1][2])]


PH_NAMES = tuple(b[2] for b in ph_bands())
NPK_NAMES = tuple(b[2] for b in npk_bands("n"))


# -- reading the log --------------------------------------------------------------------------

@dataclass
class Row:
    line: str  # the row as the meter wrote it, with empty columns for those its firmware lacked
    t: int
    seq: int
    values: dict[str, float | None]
    classes: dict[str, str]
    conf_ph: str
    conf_npk: str
    faults: str


def _whole(text: str) -> bool:
    """ASCII digits only: str.isdigit also takes "\u00b2", which int() refuses."""
    return text.isascii() and text.isdigit()


def parse_line(line: str) -> tuple[Row | None, str]:
    """(Row, "") for a measurement line, of this firmware or an older one (without the ADDED
    columns: they are read empty, and ``Row.line`` gets them); (None, why) otherwise."""
    parts = line.split(",")
    if len(parts) == len(COLUMNS) - len(ADDED):
        parts += [""] * len(ADDED)
        line += "," * len(ADDED)
    if len(parts) != len(COLUMNS):
        return None, f"{len(parts)} of {len(COLUMNS)} fields"
    rec = dict(zip(COLUMNS, parts, strict=True))
    if not _whole(rec["t"]) or not _whole(rec["seq"]):
        return None, "t and seq must be whole numbers"
    if int(rec["t"]) > T_MAX:
        return None, f"t {rec['t']} is after the year 9999: not a time (a damaged line?)"
    values: dict[str, float | None] = {}
    for col in NUMERIC:
        if rec[col] == "":
            values[col] = None
            continue
        try:
            v = float(rec[col])
        except ValueError:
            return None, f"{col} {rec[col]!r} is not a number"
        if not math.isfinite(v):
            return None, f"{col} {rec[col]!r} is not a number"
        low, high = RANGES[col]
        if not low <= v <= high:
            return None, f"{col} {rec[col]} is outside {low}-{high}: not a reading (a damaged line?)"
        values[col] = v
    if rec["ph_class"] not in PH_NAMES + ("",):
        return None, f"ph_class {rec['ph_class']!r} is not a pH class"
    for k in NUTRIENTS:
        if rec[k + "_class"] not in NPK_NAMES + ("",):
            return None, f"{k}_class {rec[k + '_class']!r} is not rendah/sedang/tinggi"
    for col in ("conf_ph", "conf_npk"):
        if rec[col] not in CONFIDENCE + ("",):
            return None, f"{col} {rec[col]!r} is not a confidence flag"
    if not _FAULTS.match(rec["faults"]):
        return None, f"faults {rec['faults']!r} is not a list of sensor names"
    classes = {k: rec[k + "_class"] for k in ("ph",) + NUTRIENTS}
    return Row(line, int(rec["t"]), int(rec["seq"]), values, classes, rec["conf_ph"],
               rec["conf_npk"], rec["faults"]), ""


def parse(text: str, source: str, warn: Callable[[str], None] = _stderr,
          from_board: bool = True) -> list[Row]:
    """The measurement rows of one log file's text. Headers and blank lines are skipped
    quietly; any other line that is not a measurement is reported through ``warn`` with
    ``source`` and its line number. In a file from the board, a last line without its newline
    is a cut write: the meter always ends a row with one (kit.store.append_line); a file made
    on a computer (an export, a CSV edited by hand: ``from_board=False``) may well end without
    one. A UTF-8 byte order mark (Excel's "CSV UTF-8") is ignored."""
    rows = []
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    torn_end = from_board and lines[-1] != ""
    if lines[-1] == "":
        lines.pop()
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        if not line.strip() or line in (HEADER, OLD_HEADER):
            continue
        if torn_end and n == len(lines):
            warn(f"{source} line {n}: skipped, the row has no end (a write cut short): {line[:60]!r}")
            continue
        row, why = parse_line(line)
        if row is None:
            warn(f"{source} line {n}: skipped, not a soil measurement ({why}): {line[:60]!r}")
            continue
        rows.append(row)
    return rows


def merge(sources: list[tuple[str, list[Row]]],
          warn: Callable[[str], None] = _stderr) -> tuple[list[Row], int]:
    """All rows in source order, each row once: (rows, duplicates dropped).

    A duplicate has the same ``t`` and ``seq`` and the same values (the same measurement read
    twice, e.g. two exports that overlap). Same ``t`` and ``seq`` with other values are two
    measurements: without a clock every row has t = 0, and two meters merged, or one whose
    log was erased (a fresh flash), number from 1 again; both are kept and reported."""
    seen: dict[tuple[int, int], list[str]] = {}
    out: list[Row] = []
    dropped = 0
    for source, rows in sources:
        for row in rows:
            key = (row.t, row.seq)
            if row.line in seen.get(key, []):
                dropped += 1
                continue
            if key in seen:
                why = ("no clock (t = 0): another meter, or a log erased and numbered from 1 "
                       "again" if row.t == 0 else "the board's clock or numbering went back")
                warn(f"{source}: seq {row.seq} at t={row.t} appears again with other values "
                     f"({why}); both kept")
            seen.setdefault(key, []).append(row.line)
            out.append(row)
    return out, dropped


def read_flash(folder: Path) -> list[tuple[str, str]]:
    """(file name, text) of the log files in a folder holding a board's files."""
    return [(name, (folder / name).read_bytes().decode("utf-8", "replace"))
            for name in FILES if (folder / name).is_file()]


# Runs on the board: each file in 512-byte pieces (a 256 KiB log must not need 256 KiB of RAM),
# printed as bytes literals the host decodes; a missing file is said so, not an error.
_READ = """
for n in %r:
    try:
        f = open(n, 'rb')
    except OSError as e:
        print('--- %%s %%s' %% (n, e.args[0] if e.args else '?'))
        continue
    print('=== ' + n)
    try:
        while True:
            b = f.read(512)
            if not b:
                break
            print(repr(b))
    except OSError as e:
        print('!!! %%s %%r' %% (n, e))
    finally:
        f.close()
    print('=== end')
try:
    import json
    with open('config.json') as f:
        print('device ' + str(json.load(f).get('device')))
except Exception:
    pass
"""


def read_port(port: str, warn: Callable[[str], None] = _stderr) -> tuple[list[tuple[str, str]], str | None]:
    """The log files from a board over mpremote, and the device its config.json names. The
    board is reset afterwards in every case (also when the read fails), so the meter runs
    again: its watchdog keeps counting while the program is stopped."""
    from kampung.deploy import DeployError, mpremote, mpremote_shown

    if not port.startswith(("COM", "socket:", "rfc2217:")) and not Path(port).exists():
        raise SoilError(f"no serial port {port}: is the board plugged in? List the ports with "
                        f"`{mpremote_shown()} connect list`")
    try:
        try:
            out = mpremote(port, "exec", _READ % (FILES,))
        finally:
            mpremote(port, "reset")
    except DeployError as e:
        raise SoilError(str(e)) from None
    files: list[tuple[str, str]] = []
    device = None
    name, chunks = None, b""
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("=== "):
            if name is not None:  # "=== end"
                files.append((name, chunks.decode("utf-8", "replace")))
                name, chunks = None, b""
            else:
                name = line[4:]
        elif line.startswith("--- "):
            n, _, err = line[4:].partition(" ")
            if err != str(_ENOENT):
                warn(f"{port}:{n}: cannot be opened (OSError {err})")
        elif line.startswith("!!! "):
            n, _, err = line[4:].partition(" ")
            warn(f"{port}:{n}: reading stopped ({err}); the rows before it are kept")
        elif line.startswith("device "):
            device = line[7:]
        elif name is not None and line.startswith(("b'", 'b"')):
            chunks += ast.literal_eval(line)
    if name is not None:
        files.append((name, chunks.decode("utf-8", "replace")))
    return files, device


def check_output(out: Path, what: str = "") -> None:
    """SoilError, naming ``out``, when it cannot be written because its folder is missing (or
    is not a folder): said before any board is read, and never as the temporary file."""
    folder = out.parent
    if not folder.is_dir():
        why = "is not a folder" if folder.exists() else "does not exist"
        raise SoilError(f"{what}{out}: the folder {folder} {why}; create it first or write "
                        "somewhere else")


def write_csv(rows: list[Row], out: Path) -> None:
    """The header once, then the rows as the meter wrote them; atomic (a temporary file
    renamed over ``out``), so ``out`` may also be one of the inputs. Errors name ``out``."""
    check_output(out)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(HEADER + "\n" + "".join(r.line + "\n" for r in rows), encoding="utf-8")
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise SoilError(f"{out}: cannot be written ({e.strerror or e})") from None


def export(out: Path, ports: Sequence[str] = (), flashes: Sequence[Path] = (),
           merges: Sequence[Path] = (), warn: Callable[[str], None] = _stderr,
           say: Callable[[str], None] = print) -> dict:
    """Read every source, merge, write ``out``. Returns counts; raises SoilError."""
    check_output(out)  # before a board is read (and reset) for nothing
    sources: list[tuple[str, list[Row]]] = []
    empty: list[str] = []
    for path in merges:
        if not path.is_file():
            raise SoilError(f"--merge {path}: no such file (an earlier `kampung soil export`)")
        text = path.read_bytes().decode("utf-8", "replace")
        sources.append((str(path), parse(text, str(path), warn, from_board=False)))
    for folder in flashes:
        if not folder.is_dir():
            raise SoilError(f"--flash {folder} is not a folder (a board's files, e.g. from "
                            "`kampung sim akrubutan --flash DIR`)")
        files = read_flash(folder)
        if not files:
            empty.append(f"{folder}: no {LOG} or {LOG}.1 in that folder")
        for name, text in files:
            where = str(folder / name)
            sources.append((where, parse(text, where, warn)))
    for port in ports:
        files, device = read_port(port, warn)
        say(f"{port}: read {', '.join(n for n, _ in files) or 'nothing'}; the board was reset "
            "so the meter runs again")
        if not files:
            hint = (f" (its config.json says it is a {device}, not an akrubutan)"
                    if device and device != "akrubutan" else
                    f": Akrubutan writes {LOG} at its first measurement (a short press of the "
                    "button, or the first wake-up of a field logger)")
            empty.append(f"{port}: no soil log on the board yet{hint}")
        for name, text in files:
            where = f"{port}:{name}"
            sources.append((where, parse(text, where, warn)))
    if not any(rows for _, rows in sources):
        raise SoilError("no measurements to export: " + ("; ".join(empty) if empty else
                        "the log files hold no soil rows"))
    for msg in empty:
        warn(msg)
    rows, dropped = merge(sources, warn)
    write_csv(rows, out)
    per = ", ".join(f"{s}: {len(r)}" for s, r in sources)
    say(f"wrote {len(rows)} measurements to {out} ({per}; {dropped} duplicates dropped)")
    return {"rows": len(rows), "duplicates": dropped, "sources": [(s, len(r)) for s, r in sources]}


# -- the chart --------------------------------------------------------------------------------

# pale, opaque band colours (exact pixels: the tests read them back), one per class
PH_COLOURS = {"sangat_masam": "#f4b6b0", "masam": "#f8d0a8", "agak_masam": "#fbecb0",
              "netral": "#cdeac0", "agak_alkalis": "#bfe0ef", "alkalis": "#c9c6ec"}
NPK_COLOURS = {"rendah": "#f6c8b4", "sedang": "#faeebb", "tinggi": "#cdeac0"}
MOISTURE_BAND_COLOUR = "#dbe9f6"  # where the NPK probe's figures are comparable
POINT = "#1f3b73"  # a usable reading: filled
NPK_WET = "#2a9d8f"  # the RS485 probe's own moisture: the one the NPK confidence is judged from
LOW = "#c0392b"  # confidence rendah: open circle, white inside

LABELS = {
    "id": {"moisture": "Kelembapan tanah (%)", "ph": "pH (H\u2082O)", "n": "N (mg/kg)",
           "p": "P (mg/kg)", "k": "K (mg/kg)",
           "time": "Waktu ({tz})", "seq": "Nomor pengukuran (seq): papan tanpa jam, t = 0",
           "seq_some": "Nomor pengukuran (seq): {n} baris tanpa jam (t = 0)",
           "seq_wrong": "Nomor pengukuran (seq): {n} baris dengan jam salah (t sesudah tahun 2200)",
           "order": "Urutan baris di log: papan tanpa jam dan seq berulang",
           "title": "Akrubutan: {n} pengukuran", "point": "pengukuran",
           "low": "keyakinan rendah (jangan dipakai untuk keputusan)",
           "wet": "basah cukup\nuntuk NPK, di\nprobe NPK",
           "npk_wet": "kelembapan di probe NPK (RS485)",
           "none": "tidak ada data"},
    "en": {"moisture": "Soil moisture (%)", "ph": "pH (H\u2082O)", "n": "N (mg/kg)",
           "p": "P (mg/kg)", "k": "K (mg/kg)",
           "time": "Time ({tz})", "seq": "Measurement number (seq): the board had no clock, t = 0",
           "seq_some": "Measurement number (seq): {n} rows without a clock (t = 0)",
           "seq_wrong": "Measurement number (seq): {n} rows with a wrong clock (t after 2200)",
           "order": "Row order in the log: no clock and seq repeats",
           "title": "Akrubutan: {n} measurements", "point": "measurement",
           "low": "low confidence (not for decisions)",
           "wet": "moist enough\nfor NPK, at the\nNPK probe",
           "npk_wet": "moisture at the NPK probe (RS485)",
           "none": "no data"},
}


@dataclass
class Panel:
    ax: Axes
    bands: list[tuple[float, float, str, str]] = field(default_factory=list)  # from, to, class, colour
    points: list[tuple[float, float]] = field(default_factory=list)  # (x, y) drawn filled
    low: list[tuple[float, float]] = field(default_factory=list)  # (x, y) open: confidence rendah
    npk_wet: list[tuple[float, float]] = field(default_factory=list)  # moisture: the RS485 probe's


@dataclass
class Chart:
    """What ``plot`` drew. x values are as plotted: matplotlib date numbers on a time axis,
    seq (or the row number) otherwise."""

    fig: Figure
    panels: dict[str, Panel]
    x_mode: str  # "time", "seq" or "order"
    xlabel: str
    size: tuple[int, int]

    def pixel(self, kind: str, x: float, y: float) -> tuple[int, int]:
        """(column, row) in the PNG of the point (x, y) of panel ``kind``."""
        px, py = self.panels[kind].ax.transData.transform((x, y))
        return int(round(px)), int(round(self.size[1] - py))


def _fmt_limit(v: float) -> str:
    return f"{v:g}"


def _x_values(rows: list[Row], tz: tzinfo, lang: str) -> tuple[list[float], str, str]:
    from matplotlib.dates import date2num

    lab = LABELS[lang]
    no_clock = sum(1 for r in rows if r.t == 0)
    wrong = sum(1 for r in rows if r.t > PLOT_T_MAX)
    if rows and not no_clock and not wrong:
        return ([float(date2num(datetime.fromtimestamp(r.t, tz))) for r in rows], "time",
                lab["time"].format(tz=tz.tzname(None)))
    seqs = [r.seq for r in rows]
    if all(b > a for a, b in zip(seqs, seqs[1:], strict=False)):
        label = (lab["seq_wrong"].format(n=wrong) if wrong else
                 lab["seq"] if no_clock == len(rows) else lab["seq_some"].format(n=no_clock))
        return [float(s) for s in seqs], "seq", label
    return [float(i) for i in range(1, len(rows) + 1)], "order", lab["order"]


def _y_range(kind: str, ys: list[float], bands: list[tuple[float, float, str]]) -> tuple[float, float]:
    if kind == "moisture":
        return 0.0, max([100.0] + ys) + 4
    if kind == "ph":
        return min([3.5] + [y - 0.3 for y in ys]), max([9.5] + [y + 0.3 for y in ys])
    limits = [b[1] for b in bands if math.isfinite(b[1])]
    top = max(ys) * 1.15 if ys and max(ys) > 0 else limits[-1] * 1.25
    for limit in limits:  # a class limit just above the data is worth showing
        if top < limit <= top * 1.5:
            top = limit * 1.12
    return 0.0, top


def _band_label(kind: str, name: str, lo: float, hi: float, lang: str) -> str:
    if kind == "moisture":
        return f"{LABELS[lang]['wet']}\n{_fmt_limit(lo)}-{_fmt_limit(hi)} %"
    word = texts.text(lang, name)  # the meter's own words for its classes
    if kind == "ph":
        return word
    if lo == 0:
        return f"{word} \u2264 {_fmt_limit(hi)}"
    if not math.isfinite(hi):
        return f"{word} > {_fmt_limit(lo)}"
    return f"{word} {_fmt_limit(lo)}-{_fmt_limit(hi)}"


def plot(rows: list[Row], out: Path, lang: str = "id", size: tuple[int, int] = (1000, 1250),
         utc_offset_h: float = WIB) -> Chart:
    """Draw ``rows`` into the PNG ``out`` (``size`` in pixels) and return what was drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    if lang not in LABELS:
        raise SoilError(f"--lang {lang}: choose one of {', '.join(LABELS)}")
    why = localtime.problem(utc_offset_h)
    if why:
        raise SoilError(f"--utc-offset {utc_offset_h}: {why}")
    lab = LABELS[lang]
    tz = localtime.zone(utc_offset_h)
    dpi = 100
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)  # the Agg renderer: no display, no pyplot state
    xs, x_mode, xlabel = _x_values(rows, tz, lang)
    if x_mode == "time":  # merged sources may come in any order: the line follows the clock
        order = sorted(range(len(rows)), key=lambda i: xs[i])
        rows, xs = [rows[i] for i in order], [xs[i] for i in order]
    kinds = ("moisture", "ph") + NUTRIENTS
    axes = fig.subplots(len(kinds), 1, sharex=True)
    fig.subplots_adjust(left=0.09, right=0.85, top=0.94, bottom=0.07, hspace=0.12)
    panels: dict[str, Panel] = {}
    for kind, ax in zip(kinds, axes, strict=True):
        panel = panels[kind] = Panel(ax)
        if kind == "moisture":
            col, conf_of, raw = "moisture_pct", None, [(*logic.NPK_MOISTURE_BAND, "wet")]
        elif kind == "ph":
            col, conf_of, raw = "ph", "conf_ph", ph_bands()
        else:
            col, conf_of, raw = f"{kind}_mg_kg", "conf_npk", npk_bands(kind)
        pts: list[tuple[float, float, str]] = []
        for x, r in zip(xs, rows, strict=True):
            y = r.values[col]
            if y is not None:
                pts.append((x, y, getattr(r, conf_of) if conf_of else ""))
        ys = [p[1] for p in pts]
        if kind == "moisture":  # the NPK probe's own, where the log has it (newer firmware)
            panel.npk_wet = [(x, r.values["npk_moisture_pct"]) for x, r in zip(xs, rows, strict=True)
                             if r.values["npk_moisture_pct"] is not None]
        lo, hi = _y_range(kind, ys + [y for _, y in panel.npk_wet], raw)
        ax.set_ylim(lo, hi)
        label_at = blended_transform_factory(ax.transAxes, ax.transData)
        for b_lo, b_hi, name in raw:
            colour = (MOISTURE_BAND_COLOUR if kind == "moisture" else
                      PH_COLOURS.get(name, "#eeeeee") if kind == "ph" else
                      NPK_COLOURS.get(name, "#eeeeee"))
            panel.bands.append((b_lo, b_hi, name, colour))
            bottom, top = max(b_lo, lo), min(b_hi, hi)
            if top <= bottom:
                continue  # outside the visible range
            ax.axhspan(bottom, top, facecolor=colour, edgecolor="none", linewidth=0, zorder=0)
            if (top - bottom) / (hi - lo) > 0.07:  # named beside the panel, clear of the points
                ax.text(1.01, (bottom + top) / 2, _band_label(kind, name, b_lo, b_hi, lang),
                        transform=label_at, ha="left", va="center", fontsize=7.5,
                        color="#333333", clip_on=False)
        if panel.npk_wet:
            ax.plot(*zip(*panel.npk_wet, strict=True), color=NPK_WET, linewidth=0.9, marker="D",
                    markersize=4.5, zorder=3)
        if pts:
            ax.plot([p[0] for p in pts], ys, color="#8a8a8a", linewidth=0.9, zorder=2)
            panel.points = [(x, y) for x, y, c in pts if c != "rendah"]
            panel.low = [(x, y) for x, y, c in pts if c == "rendah"]
            if panel.points:
                ax.plot(*zip(*panel.points, strict=True), linestyle="none", marker="o",
                        markersize=5.5, color=POINT, zorder=3)
            if panel.low:
                ax.plot(*zip(*panel.low, strict=True), linestyle="none", marker="o", markersize=8,
                        markerfacecolor="white", markeredgecolor=LOW, markeredgewidth=1.8,
                        zorder=3)
        elif not panel.npk_wet:
            ax.text(0.5, 0.5, lab["none"], transform=ax.transAxes, ha="center", va="center",
                    color="#666666")
        ax.set_ylabel(lab[kind], fontsize=9)
        ax.tick_params(labelsize=8)
        ax.margins(x=0.03)
    if x_mode != "time":
        axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        locator = AutoDateLocator(tz=tz)
        axes[-1].xaxis.set_major_locator(locator)
        # ISO dates rather than month names: the same in both languages
        axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(
            locator, tz=tz, formats=["%Y", "%Y-%m", "%d", "%H:%M", "%H:%M", "%S"],
            zero_formats=["", "%Y", "%Y-%m", "%Y-%m-%d", "%H:%M", "%H:%M"],
            offset_formats=["", "%Y", "%Y-%m", "%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d %H:%M"]))
    axes[-1].set_xlabel(xlabel, fontsize=9)
    title = lab["title"].format(n=len(rows))
    if x_mode == "time":
        first, last = (datetime.fromtimestamp(rows[i].t, tz) for i in (0, -1))  # sorted
        title += f", {first:%Y-%m-%d %H:%M} - {last:%Y-%m-%d %H:%M} {tz.tzname(None)}"
    fig.suptitle(title, fontsize=11, x=0.09, y=0.99, ha="left")
    legend = [Line2D([], [], linestyle="none", marker="o", markersize=5.5, color=POINT,
                     label=lab["point"]),
              Line2D([], [], linestyle="none", marker="o", markersize=8, markerfacecolor="white",
                     markeredgecolor=LOW, markeredgewidth=1.8, label=lab["low"])]
    if panels["moisture"].npk_wet:
        legend.append(Line2D([], [], color=NPK_WET, linewidth=0.9, marker="D", markersize=4.5,
                             label=lab["npk_wet"]))
    fig.legend(handles=legend, loc="upper right", ncol=2, fontsize=8, frameon=False,
               bbox_to_anchor=(0.85, 0.975))
    fig.savefig(out, dpi=dpi, format="png", facecolor="white")
    return Chart(fig, panels, x_mode, xlabel, size)


# -- the command ------------------------------------------------------------------------------

def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)x(\d+)", text)
    if not m or not (300 <= int(m[1]) <= 8000 and 300 <= int(m[2]) <= 8000):
        raise argparse.ArgumentTypeError(f"{text!r}: give WIDTHxHEIGHT in pixels, 300-8000 each, e.g. 1000x1250")
    return int(m[1]), int(m[2])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kampung soil", description=(__doc__ or "").splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export", help="soil.csv.1 + soil.csv off a board (or folders, or "
                        "earlier exports) into one CSV",
                        description="Write one CSV of Akrubutan's measurements: header once, "
                        "older file first, duplicates dropped, torn lines skipped with a warning.")
    ex.add_argument("--port", action="append", default=[], help="serial port of the board "
                    "(mpremote); may be repeated")
    ex.add_argument("--flash", action="append", default=[], type=Path, help="a folder with the "
                    "board's files (a virtual board's flash); may be repeated")
    ex.add_argument("--merge", action="append", default=[], type=Path, help="an earlier export "
                    "whose rows come first (it may also be OUT); may be repeated")
    ex.add_argument("--force", action="store_true", help="replace OUT when it exists and is not "
                    "one of the --merge files")
    ex.add_argument("out", type=Path, metavar="OUT.csv")
    pl = sub.add_parser("plot", help="moisture, pH and N/P/K over time as a PNG",
                        description="Draw an exported (or a board's) soil CSV as a PNG with the "
                        "class bands of the firmware's assessment.")
    pl.add_argument("csv", type=Path, metavar="IN.csv")
    pl.add_argument("png", type=Path, metavar="OUT.png")
    pl.add_argument("--lang", choices=sorted(LABELS), default="id", help="labels: id (default) or en")
    pl.add_argument("--size", type=_size, default=(1000, 1250), help="WIDTHxHEIGHT in pixels (default 1000x1250)")
    pl.add_argument("--utc-offset", type=localtime.option, default=WIB, help="hours from UTC for "
                    "the time axis, -12 to 14 (default 7, WIB)")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "export":
            if not (args.port or args.flash or args.merge):
                ex.error("give at least one --port, --flash or --merge")
            if args.out.exists() and not args.force and \
                    args.out.resolve() not in [m.resolve() for m in args.merge]:
                raise SoilError(f"{args.out} exists: add `--merge {args.out}` to add the new rows "
                                "to it (the board keeps only its last two files), or --force to "
                                "replace it")
            check_output(args.out)
            export(args.out, args.port, args.flash, args.merge)
            return 0
        if not args.csv.is_file():
            raise SoilError(f"{args.csv}: no such file (make one with `kampung soil export`)")
        check_output(args.png)
        # a file on the computer (an export, a CSV edited by hand): a last row without its
        # newline is a row, not a write cut short
        rows = parse(args.csv.read_bytes().decode("utf-8", "replace"), str(args.csv),
                     from_board=False)
        if not rows:
            raise SoilError(f"{args.csv}: no soil measurements in it")
        chart = plot(rows, args.png, args.lang, args.size, args.utc_offset)
        print(f"wrote {args.png} ({len(rows)} measurements, x axis: {chart.xlabel})")
        return 0
    except SoilError as e:
        print(f"kampung soil: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"kampung soil: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 1
