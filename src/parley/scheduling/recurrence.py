"""Meetings that repeat on fixed days of the week at one local time of day.

Occurrences are computed on the wall clock of the meeting's zone, so a 09:30 meeting
stays at 09:30 local time when daylight saving time starts or ends. A wall time that
does not exist or exists twice is resolved as RFC 5545 (section 3.3.5) resolves it for
a DTSTART with a TZID, so calendar clients that expand our RRULE get the same instants.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

# RFC 5545 weekday codes, indexed like datetime.weekday() (0 = Monday).
DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))


def wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """Convert a naive wall-clock time in `zone` to an aware UTC instant.

    A time skipped by a spring-forward change is read with the offset in force before
    the change, which moves it forward by the length of the gap (02:30 becomes 03:30).
    A time repeated by a fall-back change is its first occurrence. Both rules are the
    ones RFC 5545 section 3.3.5 gives, and both are what `fold=0` means in zoneinfo.
    """
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def is_skipped(wall: datetime, zone: ZoneInfo) -> bool:
    """Return whether a naive wall time falls in a spring-forward gap in `zone`."""
    instant = wall_to_utc(wall, zone)
    return instant.astimezone(zone).replace(tzinfo=None) != wall


def is_repeated(wall: datetime, zone: ZoneInfo) -> bool:
    """Return whether a naive wall time happens twice in `zone`, at a fall-back."""
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    return first != second and not is_skipped(wall, zone)


@dataclass(frozen=True)
class Recurrence:
    """A meeting on some days of the week at one wall-clock time in one zone.

    `days` uses datetime.weekday() numbers (0 = Monday). `time` is naive and is read
    in `zone`.
    """

    days: frozenset[int]
    time: time
    zone: ZoneInfo

    def __post_init__(self) -> None:
        days = frozenset(self.days)
        if not days or not days <= EVERY_DAY:
            raise ValueError(
                f"Recurrence days must be a non-empty set of 0..6 (Monday..Sunday), "
                f"got {sorted(self.days)}."
            )
        if self.time.tzinfo is not None:
            raise ValueError(
                f"Recurrence time must be naive (it is read in {self.zone.key}), "
                f"got {self.time.isoformat()}."
            )
        # Accept any iterable of day numbers but store a frozenset, so equal
        # recurrences compare and hash equal.
        object.__setattr__(self, "days", days)

    @property
    def frequency(self) -> Literal["DAILY", "WEEKLY"]:
        return "DAILY" if self.days == EVERY_DAY else "WEEKLY"

    def rrule(self) -> str:
        """Return the RFC 5545 RRULE value, such as `FREQ=WEEKLY;BYDAY=MO,WE`.

        The rule carries no time of day because the event's DTSTART sets it.
        """
        if self.frequency == "DAILY":
            return "FREQ=DAILY"
        codes = ",".join(DAY_CODES[day] for day in sorted(self.days))
        return f"FREQ=WEEKLY;BYDAY={codes}"

    def next_after(self, instant: datetime) -> datetime:
        """Return the first occurrence strictly after `instant`, in UTC."""
        return self.occurrences(instant, 1)[0]

    def occurrences(self, after: datetime, count: int) -> list[datetime]:
        """Return the next `count` occurrences strictly after `after`, in UTC.

        dateutil expands the same RRULE that the .ics file carries, on the wall clock
        of the zone, from `after`'s local date.
        """
        if after.tzinfo is None:
            raise ValueError(f"occurrences needs an aware datetime, got {after}.")

        today = after.astimezone(self.zone).date()
        first = datetime.combine(today, self.time, tzinfo=self.zone)
        # dateutil yields `first` only if it matches the rule, unlike RFC 5545's
        # DTSTART, so starting on a day the meeting skips adds no occurrence.
        rule = rrulestr(self.rrule(), dtstart=first)
        return [moment.astimezone(UTC) for moment in rule.xafter(after, count=count)]


# In the zone database, but not a place: "localtime" is whatever zone the server
# runs in, and "Factory" is a placeholder.
_NOT_PLACES = frozenset({"localtime", "Factory"})


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_PLACES


def is_zone_name(name: str) -> bool:
    """Return whether `name` is an IANA time zone name such as 'Europe/Berlin'.

    Paths that zoneinfo would also open, such as 'posix/Europe/Berlin' or
    'localtime', are not names a user picks, so they do not count.
    """
    return name in _known_zones()
