"""Akrubutan's logic: calibrations against ../shared/data/soil/calibration_points, the
Indonesian classes at their boundaries, confidence flags and advice."""

from apps.akrubutan import logic
from apps.akrubutan.logic import CalError, MoistureCal, PhCal, ProbeFault
from fwhelp import check, raises


def _electrode_v(ph, zero_v=2.5, gain=3.0, temp_c=25.0, offset_mv=0.0):
    """A PH-4502C-type module: an ideal glass electrode (E = -59.16 mV/pH x (pH - 7) at 25 C,
    scaled by the absolute temperature) behind an amplifier of ``gain`` around ``zero_v``."""
    e_mv = -logic.NERNST_MV_25C * (273.15 + temp_c) / 298.15 * (ph - 7) + offset_mv
    return zero_v + gain * e_mv / 1000


def test_moisture_two_points_from_the_forum_probes():
    # C03/C04: capacitive v1.2 on an ESP32, 2.732 V in air, 1.07 V in water
    cal = MoistureCal(dry_v=2.732, wet_v=1.07)
    check(cal.percent(2.732) == 0 and cal.percent(1.07) == 100, (cal.percent(2.732), cal.percent(1.07)))
    check(cal.percent((2.732 + 1.07) / 2) == 50, cal.percent(1.901))
    check(cal.percent(2.80) == 0 and cal.percent(1.0) == 100, "a little beyond is clamped")
    # C05/C06 (ESPHome, 12 dB): 2.70 dry, 1.20 wet
    cal = MoistureCal(2.70, 1.20)
    check(cal.percent(1.95) == 50, cal.percent(1.95))
    # C09: raw 12-bit constants 2500 (air) and 1100 (water) at 3.3 V full scale
    cal = MoistureCal(2500 * 3.3 / 4095, 1100 * 3.3 / 4095)
    check(cal.percent(1800 * 3.3 / 4095) == 50, cal.percent(1800 * 3.3 / 4095))


def test_moisture_works_when_wet_reads_higher():
    cal = MoistureCal(dry_v=0.9, wet_v=2.4)  # a module whose output rises with water
    check(cal.percent(0.9) == 0 and cal.percent(2.4) == 100 and cal.percent(1.65) == 50, "rising")


def test_moisture_far_outside_the_span_is_a_probe_fault_not_0_or_100():
    cal = MoistureCal(2.732, 1.07)
    for v in (0.0, 0.2, 3.3):  # shorted signal, a short to GND through water, a floating pin
        e = raises(ProbeFault, lambda v=v: cal.percent(v), "disconnected or shorted")
        check("%.2f V" % v in str(e), str(e))


def test_moisture_calibrations_a_probe_cannot_give_are_refused():
    raises(CalError, lambda: MoistureCal(2.70, 2.55), "300 mV")
    # C01/C02: the 7-week log's Arduino, 680 and 360 of 10 bits at 5 V: 3.32 V is above an
    # ESP32 pin's range, so those numbers must be rescaled, not typed in
    raises(CalError, lambda: MoistureCal(680 * 5 / 1023, 360 * 5 / 1023), "0-3.3 V")


def test_ph_two_and_three_point_calibration_of_an_ideal_electrode():
    pts = [(b, _electrode_v(b)) for b in (6.86, 4.01, 9.18)]
    for points in (pts[:2], [pts[0], pts[2]], pts):
        cal = PhCal.from_points(points)
        for ph in (3.5, 4.01, 5.2, 6.86, 7.0, 8.4, 9.18, 10.0):
            got = cal.ph(_electrode_v(ph))
            check(abs(got - ph) <= 0.01, "%s points: pH %.2f read %.2f" % (len(points), ph, got))
        check(abs(cal.offset_mv()) < 0.5, cal.offset_mv())
    # the module's polarity is found from the buffers
    inv = [(b, _electrode_v(b, gain=-3.0)) for b in (6.86, 4.01)]
    cal = PhCal.from_points(inv, gain=-3.0)
    check(abs(cal.ph(_electrode_v(5.0, gain=-3.0)) - 5.0) <= 0.01, "inverted module")


def test_ph_acceptance_limits():
    ok = PhCal.from_points([(6.86, _electrode_v(6.86, offset_mv=25)), (4.01, _electrode_v(4.01, offset_mv=25))])
    check(abs(ok.offset_mv() - 25) < 0.5, "25 mV offset accepted: %.1f" % ok.offset_mv())
    raises(CalError, lambda: PhCal.from_points([(6.86, _electrode_v(6.86, offset_mv=40)),
                                               (4.01, _electrode_v(4.01, offset_mv=40))]),
           "offset", "+40 mV", "30 mV")
    # a tired electrode: 80 % of the Nernst slope
    v686, v401 = 2.5, 2.5 + 0.8 * 0.17748 * (6.86 - 4.01)
    raises(CalError, lambda: PhCal.from_points([(6.86, v686), (4.01, v401)]), "80 %", "85-105 %")
    raises(CalError, lambda: PhCal.from_points([(4.01, 3.0), (6.86, 2.5)]), "starts with the 6.86")
    raises(CalError, lambda: PhCal.from_points([(6.86, 2.5)]), "4.01 or 9.18")
    raises(CalError, lambda: PhCal.from_points([(6.86, 2.5), (7.00, 2.47)]), "not a calibration buffer")


def test_ph_calibration_points_from_the_shared_data_are_refused_with_the_reason():
    # P05-P07: 10-bit counts at 5 V: 166 at 4.01, 434 at 6.86, 539 at 9.18. The acid side rises
    # 94 counts per pH, the alkaline side 45: one electrode cannot give both
    v = {ph: c * 5 / 1023 for ph, c in ((4.01, 166), (6.86, 434), (9.18, 539))}
    e = raises(CalError, lambda: PhCal.from_points([(6.86, v[6.86]), (4.01, v[4.01]), (9.18, v[9.18])],
                                                   gain=-7.9), "slope")
    check("Nernst" in str(e), str(e))
    # P08: 2.06 V at 4.01 and 2.11 V at 9.18 ("higher than pH 4.01 - unusual!"): with 6.86 in
    # between at 2.08 V, 4.01 and 9.18 fall on the same side -> swapped or contaminated buffer
    raises(CalError, lambda: PhCal.from_points([(6.86, 2.08), (4.01, 2.06), (9.18, 2.11)]), "")


def test_ph_temperature_corrects_the_slope():
    cal = PhCal.from_points([(6.86, _electrode_v(6.86)), (4.01, _electrode_v(4.01))])
    v = _electrode_v(4.5, temp_c=35.0)
    check(abs(cal.ph(v, temp_c=35.0) - 4.5) <= 0.01, cal.ph(v, temp_c=35.0))
    check(abs(cal.ph(v) - 4.5) > 0.05, "uncorrected it would be off: %.2f" % cal.ph(v))
    back = PhCal.from_json(cal.to_json())
    check(back.ph(2.7) == cal.ph(2.7), "stored and loaded")


def test_ph_classes_at_their_boundaries():
    want = ((4.4, "sangat_masam"), (4.5, "masam"), (5.5, "masam"), (5.55, "agak_masam"),
            (5.6, "agak_masam"), (6.5, "agak_masam"), (6.6, "netral"), (7.5, "netral"),
            (7.6, "agak_alkalis"), (8.5, "agak_alkalis"), (8.6, "alkalis"))
    for ph, c in want:
        check(logic.ph_class(ph) == c, "pH %s: %s, want %s" % (ph, logic.ph_class(ph), c))


def test_npk_classes_at_their_boundaries():
    for k, v, c in (("n", 2000, "rendah"), ("n", 2001, "sedang"), ("n", 5001, "tinggi"),
                    ("p", 6.6, "rendah"), ("p", 10.9, "sedang"), ("p", 11, "tinggi"),
                    ("k", 117, "rendah"), ("k", 150, "sedang"), ("k", 197, "tinggi")):
        check(logic.npk_class(k, v) == c, "%s %s: %s" % (k, v, logic.npk_class(k, v)))


def test_probe_in_clean_water_is_not_a_fertilizer_answer():
    # N01: an NPK probe in clean water read N 50, P 114, K 104 mg/kg
    classes, conf, adv = logic.assess({"moisture": 100.0, "n": 50, "p": 114, "k": 104, "ph": 7.0},
                                      ph_cal_age_days=3)
    check(conf["n"] == ("rendah", "moisture_outside_band"), conf)
    check(("npk_unreliable",) in adv, adv)
    check(conf["ph"] == ("baik", ""), conf)


def test_acid_field_gets_lime_and_the_crops_that_fit():
    classes, conf, adv = logic.assess({"moisture": 35.0, "ph": 5.2, "n": 40, "p": 8, "k": 150},
                                      ph_cal_age_days=45)
    check(classes == {"ph": "masam", "n": "rendah", "p": "sedang", "k": "sedang"}, classes)
    check(conf["ph"] == ("indikatif", "calibration_stale") and conf["n"][0] == "indikatif", conf)
    check(("lime",) in adv and ("ph_calibrate",) in adv and ("npk_check",) in adv, adv)
    crops = [a for a in adv if a[0] == "crops"][0][1]
    check(crops == "padi, mangga", crops)
    _, conf, adv = logic.assess({"ph": 6.0})
    check(conf["ph"] == ("rendah", "uncalibrated") and ("ph_calibrate",) in adv, (conf, adv))


def test_median_and_stability():
    check(logic.median([3, 1, 2]) == 2 and logic.median([4, 1, 2, 3]) == 2.5, "median")
    check(logic.median([]) is None, "empty")
    check(logic.stable([30.1, 30.3, 30.2], 0.5) and not logic.stable([30, 31, 30], 0.5), "stable")
    check(not logic.stable([30, 30], 0.5), "two readings are not yet stable")


def test_nan_negative_and_impossible_values_are_refused_not_classed():
    nan = float("nan")
    for ph in (nan, -1, 14.5, "6.5"):
        raises(ValueError, lambda ph=ph: logic.ph_class(ph), "not a reading")
    for v in (nan, -1, -0.5):
        raises(ValueError, lambda v=v: logic.npk_class("n", v), "not a reading")
    check(logic.ph_class(14) == "alkalis" and logic.npk_class("k", 0) == "rendah", "the ends of the scale")
    # assess treats them as missing: no class, no confidence, no advice about them
    for readings in ({"ph": nan, "n": nan, "p": nan, "k": nan, "moisture": nan},
                     {"ph": -3, "n": -1, "p": -1, "k": -1, "moisture": -5},
                     {"ph": 15.0, "moisture": 130.0}):
        classes, conf, adv = logic.assess(readings, ph_cal_age_days=1)
        check(classes == {} and conf == {} and adv == [], "%s -> %s %s %s" % (readings, classes, conf, adv))
    _, conf, _ = logic.assess({"n": 40}, npk_moisture=nan)
    check(conf["n"] == ("rendah", "moisture_outside_band"), "NaN moisture is no moisture: %s" % (conf,))
    raises(ProbeFault, lambda: MoistureCal(2.7, 1.15).percent(nan), "disconnected or shorted")


def test_a_temperature_no_soil_has_is_not_used_to_correct_ph():
    cal = PhCal.from_points([(6.86, _electrode_v(6.86)), (4.01, _electrode_v(4.01))])
    v = _electrode_v(5.4)
    for temp in (-3276.8, 150.0, -273.15, float("nan")):
        raises(ValueError, lambda temp=temp: cal.ph(v, temp), "not used to correct pH")
    check(cal.ph(v, 60.0) != cal.ph(v) and cal.ph(v, -10.0) != cal.ph(v), "-10..60 C corrects")


def test_a_stored_calibration_is_checked_field_by_field():
    good = PhCal.from_points([(6.86, _electrode_v(6.86)), (4.01, _electrode_v(4.01))]).to_json()
    check(PhCal.from_json(good).ph(2.7) == PhCal.from_json(dict(good)).ph(2.7), "round trip")
    for field, value, words in (("gain", 0, "0.5 to 20.0 (either sign)"), ("gain", -0.1, "0.5 to 20.0"),
                                ("temp_c", -273.15, "-10.0 to 60.0"), ("v686", "2.5", "0.0 to 3.3"),
                                ("acid", True, "0.0 to 3.3"), ("zero_v", None, "0.0 to 3.3"),
                                ("v686", float("nan"), "0.0 to 3.3")):
        bad = dict(good)
        bad[field] = value
        raises(CalError, lambda bad=bad: PhCal.from_json(bad), "field '%s' is " % field, words)
    check(PhCal.from_json(dict(good, gain=-3.0, v686=2.5, acid=2.5 - 0.17748 * 2.85)).gain == -3.0, "either sign")
    for field in ("v686", "temp_c"):
        bad = dict(good)
        del bad[field]
        raises(CalError, lambda bad=bad: PhCal.from_json(bad), "field '%s' is None" % field)
    raises(CalError, lambda: PhCal.from_json(dict(good, acid=None)), "'acid' and 'alkaline'")
    raises(CalError, lambda: PhCal.from_json([1, 2]), "'cal'")
    # and the constructor itself: a gain of 0 divided by zero in the slope's percentage
    raises(CalError, lambda: PhCal.from_points([(6.86, 2.5), (4.01, 3.0)], gain=0), "gain 0")
    raises(CalError, lambda: PhCal.from_points([(6.86, 2.5), (4.01, 3.0)], temp_c=-273.15), "-273.15 C")


def test_a_refused_calibration_has_a_short_reason_for_the_oled():
    e = raises(CalError, lambda: PhCal.from_points([(6.86, 2.5), (4.01, 3.0), (9.18, 3.1)]), "same side")
    check(e.why == ("why_side",), e.why)
    v686, v401 = 2.5, 2.5 + 0.8 * 0.17748 * (6.86 - 4.01)
    e = raises(CalError, lambda: PhCal.from_points([(6.86, v686), (4.01, v401)]), "80 %")
    check(e.why == ("why_slope", "4.01", 80), e.why)
    e = raises(CalError, lambda: PhCal.from_points([(6.86, _electrode_v(6.86, offset_mv=40)),
                                                   (4.01, _electrode_v(4.01, offset_mv=40))]), "+40 mV")
    check(e.why == ("why_offset", 40), e.why)
