"""Akrubutan, the soil-fertility meter: moisture, pH, an RS485 NPK probe and a DS18B20, read
honestly and mapped to the Indonesian soil-test classes (docs/akrubutan.md).

Wiring (board map roles): soil_moisture and ph (analog, ADC1 pins: ADC2 cannot be read while
Wi-Fi is on), rs485_tx/rs485_rx/rs485_de (a 3.3 V MAX3485-type transceiver; the probe wants
12-24 V), onewire (DS18B20, 4.7 kOhm pull-up), button (to GND), oled_sda/oled_scl (SSD1306),
and optionally sensor_power: high switches on the probes' supply (a P-MOSFET high-side switch
driven through an NPN, or a load switch; a pull-down keeps it off while the pin is not driven:
reset, boot, deep sleep).

A short press measures: the sensors are sampled every ``sample_ms`` for up to ``measure_s``,
stopping early once the last 5 samples agree; the median of each goes through the calibrations
and the assessment (logic.py), is printed, appended to soil.csv and shown as pages that take
turns every PAGE_MS until the next press (readings; classes and confidence; advice); after
``oled_off_min`` the OLED goes dark and a press only wakes it. A long press (3 s)
calibrates pH: 6.86 first, then 4.01 or 9.18, and optionally the other one of those two. With
``sleep_min`` > 0 the meter is a field logger: it switches the sensors on, waits
``sensor_warmup_ms``, measures, switches the sensors and the OLED off and goes back to deep
sleep; the RTC memory keeps the sample number (after a power cut the log's last row does) and
the probe found (family, address, baud), so a wake asks that probe once instead of searching the
bus. On the button the sensors stay on: a press answers at once (see docs/akrubutan.md).
"""

import asyncio
import os
import time

from apps.akrubutan import logic, texts
from apps.akrubutan.logic import CalError, MoistureCal, PhCal, ProbeFault
from kit import log, store

LOG = "soil.csv"
PH_CAL = "ph_cal.json"  # {"cal": PhCal.to_json(), "t": unix seconds of the calibration}
HEADER = ("t,seq,moisture_pct,ph,temp_c,ec_us_cm,n_mg_kg,p_mg_kg,k_mg_kg,ph_class,n_class,"
          "p_class,k_class,conf_ph,conf_npk,faults,npk_moisture_pct")  # new columns go at the end
STABLE_N = 5
TOLERANCE = {"moisture_v": 0.02, "ph_v": 0.01, "temperature": 0.3, "probe_moisture": 1.0,
             "ec": 20, "n": 3, "p": 3, "k": 3, "probe_ph": 0.1}
LONG_PRESS_MS = 3000
CAL_WAIT_MS = 300000  # a calibration step left alone this long is cancelled (the old one stays)
THIRD_WAIT_MS = 60000  # the optional third buffer: no press within this finishes with two
OLED_I2C_HZ = 400000  # SSD1306 fast mode: a whole frame takes 23 ms on the bus (92 ms at 100 kHz)
REFUSED_WAIT_MS = 60000  # a refused calibration's reason stays up until a press, or this long
PAGE_MS = 5000  # each result page is shown this long, then the next: 7 short lines read in 5 s
PAGE_LINES = 7  # text lines of a result page; the 8th is its number, "2/4"
# An ADC input reads up to the chip's top at 11 dB (hal.adc_max_uv(): 3.1 V on an ESP32, 2.5 V
# on an ESP32-C3); a higher voltage reads as the top. A reading within ADC_EDGE_V of the top or
# of 0 V is a wire off (floating), a short, or a module whose output is beyond the pin's range:
# a fault, never a moisture or a pH.
ADC_EDGE_V = 0.02
MIN_SLEEP_MS = 1000  # field logging: the shortest deep sleep, even after a long wake
_PROBE_KEYS = {"moisture": "probe_moisture", "ph": "probe_ph"}  # the probe's names -> samples'
_EPOCH = 946684800 if time.gmtime(0)[0] == 2000 else 0  # the ESP32 counts from 2000


def unix_time():
    t = time.time() + _EPOCH
    return t if t > 1704067200 else 0


def _fmt(v, digits=1):
    if v is None:
        return ""
    if isinstance(v, int):
        return str(v)
    return ("%." + str(digits) + "f") % v


class Meter:
    def __init__(self, hal, settings):
        # made at every boot and wake from deep sleep, first thing: the wake's time counts from
        # here (the boot before the app, the bootloader and MicroPython starting, is not seen)
        self.woke = time.ticks_ms()
        self.hal = hal
        self.s = settings
        self.lang = settings["lang"]
        self.moisture = hal.adc("soil_moisture") if hal.has("soil_moisture") else None
        self.ph_adc = hal.adc("ph") if hal.has("ph") else None
        self.button = hal.input("button", "up") if hal.has("button") else None
        self.mcal = MoistureCal(settings["moisture_dry_v"], settings["moisture_wet_v"])
        self.phcal, self.ph_cal_t = self._load_ph_cal()
        self.crops = logic.CROPS + tuple(tuple(c) for c in settings["crops"])
        self.config_bad = settings.get("config_bad", False)  # salvage(): config.json unusable
        self.adc_top_v = hal.adc_max_uv() / 1000000  # the chip's, from board.json
        self.probe = None
        self.found = None  # (family, address, baud) of the probe the search found, for the RTC
        self.master = None
        # the sensors' supply switch: off until run() switches it on (hal.output drives it low)
        self.power = hal.output("sensor_power", 0) if hal.has("sensor_power") else None
        self.powered_at = None  # ticks_ms when the supply was switched on
        self.temp = None
        self.oled = None
        self.lines = None
        self.pages = None  # the last result's pages (report()); None: the ready screen
        self.dark = False  # the OLED switched off after oled_off_min without a press
        if settings["probe"] != "none" and hal.has("rs485_tx"):
            from drivers import modbus_rtu

            de = hal.output("rs485_de") if hal.has("rs485_de") else None
            self.master = modbus_rtu.Master(hal.uart("rs485", 9600), de, baud=9600)
        if hal.has("onewire"):
            from drivers.ds18b20 import DS18B20

            self.temp = DS18B20(hal.onewire("onewire"))
        if hal.has("oled_scl"):
            self._oled_init()
        self.faults = {}
        self.watchdog = None

    # -- display ----------------------------------------------------------------------------
    def _oled_init(self):
        from drivers.ssd1306 import SSD1306

        try:
            self.oled = SSD1306(self.hal.i2c("oled", OLED_I2C_HZ))
        except OSError as e:
            log.info("akrubutan: no OLED (%s)" % (e,))
            self.oled = None

    def show(self, lines):
        """Up to 8 lines of 16 characters on the OLED; also printed (the console shows what the
        screen says)."""
        lines = [ln[:16] for ln in lines[:8]]
        if lines == self.lines:
            return
        self.lines = lines
        print("OLED: " + " | ".join([ln for ln in lines if ln]))  # blank lines left out
        if self.oled is not None:
            try:
                self.oled.show_lines(lines)
            except OSError as e:
                log.info("akrubutan: OLED error", e)
                self._oled_init()

    def t(self, key, *args):
        return texts.text(self.lang, key, *args)

    # -- calibration store ------------------------------------------------------------------
    def _load_ph_cal(self):
        """The stored calibration and its time, every field checked (a bad one is named and the
        file not used: calibrate again); (None, None) without a usable one."""
        try:
            d = store.read_json(PH_CAL, None)
        except ValueError as e:
            log.info("akrubutan:", e)
            return None, None
        if d is None:
            return None, None
        try:
            if not isinstance(d, dict):
                raise CalError("must be a JSON object")
            t = d.get("t", 0)
            if not logic.is_number(t) or t < 0:
                raise CalError("field 't' is %r; it must be Unix seconds (0: no clock)" % (t,))
            return PhCal.from_json(d.get("cal")), t
        except CalError as e:
            log.info("akrubutan: %s: %s; not used (calibrate pH again)" % (PH_CAL, e))
            return None, None

    def ph_cal_age_days(self):
        if self.phcal is None:
            return None
        now = unix_time()
        if not now or not self.ph_cal_t or self.ph_cal_t > now:
            # no clock, or a time in the future (a clock set wrong then): the age is unknown,
            # so stale
            return self.s["ph_cal_max_days"] + 1
        return (now - self.ph_cal_t) / 86400

    # -- sensors ----------------------------------------------------------------------------
    async def find_probe(self):
        if self.master is None:
            return
        from drivers import soil_probe

        fam = self.s["probe"]
        if fam == "auto":
            found = self._rtc_state()[1]
            if found is not None and found[0] not in soil_probe.PROFILES:
                found = None  # a family this firmware no longer knows
            if found is not None and not await self._answers(self.master, *found):
                log.info("akrubutan: the remembered probe (%s, address %d, %d baud) does not "
                         "answer: searching the bus" % found)
                found = None
            if found is None:
                self.show([self.t("searching")])  # up to 7 s: the button is not read meanwhile
                found = await self._search()
            self.found = found  # kept in the RTC memory with the next sample number
            if found is None:
                log.info("akrubutan:", self.t("probe_none"))
                self.faults["probe"] = "no probe answers (addresses 1-16 at 9600, 4800, 2400 baud)"
                return
            fam, addr, baud = found
            self.master.set_baud(baud)
        else:
            addr = self.s["probe_addr"]
            baud = self.s["probe_baud"] or soil_probe.PROFILES[fam][0]
            if not await self._answers(self.master, fam, addr, baud):  # sets the baud
                # configured, not found: it is asked at each measurement all the same (a probe
                # switched on later answers), and the OLED says it does not answer
                self.probe = soil_probe.SoilProbe(self.master, addr, fam)
                self.faults["probe"] = ("the configured probe (%s, address %d, %d baud) does not "
                                        "answer" % (fam, addr, baud))
                log.info("akrubutan:", self.t("probe_silent", fam, addr, baud))
                return
        self.probe = soil_probe.SoilProbe(self.master, addr, fam)
        self.faults.pop("probe", None)
        log.info("akrubutan:", self.t("probe_found", fam, addr, baud))

    @staticmethod
    async def _answers(m, fam, addr, baud):
        """Whether the probe remembered in the RTC memory still answers: its family's address
        register, as the search asks it (one frame; asked twice, 120 ms each, before giving up)."""
        from drivers import soil_probe
        from drivers.modbus_rtu import ModbusError

        saved = m.timeout_ms, m.retries
        m.timeout_ms, m.retries = 120, 1
        m.set_baud(baud)
        try:
            return (await m.read(addr, soil_probe.PROFILES[fam][1], 1))[0] == addr
        except ModbusError:
            return False
        finally:
            m.timeout_ms, m.retries = saved

    async def _search(self):
        from drivers import soil_probe

        # one address at a time (each at 9600, 4800 and 2400 baud, ~0.4 s when nobody answers),
        # feeding the watchdog in between: a whole search finding nothing takes 7 s, longer
        # than a short watchdog_s
        found = None
        for addr in range(1, 17):
            found = await soil_probe.search(self.master, addrs=(addr,))
            if self.watchdog is not None:
                self.watchdog.feed()
            if found is not None:
                break
        return found

    # -- the sensors' supply --------------------------------------------------------------------
    def sensors_on(self):
        """Switch the probes' supply on (no-op without a sensor_power switch: then they are on
        the supply all the time)."""
        if self.power is not None and self.powered_at is None:
            self.power.value(1)
            self.powered_at = time.ticks_ms()

    def sensors_off(self):
        if self.power is not None:
            self.power.value(0)
            self.powered_at = None

    async def warm_up(self):
        """Wait until the switched sensors have had ``sensor_warmup_ms`` since power-on (their
        microcontrollers start before they answer), feeding the watchdog at least every second."""
        while self.powered_at is not None:
            # one ms more than the setting: powered_at was read somewhere inside its ms
            left = self.s["sensor_warmup_ms"] + 1 - time.ticks_diff(time.ticks_ms(), self.powered_at)
            if left <= 0:
                return
            if self.watchdog is not None:
                self.watchdog.feed()
            await asyncio.sleep_ms(left if left < 1000 else 1000)

    def _volts(self, adc):
        """Volts at an analog pin; OSError when the ADC cannot be read: an ADC2 pin while Wi-Fi
        is on times out (ESP-IDF shares ADC2 with the radio)."""
        return adc.read_uv() / 1000000

    def _at_limit(self, v):
        return v <= ADC_EDGE_V or v >= self.adc_top_v - ADC_EDGE_V

    def _limit_fault(self, what, v):
        return ("%s input reads %.2f V, at the ADC's limit (0-%.1f V): check the wiring (a loose "
                "wire floats, a short reads 0 V) or add a divider" % (what, v, self.adc_top_v))

    def _read_analog(self, adc, name, got, key):
        try:
            got[key] = self._volts(adc)
            self.faults.pop(name, None)
        except OSError as e:
            self.faults[name] = ("ADC read failed (OSError %s): an ADC2 pin cannot be read while "
                                 "Wi-Fi is on; wire it to ADC1 (GPIO32-39)" % (e.args[0] if e.args else "?"))

    async def _temperature(self, sensor):
        from drivers.ds18b20 import DS18B20Error

        try:
            c = await sensor.read_c()
            self.faults.pop("ds18b20", None)
            return c
        except DS18B20Error as e:
            self.faults["ds18b20"] = str(e)
            return None

    async def sample(self):
        """One reading of every sensor: {name: value}; a sensor that fails is left out and its
        fault kept in self.faults. The DS18B20 converts (750 ms) while the ADCs and the RS485
        probe are read: the 1-Wire line and the UART are separate wires, and the driver waits
        for the conversion without blocking the loop."""
        got = {}
        conversion = None
        if self.temp is not None:
            conversion = asyncio.create_task(self._temperature(self.temp))
            await asyncio.sleep_ms(0)  # let it send CONVERT T before the rest
        if self.moisture is not None:
            self._read_analog(self.moisture, "moisture", got, "moisture_v")
        if self.ph_adc is not None:
            self._read_analog(self.ph_adc, "ph", got, "ph_v")
        probe_temp = None
        if self.probe is not None:
            from drivers.modbus_rtu import ModbusError

            try:
                r = await self.probe.read()  # the readings this probe has (an NPK-only one: 3)
                self.faults.pop("probe", None)
                for k in r:
                    if k == "temperature":
                        probe_temp = r[k]
                    else:
                        got[_PROBE_KEYS.get(k, k)] = r[k]
            except ModbusError as e:
                self.faults["probe"] = str(e)
        if conversion is not None:
            c = await conversion
            if c is not None:
                got["temperature"] = c
        if "temperature" not in got and probe_temp is not None:
            got["temperature"] = probe_temp  # without the DS18B20, the probe's own
        return got

    async def measure(self):
        """Sample until stable (or measure_s), then the medians, converted and assessed. Samples
        start every ``sample_ms`` (start to start: the wait is what the sample left of it); one
        that took longer is followed by the next at once, without a burst to catch up."""
        series = {}
        start = due = time.ticks_ms()
        budget = self.s["measure_s"] * 1000
        while True:
            left = (budget - time.ticks_diff(time.ticks_ms(), start)) // 1000
            self.show([self.t("measuring", left if left > 0 else 0)])
            # fed around each sample: the longest wait is sample_ms or one sample (a DS18B20
            # conversion read twice and an RS485 probe asked again, ~4 s), never both
            if self.watchdog is not None:
                self.watchdog.feed()
            for k, v in (await self.sample()).items():
                series.setdefault(k, []).append(v)
            if self.watchdog is not None:
                self.watchdog.feed()
            if time.ticks_diff(time.ticks_ms(), start) >= budget:
                break
            if series and all(logic.stable(v[-STABLE_N:], TOLERANCE[k]) and len(v) >= STABLE_N
                              for k, v in series.items()):
                break
            due = time.ticks_add(due, self.s["sample_ms"])
            wait = time.ticks_diff(due, time.ticks_ms())
            if wait > 0:
                await asyncio.sleep_ms(wait)
            else:
                due = time.ticks_ms()
        med = {k: logic.median(v) for k, v in series.items()}
        return self.readings(med)

    def readings(self, med):
        """The medians converted and checked: (values, faults). A value no working sensor gives
        (an input at the ADC's limit, a temperature no soil has, a probe register outside the
        probe's documented range) is a fault of that value, never a number."""
        out = {}
        faults = dict(self.faults)
        temp = med.get("temperature")
        if temp is not None:
            if logic.TEMP_MIN_C <= temp <= logic.TEMP_MAX_C:
                out["temperature"] = temp
            else:  # an RS485 probe's register at 0x8000 reads -3276.8 C
                faults["temperature"] = ("soil temperature reads %.1f C, outside %.0f..%.0f C: a sensor "
                                         "fault; pH not corrected for temperature"
                                         % (temp, logic.TEMP_MIN_C, logic.TEMP_MAX_C))
                temp = None
        if "moisture_v" in med:
            v = med["moisture_v"]
            try:
                if self._at_limit(v):
                    raise ProbeFault(self._limit_fault("moisture", v))
                out["moisture"] = self.mcal.percent(v)
            except ProbeFault as e:
                faults["moisture"] = str(e)
        if "ph_v" in med:
            v = med["ph_v"]
            if self._at_limit(v):
                faults["ph"] = self._limit_fault("pH", v)
            else:
                if self.phcal is not None:
                    ph = self.phcal.ph(v, temp)
                else:  # the module's nominal line: 2.5 V at pH 7, gain x 59.16 mV/pH (uncalibrated)
                    slope = -self.s["ph_gain"] * logic.NERNST_MV_25C / 1000
                    ph = round(7 + (v - self.s["ph_zero_v"]) / slope, 2)
                if 0 <= ph <= 14:
                    out["ph"] = ph
                else:
                    faults["ph"] = "pH probe reads %.2f V (pH %.1f): not in water or soil" % (v, ph)
        for k in ("ec", "n", "p", "k", "probe_moisture", "probe_ph"):
            if k not in med:
                continue
            v = med[k]
            name = k[6:] if k.startswith("probe_") else k
            if self.probe is not None and not self.probe.in_range(name, v):
                faults[k] = ("RS485 probe's %s reads %s, outside the range its manual gives: a "
                             "damaged register or another map; not used" % (name, _fmt(v, 2)))
            elif k != "probe_ph":
                out[k] = v
            elif "ph_v" not in med:  # the probe's pH only without the analog module
                out["ph"] = v
        return out, faults

    # -- a whole measurement ----------------------------------------------------------------
    async def measure_and_log(self, seq):
        errors = self.master.errors if self.master is not None else 0
        values, faults = await self.measure()
        retried = (self.master.errors if self.master is not None else 0) - errors
        if retried and "probe" not in faults:  # a flaky cable or a loose A/B wire shows here first
            log.info("akrubutan: RS485: %d frame(s) lost or damaged, asked again" % retried)
        classes, conf, adv = logic.assess(values, "rs485_npk", self.ph_cal_age_days(),
                                          values.get("probe_moisture"), self.crops,
                                          self.s["ph_cal_max_days"])
        self.report(seq, values, classes, conf, adv, faults)
        return values, classes, conf, faults

    def report(self, seq, values, classes, conf, adv, faults):
        t = self.t
        none = t("none")

        def val(k, d=1):
            return _fmt(values.get(k), d) if k in values else none

        ph_word = t(classes["ph"]) if "ph" in classes else ""
        npk_conf = conf.get("n", ("", ""))
        npk = [t("npk", val("n", 0), val("p", 0), val("k", 0))]
        if len(npk[0]) > 16:  # the probes count to 1999 mg/kg: "N1999 P1999 K1999" is 17 wide
            npk = [npk[0].replace(" ", "")]
        if len(npk[0]) > 16:  # never a number cut: K on a line of its own
            npk = ["N%s P%s" % (val("n", 0), val("p", 0)), "K" + val("k", 0)]
        lines = [t("moist", val("moisture")) if "moisture" in values else t("moist_fault"),
                 t("ph", val("ph", 2) if "ph" in values or "ph" not in faults else t("fault"), ""), " " + ph_word,
                 t("temp", val("temperature")), t("ec", val("ec", 0))] + npk
        if "probe" in faults:  # the RS485 probe did not answer (or none was found)
            lines.append(t("probe_fault"))

        def flag(k):
            f = conf.get(k, ("",))[0]
            return t("conf_rendah") if f == "rendah" else t(f) if f else none

        # page 2: the classes of N, P, K (pH's is on page 1, under its reading), the confidence
        # flags, and the moisture the NPK confidence is judged from: the RS485 probe's own;
        # pages 3+: the advice, each item on the page it fits on
        page2 = [k.upper() + " " + (t(classes[k]) if k in classes else none) for k in "npk"] + \
            [t("conf"), " pH " + flag("ph"), " NPK " + flag("n"),
             t("npk_air", val("probe_moisture") + "%" if "probe_moisture" in values else none)]
        flat = []  # the pages' lines one after the other, PAGE_LINES a page
        for item in [lines, page2] + [texts.wrap(t(a[0], *a[1:])) for a in
                                      ([("config_bad",)] if self.config_bad else []) + adv]:
            r = len(flat) % PAGE_LINES
            if r and r + len(item) > PAGE_LINES:
                flat += [""] * (PAGE_LINES - r)
            flat += item
        self.pages = flat
        self.show(self.page(flat, 0))
        for k in sorted(faults):
            log.info("akrubutan: %s: %s" % (k, faults[k]))
        digits = {"ph": 2, "ec": 0, "n": 0, "p": 0, "k": 0}
        log.info("akrubutan: #%d" % seq, " ".join(
            ["%s=%s" % (k, _fmt(values[k], digits.get(k, 1))) for k in sorted(values)]))
        log.info("akrubutan: classes", " ".join(["%s=%s" % (k, classes[k]) for k in sorted(classes)]),
                 "| confidence", " ".join(["%s=%s" % (k, conf[k][0]) for k in sorted(conf)]))
        for a in adv:
            log.info("akrubutan:", t(a[0], *a[1:]))
        row = [str(unix_time()), str(seq), val("moisture"), val("ph", 2), val("temperature"),
               val("ec", 0), val("n", 0), val("p", 0), val("k", 0), classes.get("ph", ""),
               classes.get("n", ""), classes.get("p", ""), classes.get("k", ""),
               conf.get("ph", ("",))[0], npk_conf[0], ";".join(sorted(faults)), val("probe_moisture")]
        for i in range(len(row)):
            if row[i] == none:
                row[i] = ""
        self.append_log(",".join(row))

    def append_log(self, line):
        """One row, atomically (kit.store: a power cut leaves the old log or the new one). A new
        file, the first or the one started when the log rotates to soil.csv.1, begins with the
        header: each file reads on its own in a spreadsheet."""
        max_bytes = self.s["log_max_bytes"]
        try:
            try:
                size = os.stat(LOG)[6]
            except OSError:
                size = 0
            if not size or size + len(line) + 1 > max_bytes:
                line = HEADER + "\n" + line  # one write: never a header without its row
            store.append_line(LOG, line, max_bytes)
        except (OSError, ValueError) as e:  # a full or failing flash must not stop the meter
            log.info("akrubutan: log not written:", e)

    # -- pH calibration ---------------------------------------------------------------------
    async def _stable_ph_v(self):
        """One buffer's volts: the median of 5 agreeing samples (4-5 s). The OLED says to wait;
        a press meanwhile is not taken (the electrode may still be in the buffer before)."""
        self.show(self.t("cal_read").split("|"))
        vals = []
        while True:
            try:
                vals.append(self._volts(self.ph_adc))
            except OSError as e:
                raise CalError("the pH input cannot be read (OSError %s): an ADC2 pin while Wi-Fi "
                               "is on?" % (e.args[0] if e.args else "?"), ("why_read",)) from None
            if logic.stable(vals[-STABLE_N:], TOLERANCE["ph_v"]) and len(vals) >= STABLE_N:
                v = sorted(vals[-STABLE_N:])[STABLE_N // 2]  # the median of the settled five
                if self._at_limit(v):  # a clipped 4.01 would pass as a fine slope
                    raise CalError(self._limit_fault("pH", v), ("why_adc",))
                return v
            if len(vals) > 120:
                raise CalError("the pH reading does not settle (%.3f-%.3f V): rinse the "
                               "electrode and try again" % (min(vals[-STABLE_N:]), max(vals[-STABLE_N:])),
                               ("why_unstable",))
            if self.watchdog is not None:
                self.watchdog.feed()
            await asyncio.sleep_ms(self.s["sample_ms"])

    async def _buffer_temperature(self):
        """The DS18B20's reading, taken as the buffers' temperature (dip it with the electrode):
        the slope is judged against the Nernst slope at that temperature. None without one."""
        if self.temp is None:
            return None
        from drivers.ds18b20 import DS18B20Error

        try:
            c = await self.temp.read_c()
        except DS18B20Error:
            return None
        return c if logic.TEMP_MIN_C <= c <= logic.TEMP_MAX_C else None

    def _new_cal(self, points, temp_c):
        return PhCal.from_points(points, zero_v=self.s["ph_zero_v"], gain=self.s["ph_gain"],
                                 temp_c=25.0 if temp_c is None else temp_c)

    @staticmethod
    def _slopes(cal):
        return "/".join(["%d%%" % int(cal.slope_pct(s) + 0.5)
                         for s in (cal.slope_acid, cal.slope_alk) if s is not None])

    async def calibrate_ph(self):
        """6.86 (the offset), then 4.01 or 9.18 (the slope; told apart by the direction of the
        change and the module's polarity, the sign of ph_gain), then optionally the other one:
        a third buffer checks the electrode on both sides of neutral. A long press or no press
        within THIRD_WAIT_MS finishes with two. A refused calibration keeps the previous one;
        its reason stays on the OLED until a press (or REFUSED_WAIT_MS)."""
        if self.ph_adc is None:
            return
        t = self.t
        try:
            self.show(t("cal_686").split("|"))
            if await self.wait_press(CAL_WAIT_MS) is None:
                return await self._cal_cancelled()
            v686 = await self._stable_ph_v()
            self.show(t("cal_second").split("|"))
            if await self.wait_press(CAL_WAIT_MS) is None:
                return await self._cal_cancelled()
            v2 = await self._stable_ph_v()
            slope_sign = -1 if self.s["ph_gain"] > 0 else 1
            second = 4.01 if (v2 - v686) * slope_sign < 0 else 9.18
            other = 9.18 if second == 4.01 else 4.01
            points = [(6.86, v686), (second, v2)]
            temp_c = await self._buffer_temperature()
            cal = self._new_cal(points, temp_c)  # two points must pass before a third is asked
            self.show(t("cal_third", self._slopes(cal), "%.2f" % other).split("|"))
            held = await self.wait_press(THIRD_WAIT_MS)
            if held is not None and held < LONG_PRESS_MS:
                points.append((other, await self._stable_ph_v()))
                cal = self._new_cal(points, temp_c)
        except CalError as e:
            log.info("akrubutan: pH calibration refused:", e)
            # the reason in the device's language, short enough for the glass, until a press
            self.show([t("cal_bad")] + t(*(e.why or ("why_other",))).split("|") + [t("cal_ack")])
            await self.wait_press(REFUSED_WAIT_MS)
            return
        now = unix_time()
        store.write_json(PH_CAL, {"cal": cal.to_json(), "t": now})
        self.phcal, self.ph_cal_t = cal, now
        log.info("akrubutan: pH calibrated with %s at %.1f C: offset %+.1f mV, slope %s of Nernst"
                 % (" ".join(["%.2f" % p[0] for p in points]), cal.temp_c, cal.offset_mv(), self._slopes(cal)))
        self.show(t("cal_ok", self._slopes(cal)).split("|"))
        await asyncio.sleep_ms(2000)

    async def _cal_cancelled(self):
        log.info("akrubutan: pH calibration cancelled (no press within %d s); the previous one "
                 "stays" % (CAL_WAIT_MS // 1000))
        self.show(self.t("cal_cancel").split("|"))
        await asyncio.sleep_ms(2000)

    # -- the button -------------------------------------------------------------------------
    async def wait_press(self, timeout_ms=None):
        """The next press: its hold time in ms (debounced: 30 ms stable; at most LONG_PRESS_MS),
        or None when no press began within ``timeout_ms`` (a button held on all that time, a
        stuck one or a long press never let go, counts as no press)."""
        b = self.button
        if b is None:
            await asyncio.sleep_ms(timeout_ms or 3600000)
            return None if timeout_ms else 0
        start = time.ticks_ms()
        while True:
            # not b.value(): still held from before (a long press held on); b.value(): released
            while True:
                if self.watchdog is not None:
                    self.watchdog.feed()
                if timeout_ms is not None and time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                    return None
                if b.value():
                    break
                await asyncio.sleep_ms(20)
            while b.value():
                if self.watchdog is not None:
                    self.watchdog.feed()
                if timeout_ms is not None and time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                    return None
                await asyncio.sleep_ms(20)
            await asyncio.sleep_ms(30)
            if not b.value():
                break
        start = time.ticks_ms()
        while not b.value() and time.ticks_diff(time.ticks_ms(), start) < LONG_PRESS_MS:
            await asyncio.sleep_ms(20)
        return time.ticks_diff(time.ticks_ms(), start)

    def _rtc_state(self):
        """(last sample number, remembered probe) from the RTC memory (logic.rtc_unpack: a
        versioned record with a check; damaged or absent gives (None, None))."""
        return logic.rtc_unpack(self.hal.rtc_memory())

    def next_seq(self):
        """The sample number: kept in the RTC memory (it survives deep sleep and resets, not a
        power cut); without it, one more than the log's last row. The same record keeps the
        probe the search found, for the next wake."""
        seq = self._rtc_state()[0]
        if seq is None:
            seq = self._last_logged_seq()
        seq += 1
        self.hal.rtc_memory(logic.rtc_pack(seq, self.found))
        return seq

    @staticmethod
    def _last_logged_seq():
        """``seq`` of the newest row in soil.csv (or soil.csv.1), 0 without one; reads only the
        file's tail."""
        for name in (LOG, LOG + ".1"):
            try:
                size = os.stat(name)[6]
                with open(name, "rb") as f:
                    if size > 512:
                        f.seek(size - 512)
                    lines = f.read().split(b"\n")
            except OSError:
                continue
            if size > 512:
                lines = lines[1:]  # the first line of a tail is cut
            for line in reversed(lines):
                cols = line.split(b",")
                if len(cols) > 2:
                    try:
                        return int(cols[1])
                    except ValueError:
                        pass  # the header
        return 0

    def oled_power(self, on):
        """The OLED on or off. Off while the meter sleeps or nobody pressed for oled_off_min: a
        lit SSD1306 draws 10-20 mA, a thousand times a sleeping ESP32, and keeps its picture
        (and its current) through the ESP32's deep sleep; the driver turns it on again at the
        next wake."""
        if self.oled is not None:
            try:
                self.oled.power(on)
            except OSError as e:
                log.info("akrubutan: OLED error", e)

    @staticmethod
    def page(flat, i):
        """Page ``i`` (counted round) of the lines ``flat``, PAGE_LINES a page; with more than
        one, the page's number on the bottom line, right-aligned."""
        n = (len(flat) + PAGE_LINES - 1) // PAGE_LINES
        i %= n
        p = flat[i * PAGE_LINES:(i + 1) * PAGE_LINES]
        return p + [""] * (PAGE_LINES - len(p)) + ["%16s" % ("%d/%d" % (i + 1, n))] if n > 1 else p

    async def pager(self):
        """Show the result's pages (or the ready screen) in turn, each PAGE_MS (start to start),
        until cancelled: run() does at a press. After ``oled_off_min`` minutes (0: never) the
        OLED goes dark (self.dark)."""
        off = self.s["oled_off_min"] * 60000 if self.oled is not None else 0
        start = due = time.ticks_ms()
        i = 0
        while not off or time.ticks_diff(due, start) < off:
            self.show(self.page(self.pages or self.ready_lines(), i))
            i += 1
            due = time.ticks_add(due, PAGE_MS)
            wait = time.ticks_diff(due, time.ticks_ms())
            await asyncio.sleep_ms(wait if wait > 0 else 0)
        self.oled_power(False)
        self.dark = True

    def ready_lines(self):
        """The waiting screen, with what the farmer should know: config.json unusable (the
        meter runs on defaults), the RS485 probe not answering."""
        lines = [self.t("ready"), self.t("press")]
        if self.config_bad:
            lines.append(self.t("config_bad"))
        if "probe" in self.faults:
            lines.append(self.t("probe_fault"))
        return lines

    def sleep_ms(self):
        """Field logging: deep sleep for the interval less the time awake since the wake, so
        wakes come every sleep_min minutes (at least MIN_SLEEP_MS)."""
        ms = self.s["sleep_min"] * 60000 - time.ticks_diff(time.ticks_ms(), self.woke)
        return ms if ms > MIN_SLEEP_MS else MIN_SLEEP_MS

    async def run(self):
        field = self.s["sleep_min"] > 0
        # the sensors go on at power-up or wake; on the button they stay on (a press answers at
        # once, and an idle meter in the hand is not left for hours), in the field they go off
        # before each deep sleep
        self.sensors_on()
        if self.master is not None and self.s["probe"] == "auto" and (not field or self._rtc_state()[1] is None):
            self.show([self.t("searching")])  # warm-up and search: the button is not read
        else:
            self.show([self.t("ready")])  # no "press" before the sensors are warm
        await self.warm_up()
        await self.find_probe()
        if field:
            await self.measure_and_log(self.next_seq())
            log.info("akrubutan:", self.t("sleeping", self.s["sleep_min"]))
            self.sensors_off()
            self.oled_power(False)
            self.hal.deepsleep(self.sleep_ms())
            return
        while True:
            # the last result (or the ready screen) stays, its pages taking turns, until a press
            pager = asyncio.create_task(self.pager())
            held = await self.wait_press()
            pager.cancel()
            if self.dark:
                # a press on the dark OLED only wakes it, to the result's first page: the farmer
                # sees the result (or the ready screen) before a press measures, and one who
                # wanted to read the result again does not lose it to a new measurement
                self.dark, self.lines = False, None
                self.show(self.page(self.pages or self.ready_lines(), 0))  # drawn, then lit
                self.oled_power(True)
                continue
            if held is not None and held >= LONG_PRESS_MS:
                self.pages = None  # a result read with the calibration before is not kept up
                await self.calibrate_ph()
            else:
                if self.master is not None and self.probe is None:
                    # none answered at boot (switched on later?): search again, ~7 s at most,
                    # the watchdog fed between addresses
                    await self.find_probe()
                await self.measure_and_log(self.next_seq())


def load_settings(values, source):
    from apps.akrubutan import settings as akr_settings
    from kit import config

    return akr_settings.check(config.validate(akr_settings.SCHEMA, values, source), source)


def salvage(settings, section):
    """kit.boot calls this when config.json could not be used (a wrong field, a broken file) and
    ``settings`` are the defaults: the ready screen says so (the console has the ERROR line)."""
    settings["config_bad"] = True
    return settings


def main(hal, settings):
    meter = Meter(hal, settings)
    meter.watchdog = hal.watchdog(settings["watchdog_s"])
    log.info("akrubutan:", "probe", settings["probe"], "measure", settings["measure_s"], "s",
             "sleep_min", settings["sleep_min"])
    log.info("pin:" if settings["lang"] == "id" else "pins:", *hal.describe())
    asyncio.run(meter.run())
