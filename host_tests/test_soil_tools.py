"""``kampung soil``: Akrubutan's log off a (virtual) board as one CSV, and that CSV as a chart.

The logs are written by the firmware itself, run in the simulator with a small
``log_max_bytes`` so that soil.csv rotates to soil.csv.1 as on a board after months of use."""

from __future__ import annotations

import json
import math
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from kampung import build, deploy, sim, soil
from kampung.vboard import VirtualBoard

EARLY, LATE = 14, 26  # measurements in the two runs; 1024-byte files hold about 10 rows each
PH_686_V, PH_401_V = 2.5248, 3.0307  # the built-in scenario's buffers: a slope the meter accepts
SLOPE_V = (PH_401_V - PH_686_V) / (4.01 - 6.86)  # volts per pH at the module's output


def scenario(measurements: int) -> dict:
    """The meter in a field: 3 readings before its pH calibration (pH confidence rendah), the
    calibration (6.86, 4.01, a long press to finish), then readings whose moisture swings in
    and out of 20-60 % (NPK confidence indikatif / rendah) and whose pH crosses several
    classes. The sim's clock is set, so t > 0."""
    inputs: list[dict] = []
    at = 4000

    def reading(i: int):
        nonlocal at
        m = 35 + 30 * math.sin(i / 3)
        ph = 6.3 + 2.2 * math.sin(i / 4)
        inputs.extend([
            {"at_ms": at, "part": "soil_moisture", "volts": round(2.70 - m / 100 * 1.55, 3)},
            {"at_ms": at, "part": "ph", "volts": round(PH_686_V + (ph - 6.86) * SLOPE_V, 4)},
            {"at_ms": at, "part": "soil_probe", "values": {
                "moisture": round(m, 1), "ec": int(200 + 8 * m), "n": int(20 + m),
                "p": round(4 + m / 8, 1), "k": int(60 + 2.5 * m)}},
            {"at_ms": at + 300, "part": "button", "press_ms": 150}])
        at += 8000

    for i in range(3):
        reading(i)
    inputs += [{"at_ms": at, "part": "ph", "volts": PH_686_V},
               {"at_ms": at + 1000, "part": "button", "press_ms": 3500},
               {"at_ms": at + 6000, "part": "button", "press_ms": 150},
               {"at_ms": at + 14000, "part": "ph", "volts": PH_401_V},
               {"at_ms": at + 16000, "part": "button", "press_ms": 150},
               {"at_ms": at + 24000, "part": "button", "press_ms": 3500}]  # no third buffer
    at += 32000
    for i in range(3, measurements):
        reading(i)
    return {"device": "akrubutan", "board": "esp32_devkitc", "duration_ms": at + 2000,
            "config": {"akrubutan": {"log_max_bytes": 1024, "measure_s": 5}},
            "parts": {"soil_probe": {"family": "renke", "addr": 1, "baud": 4800,
                                     "values": {"moisture": 35, "temperature": 26.1, "ec": 420,
                                                "ph": 6.0, "n": 41, "p": 9, "k": 160}},
                      "ds18b20": {"temp_c": 26.3}, "soil_moisture": {"volts": 2.70},
                      "ph": {"volts": 2.5}},
            "inputs": inputs}


def run_meter(folder: Path, measurements: int) -> Path:
    path = folder / f"field{measurements}.json"
    path.write_text(json.dumps(scenario(measurements)))
    flash = folder / f"flash{measurements}"
    proc, _, _ = sim.simulate("akrubutan", scenario=path, flash=flash)
    assert proc.returncode == 0 and "ERROR" not in proc.stdout, proc.stdout + proc.stderr
    return flash


@pytest.fixture(scope="module")
def field(tmp_path_factory):
    """Two runs of the same field: after EARLY measurements and after LATE (the later board
    has rotated its first rows away). The sim is deterministic: the rows both runs hold are
    the same, byte for byte."""
    folder = tmp_path_factory.mktemp("field")
    return run_meter(folder, EARLY), run_meter(folder, LATE)


def board_lines(flash: Path) -> list[str]:
    """The measurement lines on a board's flash, older file first (read without soil.py)."""
    out = []
    for name in ("soil.csv.1", "soil.csv"):
        if (flash / name).exists():
            out += [ln for ln in (flash / name).read_text().splitlines() if not ln.startswith("t,")]
    return out


def seqs(lines: list[str]) -> list[int]:
    return [int(ln.split(",")[1]) for ln in lines]


def exported(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    assert lines[0] == soil.HEADER and soil.HEADER not in lines[1:], lines[:3]
    return lines[1:]


# -- export -----------------------------------------------------------------------------------

def test_the_field_run_rotated_its_log(field):
    early, late = field
    for flash in field:
        assert (flash / "soil.csv.1").exists() and (flash / "soil.csv").exists(), sorted(flash.iterdir())
    assert seqs(board_lines(early))[0] == 1 and seqs(board_lines(late))[0] > 1, \
        "the later board must have lost its first rows to rotation for the merge tests to mean anything"
    assert seqs(board_lines(early)) == list(range(1, EARLY + 1)), seqs(board_lines(early))
    assert seqs(board_lines(late))[-1] == LATE, seqs(board_lines(late))


def test_export_from_a_virtual_board_running_the_meter(tmp_path, field):
    """The real mpremote against a virtual ESP32 running the deployed meter: both files, older
    first, the header once; the board is reset afterwards and the meter runs again."""
    early, _ = field
    bundle = tmp_path / "bundle"
    build.build("akrubutan", "esp32_devkitc", bundle, secrets=tmp_path / "none.json")
    flash = tmp_path / "flash"
    flash.mkdir()
    for name in ("soil.csv.1", "soil.csv"):
        shutil.copy(early / name, flash / name)
    out = tmp_path / "tanah.csv"
    with VirtualBoard(flash, device="akrubutan") as vb:
        deploy.deploy(bundle, vb.port, progress=lambda s: None)
        console = deploy.watch(vb.port, 1.5, show=lambda s: None)
        assert "kampung: akrubutan on esp32_devkitc" in console, console
        seen = len(vb.events())
        assert soil.main(["export", "--port", vb.port, str(out)]) == 0
        # the board boots again and the meter runs: its screen comes back
        later, screens = vb.screens_after_boot(seen, "oled")
    assert screens, f"the meter did not start again after the export: {later[-5:]}"
    lines = exported(out)
    assert lines == board_lines(early), "every row, soil.csv.1 first, as the meter wrote it"
    assert seqs(lines) == list(range(1, EARLY + 1)), seqs(lines)


def test_merge_across_rotation_and_exports(tmp_path, field, capsys):
    """An export kept on the laptop plus the board weeks later: every measurement once, in
    order, although the board no longer holds the first ones."""
    early, late = field
    out = tmp_path / "tanah.csv"
    assert soil.main(["export", "--flash", str(early), str(out)]) == 0
    assert seqs(exported(out)) == list(range(1, EARLY + 1))
    assert soil.main(["export", "--flash", str(late), str(out)]) == 1
    assert "--merge" in capsys.readouterr().err, "an existing export is not silently replaced"
    assert soil.main(["export", "--flash", str(late), "--merge", str(out), str(out)]) == 0
    said = capsys.readouterr().out
    overlap = len(set(seqs(board_lines(early))) & set(seqs(board_lines(late))))
    assert overlap > 0 and f"{overlap} duplicates dropped" in said, said
    lines = exported(out)
    assert seqs(lines) == list(range(1, LATE + 1)), seqs(lines)
    assert lines == board_lines(early) + [ln for ln in board_lines(late) if int(ln.split(",")[1]) > EARLY]
    # two folders at once give the same result
    again = tmp_path / "again.csv"
    assert soil.main(["export", "--flash", str(early), "--flash", str(late), str(again)]) == 0
    assert again.read_text() == out.read_text()


def test_torn_and_foreign_lines_are_skipped_with_file_and_line(tmp_path, field, capsys):
    early, _ = field
    flash = tmp_path / "flash"
    shutil.copytree(early, flash)
    older = (flash / "soil.csv.1").read_bytes().splitlines(keepends=True)
    older.insert(2, b"757382400,1,unknown,granted\n")  # a Kuword audit line: line 3
    older.insert(4, b"1704067300,9,\xff\xfe,6.1\n")  # garbage bytes: line 5
    (flash / "soil.csv.1").write_bytes(b"".join(older))
    current = (flash / "soil.csv").read_bytes()
    cut = b"1704067999,21,41.0,6.12,26.3,530,61,9,16"  # power cut mid-row: no newline
    (flash / "soil.csv").write_bytes(current + cut)
    out = tmp_path / "tanah.csv"
    assert soil.main(["export", "--flash", str(flash), str(out)]) == 0
    err = capsys.readouterr().err
    n_current = len(current.splitlines())
    assert f"{flash / 'soil.csv.1'} line 3: skipped" in err, err
    assert f"{flash / 'soil.csv.1'} line 5: skipped" in err, err
    assert f"{flash / 'soil.csv'} line {n_current + 1}: skipped" in err and "cut short" in err, err
    assert err.count("skipped") == 3, err
    assert exported(out) == board_lines(early), "the good rows are all kept, the bad ones dropped"


def test_a_repeated_seq_without_clock_is_kept_identical_rows_are_not(tmp_path, capsys):
    row = "0,{seq},{m},6.20,26.3,420,41,9,160,agak_masam,rendah,sedang,sedang,rendah,indikatif,,30.5"
    first = [row.format(seq=s, m=30 + s) for s in (1, 2, 3)]
    after_power_cut = [row.format(seq=s, m=50 + s) for s in (1, 2)]  # seq restarts, t still 0
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "soil.csv.1").write_text(soil.HEADER + "\n" + "\n".join(first) + "\n")
    (flash / "soil.csv").write_text("\n".join(after_power_cut) + "\n")
    old = tmp_path / "old.csv"
    old.write_text(soil.HEADER + "\n" + first[0] + "\n" + first[1] + "\n")
    out = tmp_path / "tanah.csv"
    assert soil.main(["export", "--merge", str(old), "--flash", str(flash), str(out)]) == 0
    assert exported(out) == first + after_power_cut, "two real measurements share seq 1 at t=0"
    captured = capsys.readouterr()
    assert "2 duplicates dropped" in captured.out, captured.out
    assert captured.err.count("appears again with other values") == 2 and "no clock" in captured.err, captured.err


def test_no_log_no_board_busy_port(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert soil.main(["export", "--flash", str(empty), str(tmp_path / "a.csv")]) == 1
    assert "no soil.csv or soil.csv.1 in that folder" in capsys.readouterr().err
    # a board with the firmware but no measurement yet, and one set up as another device
    with VirtualBoard(tmp_path / "fresh", device="akrubutan") as vb:
        assert soil.main(["export", "--port", vb.port, str(tmp_path / "b.csv")]) == 1
        err = capsys.readouterr().err
        assert "no soil log on the board yet" in err and "short press" in err, err
        (vb.flash / "config.json").write_text('{"device": "kuword"}')
        assert soil.main(["export", "--port", vb.port, str(tmp_path / "b.csv")]) == 1
        assert "kuword, not an akrubutan" in capsys.readouterr().err
    assert not (tmp_path / "b.csv").exists()
    assert soil.main(["export", "--port", "/dev/nope", str(tmp_path / "c.csv")]) == 1
    assert "no serial port /dev/nope" in capsys.readouterr().err
    fake = tmp_path / "mpremote"
    fake.write_text("#!/bin/sh\necho 'mpremote: failed to access /dev/ttyUSB0 (it may be in use "
                    "by another program)' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(deploy, "MPREMOTE", str(fake))
    port = tmp_path / "ttyUSB0"
    port.touch()
    assert soil.main(["export", "--port", str(port), str(tmp_path / "c.csv")]) == 1
    assert "close other serial monitors" in capsys.readouterr().err


# -- plot -------------------------------------------------------------------------------------

def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def chart(field, tmp_path_factory):
    from PIL import Image

    folder = tmp_path_factory.mktemp("chart")
    rows = soil.parse("\n".join(board_lines(field[0])) + "\n", "test")
    png = folder / "tanah.png"
    c = soil.plot(rows, png, size=(900, 1150))
    image = Image.open(png).convert("RGB")
    return rows, c, png, image


def near(a, b, tol=3):
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def test_class_bands_come_from_the_firmware():
    from apps.akrubutan import logic

    edges = [hi for _, hi, _ in soil.ph_bands()][:-1]
    assert edges == [4.5] + [limit for limit, _ in logic.PH_CLASSES], edges
    assert [b[2] for b in soil.ph_bands()] == ["sangat_masam", "masam", "agak_masam", "netral",
                                              "agak_alkalis", "alkalis"]
    for k in "npk":
        assert [hi for _, hi, _ in soil.npk_bands(k)][:-1] == list(logic.NPK_LIMITS[k]), k


def test_plot_png_has_the_asked_size_and_a_time_axis(chart):
    rows, c, png, image = chart
    assert png_size(png) == (900, 1150) == image.size
    assert c.x_mode == "time" and "WIB" in c.xlabel, c.xlabel
    assert c.panels["ph"].ax.get_xlabel() == "" and c.panels["k"].ax.get_xlabel() == "Waktu (WIB)"


def test_plot_shades_every_band_at_the_firmware_limits(chart):
    """Pixels of the PNG: left of the first point (nothing but the band there), each band's
    colour fills its middle, and the colour changes exactly at the class limits."""
    rows, c, png, image = chart
    x0 = min(x for p in c.panels.values() for x, _ in p.points + p.low)
    checked = 0
    for kind in ("ph", "n", "p", "k"):
        panel = c.panels[kind]
        lo, hi = panel.ax.get_ylim()
        left_px = c.pixel(kind, x0, lo)[0] - 14  # inside the axes, before the first marker
        assert c.pixel(kind, panel.ax.get_xlim()[0], lo)[0] < left_px
        visible = [(max(a, lo), min(b, hi), name, colour) for a, b, name, colour in panel.bands if min(b, hi) > max(a, lo)]
        assert visible, kind
        for a, b, name, colour in visible:
            col, row = c.pixel(kind, x0, (a + b) / 2)
            if abs(c.pixel(kind, x0, b)[1] - c.pixel(kind, x0, a)[1]) < 6:
                continue  # a sliver at the panel's edge
            assert near(image.getpixel((left_px, row)), rgb(colour)), (kind, name, image.getpixel((left_px, row)))
            checked += 1
        for (_, b, name, colour), (_, _, name2, colour2) in zip(panel.bands, panel.bands[1:], strict=False):
            if lo + 0.2 < b < hi - 0.2:  # a limit inside the panel: the colour changes there
                d = (hi - lo) / 60
                below = image.getpixel((left_px, c.pixel(kind, x0, b - d)[1]))
                above = image.getpixel((left_px, c.pixel(kind, x0, b + d)[1]))
                assert near(below, rgb(colour)) and near(above, rgb(colour2)), (kind, name, b, below, above)
                assert not near(below, above, 12), f"{kind}: {name} and {name2} look the same"
    assert checked >= 6 + 3, f"only {checked} bands checked: the field run should span the pH classes"


def test_low_confidence_points_are_drawn_open(chart):
    rows, c, png, image = chart
    for kind, col, conf in (("ph", "ph", "conf_ph"), ("n", "n_mg_kg", "conf_npk"),
                            ("p", "p_mg_kg", "conf_npk"), ("k", "k_mg_kg", "conf_npk")):
        panel = c.panels[kind]
        want_low = sum(1 for r in rows if r.values[col] is not None and getattr(r, conf) == "rendah")
        want_good = sum(1 for r in rows if r.values[col] is not None and getattr(r, conf) != "rendah")
        assert (len(panel.low), len(panel.points)) == (want_low, want_good), kind
        assert want_low and want_good, f"{kind}: the field run should give both kinds"
        for x, y in panel.low:
            assert near(image.getpixel(c.pixel(kind, x, y)), (255, 255, 255), 25), (kind, x, y)
        for x, y in panel.points:
            assert near(image.getpixel(c.pixel(kind, x, y)), rgb(soil.POINT), 25), (kind, x, y)
    assert len(c.panels["moisture"].points) == len(rows) and not c.panels["moisture"].low


def test_the_npk_probes_own_moisture_is_a_second_series_and_the_band_says_it_is_its(chart, tmp_path):
    rows, c, png, image = chart
    panel = c.panels["moisture"]
    want = [(x, r.values["npk_moisture_pct"]) for (x, _), r in zip(panel.points, rows, strict=True)]
    assert panel.npk_wet == want and all(y is not None for _, y in want), panel.npk_wet
    labels = [t.get_text() for t in panel.ax.texts]
    assert any("probe NPK" in t and "20-60 %" in t for t in labels), labels
    legend = [t.get_text() for lg in c.fig.legends for t in lg.get_texts()]
    assert "kelembapan di probe NPK (RS485)" in legend, legend
    # the field scenario's wet spot: 90.3 % at the capacitive probe, 48 % at the NPK probe
    # (NPK indikatif): the chart shows why the N, P and K dots are filled
    from PIL import Image

    wet = soil.parse("".join(
        f"17040672{s}0,{s},{m},6.45,26.1,610,55,12,210,agak_masam,rendah,tinggi,tinggi,baik,indikatif,,{w}\n"
        for s, m, w in ((1, 51.6, 34.5), (2, 90.3, 48.0), (3, 61.3, 48.0))), "t")
    c = soil.plot(wet, tmp_path / "wet.png", lang="en", size=(900, 1150))
    image = Image.open(tmp_path / "wet.png").convert("RGB")
    x, y = c.panels["moisture"].npk_wet[1]
    assert y == 48.0 and near(image.getpixel(c.pixel("moisture", x, y)), rgb(soil.NPK_WET), 40)
    assert near(image.getpixel(c.pixel("moisture", x, 90.3)), rgb(soil.POINT), 25)
    assert len(c.panels["n"].points) == 3 and not c.panels["n"].low
    assert any("at the" in t and "NPK probe" in t for t in [t.get_text() for t in c.panels["moisture"].ax.texts])


def test_plot_without_clock_uses_seq(tmp_path):
    rows = soil.parse("".join(
        f"0,{s},{20 + s},{5 + s / 10:.2f},26.0,400,40,8,150,masam,rendah,sedang,sedang,rendah,rendah,\n"
        for s in range(3, 9)), "test")
    c = soil.plot(rows, tmp_path / "id.png")
    assert c.x_mode == "seq" and "seq" in c.xlabel and "tanpa jam" in c.xlabel, c.xlabel
    assert [x for x, _ in c.panels["moisture"].points] == [3, 4, 5, 6, 7, 8]
    c = soil.plot(rows, tmp_path / "en.png", lang="en")
    assert "no clock" in c.xlabel and c.panels["moisture"].ax.get_ylabel() == "Soil moisture (%)"
    mixed = rows[:3] + soil.parse(
        "1704067300,9,30,6.00,26.0,400,40,8,150,agak_masam,rendah,sedang,sedang,baik,rendah,\n", "t")
    assert soil.plot(mixed, tmp_path / "m.png").x_mode == "seq", "one row without time: seq for all"


def test_plot_command(tmp_path, field, capsys):
    csv = tmp_path / "tanah.csv"
    assert soil.main(["export", "--flash", str(field[0]), str(csv)]) == 0
    png = tmp_path / "chart.png"
    assert soil.main(["plot", str(csv), str(png), "--lang", "en", "--size", "800x1000"]) == 0
    assert png_size(png) == (800, 1000)
    assert "Time (WIB)" in capsys.readouterr().out
    empty = tmp_path / "empty.csv"
    empty.write_text(soil.HEADER + "\n")
    assert soil.main(["plot", str(empty), str(png)]) == 1
    assert "no soil measurements" in capsys.readouterr().err


def test_kampung_soil_runs_from_the_command_line(tmp_path, field):
    kampung = str(Path(sys.executable).parent / "kampung")
    proc = subprocess.run([kampung, "soil", "export", "--flash", str(field[1]), str(tmp_path / "x.csv")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "wrote" in proc.stdout, proc.stdout + proc.stderr


# -- files made by hand, older meters, bad options ---------------------------------------------

def test_logs_of_meters_without_npk_moisture_export_and_plot(tmp_path, capsys):
    """A meter updated between two rotations: soil.csv.1 of the old firmware (its header and
    rows end at faults), soil.csv of the new one. The export has the new header, the old rows
    with npk_moisture_pct empty; an earlier export of the old rows merges without doubles."""
    old_rows = [ROW.format(seq=s).rsplit(",", 1)[0] for s in (1, 2)]  # ...,indikatif,
    new_rows = [ROW.format(seq=s) for s in (3, 4)]
    assert soil.OLD_HEADER + ",npk_moisture_pct" == soil.HEADER
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "soil.csv.1").write_text(soil.OLD_HEADER + "\n" + "\n".join(old_rows) + "\n")
    (flash / "soil.csv").write_text(soil.HEADER + "\n" + "\n".join(new_rows) + "\n")
    old_export = tmp_path / "old.csv"  # made by an older kampung soil: the old header
    old_export.write_text(soil.OLD_HEADER + "\n" + old_rows[0] + "\n")
    out = tmp_path / "tanah.csv"
    assert soil.main(["export", "--merge", str(old_export), "--flash", str(flash), str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "1 duplicates dropped" in captured.out, captured
    assert exported(out) == [r + "," for r in old_rows] + new_rows, out.read_text()
    rows = soil.parse(out.read_text(), "t", from_board=False)
    assert [r.values["npk_moisture_pct"] for r in rows] == [None, None, 34.5, 34.5], rows
    c = soil.plot(rows, tmp_path / "mixed.png")
    assert [y for _, y in c.panels["moisture"].npk_wet] == [34.5, 34.5], c.panels["moisture"].npk_wet
    assert len(c.panels["moisture"].points) == 4
    # only old rows: no second series, no legend entry for it; the plot command reads it
    assert soil.main(["plot", str(old_export), str(tmp_path / "old.png")]) == 0
    c = soil.plot(soil.parse(old_export.read_text(), "t", from_board=False), tmp_path / "old2.png", lang="en")
    legend = [t.get_text() for lg in c.fig.legends for t in lg.get_texts()]
    assert not c.panels["moisture"].npk_wet and not [t for t in legend if "NPK probe" in t], legend
    # a line one field short of the old rows is still no measurement
    assert soil.parse_line(old_rows[0].rsplit(",", 1)[0])[0] is None



ROW = "1704067254,{seq},51.6,5.40,26.3,420,41,9,160,masam,rendah,sedang,sedang,baik,indikatif,,34.5"


def test_a_hand_made_csv_keeps_its_last_row_without_a_newline(tmp_path, capsys):
    # a CSV saved by an editor or a spreadsheet often has no final newline; only a file read
    # from the board's flash (or over USB) takes a missing newline for a write cut short
    nonl = tmp_path / "tanah.csv"
    nonl.write_text(soil.HEADER + "\n" + ROW.format(seq=1) + "\n" + ROW.format(seq=2))
    assert soil.main(["plot", str(nonl), str(tmp_path / "a.png")]) == 0
    captured = capsys.readouterr()
    assert "(2 measurements" in captured.out and "cut short" not in captured.err, captured
    one = tmp_path / "one.csv"
    one.write_text(soil.HEADER + "\n" + ROW.format(seq=1))
    assert soil.main(["plot", str(one), str(tmp_path / "b.png")]) == 0
    assert "(1 measurements" in capsys.readouterr().out
    out = tmp_path / "merged.csv"
    assert soil.main(["export", "--merge", str(nonl), str(out)]) == 0
    assert exported(out) == [ROW.format(seq=1), ROW.format(seq=2)]
    # on the board's flash the same bytes are a cut write
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "soil.csv").write_text(nonl.read_text())
    assert soil.main(["export", "--flash", str(flash), str(tmp_path / "f.csv")]) == 0
    assert "line 3: skipped, the row has no end (a write cut short)" in capsys.readouterr().err
    assert exported(tmp_path / "f.csv") == [ROW.format(seq=1)]


def test_a_byte_order_mark_from_excel_is_not_a_bad_row(tmp_path, capsys):
    bom = tmp_path / "excel.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (soil.HEADER + "\r\n" + ROW.format(seq=1) + "\r\n").encode())
    assert soil.main(["plot", str(bom), str(tmp_path / "a.png")]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "(1 measurements" in captured.out, captured
    out = tmp_path / "out.csv"
    assert soil.main(["export", "--merge", str(bom), str(out)]) == 0
    assert capsys.readouterr().err == ""
    assert out.read_bytes().startswith(soil.HEADER.encode()), "the export has no BOM"
    # a header-less file with a BOM: its first row still counts
    (tmp_path / "rows.csv").write_bytes(b"\xef\xbb\xbf" + (ROW.format(seq=4) + "\n").encode())
    assert [r.seq for r in soil.parse((tmp_path / "rows.csv").read_text(), "x", from_board=False)] == [4]


@pytest.mark.parametrize("offset", ["30", "-13", "nan", "inf", "-inf", "seven", "5.123"])
def test_a_bad_utc_offset_is_refused_with_the_range(tmp_path, capsys, offset):
    csv = tmp_path / "tanah.csv"
    csv.write_text(soil.HEADER + "\n" + ROW.format(seq=1) + "\n")
    with pytest.raises(SystemExit) as exc:
        soil.main(["plot", str(csv), str(tmp_path / "a.png"), f"--utc-offset={offset}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--utc-offset" in err and ("-12 to +14" in err or "whole minutes" in err), err
    assert "Traceback" not in err
    assert not (tmp_path / "a.png").exists()


def test_utc_offsets_at_the_ends_of_the_range_work(tmp_path):
    rows = soil.parse(soil.HEADER + "\n" + ROW.format(seq=1) + "\n", "t", from_board=False)
    for hours in (-12, 14, 5.75, 0):
        assert soil.plot(rows, tmp_path / f"{hours}.png", utc_offset_h=hours).x_mode == "time"
    for bad in (30.0, math.nan, math.inf):
        with pytest.raises(soil.SoilError, match="-12 to"):
            soil.plot(rows, tmp_path / "bad.png", utc_offset_h=bad)


def test_a_time_beyond_the_year_9999_is_a_bad_row_not_a_crash(tmp_path, capsys):
    last_day = 253402214400  # 9999-12-31 00:00 UTC: still a date at every UTC offset
    csv = tmp_path / "tanah.csv"
    csv.write_text(soil.HEADER + "\n" + "\n".join([
        ROW.format(seq=1).replace("1704067254", "99999999999999", 1),
        ROW.format(seq=2).replace("1704067254", str(last_day + 1), 1),
        ROW.format(seq=3).replace("1704067254", "1\u00b2", 1),  # a digit int() refuses
        ROW.format(seq=4).replace("1704067254", str(last_day), 1),
        ROW.format(seq=5)]) + "\n")
    assert soil.main(["plot", str(csv), str(tmp_path / "a.png"), "--utc-offset", "14"]) == 0
    captured = capsys.readouterr()
    err = captured.err
    assert "line 2: skipped" in err and "after the year 9999" in err, err
    assert "line 3: skipped" in err and "line 4: skipped" in err and "whole numbers" in err, err
    assert err.count("skipped") == 3, err
    # the row in the year 9999 is a measurement with a clock gone wrong: plotted by seq
    assert "(2 measurements" in captured.out and "1 baris dengan jam salah" in captured.out, captured.out
    for offset in ("-12", "14"):
        assert soil.main(["plot", str(csv), str(tmp_path / "b.png"), "--utc-offset", offset]) == 0
    rows = soil.parse(csv.read_text(), "t", warn=lambda m: None, from_board=False)
    assert [r.seq for r in rows] == [4, 5]
    c = soil.plot(rows, tmp_path / "c.png", lang="en")
    assert c.x_mode == "seq" and "1 rows with a wrong clock (t after 2200)" in c.xlabel, c.xlabel
    late = soil.parse(ROW.format(seq=1).replace("1704067254", str(soil.PLOT_T_MAX), 1) + "\n"
                      + ROW.format(seq=2) + "\n", "t")
    assert soil.plot(late, tmp_path / "d.png").x_mode == "time", "the year 2200 itself is a time"
    only_bad = tmp_path / "bad.csv"
    only_bad.write_text(ROW.format(seq=1).replace("1704067254", "99999999999999", 1) + "\n")
    assert soil.main(["plot", str(only_bad), str(tmp_path / "e.png")]) == 1
    assert "no soil measurements" in capsys.readouterr().err


def test_a_missing_output_folder_is_named_not_the_temporary_file(tmp_path, capsys):
    csv = tmp_path / "tanah.csv"
    csv.write_text(soil.HEADER + "\n" + ROW.format(seq=1) + "\n")
    out = tmp_path / "nope" / "out.csv"
    assert soil.main(["export", "--merge", str(csv), str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{out}: the folder {out.parent} does not exist" in err and ".tmp" not in err, err
    a_file = tmp_path / "tanah.csv" / "out.csv"  # a file where the folder should be
    assert soil.main(["export", "--merge", str(csv), str(a_file)]) == 1
    assert f"the folder {csv} is not a folder" in capsys.readouterr().err
    png = tmp_path / "nope" / "chart.png"
    assert soil.main(["plot", str(csv), str(png)]) == 1
    err = capsys.readouterr().err
    assert f"{png}: the folder {png.parent} does not exist" in err, err
    with pytest.raises(soil.SoilError, match="does not exist"):
        soil.export(out, merges=[csv], warn=lambda m: None, say=lambda m: None)
    assert not (tmp_path / "nope").exists()


def test_a_value_no_sensor_can_read_is_a_bad_row(tmp_path, capsys):
    """Found by the break test of 2026-12-04: pH 99 was plotted (and squashed the pH axis) and a
    moisture of -1e308 vanished from the chart without a word."""
    csv = tmp_path / "tanah.csv"
    csv.write_text(soil.HEADER + "\n" + "\n".join([
        ROW.format(seq=1).replace(",5.40,", ",99,", 1),
        ROW.format(seq=2).replace(",51.6,", ",-1e308,", 1),
        ROW.format(seq=3).replace(",160,", ",65536,", 1),
        ROW.format(seq=4).replace(",5.40,", ",14,", 1),  # the ends of a range are readings
        ROW.format(seq=5)]) + "\n")
    assert soil.main(["plot", str(csv), str(tmp_path / "a.png")]) == 0
    captured = capsys.readouterr()
    err = captured.err
    assert "line 2: skipped" in err and "ph 99 is outside 0-14" in err, err
    assert "line 3: skipped" in err and "moisture_pct -1e308 is outside 0-100" in err, err
    assert "line 4: skipped" in err and "k_mg_kg 65536 is outside 0-65535" in err, err
    assert err.count("skipped") == 3 and "(2 measurements" in captured.out, captured
