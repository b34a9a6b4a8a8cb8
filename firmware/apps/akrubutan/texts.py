"""Akrubutan's texts, Bahasa Indonesia and English: ``key|text``. The OLED shows 16 characters
a line (8x8 font, 128 px): every text in OLED_KEYS fits, with its widest values (a further
``|`` starts a new line); the advice texts go to the console whole and to the result's advice
pages through wrap(); the console and the CSV log use the same words."""

# keys shown on the OLED (the rest, advice and messages, go to the console only); one string,
# not a tuple of them: only the tests read it
OLED_KEYS = ("ready press searching measuring moist moist_fault ph temp ec npk sangat_masam masam "
             "agak_masam netral agak_alkalis alkalis rendah sedang tinggi baik indikatif conf_rendah "
             "cal_686 cal_second cal_third cal_ok cal_bad cal_cancel cal_read cal_ack why_side why_slope "
             "why_offset why_unstable why_adc why_read why_other probe_fault config_bad fault conf npk_air")

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
conf|Keyakinan:
npk_air|air NPK %s
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
cal_bad|Kalibrasi gagal
cal_cancel|Kalibrasi batal
cal_read|Kalibrasi pH|Membaca buffer|Tunggu...
cal_ack|Tekan: lanjut
why_side|4.01 & 9.18 di|satu sisi 6.86|buffer tertukar?
why_slope|Slope %s: %d%%|perlu 85-105%%
why_offset|Offset %+d mV|maks 30 mV
why_unstable|pH tidak stabil|bilas elektroda
why_adc|Input di batas|ADC: cek kabel|atau pembagi
why_read|ADC tak terbaca|pakai pin ADC1
why_other|lihat konsol
probe_fault|RS485: tak jawab
config_bad|Pengaturan salah
probe_none|Probe RS485 tidak ada
probe_found|Probe %s alamat %d %d baud
probe_silent|Probe %s alamat %d %d baud (diatur) tidak menjawab
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
conf|Confidence:
npk_air|NPK moist %s
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
cal_bad|pH cal. failed
cal_cancel|pH cal. stopped
cal_read|pH calibration|Reading buffer|Wait...
cal_ack|Press: continue
why_side|4.01 & 9.18 on|one side of 6.86|buffer swapped?
why_slope|Slope %s: %d%%|needs 85-105%%
why_offset|Offset %+d mV|max 30 mV
why_unstable|pH not settling|rinse electrode
why_adc|Input at ADC|limit: check the|wiring / divider
why_read|ADC unreadable|use an ADC1 pin
why_other|see the console
probe_fault|RS485: no answer
config_bad|Config error
probe_none|No RS485 probe
probe_found|Probe %s addr %d %d baud
probe_silent|Probe %s addr %d %d baud (configured) does not answer
sleeping|Sleeping %d min
"""


def text(lang, key, *args):
    """The text ``key`` in ``lang`` ("id", else English), formatted with ``args``; the key itself
    when there is none. Looked up in the table's text at each call (a short search, a few times
    a screen): a dict of it would hold a second copy of every text in RAM."""
    table = _ID if lang == "id" else _EN
    i = table.find("\n" + key + "|")
    if i < 0:
        fmt = key
    else:
        i += len(key) + 2
        fmt = table[i:table.find("\n", i)]
    return fmt % args if args else fmt


def wrap(s, width=16):
    """``s`` as lines of at most ``width`` characters, broken between words (a word longer than
    a line, which no text here has, is cut)."""
    out = []
    line = ""
    for w in s.split():
        if line and len(line) + 1 + len(w) <= width:
            line += " " + w
            continue
        if line:
            out.append(line)
        while len(w) > width:
            out.append(w[:width])
            w = w[width:]
        line = w
    if line:
        out.append(line)
    return out
