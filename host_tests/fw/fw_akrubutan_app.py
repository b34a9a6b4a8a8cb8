"""Akrubutan's app on the virtual board, for what the simulator cannot reach: a power cut at
every byte of a soil.csv write, the log's rotation, the sample number after a power cut, an ADC2
pin while Wi-Fi is on, the OLED's 16 columns and the settings' watchdog rule. The whole meter,
button to soil.csv, runs through `kampung sim` in host_tests/test_akrubutan.py.

Pins: boards/esp32_devkitc.json's akrubutan map.
"""

import os

import network

import fwhelp
from apps.akrubutan import app, texts
from fwhelp import check, raises
from kit import config
from kit.hal import Hal
from vhw import clock, flash
from vhw.parts.ds18b20 import DS18B20
from vhw.parts.simple import Analog, Button
from vhw.parts.soil_probe import SoilProbe
from vhw.parts.ssd1306 import OLED

PINS = {"soil_moisture": 34, "ph": 35, "rs485_tx": 17, "rs485_rx": 16, "rs485_de": 4,
        "onewire": 13, "button": 27, "oled_sda": 21, "oled_scl": 22}
FILES = (app.LOG, app.LOG + ".1", app.LOG + ".tmp", app.PH_CAL)


def make(pins=None, **over):
    pins = pins or PINS
    fwhelp.remove(*FILES)
    board = fwhelp.fresh_board(None, pins)
    parts = {"moisture": Analog(board, pins["soil_moisture"], "soil_moisture", 1.90),
             "ph": Analog(board, pins["ph"], "ph", 2.5), "ds18b20": DS18B20(board, pins["onewire"]),
             "probe": SoilProbe(board, pins["rs485_tx"], pins["rs485_rx"], pins["rs485_de"]),
             "oled": OLED(board, pins["oled_scl"], pins["oled_sda"]),
             "button": Button(board, pins["button"])}
    parts["probe"].set(moisture=35.0, ec=400, n=40, p=9, k=150)
    over.setdefault("probe", "jxct")
    meter = app.Meter(Hal({"pins": pins}), app.load_settings(over, "test"))
    return board, parts, meter


def row(seq):
    return "1704067200,%d,51.6,5.40,26.3,420,41,9,160,masam,rendah,sedang,sedang,baik,indikatif," % seq


def read(name):
    try:
        with open(name) as f:
            return f.read()
    except OSError:
        return None


def test_each_log_file_starts_with_the_header_and_rotation_loses_no_row():
    board, parts, meter = make(log_max_bytes=1024)
    for seq in range(1, 31):
        meter.append_log(row(seq))
    old, new = read(app.LOG + ".1").split("\n"), read(app.LOG).split("\n")
    check(old[0] == app.HEADER and new[0] == app.HEADER,
          "a header on top of each file: %r / %r" % (old[0][:20], new[0][:20]))
    seqs = [int(x.split(",")[1]) for x in old[1:] + new[1:] if x]
    check(seqs == list(range(seqs[0], 31)) and seqs[0] > 1, "rows kept in order: %s" % seqs)
    check(len(read(app.LOG)) <= 1024 and len(read(app.LOG + ".1")) <= 1024, "each file within log_max_bytes")
    fwhelp.remove(*FILES)


def _check_log(name, units, want_rows):
    text = read(name)
    if text is None:
        return []
    lines = text.split("\n")
    check(text.endswith("\n"), "cut after %d units: %s ends in a torn line: %r" % (units, name, lines[-1]))
    check(lines[0] == app.HEADER, "cut after %d units: %s starts %r" % (units, name, lines[0][:30]))
    rows = lines[1:-1]
    for r in rows:
        check(r in want_rows, "cut after %d units: %s has a row the meter never wrote: %r" % (units, name, r))
    return rows


def test_a_power_cut_at_every_unit_of_a_log_write_leaves_the_old_log_or_the_new():
    # three writes: the first row on an empty flash, a row appended, a row that rotates the log
    board, parts, meter = make(log_max_bytes=1024)
    written = [row(seq) for seq in range(1, 10)]
    for case, before in (("first", 0), ("append", 3), ("rotate", 9)):
        fwhelp.remove(*FILES)
        for r in written[:before]:
            meter.append_log(r)
        old_log, old_prev = read(app.LOG), read(app.LOG + ".1")
        if case == "rotate":
            meter.s["log_max_bytes"] = len(old_log) + 40  # the next row does not fit: rotation
        new_row = row(100)
        outcomes = {"old": 0, "new": 0}
        units = 0
        while True:
            flash.cut_after(units)
            try:
                meter.append_log(new_row)
                cut = False
            except flash.PowerCut:
                cut = True
            finally:
                flash.disarm()
            rows = _check_log(app.LOG, units, written + [new_row])
            prev = _check_log(app.LOG + ".1", units, written)
            every = prev + rows
            check(every in (written[:before], written[:before] + [new_row]),
                  "%s: cut after %d units: rows %s" % (case, units, [r.split(",")[1] for r in every]))
            outcomes["new" if new_row in rows else "old"] += 1
            if not cut:
                break
            # back to the log before the write, for the next cut point
            for name, text in ((app.LOG, old_log), (app.LOG + ".1", old_prev)):
                fwhelp.remove(name)
                if text is not None:
                    with open(name, "w") as f:
                        f.write(text)
            units += 1
        check(units > 100 and outcomes["old"] >= 100 and outcomes["new"] >= 1,
              "%s: the cut was injected at each unit: %d units, %s" % (case, units, outcomes))
        if case == "rotate":
            check(read(app.LOG).split("\n")[1:] == [new_row, ""] and read(app.LOG + ".1") == old_log,
                  "rotated: %r" % read(app.LOG))
            meter.s["log_max_bytes"] = 1024
    fwhelp.remove(*FILES)


def test_the_sample_number_comes_from_rtc_memory_or_after_a_power_cut_from_the_log():
    board, parts, meter = make()
    check(meter.next_seq() == 1 and board.rtc_memory == b"AKR11", board.rtc_memory)
    check(meter.next_seq() == 2, "RTC memory counts on")
    for seq in (40, 41):
        meter.append_log(row(seq))
    board.rtc_memory = b""  # a power cut: the RTC's slow memory is gone, the flash is not
    check(meter.next_seq() == 42, "after a power cut the log's last row: %r" % board.rtc_memory)
    board.rtc_memory = b"AKR1\xff\x00garbage"
    check(meter.next_seq() == 42, "damaged RTC memory: from the log")
    os.rename(app.LOG, app.LOG + ".1")  # rotated and the new file not yet written
    board.rtc_memory = b""
    check(meter.next_seq() == 42, "from soil.csv.1")
    fwhelp.remove(*FILES)
    meter.append_log(row(7))
    with open(app.LOG, "a") as f:
        f.write(("x" * 600) + "\n")  # a long foreign line: the tail is read, not the whole file
    board.rtc_memory = b""
    check(meter.next_seq() == 1, "a log ending in a line without a number starts again at 1")
    fwhelp.remove(*FILES)
    board.rtc_memory = b""
    check(meter.next_seq() == 1, "no log, no RTC memory")
    fwhelp.remove(*FILES)


def test_an_adc2_pin_while_wifi_is_on_is_a_fault_not_a_crash():
    # GPIO26 is ADC2 channel 9 on the ESP32: `kampung boards check` refuses it for a Wi-Fi
    # device, but a hand-made board.json can still put the moisture probe there
    pins = dict(PINS, soil_moisture=26)
    board, parts, meter = make(pins)
    network.WLAN(network.STA_IF).active(True)
    got = []

    async def measure():
        if meter.probe is None:
            await meter.find_probe()
        got.append(await meter.measure())

    fwhelp.run(measure, 30000)
    check(got, "the measurement finished")
    values, faults = got[0]
    check("moisture" not in values and "ADC2" in faults.get("moisture", ""), (values, faults))
    check("ph" in values and values.get("n") == 40, "the other sensors still count: %s" % values)
    network.WLAN(network.STA_IF).active(False)
    got.clear()
    fwhelp.run(measure, 30000)
    check(got[0][0].get("moisture") == 51.6 and "moisture" not in got[0][1], got[0])
    fwhelp.remove(*FILES)


def test_the_result_screen_fits_16_columns_and_says_which_probe_failed():
    board, parts, meter = make()
    values = {"moisture": 100.0, "ph": 14.0, "temperature": -10.5, "ec": 19999, "n": 1999, "p": 1999, "k": 1999}
    meter.report(1, values, {"ph": "alkalis"}, {"n": ("rendah", "")}, [], {})
    screen = parts["oled"].text()
    check(screen[:7] == ["Lembab 100.0%", "pH 14.00", " alkalis", "Suhu -10.5 C", "EC 19999 uS/cm",
                         "N1999P1999K1999", "NPK ragu"], screen)
    meter.report(2, {"ph": 6.0}, {}, {}, [], {"moisture": "disconnected"})
    check(parts["oled"].text()[0] == "Lembab: rusak", "not 'rusak%%': %s" % parts["oled"].text())
    t0 = clock.us
    meter.show(["Mengukur... 120s"])
    check(clock.us - t0 < 30000, "an OLED update blocks the loop %d us (I2C at 400 kHz)" % (clock.us - t0))
    check(parts["oled"].text()[0] == "Mengukur... 120s", parts["oled"].text())
    fwhelp.remove(*FILES)


def test_every_oled_text_fits_16_columns_in_both_languages():
    widest = {"measuring": (120,), "moist": ("100.0",), "ph": ("14.00", ""), "temp": ("-10.5",),
              "ec": ("19999",), "npk": ("999", "999", "999"), "cal_third": ("100%/100%", "9.18"),
              "cal_ok": ("100%/100%",), "cal_bad": ("",)}
    classes = ("sangat_masam", "masam", "agak_masam", "netral", "agak_alkalis", "alkalis")
    for lang in ("id", "en"):
        for key in texts.OLED_KEYS:
            for line in texts.text(lang, key, *widest.get(key, ())).split("|"):
                if key in classes:
                    line = " " + line  # the pH class has its own line, indented
                check(len(line) <= 16, "%s %s: %r is %d wide" % (lang, key, line, len(line)))


def test_settings_refuse_a_watchdog_shorter_than_one_sample():
    e = raises(config.ConfigError, lambda: app.load_settings({"watchdog_s": 5}, "config.json"),
               "config.json", "watchdog_s", "at least 6")
    check("sample_ms" in str(e), str(e))
    check(app.load_settings({"watchdog_s": 0}, "c")["watchdog_s"] == 0, "0 = off")
    check(app.load_settings({"watchdog_s": 6}, "c")["watchdog_s"] == 6, "6 s is enough")


def test_a_damaged_calibration_file_is_no_calibration():
    for text in ('{"cal": {"v686": "x"}, "t": 5}', '{"cal": ', '[1, 2]', '{"cal": {"v686": 2.5}}'):
        fwhelp.remove(*FILES)
        with open(app.PH_CAL, "w") as f:
            f.write(text)
        fwhelp.fresh_board(None, PINS)
        meter = app.Meter(Hal({"pins": PINS}), app.load_settings({"probe": "none"}, "test"))
        check(meter.phcal is None and meter.ph_cal_age_days() is None, "%s -> %r" % (text, meter.phcal))
    fwhelp.remove(*FILES)
