"""The hub's daily silent self-test: when it is due, and how a round of reports is judged.

Pure logic (no clock, no network, no database): every function takes ``now`` (Unix seconds)
and what the database remembers, so the tests need not wait for 03:00.

    >>> from datetime import datetime, timedelta, timezone
    >>> wib = timezone(timedelta(hours=7))             # Western Indonesia Time, no summer time
    >>> daily = Daily(parse_at("03:00"), wib)
    >>> t = datetime(2026, 5, 12, 3, 0, tzinfo=wib).timestamp()
    >>> daily.due(t - 1, None, 0), daily.due(t, None, 0), daily.due(t, "2026-05-12", 0)
    (None, '2026-05-12', None)

The rules (docs/kandig-protocol.md "Self-test and drill"):

- One scheduled self-test per local day, at ``HH:MM`` of the hub's local time (or of ``tz``).
  The database keeps the day of the last one sent (``last_day``), so a restart never repeats it.
- A hub that was down (or away from the broker) at ``HH:MM`` sends it once when it is back,
  the same day; the next day starts afresh: a missed day is not made up the day after, when the
  next test is only hours away.
- ``armed`` is when this database first ran with a schedule: a hub installed at 10:00 waits for
  tomorrow's ``HH:MM`` instead of testing at once (it was not "down" at 03:00, it did not exist).
- A round is judged ``grace_s`` after the command: each expected or known house is ``ok``
  (reported ok), ``failing`` (reported ok=false) or ``silent`` (no report).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as dtime

# 03:00: the self-test is silent, so the hour wakes nobody; it checks the houses in the hours a
# night-time alarm (a thief: maling) matters most, when a router switched off for the night
# would go unnoticed by day; real alarms are rarest then; and the report waits for the RT head
# in the morning, with the whole day to visit a silent house.
DEFAULT_AT = "03:00"
OFF = "off"

_AT = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


def parse_at(text: str | None, option: str = "--selftest-at") -> tuple[int, int] | None:
    """``"HH:MM"`` -> (hour, minute); ``"off"`` or None -> None (no scheduled self-test).

    Anything else is a ValueError naming ``option`` and the valid forms."""
    if text is None:
        return None
    value = text.strip()
    if value.lower() == OFF:
        return None
    m = _AT.fullmatch(value)
    if m is None:
        raise ValueError(f"{option}: {text!r} is not a time of day: use HH:MM on the 24-hour "
                         f"clock, 00:00-23:59 (for example {DEFAULT_AT}), or {OFF}")
    return int(m.group(1)), int(m.group(2))


def format_at(at: tuple[int, int] | None) -> str | None:
    return None if at is None else f"{at[0]:02d}:{at[1]:02d}"


class Daily:
    """A daily time of day in ``tz`` (None: the machine's local time)."""

    def __init__(self, at: tuple[int, int], tz: tzinfo | None = None):
        self.at = at
        self.tz = tz

    def __str__(self) -> str:
        return f"{self.at[0]:02d}:{self.at[1]:02d}"

    def _slot(self, day: date) -> float:
        # datetime.timestamp() of a naive datetime reads it as the machine's local time
        return datetime.combine(day, dtime(*self.at), tzinfo=self.tz).timestamp()

    def today(self, now: float) -> tuple[str, float]:
        """(the local day as YYYY-MM-DD, Unix time of that day's HH:MM)."""
        day = datetime.fromtimestamp(now, self.tz).date()
        return day.isoformat(), self._slot(day)

    def due(self, now: float, last_day: str | None, armed: float) -> str | None:
        """The day whose self-test should be sent now, or None."""
        day, slot = self.today(now)
        if now < slot or armed > slot:
            return None
        if last_day is not None and last_day >= day:  # sent today (or the clock went back)
            return None
        return day

    def next_at(self, now: float, last_day: str | None, armed: float) -> float:
        """When the next scheduled self-test is sent: today's HH:MM (perhaps already past, when
        it is due and waiting for the broker) or tomorrow's."""
        day, slot = self.today(now)
        if now < slot and armed <= slot and (last_day is None or last_day < day):
            return slot
        if self.due(now, last_day, armed) is not None:
            return slot
        tomorrow = datetime.fromtimestamp(now, self.tz).date() + timedelta(days=1)
        return self._slot(tomorrow)


def judge(expected: Iterable[str], reports: Mapping[str, bool],
          key: Callable[[str], object] | None = None) -> dict[str, list[str]]:
    """Houses that reported ok, reported a failure, or stayed silent. ``expected`` are the
    houses the hub knows of; a house that reported without being known counts too."""
    houses = set(expected) | set(reports)
    out: dict[str, list[str]] = {"ok": [], "failing": [], "silent": []}
    for house in houses:
        if house not in reports:
            out["silent"].append(house)
        elif reports[house]:
            out["ok"].append(house)
        else:
            out["failing"].append(house)
    for names in out.values():
        names.sort(key=key)  # type: ignore[arg-type]
    return out
