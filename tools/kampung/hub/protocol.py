"""Kandig protocol version 1, as the hub reads it: names, topics and payload checks.

Pure logic (no network, no clock): ``classify(net, topic, payload)`` returns a ``Message`` for a
valid message or raises ``Rejected`` with a reason code from ``REASONS``. The contract is
docs/kandig-protocol.md; the house unit's own reader is firmware/apps/kandig/logic.py.

Reason codes are a fixed set (never built from message text), so counting them per reason
cannot grow without bound however many odd messages arrive.

    >>> m = classify("rt05", "kandig/v1/rt05/house/h07/ack", b'{"v": 1, "id": "h03-4", "house": "h07"}')
    >>> m.kind, m.house, m.data["id"]
    ('ack', 'h07', 'h03-4')
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

PROTOCOL = 1
MAX_PAYLOAD = 512  # bytes, docs/kandig-protocol.md "Payloads"
HUB = "hub"  # the hub's reserved name: its broker user and the `house` of its payloads

_NAME = re.compile(r"[A-Za-z0-9_-]+")  # ASCII only, as the firmware's valid_name()
NET_MAX, HOUSE_MAX = 32, 16
_TYPE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_ID = re.compile(r"([A-Za-z0-9_-]{1,16})-([0-9]{1,10})")  # HOUSE-SEQ (the hub's: hub-SEQ)
_FW = re.compile(r"[\x20-\x7e]{1,32}")  # printable ASCII

# The Magelang kentongan codes (the houses' default alert_types) and their names on the
# dashboard. A type not listed here is still an alarm: the dashboard shows its raw name.
ALERT_TYPES = {
    "lelayu": "Lelayu (kematian)",
    "maling": "Pencurian",
    "kebakaran": "Kebakaran",
    "banjir": "Banjir",
    "rajakaya": "Pencurian ternak",
    "bencana": "Bencana",
}

HOUSE_KINDS = ("alert", "cancel", "ack", "status", "beat", "test")
HUB_KINDS = ("alert", "cancel", "command", "status")

# reason code -> what it means (docs/kandig-hub.md lists the same)
REASONS = {
    "foreign_topic": "topic outside kandig/v1/NET/",
    "unknown_topic": "topic shape not in the protocol",
    "bad_house_name": "house id in the topic breaks the naming rule",
    "reserved_house": "a house topic named 'hub'",
    "too_large": "payload over 512 bytes",
    "not_utf8": "payload is not UTF-8",
    "not_json": "payload is not JSON",
    "not_object": "payload is not a JSON object",
    "bad_version": "v is not 1",
    "missing_field": "a required field is missing",
    "bad_field": "a field has the wrong type or value",
    "house_mismatch": "payload house differs from the topic's house",
    "bad_id": "alert id is not HOUSE-SEQ of the same payload",
    "foreign_cancel": "a house cancels an alert that is not its own",
    "unknown_alert": "an ack for an alert the hub does not know",
    "unknown_command": "a test report for a command the hub never sent",
}

# the same, as the dashboard shows them (Bahasa Indonesia)
REASONS_ID = {
    "foreign_topic": "topik di luar kandig/v1/NET/",
    "unknown_topic": "bentuk topik tidak dikenal protokol",
    "bad_house_name": "nama rumah di topik tidak sah",
    "reserved_house": "topik rumah bernama 'hub'",
    "too_large": "pesan lebih dari 512 byte",
    "not_utf8": "pesan bukan UTF-8",
    "not_json": "pesan bukan JSON",
    "not_object": "pesan bukan objek JSON",
    "bad_version": "versi (v) bukan 1",
    "missing_field": "kolom wajib tidak ada",
    "bad_field": "kolom dengan jenis atau nilai salah",
    "house_mismatch": "rumah di pesan berbeda dengan rumah di topik",
    "bad_id": "kode peringatan bukan RUMAH-NOMOR dari pesan itu",
    "foreign_cancel": "rumah membatalkan peringatan rumah lain",
    "unknown_alert": "tanda dengar untuk peringatan yang tidak dikenal hub",
    "unknown_command": "laporan uji untuk perintah yang tidak pernah dikirim hub",
}


class Rejected(Exception):
    """A message the hub drops; ``reason`` is a key of REASONS, ``detail`` says more (logs)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason, detail)
        if reason not in REASONS:
            raise ValueError(f"unknown reason code {reason!r}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Message:
    """A valid message: ``source`` is "house" or "hub", ``house`` the topic's house (or "hub")."""
    source: str
    kind: str
    house: str
    data: dict[str, Any]


def valid_name(name: object, longest: int) -> bool:
    return isinstance(name, str) and 0 < len(name) <= longest and _NAME.fullmatch(name) is not None


def check_net(net: str) -> str:
    """The NET id, or ValueError naming the rule."""
    if not valid_name(net, NET_MAX):
        raise ValueError(f"bad neighbourhood id {net!r}: use letters, digits, '-' and '_', "
                         f"1-{NET_MAX} characters (for example rt05-kramat)")
    return net


def check_house(house: str) -> str:
    """A house id, or ValueError naming the rule (``hub`` is reserved)."""
    if not valid_name(house, HOUSE_MAX):
        raise ValueError(f"bad house id {house!r}: use letters, digits, '-' and '_', "
                         f"1-{HOUSE_MAX} characters (for example h07)")
    if house == HUB:
        raise ValueError(f"house id {house!r} is reserved for the hub")
    return house


def prefix(net: str) -> str:
    return f"kandig/v1/{net}/"


# -- field types ----------------------------------------------------------------------------

INT_MAX = 2**63 - 1  # SQLite's INTEGER: a larger number could not be stored


def _is_uint(v: object) -> bool:
    return type(v) is int and 0 <= v <= INT_MAX  # not bool: True == 1 in Python


def _is_time(v: object) -> bool:  # Unix seconds, 0 = the house has no clock yet
    return (type(v) is int or type(v) is float) and 0 <= v < 2**40


def _is_bool(v: object) -> bool:
    return type(v) is bool


def _is_str(rx: re.Pattern[str]):
    return lambda v: type(v) is str and rx.fullmatch(v) is not None


def _one_of(*values: str):
    return lambda v: type(v) is str and v in values


def _is_rssi(v: object) -> bool:  # dBm; null while the radio has no reading
    return v is None or (type(v) is int and -200 <= v <= 50)


_house = _is_str(re.compile(r"[A-Za-z0-9_-]{1,16}"))
_id = _is_str(_ID)

# kind -> field -> (required, check). Unknown fields are ignored (version 1 can grow).
_SCHEMA: dict[str, dict[str, tuple[bool, Any]]] = {
    "alert": {"id": (True, _id), "type": (True, _is_str(_TYPE)), "house": (True, _house),
              "seq": (True, _is_uint), "t": (True, _is_time), "drill": (False, _is_bool)},
    "cancel": {"id": (True, _id), "house": (True, _house),
               "why": (True, _one_of("false_alarm", "done")), "t": (False, _is_time)},
    "ack": {"id": (True, _id), "house": (True, _house), "t": (False, _is_time)},
    "status": {"house": (True, _house), "state": (True, _one_of("online", "offline")),
               "fw": (False, _is_str(_FW)), "boot": (False, _is_uint), "t": (False, _is_time)},
    "beat": {"house": (True, _house), "up": (True, _is_uint), "outbox": (True, _is_uint),
             "seq": (True, _is_uint), "rssi": (False, _is_rssi)},
    "test": {"house": (True, _house), "kind": (True, _one_of("selftest", "drill")),
             "id": (True, _id), "ok": (True, _is_bool), "siren": (False, _is_bool),
             "buzzer": (False, _is_bool), "outbox": (False, _is_uint), "t": (False, _is_time)},
    "command": {"cmd": (True, _one_of("selftest", "drill")), "id": (True, _id),
                "type": (False, _is_str(_TYPE)), "t": (False, _is_time)},
}


def split_topic(net: str, topic: str) -> tuple[str, str, str]:
    """(source, house, kind) of a topic, or Rejected."""
    head = prefix(net)
    if not topic.startswith(head):
        raise Rejected("foreign_topic")
    parts = topic[len(head):].split("/")
    if len(parts) == 3 and parts[0] == "house":
        house, kind = parts[1], parts[2]
        if not valid_name(house, HOUSE_MAX):
            raise Rejected("bad_house_name")
        if house == HUB:
            raise Rejected("reserved_house")
        if kind not in HOUSE_KINDS:
            raise Rejected("unknown_topic", f"kind {kind[:20]!r}")
        return "house", house, kind
    if len(parts) == 2 and parts[0] == "hub" and parts[1] in HUB_KINDS:
        return "hub", HUB, parts[1]
    raise Rejected("unknown_topic")


def topic_house(net: str, topic: str) -> str:
    """The house a topic names, or "" (for counting rejections per house)."""
    head = prefix(net)
    if not topic.startswith(head):
        return ""
    parts = topic[len(head):].split("/")
    if parts[0] == "house" and len(parts) >= 2 and valid_name(parts[1], HOUSE_MAX):
        return parts[1]
    return HUB if parts[0] == "hub" else ""


def parse_payload(payload: bytes) -> dict[str, Any]:
    """The JSON object of a payload with v == 1, or Rejected."""
    if len(payload) > MAX_PAYLOAD:
        raise Rejected("too_large", f"{len(payload)} bytes")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected("not_utf8") from None
    try:
        data = json.loads(text)
    except ValueError:  # also RecursionError-free: 512 bytes nest at most 256 deep
        raise Rejected("not_json") from None
    if not isinstance(data, dict):
        raise Rejected("not_object")
    v = data.get("v")
    if type(v) is not int or v != PROTOCOL:
        raise Rejected("bad_version", f"v={str(v)[:12]!r}")
    return data


def check_fields(kind: str, data: dict[str, Any]) -> None:
    for field, (required, ok) in _SCHEMA[kind].items():
        if field not in data:
            if required:
                raise Rejected("missing_field", field)
            continue
        if not ok(data[field]):
            raise Rejected("bad_field", field)


def classify(net: str, topic: str, payload: bytes) -> Message:
    """Check one received message against the protocol; Rejected says why it is dropped."""
    source, house, kind = split_topic(net, topic)
    data = parse_payload(payload)
    schema = "status" if kind == "status" else kind
    check_fields(schema, data)
    if kind != "command":
        # every payload but the hub's command names its sender, the topic's house
        if data["house"] != house:
            raise Rejected("house_mismatch")
    if kind == "alert" and data["id"] != f"{house}-{data['seq']}":
        raise Rejected("bad_id")
    if kind == "cancel" and source == "house":
        if not data["id"].startswith(house + "-"):
            raise Rejected("foreign_cancel")
        if data["why"] != "false_alarm":  # "done" ends an alert for everyone: the hub's word
            raise Rejected("bad_field", "why: a house cancels only as false_alarm")
    return Message(source, kind, house, data)
