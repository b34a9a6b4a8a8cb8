"""Kandig's screen texts (16x2 LCD), Bahasa Indonesia and English: ``key|line 1|line 2``.

Alert type names are looked up as ``t_<type>``; an unknown type shows its id as sent.
"""

_ID = """
idle|Kandig %s|Siaga
idle_off|Kandig %s|Siaga (offline)
local|Kandig|Alarm lokal saja
alert|AWAS: %s|Rumah %s
drill|LATIHAN: %s|Rumah %s
own_wait|%s|Belum terkirim
own_sent|%s|Terkirim
own_local|%s|Alarm lokal
stopped|Alarm dimatikan|
heard|Didengar|%d rumah
silenced|Sudah didengar|%s
false|Alarm palsu|Rumah %s
ended|Alarm selesai|%s
limited|Terlalu sering|Hanya lokal
test|Uji diri|OK
t_lelayu|Lelayu
t_maling|Maling
t_kebakaran|Kebakaran
t_banjir|Banjir
t_rajakaya|Rajakaya
t_bencana|Bencana
"""

_EN = """
idle|Kandig %s|Standing by
idle_off|Kandig %s|Offline
local|Kandig|Local alarm only
alert|ALERT: %s|House %s
drill|DRILL: %s|House %s
own_wait|%s|Not sent yet
own_sent|%s|Sent
own_local|%s|Local alarm
stopped|Alarm stopped|
heard|Heard by|%d houses
silenced|Heard it|%s
false|False alarm|House %s
ended|Alert ended|%s
limited|Too many alerts|Local only
test|Self-test|OK
t_lelayu|Death
t_maling|Thief
t_kebakaran|Fire
t_banjir|Flood
t_rajakaya|Livestock
t_bencana|Disaster
"""


def line(lang, key, *args):
    """(line 1, line 2) for ``key`` with ``%`` fields filled in order."""
    table = _ID if lang == "id" else _EN
    start = table.find("\n" + key + "|")
    if start < 0:
        return None
    end = table.find("\n", start + 1)
    parts = table[start + 2 + len(key):end].split("|")
    l1 = parts[0]
    l2 = parts[1] if len(parts) > 1 else ""
    n1 = l1.count("%")
    if n1:
        l1 = l1 % args[:n1]
    if "%" in l2:
        l2 = l2 % args[n1:]
    return l1[:16], l2[:16]


def type_name(lang, alert_type):
    found = line(lang, "t_" + alert_type)
    return found[0] if found else alert_type
