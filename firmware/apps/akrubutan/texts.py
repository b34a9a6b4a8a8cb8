"""Akrubutan's texts, Bahasa Indonesia and English: ``key|text``. The OLED shows 16 characters
a line (8x8 font, 128 px): every text in OLED_KEYS fits, with its widest values (a further
``|`` starts a new line); the console and the CSV log use the same words."""

# keys shown on the OLED (the rest, advice and messages, go to the console only)
OLED_KEYS = ("ready", "press", "searching", "measuring", "moist", "moist_fault", "ph", "temp", "ec", "npk",
             "sangat_masam", "masam", "agak_masam", "netral", "agak_alkalis", "alkalis",
             "rendah", "sedang", "tinggi", "baik", "indikatif", "conf_rendah", "cal_686",
             "cal_second", "cal_third", "cal_ok", "cal_bad", "cal_cancel")

_ID = """
ready|Akrubutan siap
press|Tekan tombol
searching|Cari probe RS485
measuring|Mengukur... %ds
moist|Lembab %s%%
moist_fault|Lembab: rusak
ph|pH %s %s
temp|Suhu %s C
ec|EC %s uS/cm
npk|N%s P%s K%s
cls_n|N %s
none|-
fault|rusak
sangat_masam|sangat masam
masam|masam
agak_masam|agak masam
netral|netral
agak_alkalis|agak alkalis
alkalis|alkalis
rendah|rendah
sedang|sedang
tinggi|tinggi
baik|baik
indikatif|indikatif
conf_rendah|ragu
lime|Tanah masam: beri kapur pertanian (dolomit)
acidify|Tanah basa: tambah bahan organik / belerang
crops|pH cocok untuk: %s
no_crops|pH di luar rentang tanaman tercatat
dry|Tanah kering: siram dulu sebelum ukur NPK
npk_unreliable|NPK tidak bisa dipercaya (kelembaban di luar 20-60%); jangan dipakai untuk dosis pupuk
npk_check|NPK hanya perkiraan dari daya hantar listrik; pastikan dengan PUTS atau lab
ph_calibrate|Kalibrasi pH (tekan lama): buffer 6.86 lalu 4.01/9.18
cal_686|Kalibrasi pH|Celup 6.86 tekan
cal_second|Kalibrasi pH|4.01/9.18, tekan
cal_third|Kalibrasi pH|slope %s|Lalu %s? tekan|Tahan: selesai
cal_ok|Kalibrasi pH OK|slope %s
cal_bad|Kalibrasi gagal|%s
cal_cancel|Kalibrasi batal
probe_none|Probe RS485 tidak ada
probe_found|Probe %s alamat %d %d baud
sleeping|Tidur %d menit
"""

_EN = """
ready|Akrubutan ready
press|Press the button
searching|Finding probe
measuring|Measuring %ds
moist|Moisture %s%%
moist_fault|Moisture: fault
ph|pH %s %s
temp|Temp %s C
ec|EC %s uS/cm
npk|N%s P%s K%s
cls_n|N %s
none|-
fault|fault
sangat_masam|very acid
masam|acid
agak_masam|slightly acid
netral|neutral
agak_alkalis|weakly alkaline
alkalis|alkaline
rendah|low
sedang|medium
tinggi|high
baik|good
indikatif|indicative
conf_rendah|doubtful
lime|Acid soil: apply agricultural lime (dolomite)
acidify|Alkaline soil: add organic matter / sulphur
crops|pH suits: %s
no_crops|pH outside every recorded crop range
dry|Dry soil: water before measuring NPK
npk_unreliable|NPK not trustworthy (moisture outside 20-60%); do not use for fertilizer doses
npk_check|NPK is an estimate from conductivity; confirm with a soil test kit (PUTS) or a lab
ph_calibrate|Calibrate pH (long press): buffer 6.86 then 4.01/9.18
cal_686|pH calibration|Dip 6.86, press
cal_second|pH calibration|4.01/9.18, press
cal_third|pH calibration|slope %s|Then %s? press|Hold: finish
cal_ok|pH calibrated|slope %s
cal_bad|pH cal. failed|%s
cal_cancel|pH cal. stopped
probe_none|No RS485 probe
probe_found|Probe %s addr %d %d baud
sleeping|Sleeping %d min
"""


def _table(text):
    out = {}
    for line in text.split("\n"):
        if "|" in line:
            key, _, rest = line.partition("|")
            out[key] = rest
    return out


_CACHE = {}


def text(lang, key, *args):
    table = _CACHE.get(lang)
    if table is None:
        _CACHE.clear()  # one language in RAM at a time
        table = _CACHE[lang] = _table(_ID if lang == "id" else _EN)
    fmt = table.get(key, key)
    return fmt % args if args else fmt
