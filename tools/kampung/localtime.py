"""The local time the host tools print and plot in: hours from UTC, Magelang's WIB by default.

``--utc-offset H`` (``option``) is checked by ``problem``; ``zone(H)`` is the tzinfo, named WIB
for 7 and UTC+H otherwise.
"""

from __future__ import annotations

import argparse
import math
from datetime import timedelta, timezone

WIB = 7  # Magelang's time zone, UTC+7
UTC_OFFSETS = (-12.0, 14.0)  # the zones in use on Earth, UTC-12 to UTC+14


def problem(hours: float) -> str:
    """Why ``hours`` is not a UTC offset, or ""."""
    lo, hi = UTC_OFFSETS
    if not math.isfinite(hours) or not lo <= hours <= hi:
        return (f"give the hours from UTC, {lo:g} to +{hi:g} (Magelang is 7, WIB; 5.5 for "
                "India)")
    if round(hours * 60, 6) != round(hours * 60):
        return "give whole minutes (5.5 or 5.75, not 5.123)"
    return ""


def option(text: str) -> float:
    """argparse type of ``--utc-offset``."""
    try:
        hours = float(text)
    except ValueError:
        hours = math.nan
    why = problem(hours)
    if why:
        raise argparse.ArgumentTypeError(f"{text!r}: {why}")
    return hours


def zone(hours: float) -> timezone:
    return timezone(timedelta(hours=hours), "WIB" if hours == WIB else f"UTC{hours:+g}")
