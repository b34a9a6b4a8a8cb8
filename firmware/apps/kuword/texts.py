"""Kuword's screen texts (16x2 LCD: at most 16 characters a line), Bahasa Indonesia and English.

One string per language, a line per screen: ``key|line 1|line 2``. (As one string each table
costs about 1 KB of RAM; the same texts as a dict of tuples cost 12 KB, mostly interned
strings and dict slots: measured with gc.mem_alloc on the .mpy.) ``%`` fields are filled by
``screen()``. Add a language with the same keys; a missing key falls back to English.
"""

_ID = """
ready|Kuword|Masukkan kode
entry|Kode:|%s
checking|Memeriksa...|
welcome|Silakan masuk|%s
wrong|Kode salah|Sisa %d kali
lockout|Terkunci|Tunggu %d dtk
too_short|Kode terlalu|pendek
too_long|Kode terlalu|panjang
expired|Kode tamu|kedaluwarsa
setup|Buat kode master|%d-%d angka + #
new_code|Kode baru %s|%d-%d angka + #
repeat|Ulangi kode|lalu tekan #
mismatch|Kode tidak sama|Batal
in_use|Kode sudah|dipakai
saved|Tersimpan|%s
removed|Dihapus|%s
empty|Slot kosong|%s
full|Slot penuh|Hapus dulu
master|Kode master|lalu tekan #
menu|1+ 2ubah 3hapus|4tamu 5paksa 6M
which|Nomor pengguna|1-20 lalu #
hours|Tamu berlaku|berapa jam? #
cancelled|Batal|
ajar|Pintu terbuka!|Tutup pintu
tamper|Peringatan!|Casing dibuka
forced|Pintu dibobol!|Masukkan kode
batt_low|Kuword|Baterai lemah
batt_critical|Baterai habis|Ganti baterai
store_error|Data kode rusak|Hubungi admin
config_error|Pengaturan rusak|Relay mati
user|Pengguna %d|
guest|Tamu %d|
master_slot|Master|
duress_slot|Kode paksa|
"""

_EN = """
ready|Kuword|Enter code
entry|Code:|%s
checking|Checking...|
welcome|Welcome|%s
wrong|Wrong code|%d tries left
lockout|Locked out|Wait %d s
too_short|Code too|short
too_long|Code too|long
expired|Guest code|expired
setup|New master code|%d-%d digits + #
new_code|New code %s|%d-%d digits + #
repeat|Repeat the code|then press #
mismatch|Codes differ|Cancelled
in_use|Code already|in use
saved|Saved|%s
removed|Removed|%s
empty|Empty slot|%s
full|All slots used|Remove one
master|Master code|then press #
menu|1add 2chg 3del|4guest 5dur 6M
which|User number|1-20 then #
hours|Guest valid for|how many h? #
cancelled|Cancelled|
ajar|Door open!|Close the door
tamper|Warning!|Case opened
forced|Door forced!|Enter a code
batt_low|Kuword|Battery low
batt_critical|Battery empty|Replace it
store_error|Code data bad|Call the admin
config_error|Config error|Relay disabled
user|User %d|
guest|Guest %d|
master_slot|Master|
duress_slot|Duress code|
"""

LANGS = {"id": _ID, "en": _EN}


def _find(table, key):
    start = table.find("\n" + key + "|")
    if start < 0:
        return None
    start += len(key) + 2
    end = table.find("\n", start)
    bar = table.find("|", start)
    return table[start:bar], table[bar + 1:end]


def screen(lang, key, *args):
    """(line 1, line 2) for ``key``; arguments fill the ``%`` fields of both lines in order."""
    lines = _find(LANGS.get(lang, _EN), key) or _find(_EN, key)
    if lines is None:
        raise KeyError(key)
    one, two = lines
    n = one.count("%")
    if n:
        one = one % args[:n]
    if two.count("%"):
        two = two % args[n:]
    return one, two
