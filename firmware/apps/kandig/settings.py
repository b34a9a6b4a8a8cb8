"""Kandig's settings: defaults, allowed values and where the defaults come from.

Change them in ``config.json`` on the board inside the device's section, for example
``{"device": "kandig", "kandig": {"net": "rt05-kramat", "house": "h07"}}``. Wi-Fi and broker
credentials live in ``secrets.json`` (``wifi_ssid``, ``wifi_password``, ``mqtt_host``,
``mqtt_user``, ``mqtt_password``), which ``kampung build`` takes from a git-ignored file.

- net / house: the neighbourhood and house ids of the topics (docs/kandig-protocol.md); the
  house id is also the broker user name. ``house`` "" = not installed yet: the unit works as a
  local alarm only and says so at boot.
- alert_types: the kentongan codes of Magelang (1 strike a death, 2 a thief, 3 a fire, 4 a
  flood, 5 livestock theft, titir for a disaster); codes differ between regions.
- press_window_ms 1500: presses closer than this are one code (a person beats 2-5 strikes in
  about a second); long_press_ms 3000 = titir.
- button_types {}: one button per alert type instead, e.g. {"alarm_button": "kebakaran"}; each
  role must be in the board map.
- siren_s 120: how long a received alert sounds unless "heard it" (cancel) is pressed;
  own_siren_s 120 the same for the house that pressed.
- false_alarm_s 60: the cancel button within this time of one's own press sends "false alarm".
- rate_max 3 / rate_window_s 300: a stuck button or a child cannot flood the RT.
- keepalive_s 30: a dead link is noticed within 45 s; beat_s 60: the hub's heartbeat.
- siren_active 1: the siren relay is energised by a high pin (0: an active-low module).
"""

SCHEMA = {
    "lang": ("id", ("choice", "id", "en")),
    "net": ("rt01", ("name", 32)),
    "house": ("", ("name", 16)),
    "mqtt_port": (1883, ("int", 1, 65535)),
    "alert_types": ({"lelayu": 1, "maling": 2, "kebakaran": 3, "banjir": 4, "rajakaya": 5,
                     "bencana": 0}, ("types",)),
    "button_types": ({}, ("roles",)),
    "press_window_ms": (1500, ("int", 300, 5000)),
    "long_press_ms": (3000, ("int", 1000, 10000)),
    "siren_s": (120, ("int", 5, 3600)),
    "own_siren_s": (120, ("int", 5, 3600)),
    "false_alarm_s": (60, ("int", 0, 3600)),
    "rate_max": (3, ("int", 1, 100)),
    "rate_window_s": (300, ("int", 10, 86400)),
    "keepalive_s": (30, ("int", 5, 600)),
    "beat_s": (60, ("int", 10, 3600)),
    "siren_active": (1, ("int", 0, 1)),
    "buzzer_hz": (2700, ("int", 100, 10000)),
    "watchdog_s": (10, ("int", 0, 60)),
}


def check(s, source):
    """Rules the field rules cannot say (ConfigError names the file and field)."""
    from kit.config import ConfigError

    counts = {}
    for name in s["alert_types"]:
        n = s["alert_types"][name]
        if n in counts:
            raise ConfigError("%s: field 'alert_types': %r and %r both have %d strikes; each "
                              "count may mean one alert" % (source, counts[n], name, n))
        counts[n] = name
    for role in s["button_types"]:
        if not role.endswith("_button") or role == "cancel_button":
            raise ConfigError("%s: field 'button_types': %r is not an alarm button: use "
                              "alarm_button or another *_button input of the board map (not "
                              "cancel_button)" % (source, role))
        if s["button_types"][role] not in s["alert_types"]:
            raise ConfigError("%s: field 'button_types': %r raises %r, which is not in alert_types "
                              "(%s)" % (source, role, s["button_types"][role],
                                        ", ".join(sorted(s["alert_types"]))))
    return s
