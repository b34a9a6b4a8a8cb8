"""Akrubutan, the soil-fertility meter: moisture, pH, an RS485 NPK probe and a DS18B20, read
honestly and mapped to the Indonesian soil-test classes (docs/akrubutan.md).

Wiring (board map roles): soil_moisture and ph (analog, ADC1 pins: ADC2 cannot be read while
Wi-Fi is on), rs485_tx/rs485_rx/rs485_de (a 3.3 V MAX3485-type transceiver; the probe wants
12-24 V), onewire (DS18B20, 4.7 kOhm pull-up), button (to GND), oled_sda/oled_scl (SSD1306).

A short press measures: the sensors are sampled every ``sample_ms`` for up to ``measure_s``,
stopping early once the last 5 samples agree; the median of each goes through the calibrations
and the assessment (logic.py), is printed, shown and appended to soil.csv. A long press (3 s)
calibrates pH: 6.86 first, then 4.01 or 9.18. With ``sleep_min`` > 0 the meter is a field
logger: it measures at each wake-up and goes back to deep sleep; the RTC memory keeps the
sample number.
"""

import asyncio
import time

from apps.akrubutan import logic, texts
from apps.akrubutan.logic import CalError, MoistureCal, PhCal, ProbeFault
from kit import log, store

LOG = "soil.csv"
PH_CAL = "ph_cal.json"  # {"cal": PhCal.to_json(), "t": unix seconds of the calibration}
HEADER = ("t,seq,moisture_pct,ph,temp_c,ec_us_cm,n_mg_kg,p_mg_kg,k_mg_kg,ph_class,n_class,"
          "p_class,k_class,conf_ph,conf_npk,faults")
STABLE_N = 5
TOLERANCE = {"moisture_v": 0.02, "ph_v": 0.01, "temperature": 0.3, "probe_moisture": 1.0,
             "ec": 20, "n": 3, "p": 3, "k": 3, "probe_ph": 0.1}
LONG_PRESS_MS = 3000
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
        self.hal = hal
        self.s = settings
        self.lang = settings["lang"]
        self.moisture = hal.adc("soil_moisture") if hal.has("soil_moisture") else None
        self.ph_adc = hal.adc("ph") if hal.has("ph") else None
        self.button = hal.input("button", "up") if hal.has("button") else None
        self.mcal = MoistureCal(settings["moisture_dry_v"], settings["moisture_wet_v"])
        self.phcal, self.ph_cal_t = self._load_ph_cal()
        self.crops = logic.CROPS + tuple(tuple(c) for c in settings["crops"])
        self.probe = None
        self.master = None
        self.temp = None
        self.oled = None
        self.lines = None
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
            self.oled = SSD1306(self.hal.i2c("oled"))
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
        print("OLED: " + " | ".join(lines))
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
        try:
            d = store.read_json(PH_CAL, None)
        except ValueError as e:
            log.info("akrubutan:", e)
            return None, None
        if not isinstance(d, dict) or not isinstance(d.get("cal"), dict):
            return None, None
        try:
            return PhCal.from_json(d["cal"]), d.get("t", 0)
        except (CalError, KeyError, TypeError) as e:
            log.info("akrubutan: %s is not a usable calibration (%s)" % (PH_CAL, e))
            return None, None

    def ph_cal_age_days(self):
        if self.phcal is None:
            return None
        now = unix_time()
        if not now or not self.ph_cal_t:
            return self.s["ph_cal_max_days"] + 1  # no clock: the age is unknown, so stale
        return (now - self.ph_cal_t) / 86400

    # -- sensors ----------------------------------------------------------------------------
    async def find_probe(self):
        if self.master is None:
            return
        from drivers import soil_probe

        fam = self.s["probe"]
        if fam == "auto":
            found = await soil_probe.search(self.master)
            if found is None:
                log.info("akrubutan:", self.t("probe_none"))
                self.faults["probe"] = "not found"
                return
            fam, addr, baud = found
        else:
            addr = self.s["probe_addr"]
            baud = self.s["probe_baud"] or soil_probe.PROFILES[fam][0]
        self.master.set_baud(baud)
        self.probe = soil_probe.SoilProbe(self.master, addr, fam)
        log.info("akrubutan:", self.t("probe_found", fam, addr, baud))

    def _volts(self, adc):
        return adc.read_uv() / 1000000

    async def sample(self):
        """One reading of every sensor: {name: value}; a sensor that fails is left out and its
        fault kept in self.faults."""
        got = {}
        if self.moisture is not None:
            got["moisture_v"] = self._volts(self.moisture)
        if self.ph_adc is not None:
            got["ph_v"] = self._volts(self.ph_adc)
        if self.temp is not None:
            from drivers.ds18b20 import DS18B20Error

            try:
                got["temperature"] = await self.temp.read_c()
                self.faults.pop("ds18b20", None)
            except DS18B20Error as e:
                self.faults["ds18b20"] = str(e)
        if self.probe is not None:
            from drivers.modbus_rtu import ModbusError

            try:
                r = await self.probe.read()
                self.faults.pop("probe", None)
                got["probe_moisture"] = r["moisture"]
                got["ec"] = r["ec"]
                got["probe_ph"] = r["ph"]
                for k in ("n", "p", "k"):
                    got[k] = r[k]
                if "temperature" not in got:
                    got["temperature"] = r["temperature"]
            except ModbusError as e:
                self.faults["probe"] = str(e)
        return got

    async def measure(self):
        """Sample until stable (or measure_s), then the medians, converted and assessed."""
        series = {}
        start = time.ticks_ms()
        budget = self.s["measure_s"] * 1000
        while True:
            left = (budget - time.ticks_diff(time.ticks_ms(), start)) // 1000
            self.show([self.t("measuring", left if left > 0 else 0)])
            for k, v in (await self.sample()).items():
                series.setdefault(k, []).append(v)
            if self.watchdog is not None:
                self.watchdog.feed()
            if time.ticks_diff(time.ticks_ms(), start) >= budget:
                break
            if series and all(logic.stable(v[-STABLE_N:], TOLERANCE[k]) and len(v) >= STABLE_N
                              for k, v in series.items()):
                break
            await asyncio.sleep_ms(self.s["sample_ms"])
        med = {k: logic.median(v) for k, v in series.items()}
        return self.readings(med)

    def readings(self, med):
        out = {}
        faults = dict(self.faults)
        if "moisture_v" in med:
            try:
                out["moisture"] = self.mcal.percent(med["moisture_v"])
            except ProbeFault as e:
                faults["moisture"] = str(e)
        if "ph_v" in med:
            v = med["ph_v"]
            if self.phcal is not None:
                out["ph"] = self.phcal.ph(v, med.get("temperature"))
            else:  # the module's nominal line: 2.5 V at pH 7, gain x 59.16 mV/pH (uncalibrated)
                slope = -self.s["ph_gain"] * logic.NERNST_MV_25C / 1000
                out["ph"] = round(7 + (v - self.s["ph_zero_v"]) / slope, 2)
            if not 0 <= out["ph"] <= 14:
                faults["ph"] = "pH probe reads %.2f V (pH %.1f): not in water or soil" % (v, out["ph"])
                del out["ph"]
        elif "probe_ph" in med:
            out["ph"] = med["probe_ph"]
        for k in ("temperature", "ec", "n", "p", "k", "probe_moisture"):
            if k in med:
                out[k] = med[k]
        return out, faults

    # -- a whole measurement ----------------------------------------------------------------
    async def measure_and_log(self, seq):
        values, faults = await self.measure()
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
        lines = [t("moist", val("moisture")) if "moisture" in values else t("moist", t("fault")),
                 t("ph", val("ph", 2), ""), " " + ph_word,
                 t("temp", val("temperature")), t("ec", val("ec", 0)),
                 t("npk", val("n", 0), val("p", 0), val("k", 0)),
                 "NPK " + (t("conf_rendah") if npk_conf[0] == "rendah" else t(npk_conf[0]) if npk_conf[0] else none)]
        self.show(lines)
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
               conf.get("ph", ("",))[0], npk_conf[0], ";".join(sorted(faults))]
        for i in range(len(row)):
            if row[i] == none:
                row[i] = ""
        self.append_log(",".join(row))

    def append_log(self, line):
        try:
            if store.open_existing(LOG) is None:
                store.append_line(LOG, HEADER, self.s["log_max_bytes"])
            store.append_line(LOG, line, self.s["log_max_bytes"])
        except (OSError, ValueError) as e:  # a full or failing flash must not stop the meter
            log.info("akrubutan: log not written:", e)

    # -- pH calibration ---------------------------------------------------------------------
    async def _stable_ph_v(self):
        vals = []
        while True:
            vals.append(self._volts(self.ph_adc))
            if logic.stable(vals[-STABLE_N:], TOLERANCE["ph_v"]) and len(vals) >= STABLE_N:
                return sorted(vals[-STABLE_N:])[STABLE_N // 2]  # the median of the settled five
            if len(vals) > 120:
                raise CalError("the pH reading does not settle (%.3f-%.3f V): rinse the "
                               "electrode and try again" % (min(vals[-STABLE_N:]), max(vals[-STABLE_N:])))
            if self.watchdog is not None:
                self.watchdog.feed()
            await asyncio.sleep_ms(self.s["sample_ms"])

    async def calibrate_ph(self):
        if self.ph_adc is None:
            return
        t = self.t
        try:
            self.show(t("cal_686").split("|"))
            await self.wait_press()
            v686 = await self._stable_ph_v()
            self.show(t("cal_second").split("|"))
            await self.wait_press()
            v2 = await self._stable_ph_v()
            # which buffer: 4.01 lies on the far side of 6.86 from 9.18; the module's sign says
            slope_sign = -1 if self.s["ph_gain"] > 0 else 1
            buffer = 4.01 if (v2 - v686) * slope_sign < 0 else 9.18
            cal = PhCal.from_points([(6.86, v686), (buffer, v2)], zero_v=self.s["ph_zero_v"],
                                    gain=self.s["ph_gain"])
        except CalError as e:
            log.info("akrubutan: pH calibration refused:", e)
            self.show(t("cal_bad", "").split("|") + [str(e)[i:i + 16] for i in range(0, 64, 16)])
            return
        store.write_json(PH_CAL, {"cal": cal.to_json(), "t": unix_time()})
        self.phcal, self.ph_cal_t = cal, unix_time()
        pct = int(cal.slope_pct(cal.slope) + 0.5)
        log.info("akrubutan: pH calibrated with %.2f: offset %+.1f mV, slope %d %%"
                 % (buffer, cal.offset_mv(), pct))
        self.show(t("cal_ok", pct).split("|"))

    # -- the button -------------------------------------------------------------------------
    async def wait_press(self):
        """The next press: its hold time in ms (debounced: 30 ms stable)."""
        b = self.button
        if b is None:
            await asyncio.sleep(3600)
            return 0
        while not b.value():  # still held from before
            await asyncio.sleep_ms(20)
        while True:
            while b.value():
                if self.watchdog is not None:
                    self.watchdog.feed()
                await asyncio.sleep_ms(20)
            await asyncio.sleep_ms(30)
            if not b.value():
                break
        start = time.ticks_ms()
        while not b.value() and time.ticks_diff(time.ticks_ms(), start) < LONG_PRESS_MS:
            await asyncio.sleep_ms(20)
        return time.ticks_diff(time.ticks_ms(), start)

    def next_seq(self):
        """The sample number: in the RTC memory across deep sleep, from the log's last row
        otherwise."""
        mem = self.hal.rtc_memory()
        seq = 0
        if mem and mem[:4] == b"AKR1":
            seq = int(mem[4:].decode() or 0)
        seq += 1
        self.hal.rtc_memory(b"AKR1%d" % seq)
        return seq

    async def run(self):
        self.show([self.t("ready"), self.t("press")])
        await self.find_probe()
        if self.s["sleep_min"]:
            await self.measure_and_log(self.next_seq())
            log.info("akrubutan:", self.t("sleeping", self.s["sleep_min"]))
            self.hal.deepsleep(self.s["sleep_min"] * 60000)
            return
        while True:
            self.show([self.t("ready"), self.t("press")])
            held = await self.wait_press()
            if held >= LONG_PRESS_MS:
                await self.calibrate_ph()
                await asyncio.sleep_ms(2000)
            else:
                await self.measure_and_log(self.next_seq())
                await asyncio.sleep_ms(500)


def load_settings(values, source):
    from apps.akrubutan import settings as akr_settings
    from kit import config

    return akr_settings.check(config.validate(akr_settings.SCHEMA, values, source), source)


def main(hal, settings):
    meter = Meter(hal, settings)
    meter.watchdog = hal.watchdog(settings["watchdog_s"])
    log.info("akrubutan:", "probe", settings["probe"], "measure", settings["measure_s"], "s",
             "sleep_min", settings["sleep_min"])
    log.info("pin:" if settings["lang"] == "id" else "pins:", *hal.describe())
    asyncio.run(meter.run())
