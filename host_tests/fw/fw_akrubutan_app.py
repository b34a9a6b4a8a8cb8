"""Akrubutan's app on the virtual board, for what the simulator cannot reach: a power cut at
every byte of a soil.csv write, the log's rotation, the sample number after a power cut, the RTC
record (versioned, checked: every damage falls back), an ADC2 pin while Wi-Fi is on, the OLED's
16 columns (every result page in both languages), the result pages turning and the OLED going
dark across the tick wrap, the settings' watchdog rule, samples paced start to start with the DS18B20 converting
during the Modbus reads, the remembered probe asked with one frame, and the sensors' supply
switch (unpowered probes read 0 V and do not answer; the warm-up keeps frames off a starting
probe); an NPK-only probe, a stored calibration checked field by field, a button held on
through a calibration step, a refusal in English, and the field logger's sleep across the
tick wrap. The whole meter, button to soil.csv, runs through `kampung sim` in
host_tests/test_akrubutan.py.

Pins: boards/esp32_devkitc.json's akrubutan map.
"""

import asyncio
import json
import os

import network

import fwhelp
from apps.akrubutan import app, logic, texts
from drivers.ds18b20 import CONVERT_MS
from drivers.soil_probe import SoilProbe as ProbeDriver
from fwhelp import check, raises
from kit import config
from kit.hal import Hal
from vhw import clock, flash
from vhw.parts.ds18b20 import DS18B20
from vhw.parts.simple import Analog, Button, PowerSwitch
from vhw.parts.soil_probe import SoilProbe
from vhw.parts.ssd1306 import OLED

PINS = {"soil_moisture": 34, "ph": 35, "rs485_tx": 17, "rs485_rx": 16, "rs485_de": 4,
        "onewire": 13, "button": 27, "oled_sda": 21, "oled_scl": 22}
SWITCHED = dict(PINS, sensor_power=26)
FILES = (app.LOG, app.LOG + ".1", app.LOG + ".tmp", app.PH_CAL)


def make(pins=None, start_ms=0, family="jxct", model="7in1", **over):
    pins = pins or PINS
    fwhelp.remove(*FILES)
    board = fwhelp.fresh_board(None, pins, start_ms)
    supply = PowerSwitch(board, pins["sensor_power"]) if "sensor_power" in pins else None
    parts = {"moisture": Analog(board, pins["soil_moisture"], "soil_moisture", 1.90, supply=supply),
             "ph": Analog(board, pins["ph"], "ph", 2.5, supply=supply), "ds18b20": DS18B20(board, pins["onewire"]),
             "probe": SoilProbe(board, pins["rs485_tx"], pins["rs485_rx"], pins["rs485_de"], supply=supply,
                                family=family, model=model),
             "oled": OLED(board, pins["oled_scl"], pins["oled_sda"]),
             "button": Button(board, pins["button"]), "supply": supply}
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
    check(meter.next_seq() == 1 and logic.rtc_unpack(board.rtc_memory) == (1, None), board.rtc_memory)
    check(meter.next_seq() == 2, "RTC memory counts on")
    board.rtc_memory = b"AKR141"  # the record of the firmware before: a version-1 record
    check(meter.next_seq() == 42 and board.rtc_memory[:4] == b"AKR2", "version 1 read, version 2 written: %r"
          % board.rtc_memory)
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
    check(screen == ["Lembab 100.0%", "pH 14.00", " alkalis", "Suhu -10.5 C", "EC 19999 uS/cm",
                     "N1999P1999K1999", "", " " * 13 + "1/2"], screen)
    page2 = meter.page(meter.pages, 1)  # no advice given: two pages
    check(page2 == ["N -", "P -", "K -", "Keyakinan:", " pH -", " NPK ragu", "air NPK -", " " * 13 + "2/2"], page2)
    meter.report(2, {"ph": 6.0}, {}, {}, [], {"moisture": "disconnected"})
    check(parts["oled"].text()[0] == "Lembab: rusak", "not 'rusak%%': %s" % parts["oled"].text())
    t0 = clock.us
    meter.show(["Mengukur... 120s"])
    check(clock.us - t0 < 30000, "an OLED update blocks the loop %d us (I2C at 400 kHz)" % (clock.us - t0))
    check(parts["oled"].text()[0] == "Mengukur... 120s", parts["oled"].text())
    fwhelp.remove(*FILES)


def test_the_result_screen_never_cuts_a_number():
    board, parts, meter = make()
    # values no probe gives (the meter refuses them: readings()); the screen still shows whole
    # numbers, K on a line of its own, rather than "N65531P4464K5171"
    meter.report(1, {"n": 65531, "p": 4464, "k": 51712}, {}, {}, [], {})
    screen = parts["oled"].text()
    check(screen[5:8] == ["N65531 P4464", "K51712", " " * 13 + "1/2"], screen)
    meter.probe = ProbeDriver(meter.master, 1, "jxct")
    values, faults = meter.readings({"n": 65531.0, "p": 4464, "k": 51712, "ec": 65535, "probe_moisture": 6553.5})
    check(values == {} and sorted(faults) == ["ec", "k", "n", "p", "probe_moisture"], (values, faults))
    fwhelp.remove(*FILES)


def test_every_oled_text_fits_16_columns_in_both_languages():
    widest = {"npk_air": ("100.0%",), "measuring": (120,), "moist": ("100.0",), "ph": ("14.00", ""), "temp": ("-10.5",),
              "ec": ("19999",), "npk": ("999", "999", "999"), "cal_third": ("100%/100%", "9.18"),
              "cal_ok": ("100%/100%",), "why_slope": ("9.18", 999), "why_offset": (-9999,)}
    classes = ("sangat_masam", "masam", "agak_masam", "netral", "agak_alkalis", "alkalis")
    for lang in ("id", "en"):
        for key in texts.OLED_KEYS.split():
            for line in texts.text(lang, key, *widest.get(key, ())).split("|"):
                if key in classes:
                    line = " " + line  # the pH class has its own line, indented
                check(len(line) <= 16, "%s %s: %r is %d wide" % (lang, key, line, len(line)))


def test_result_pages_fit_16_columns_in_both_languages_with_every_advice():
    # every advice the logic gives, the longest crop list, a config error and the widest
    # values: each page 8 lines of at most 16 columns, numbered; no word of the advice cut or
    # lost, and an item that fits on a page is not split over two
    crops = ", ".join([c[0] for c in logic.CROPS])
    adv = [("lime",), ("acidify",), ("crops", crops), ("no_crops",), ("dry",), ("npk_unreliable",),
           ("npk_check",), ("ph_calibrate",)]
    values = {"moisture": 100.0, "ph": 8.0, "temperature": -10.5, "ec": 19999, "n": 1999, "p": 1999, "k": 1999,
              "probe_moisture": 100.0}
    classes = {"ph": "agak_alkalis", "n": "sedang", "p": "sedang", "k": "sedang"}
    conf = {"ph": ("indikatif", ""), "n": ("indikatif", "")}
    for lang in ("id", "en"):
        board, parts, meter = make(lang=lang)
        meter.config_bad = True
        meter.report(1, values, classes, conf, adv, {"probe": "silent"})
        n = (len(meter.pages) + app.PAGE_LINES - 1) // app.PAGE_LINES
        pages = [meter.page(meter.pages, i) for i in range(n)]
        check(parts["oled"].text() == [x.rstrip() for x in pages[0]], (parts["oled"].text(), pages[0]))
        check(meter.page(meter.pages, n) == pages[0], "page n is page 1 again")
        for i, p in enumerate(pages):
            check(len(p) == 8 and p[7] == "%16s" % ("%d/%d" % (i + 1, n)), "%s page %d: %r" % (lang, i + 1, p))
            for line in p:
                check(len(line) <= 16, "%s page %d: %r is %d wide" % (lang, i + 1, line, len(line)))
        t = meter.t
        flat = [line for p in pages[2:] for line in p[:7]]
        for item in [("config_bad",)] + adv:
            lines = texts.wrap(t(item[0], *item[1:]))
            check(" ".join(lines).split() == t(item[0], *item[1:]).split(), "%s %s: a word cut" % (lang, item[0]))
            found = [i for i in range(len(flat)) if flat[i:i + len(lines)] == lines]
            check(found and (len(lines) > 7 or found[0] // 7 == (found[0] + len(lines) - 1) // 7),
                  "%s %s: %r not on one page: %r" % (lang, item[0], lines, flat))
        check(pages[1][:7] == ["N " + t("sedang"), "P " + t("sedang"), "K " + t("sedang"),
                               t("conf"), " pH " + t("indikatif"), " NPK " + t("indikatif"),
                               t("npk_air", "100.0%")], pages[1])
        check(t("probe_fault") in pages[0], "the silent probe on the readings page: %s" % pages[0])
    check(texts.wrap("a bb  ccc " + "x" * 20, 6) == ["a bb", "ccc", "xxxxxx", "xxxxxx", "xxxxxx", "xx"],
          texts.wrap("a bb  ccc " + "x" * 20, 6))
    fwhelp.remove(*FILES)


def test_the_pager_turns_pages_every_5_s_and_darkens_the_oled_across_the_tick_wrap():
    # the tick counter wraps at 2**30 ms: the pages start 3 s before it
    board, parts, meter = make(start_ms=(1 << 30) - 3000, probe="none", oled_off_min=1)
    meter.pages = ["line %d" % i for i in range(10)]  # two pages
    got = []

    async def page():
        got.append(clock.us)
        await meter.pager()
        got.append(clock.us)

    fwhelp.run(page, 70000)
    check(len(got) == 2 and 59999000 <= got[1] - got[0] < 60001000 and meter.dark,
          "dark after 60 s: %s, dark %s" % (got, meter.dark))
    shown = [(e["t_ms"], e["text"][0], e["text"][7]) for e in fwhelp.events("oled")][1:]  # [0]: cleared at start
    check([s[1] for s in shown[:12]] == ["line 0", "line 7"] * 6 and shown[-1][1:] == ("", ""), shown)
    check(len(shown) == 13 and shown[0][2].endswith("1/2") and shown[1][2].endswith("2/2"), shown)
    gaps = [shown[i + 1][0] - shown[i][0] for i in range(12)]
    check(all(4990 <= g <= 5010 for g in gaps), "a page every 5 s across the wrap: %s" % gaps)

    # oled_off_min 0: lit for good; the ready screen is one page, without a number
    board, parts, meter = make(probe="none", oled_off_min=0)
    fwhelp.run(meter.pager, 600000)
    check(not meter.dark and parts["oled"].text()[:2] == ["Akrubutan siap", "Tekan tombol"] and
          parts["oled"].text()[7] == "", parts["oled"].text())
    fwhelp.remove(*FILES)


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


def test_the_rtc_record_keeps_the_probe_and_any_damage_is_no_record():
    probe = ("renke", 7, 2400)
    mem = logic.rtc_pack(1234, probe)
    check(mem == b"AKR21234,renke,7,2400*" + (b"%04x" % logic.fletcher16(b"1234,renke,7,2400")), mem)
    check(logic.rtc_unpack(mem) == (1234, probe), logic.rtc_unpack(mem))
    check(logic.rtc_unpack(logic.rtc_pack(5)) == (5, None), "no probe known")
    check(logic.rtc_unpack(mem, ("jxct",)) == (1234, None), "a family this firmware does not know: no probe")
    check(logic.rtc_unpack(b"") == (None, None) and logic.rtc_unpack(None) == (None, None), "empty")
    # every byte of the record changed (one bit, a nibble, all bits) and every truncation: no
    # record at all, never a wrong number or a wrong probe (Fletcher-16 sees any one-byte change
    # of a text body)
    for i in range(len(mem)):
        for mask in (0x01, 0x10, 0x80, 0xFF):
            bad = bytearray(mem)
            bad[i] ^= mask
            got = logic.rtc_unpack(bytes(bad))
            check(got == (None, None), "byte %d ^ 0x%02x: %r -> %r" % (i, mask, bytes(bad), got))
    for n in range(len(mem)):
        check(logic.rtc_unpack(mem[:n]) == (None, None), "cut to %d bytes: %r" % (n, logic.rtc_unpack(mem[:n])))
    # the meter falls back to the log when the record is damaged, and keeps the probe otherwise
    board, parts, meter = make()
    meter.append_log(row(40))
    board.rtc_memory = mem[:-1] + b"0"
    check(meter.next_seq() == 41, "damaged: from the log")
    meter.found = probe
    check(meter.next_seq() == 42 and meter._rtc_state() == (42, probe), board.rtc_memory)
    fwhelp.remove(*FILES)


def _de_rises(since_ms=0):
    return [e["t_ms"] for e in fwhelp.events("pin", "rs485_de") if e["value"] == 1 and e["t_ms"] >= since_ms]


def test_samples_start_every_sample_ms_and_the_ds18b20_converts_during_the_modbus_reads():
    board, parts, meter = make(sample_ms=1000)
    parts["ds18b20"].set(23.5)
    got = []

    async def one():
        await meter.find_probe()
        t0 = clock.us
        got.append(await meter.sample())
        got.append(clock.us - t0)

    fwhelp.run(one, 10000)
    values, took = got
    # the JXCT map is four frames at 9600 baud (about 100 ms with the turnarounds): read one
    # after the other with the conversion, the sample would take 850 ms or more
    check(values.get("temperature") == 23.5 and values.get("n") == 40, values)
    check(CONVERT_MS * 1000 <= took < (CONVERT_MS + 60) * 1000, "a sample took %d us" % took)
    frames = _de_rises(0)
    check(len(frames) >= 4, frames)

    # a whole measurement: each sample starts 1000 ms after the one before (not 1000 ms after it
    # ended); the virtual soil does not change, so 5 samples agree and it ends
    board, parts, meter = make(sample_ms=1000)
    got.clear()

    async def measurement():
        await meter.find_probe()
        got.append(clock.us // 1000)
        got.append(await meter.measure())
        got.append(clock.us // 1000)

    fwhelp.run(measurement, 30000)
    start, (values, faults), end = got
    firsts = []
    last = -10000
    for t in _de_rises(start):
        if t - last > 500:  # the first frame of each sample's four
            firsts.append(t)
        last = t
    gaps = [firsts[i + 1] - firsts[i] for i in range(len(firsts) - 1)]
    check(len(firsts) == 5 and gaps == [1000] * 4, "sample starts %s, gaps %s" % (firsts, gaps))
    check(end - start < 4 * 1000 + CONVERT_MS + 150, "5 samples in %d ms" % (end - start))
    check(not faults and values.get("n") == 40, (values, faults))
    fwhelp.remove(*FILES)


def test_a_remembered_probe_is_asked_once_and_a_silent_one_starts_a_search():
    board, parts, meter = make(probe="auto")
    board.rtc_memory = logic.rtc_pack(9, ("jxct", 1, 9600))

    async def find():
        await meter.find_probe()

    fwhelp.run(find, 10000)
    check(meter.probe is not None and meter.probe.addr == 1 and meter.found == ("jxct", 1, 9600), meter.found)
    check(parts["probe"].requests == 1 and len(_de_rises()) == 1, "one frame, no search: %d requests"
          % parts["probe"].requests)
    check(meter.next_seq() == 10 and meter._rtc_state() == (10, ("jxct", 1, 9600)), board.rtc_memory)

    # the probe was changed for one at address 3 while the meter slept: the remembered one is
    # silent, so the bus is searched
    board, parts, meter = make(probe="auto")
    parts["probe"].addr = parts["probe"].next_addr = 3
    board.rtc_memory = logic.rtc_pack(9, ("jxct", 1, 9600))
    fwhelp.run(find, 20000)
    check(meter.found == ("jxct", 3, 9600) and meter.probe.addr == 3, meter.found)
    check(len(_de_rises()) > 2, "asked twice, then the search: %s" % _de_rises())
    check(meter.next_seq() == 10 and meter._rtc_state()[1] == ("jxct", 3, 9600), board.rtc_memory)
    fwhelp.remove(*FILES)


def test_the_sensor_supply_switch_warm_up_and_unpowered_probes():
    board, parts, meter = make(SWITCHED, probe="auto", sleep_min=30)
    supply, probe = parts["supply"], parts["probe"]
    check(not supply.on() and board.analog[34] == 0.0 and board.analog[35] == 0.0,
          "switched off at boot: the analog probes read 0 V (%r, %r)" % (board.analog[34], board.analog[35]))
    got = []

    async def wake():
        meter.sensors_on()
        got.append(clock.us)
        check(board.analog[34] == 1.90 and board.analog[35] == 2.5, "powered: the probes' volts")
        await meter.warm_up()
        got.append(clock.us)
        await meter.find_probe()
        got.append(await meter.measure())
        meter.sensors_off()

    fwhelp.run(wake, 30000)
    on_us, warm_us, (values, faults) = got
    check(1000 * 1000 <= warm_us - on_us < 1002 * 1000, "warm-up %d us, the setting is 1000 ms" % (warm_us - on_us))
    first = _de_rises(0)[0]
    check(first * 1000 >= on_us + 1000 * 1000, "first frame at %d ms, powered at %d us" % (first, on_us))
    check(probe.early_requests == 0 and probe.unpowered_requests == 0 and values.get("n") == 40,
          (probe.early_requests, values, faults))
    check(not supply.on() and board.analog[34] == 0.0, "off again")
    switched = [(e["t_ms"], e["value"]) for e in fwhelp.events("pin", "sensor_power")]
    check([v for _, v in switched] == [0, 1, 0], switched)
    # a frame to an unpowered probe is lost, not answered
    meter.probe = None

    async def find():
        await meter.find_probe()

    board.rtc_memory = logic.rtc_pack(1, ("jxct", 1, 9600))
    fwhelp.run(find, 20000)
    check(meter.probe is None and probe.unpowered_requests > 0, "no answer while off: %d" % probe.unpowered_requests)

    # no warm-up: the probe is still starting (500 ms) when the search asks address 1 at every
    # baud, so it is not found; the virtual probe keeps its own start-up time
    board, parts, meter = make(SWITCHED, probe="auto", sensor_warmup_ms=0)

    async def cold():
        meter.sensors_on()
        await meter.warm_up()
        await meter.find_probe()

    fwhelp.run(cold, 20000)
    check(parts["probe"].early_requests > 0 and meter.probe is None, "early frames %d, probe %r"
          % (parts["probe"].early_requests, meter.probe))
    fwhelp.remove(*FILES)


def _capture():
    said = []
    saved = app.log.info
    app.log.info = lambda *a: said.append(" ".join([str(x) for x in a]))
    return said, saved


def test_a_stored_calibration_is_checked_field_by_field_and_a_future_time_is_stale():
    cal = {"v686": 2.5248, "acid": 3.033, "alkaline": None, "zero_v": 2.5, "gain": 3.0, "temp_c": 26.3}
    said, saved = _capture()
    try:
        # a gain of 0 or -273.15 C divided by zero at boot (three boots: safe mode); a "t" that
        # is not a number raised TypeError at every measurement
        for stored, field in (({"cal": dict(cal, gain=0), "t": 1704067200}, "'gain' is 0"),
                              ({"cal": dict(cal, temp_c=-273.15), "t": 1704067200}, "'temp_c' is -273.15"),
                              ({"cal": cal, "t": "2024-01-01"}, "'t' is '2024-01-01'"),
                              ({"cal": cal, "t": -5}, "'t' is -5"),
                              ({"cal": dict(cal, v686=None), "t": 0}, "'v686' is None")):
            fwhelp.remove(*FILES)
            with open(app.PH_CAL, "w") as f:
                f.write(json.dumps(stored))
            del said[:]
            fwhelp.fresh_board(None, PINS)
            meter = app.Meter(Hal({"pins": PINS}), app.load_settings({"probe": "none"}, "test"))
            check(meter.phcal is None, "%s: %r" % (field, stored))
            check(["akrubutan: ph_cal.json: field %s" % field in x for x in said].count(True) == 1,
                  "the file and the field named: %s" % said)
        # a time in the future (set by a clock that was wrong) is no age: stale, not fresh forever
        board, parts, meter = make(probe="none")
        clock.advance(5000000)
        for t, stale in ((app.unix_time() + 365 * 86400, True), (app.unix_time() - 86400, False)):
            meter.phcal, meter.ph_cal_t = logic.PhCal.from_json(cal), t
            age = meter.ph_cal_age_days()
            check((age > meter.s["ph_cal_max_days"]) == stale, "t %d: age %r days" % (t, age))
    finally:
        app.log.info = saved
    fwhelp.remove(*FILES)


def test_an_npk_only_probe_gives_n_p_and_k_through_the_meter():
    # Renke RS-NPK-N01-TR: N/P/K at 0x001E-0x0020 only; the search finds it by its address
    # register, the driver reads what it has
    board, parts, meter = make(probe="auto", family="renke", model="npk")
    got = []

    async def measure():
        await meter.find_probe()
        got.append(await meter.measure())

    fwhelp.run(measure, 30000)
    values, faults = got[0]
    check((values.get("n"), values.get("p"), values.get("k")) == (40, 9, 150) and "probe" not in faults,
          (values, faults))
    check("ec" not in values and "probe_moisture" not in values, "what it lacks stays out: %s" % values)
    fwhelp.remove(*FILES)


def test_a_button_held_on_does_not_stop_a_calibration_step_from_timing_out():
    board, parts, meter = make(probe="none")
    parts["button"].press(400000)  # a stuck button, or a long press never let go
    got = []

    async def wait():
        await asyncio.sleep_ms(100)  # the step begins with the button already held
        t0 = clock.us
        got.append(await meter.wait_press(app.CAL_WAIT_MS))
        got.append(clock.us - t0)

    fwhelp.run(wait, 350000)
    check(len(got) == 2 and got[0] is None, "no press while held: %s" % got)
    check(app.CAL_WAIT_MS * 1000 <= got[1] < (app.CAL_WAIT_MS + 100) * 1000, "timed out at %d us" % got[1])
    fwhelp.remove(*FILES)


def test_a_refused_calibration_speaks_the_meters_language_and_waits_for_a_press():
    board, parts, meter = make(probe="none", lang="en")
    press = parts["button"].press
    clock.after(500000, lambda: press(150))  # 6.86 at 2.5 V
    clock.after(8000000, lambda: parts["ph"].set_volts(3.3))  # a 4.01 above the ADC's range
    clock.after(9000000, lambda: press(150))
    clock.after(40000000, lambda: press(150))  # read, go on
    screens = []
    got = []

    async def cal():
        await meter.calibrate_ph()
        got.append(clock.us)

    fwhelp.run(cal, 60000)
    for e in fwhelp.events("oled"):
        text = " / ".join([x for x in e["text"] if x])
        if not screens or screens[-1][1] != text:
            screens.append((e["t_ms"], text))
    texts_ = [x for _, x in screens]
    check("pH calibration / Reading buffer / Wait..." in texts_, texts_)
    refused = [t for t, x in screens if x == "pH cal. failed / Input at ADC / limit: check the / wiring / divider / "
                                            "Press: continue"]
    check(len(refused) == 1 and refused[0] < 15000, screens)
    check(got and 40000000 < got[0] < 40200000, "shown until the press at 40 s: %s" % got)
    check(not meter.phcal and read(app.PH_CAL) is None, "nothing stored")
    fwhelp.remove(*FILES)


def test_the_field_logger_sleeps_the_rest_of_its_interval_across_the_tick_wrap():
    # the tick counter wraps at 2**30 ms: the wake 3 s before it
    board, parts, meter = make(start_ms=(1 << 30) - 3000, probe="none", sleep_min=1)
    first = meter.sleep_ms()  # the meter was made at the wake (its OLED cleared: 25 ms)
    check(59900 < first <= 60000, first)
    clock.advance(8000000)  # awake 8 s: the counter wrapped meanwhile
    check(meter.sleep_ms() == first - 8000, "a wake every 60 s: %d ms asleep" % meter.sleep_ms())
    clock.advance(70000000)  # awake longer than the interval: the shortest sleep
    check(meter.sleep_ms() == app.MIN_SLEEP_MS, meter.sleep_ms())
    fwhelp.remove(*FILES)


def test_the_adc_limit_is_the_chips_from_board_json():
    # an ESP32-C3 reads at most 2.5 V at 11 dB (board.json's adc_max_mv, from boards/chips): a
    # moisture probe at 2.49 V there is clipped, not dry soil; the same volts on an ESP32 are
    for top_mv, clipped in ((2500, True), (3100, False)):
        board, parts, meter = make(probe="none")
        meter = app.Meter(Hal({"pins": PINS, "adc_max_mv": top_mv}), app.load_settings({"probe": "none"}, "t"))
        values, faults = meter.readings({"moisture_v": 2.49, "ph_v": 2.2})
        check(("moisture" in faults) == clipped and ("moisture" in values) != clipped, (top_mv, values, faults))
        check(not clipped or "at the ADC's limit (0-2.5 V)" in faults["moisture"], faults)
        check("ph" in values, "2.2 V is within both ranges: %s" % (values,))
    fwhelp.remove(*FILES)
