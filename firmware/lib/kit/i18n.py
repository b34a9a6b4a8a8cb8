"""Device texts in Bahasa Indonesia (default) and English.

    from kit import i18n
    i18n.text("id", "range", 300)   # -> "jangkauan 300 cm"

Add a language by adding a table with the same keys; a missing key falls back to English.
"""

_EN = {
    "pins": "pins:",
    "settings": "settings:",
    "range": "range %d cm",
    "mode": "mode %s",
    "battery_low": "battery low: %d mV",
    "sensor_fault": "sensor fault or blocked",
    "sensor_ok": "sensor OK",
    "buzzer": "sound",
    "vibration": "vibration",
    "both": "sound+vibration",
}

_ID = {
    "pins": "pin:",
    "settings": "pengaturan:",
    "range": "jangkauan %d cm",
    "mode": "mode %s",
    "battery_low": "baterai lemah: %d mV",
    "sensor_fault": "sensor rusak atau tertutup",
    "sensor_ok": "sensor normal",
    "buzzer": "bunyi",
    "vibration": "getar",
    "both": "bunyi+getar",
}

LANGS = {"en": _EN, "id": _ID}


def text(lang, key, *args):
    table = LANGS.get(lang, _EN)
    fmt = table.get(key) or _EN[key]
    return fmt % args if args else fmt
