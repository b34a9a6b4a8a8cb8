"""Akrubutan's pure logic: probe calibrations, Indonesian soil-test classes, confidence, advice.

No machine, no time: readings and ages come in as numbers. Where every threshold comes from is
in docs/akrubutan.md; the numbers here carry a short tag of their source.

    cal = MoistureCal(dry_v=2.70, wet_v=1.15)       # capacitive v1.2 on an ESP32 at 11 dB
    cal.percent(1.9)                                 # -> 51.6 (%), or raises ProbeFault
    ph = PhCal.from_points([(6.86, 2.50), (4.01, 3.01)])   # buffers first 6.86, then 4.01/9.18
    ph.ph(2.70)                                      # -> 5.76
    ph_class(5.76)                                   # -> "agak_masam"
"""

NERNST_MV_25C = 59.16  # mV per pH unit at 25 C: 2.303 RT/F
BUFFERS = (6.86, 4.01, 9.18)  # NIST-type phosphate, phthalate and borax buffers at 25 C
# Temperatures a soil (or a buffer on the bench) has in the field; a sensor reading outside is a
# fault (an RS485 probe's register at 0x8000 reads -3276.8 C) and corrects nothing
TEMP_MIN_C, TEMP_MAX_C = -10.0, 60.0


class ProbeFault(ValueError):
    """The reading cannot be soil: the probe is disconnected, shorted or stuck."""


class CalError(ValueError):
    """A calibration outside what a working probe gives: names what and by how much. ``why``:
    a short reason for the OLED, (texts.py key, arguments...), or None."""

    def __init__(self, message, why=None):
        super().__init__(message)
        self.why = why


def is_number(v):
    """A real number: not a bool, a string or NaN."""
    return not isinstance(v, bool) and isinstance(v, (int, float)) and v == v


class MoistureCal:
    """Two-point calibration of a capacitive (or resistive) moisture probe in volts.

    ``dry_v`` is the probe in air, ``wet_v`` in water; either may be the higher one (capacitive
    v1.2 probes read lower when wet, some modules higher). Readings between them map linearly to
    0-100 % and a little beyond is clamped (soil drier than air does not exist); readings more
    than ``margin`` of the span outside it are not soil: a disconnected signal wire floats to
    the rail, a shorted one sits at 0 V."""

    def __init__(self, dry_v, wet_v, margin=0.25):
        if not (0 <= dry_v <= 3.3 and 0 <= wet_v <= 3.3):
            raise CalError("moisture calibration: dry %.3f V / wet %.3f V outside 0-3.3 V" % (dry_v, wet_v))
        if abs(dry_v - wet_v) < 0.3:
            raise CalError("moisture calibration: dry %.3f V and wet %.3f V are %.0f mV apart; a "
                           "working probe moves more than 300 mV from air to water (was it in "
                           "water for the wet point?)" % (dry_v, wet_v, abs(dry_v - wet_v) * 1000))
        self.dry_v = dry_v
        self.wet_v = wet_v
        self.margin = margin

    def percent(self, v):
        span = self.wet_v - self.dry_v  # negative for the usual capacitive probe
        frac = (v - self.dry_v) / span
        if not -self.margin <= frac <= 1 + self.margin:  # NaN too
            raise ProbeFault("moisture probe reads %.2f V, outside its calibrated %.2f-%.2f V: "
                             "probe disconnected or shorted" % (v, min(self.dry_v, self.wet_v),
                                                                max(self.dry_v, self.wet_v)))
        if frac < 0:
            frac = 0.0
        elif frac > 1:
            frac = 1.0
        return round(frac * 100, 1)


class PhCal:
    """pH from the analog module's volts: a line through the 6.86 buffer (the offset) and a
    slope from 4.01 and/or 9.18 (acid and alkaline sides each get their own slope when both
    were measured). ``gain``: volts at the module output per volt at the electrode (about 3
    on PH-4502C-type boards; the sign is found from the buffers: modules differ in polarity).

    Acceptance, for a healthy glass electrode: offset at pH 7 within 30 mV of the module's
    ``zero_v`` (converted to electrode mV through ``gain``), slope 85-105 % of the Nernst slope
    59.16 mV/pH at 25 C."""

    def __init__(self, v686, acid=None, alkaline=None, zero_v=2.5, gain=3.0, temp_c=25.0):
        self.v686 = v686
        self.acid = acid  # volts at 4.01, or None
        self.alkaline = alkaline  # volts at 9.18, or None
        self.zero_v = zero_v
        self.gain = gain
        self.temp_c = temp_c
        if acid is None and alkaline is None:
            raise CalError("pH calibration needs 4.01 or 9.18 after 6.86")
        if not 0.5 <= abs(gain) <= 20 or not TEMP_MIN_C <= temp_c <= TEMP_MAX_C:  # no division by 0
            raise CalError("pH calibration: gain %r (0.5-20 either sign) or %r C (%.0f..%.0f C) is "
                           "not a module's" % (gain, temp_c, TEMP_MIN_C, TEMP_MAX_C))
        self.slope_acid = (acid - v686) / (4.01 - 6.86) if acid is not None else None  # V/pH
        self.slope_alk = (alkaline - v686) / (9.18 - 6.86) if alkaline is not None else None
        # the sides first: a swapped buffer would otherwise be reported as a bad slope
        if self.slope_acid is not None and self.slope_alk is not None and \
                (self.slope_acid > 0) != (self.slope_alk > 0):
            raise CalError("pH calibration: 4.01 and 9.18 lie on the same side of 6.86; a buffer "
                           "was swapped or contaminated", ("why_side",))
        for name, s in (("4.01", self.slope_acid), ("9.18", self.slope_alk)):
            if s is None:
                continue
            pct = self.slope_pct(s)
            if not 85 <= pct <= 105:
                raise CalError("pH calibration: slope 6.86 -> %s is %.0f %% of the Nernst slope "
                               "(%.1f mV/pH at the electrode; a good electrode gives 85-105 %%): "
                               "old or dirty electrode, wrong buffer, or gain %.2f is not this "
                               "module's" % (name, pct, abs(s) / abs(gain) * 1000, gain),
                               ("why_slope", name, int(pct + 0.5) if pct < 999 else 999))
        self.slope = self.slope_acid or self.slope_alk or 0.0  # V/pH for the offset (never 0 here)
        off = self.offset_mv()
        if abs(off) > 30:
            raise CalError("pH calibration: offset at pH 7 is %+.0f mV at the electrode (at most "
                           "30 mV): clean or replace the electrode, or set the module's zero "
                           "trimmer to %.2f V in 6.86" % (off, zero_v),
                           ("why_offset", int(off) if abs(off) < 9999 else (9999 if off > 0 else -9999)))

    @classmethod
    def from_points(cls, points, **kw):
        """From (buffer pH, volts) in the order measured: 6.86 first, then 4.01 and/or 9.18."""
        if not points or abs(points[0][0] - 6.86) > 0.05:
            raise CalError("pH calibration starts with the 6.86 buffer (the offset), then 4.01 "
                           "or 9.18 (the slope)")
        acid = alk = None
        for ph, v in points[1:]:
            if abs(ph - 4.01) < 0.05:
                acid = v
            elif abs(ph - 9.18) < 0.05:
                alk = v
            else:
                raise CalError("pH %.2f is not a calibration buffer (6.86, 4.01, 9.18)" % ph)
        return cls(points[0][1], acid, alk, **kw)

    def nernst_v(self):
        """The Nernst slope at the calibration temperature, in module volts per pH."""
        return NERNST_MV_25C * (273.15 + self.temp_c) / 298.15 / 1000 * abs(self.gain)

    def slope_pct(self, s):
        return abs(s) / self.nernst_v() * 100

    def offset_mv(self):
        """The electrode's offset at pH 7, in electrode mV (0 for a perfect electrode)."""
        v7 = self.v686 + (7.0 - 6.86) * self.slope
        return (v7 - self.zero_v) / abs(self.gain) * 1000

    def ph(self, v, temp_c=None):
        """pH of a reading (volts); ``temp_c`` of the sample corrects the slope (Nernst). A
        temperature no soil has (outside TEMP_MIN_C..TEMP_MAX_C) is refused: ValueError."""
        s = self.slope
        if self.slope_alk is not None and (self.slope_acid is None or (v - self.v686) * self.slope_alk > 0):
            s = self.slope_alk
        if temp_c is not None:
            if not TEMP_MIN_C <= temp_c <= TEMP_MAX_C:
                raise ValueError("temperature %r C is no soil's: not used to correct pH" % (temp_c,))
            s = s * (273.15 + temp_c) / (273.15 + self.temp_c)
        return round(6.86 + (v - self.v686) / s, 2)

    def to_json(self):
        return {"v686": self.v686, "acid": self.acid, "alkaline": self.alkaline,
                "zero_v": self.zero_v, "gain": self.gain, "temp_c": self.temp_c}

    @classmethod
    def from_json(cls, d):
        """From to_json's object, every field checked first (CalError names the one that is
        wrong): a hand-edited or damaged file must not divide by a zero gain or -273.15 C."""
        if not isinstance(d, dict):
            raise CalError("field 'cal' must be an object")
        args = []
        for i in range(6):
            name = _FIELDS[i]
            v = d.get(name)
            # volts 0-3.3 (acid/alkaline may be null), |gain| 0.5-20, temp_c TEMP_MIN_C..MAX_C;
            # a bool is an int to Python, NaN fails every range
            lo, hi = (0.0, 3.3) if i < 4 else (0.5, 20.0) if i == 4 else (TEMP_MIN_C, TEMP_MAX_C)
            if not (v is None and i in (1, 2)) and (isinstance(v, bool) or not isinstance(v, (int, float)) or
                                                    not lo <= (abs(v) if i == 4 else v) <= hi):
                raise CalError("field '%s' is %r; it must be a number from %s to %s%s"
                               % (name, v, lo, hi, " (either sign)" if i == 4 else ""))
            args.append(v)
        if args[1] is None and args[2] is None:
            raise CalError("fields 'acid' and 'alkaline' are both null")
        return cls(*args)


_FIELDS = ("v686", "acid", "alkaline", "zero_v", "gain", "temp_c")  # PhCal's, as stored


# -- Indonesian assessment classes ------------------------------------------------------------
# pH (H2O): Pusat Penelitian Tanah (1983), as tabulated in Balai Penelitian Tanah (2009),
# Petunjuk Teknis Analisis Kimia Tanah, Tanaman, Air dan Pupuk, ed. 2 (docs/akrubutan.md).
# sangat masam < 4.5; masam 4.5-5.5; agak masam 5.6-6.5; netral 6.6-7.5; agak alkalis
# 7.6-8.5; alkalis > 8.5 (a value between two printed ranges, e.g. 5.55, takes the upper class)
PH_CLASSES = ((5.5, "masam"), (6.5, "agak_masam"), (7.5, "netral"), (8.5, "agak_alkalis"))

# N, P, K from the same criteria, converted to the probe's mg/kg and folded to three classes
# (sangat rendah + rendah -> rendah, tinggi + sangat tinggi -> tinggi):
# - N total 0.20 % / 0.50 %  -> 2000 / 5000 mg/kg (1 % = 10,000 mg/kg)
# - P2O5 Bray-1 15 / 25 ppm  -> P 6.6 / 10.9 mg/kg (P = P2O5 x 0.4364)
# - K-dd 0.3 / 0.5 cmol(+)/kg -> K 117 / 196 mg/kg (1 cmol(+) K = 391 mg)
NPK_LIMITS = {"n": (2000, 5000), "p": (6.6, 10.9), "k": (117, 196)}


def ph_class(ph):
    """The class of a pH 0-14; ValueError for anything else (NaN, negative, above 14)."""
    if not is_number(ph) or not 0 <= ph <= 14:
        raise ValueError("pH %r is not a reading" % (ph,))
    if ph < 4.5:
        return "sangat_masam"
    for limit, name in PH_CLASSES:
        if ph <= limit:
            return name
    return "alkalis"


def npk_class(nutrient, mg_kg):
    """rendah / sedang / tinggi; ValueError for what no soil has (NaN, negative)."""
    if not is_number(mg_kg) or mg_kg < 0:
        raise ValueError("%s %r mg/kg is not a reading" % (nutrient, mg_kg))
    low, high = NPK_LIMITS[nutrient]
    if mg_kg <= low:
        return "rendah"
    if mg_kg <= high:
        return "sedang"
    return "tinggi"


# NPK probes' figures follow conductivity, which follows water: only in moist soil is the
# probe's number comparable from one day to the next (field tests; calibration_points N01).
NPK_MOISTURE_BAND = (20.0, 60.0)
PH_CAL_MAX_DAYS = 30  # a glass electrode drifts: recalibrate monthly (buffer manufacturers)


def confidence(readings, probe_type="rs485_npk", ph_cal_age_days=None,
               ph_cal_max_days=PH_CAL_MAX_DAYS, npk_moisture=None):
    """A flag per value: "baik" (good), "indikatif" (usable with care) or "rendah" (not for a
    decision), each with the reason. ``npk_moisture``: the water content where the NPK probe
    sits (its own moisture reading), when it differs from ``readings["moisture"]``."""
    out = {}
    m = readings.get("moisture")
    if m is not None:
        out["moisture"] = ("baik", "")
    ph = readings.get("ph")
    if ph is not None:
        if ph_cal_age_days is None:
            out["ph"] = ("rendah", "uncalibrated")
        elif ph_cal_age_days > ph_cal_max_days:
            out["ph"] = ("indikatif", "calibration_stale")
        else:
            out["ph"] = ("baik", "")
    wet = m if npk_moisture is None else npk_moisture
    for k in ("n", "p", "k"):
        if readings.get(k) is None:
            continue
        if probe_type == "rs485_npk":
            if wet is None or not NPK_MOISTURE_BAND[0] <= wet <= NPK_MOISTURE_BAND[1]:
                out[k] = ("rendah", "moisture_outside_band")
            else:
                out[k] = ("indikatif", "ec_based_probe")
        else:
            out[k] = ("baik", "")
    return out


# Crops grown around Magelang and the soil pH range each was recorded growing in: the pH span
# of each crop's 100 rows in ../shared/data/soil/crop_ranges/Crop_recommendation.csv (rounded
# outwards to 0.1). That file has no chili, shallot, tomato or cabbage, so neither has this
# table: the settings' ``crops`` adds a crop with its range from an extension officer's source.
CROPS = (("padi", 5.0, 7.9), ("jagung", 5.5, 7.0), ("kopi", 6.0, 7.5), ("pisang", 5.5, 6.5),
         ("kacang hijau", 6.2, 7.2), ("pepaya", 6.5, 7.0), ("jeruk", 6.0, 8.0),
         ("mangga", 4.5, 7.0), ("kelapa", 5.5, 6.5))


def crops_for(ph, crops=CROPS):
    return [c for c, lo, hi in crops if lo <= ph <= hi]


def advice(readings, classes, conf, crops=CROPS):
    """Short advice as text keys and arguments (texts.py renders them in the device's
    language)."""
    out = []
    ph = readings.get("ph")
    c = classes.get("ph")
    if c in ("sangat_masam", "masam"):
        out.append(("lime", ))
    elif c in ("agak_alkalis", "alkalis"):
        out.append(("acidify", ))
    if ph is not None:
        fits = crops_for(ph, crops)
        out.append(("crops", ", ".join(fits)) if fits else ("no_crops", ))
    m = readings.get("moisture")
    if m is not None and m < 20:
        out.append(("dry", ))
    if any(conf.get(k, ("",))[0] == "rendah" for k in ("n", "p", "k")):
        out.append(("npk_unreliable", ))
    elif any(k in classes for k in ("n", "p", "k")):
        out.append(("npk_check", ))
    if conf.get("ph", ("",))[0] != "baik" and ph is not None:
        out.append(("ph_calibrate", ))
    return out


def assess(readings, probe_type="rs485_npk", ph_cal_age_days=None, npk_moisture=None,
           crops=CROPS, ph_cal_max_days=PH_CAL_MAX_DAYS):
    """classes, confidence and advice for one reading set (values may be missing or None; a
    value that is no reading, NaN, negative, a pH above 14 or moisture above 100 %, counts as
    missing)."""
    readings = {k: v for k, v in readings.items() if _usable(k, v)}
    if not _usable("moisture", npk_moisture):
        npk_moisture = None
    classes = {}
    if readings.get("ph") is not None:
        classes["ph"] = ph_class(readings["ph"])
    for k in ("n", "p", "k"):
        if readings.get(k) is not None:
            classes[k] = npk_class(k, readings[k])
    conf = confidence(readings, probe_type, ph_cal_age_days, ph_cal_max_days, npk_moisture)
    return classes, conf, advice(readings, classes, conf, crops)


def _usable(name, v):
    if name == "temperature":
        return is_number(v)
    top = 14 if name == "ph" else 100 if name == "moisture" else None
    return is_number(v) and v >= 0 and (top is None or v <= top)


def median(values):
    v = sorted(values)
    n = len(v)
    if not n:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def stable(values, tolerance):
    """True when the last readings agree within ``tolerance`` (max - min)."""
    return len(values) >= 3 and max(values) - min(values) <= tolerance


# -- what the RTC memory keeps across deep sleep -----------------------------------------------
# The RTC's slow memory survives deep sleep and resets, not a power cut; a brown-out or a stray
# write can still damage it. Version 2: b"AKR2" + b"seq,family,address,baud" + b"*" + the body's
# Fletcher-16 as 4 hex digits (family empty, address and baud 0 when no probe is known).
# Version 1 (b"AKR1" + seq) is still read, so an update keeps the count. Anything else, or a
# record whose check does not match, is no record: the caller falls back to the log and a search.
RTC_V1 = b"AKR1"
RTC_V2 = b"AKR2"
RTC_BAUDS = (2400, 4800, 9600)


def fletcher16(data):
    a = b = 0
    for byte in data:
        a = (a + byte) % 255
        b = (b + a) % 255
    return (b << 8) | a


def rtc_pack(seq, probe=None):
    """The RTC record for sample number ``seq`` and the probe found, (family, address, baud) or
    None."""
    fam, addr, baud = probe if probe is not None else ("", 0, 0)
    body = ("%d,%s,%d,%d" % (seq, fam, addr, baud)).encode()
    return RTC_V2 + body + ("*%04x" % fletcher16(body)).encode()


def rtc_unpack(mem, families=None):
    """(seq, probe) from an RTC record; (None, None) when there is none or it is damaged; probe is
    None when the record names none (or a family not in ``families``)."""
    if not mem:
        return None, None
    mem = bytes(mem)
    try:
        if mem[:4] == RTC_V1:
            seq = int(mem[4:].decode())
            return (seq, None) if seq >= 0 else (None, None)
        if mem[:4] != RTC_V2:
            return None, None
        star = mem.rfind(b"*")
        body, check = mem[4:star], mem[star + 1:]
        if star < 4 or len(check) != 4 or int(check.decode(), 16) != fletcher16(body):
            return None, None
        fields = body.decode().split(",")
        if len(fields) != 4:
            return None, None
        seq, fam, addr, baud = int(fields[0]), fields[1], int(fields[2]), int(fields[3])
    except (ValueError, UnicodeError):
        return None, None
    if seq < 0:
        return None, None
    if not fam or (families is not None and fam not in families) or not 1 <= addr <= 247 \
            or baud not in RTC_BAUDS:
        return seq, None
    return seq, (fam, addr, baud)
