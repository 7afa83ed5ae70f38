"""VTIMEZONE components written with yearly RRULEs, as calendar apps expect them.

icalendar lists every daylight-saving change as an RDATE. Outlook and parsers such
as vobject read only the first date of such a list, so they apply daylight time in
one year only. A zone whose changes follow a weekday rule ("second Sunday of March")
is written here as one STANDARD and one DAYLIGHT part, each with a yearly RRULE, the
form RFC 5545's own examples use. A zone with other patterns (Chile, Morocco, Egypt)
gets one part per change, read from the zone database for the years meetings can
fall in.
"""

from __future__ import annotations

import calendar as month_days
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

from parley.scheduling.recurrence import DAY_CODES

# The years checked against the zone database; meetings are at most a year ahead.
CHECK_YEARS = range(2025, 2032)


@dataclass(frozen=True)
class _Change:
    """One change of UTC offset, as a wall time in the offset before it."""

    local: datetime  # naive
    offset_from: timedelta
    offset_to: timedelta
    name: str

    @property
    def rule(self) -> tuple[int, str]:
        """The month and the RRULE BYDAY value, such as (3, "2SU") or (10, "-1SU")."""
        day = self.local.day
        week = (day - 1) // 7 + 1
        last_day = month_days.monthrange(self.local.year, self.local.month)[1]
        ordinal = -1 if day + 7 > last_day and week >= 4 else week
        return self.local.month, f"{ordinal}{DAY_CODES[self.local.weekday()]}"


def build_vtimezone(key: str) -> Timezone:
    """Return the VTIMEZONE of `key`, with yearly RRULEs where the zone allows."""
    zone = ZoneInfo(key)
    changes = [_changes_in(zone, year) for year in CHECK_YEARS]
    if all(not year for year in changes):
        return _fixed_offset(key, zone)
    if all(len(year) == 2 for year in changes) and _same_rules(changes):
        return _yearly(key, changes[0])
    return _each_change(key, [change for year in changes for change in year])


def _changes_in(zone: ZoneInfo, year: int) -> list[_Change]:
    """Find the year's offset changes, to the minute, by stepping through it."""
    changes = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment < end:
        following = moment + timedelta(hours=1)
        if following.astimezone(zone).utcoffset() != offset:
            changes.append(_find_change(zone, moment, following))
            offset = following.astimezone(zone).utcoffset()
        moment = following
    return changes


def _find_change(zone: ZoneInfo, before: datetime, after: datetime) -> _Change:
    offset_from = before.astimezone(zone).utcoffset()
    while after - before > timedelta(minutes=1):
        middle = before + (after - before) / 2
        if middle.astimezone(zone).utcoffset() == offset_from:
            before = middle
        else:
            after = middle
    instant = after.replace(second=0, microsecond=0)
    local_after = instant.astimezone(zone)
    assert offset_from is not None
    return _Change(
        local=(instant + offset_from).replace(tzinfo=None),
        offset_from=offset_from,
        offset_to=local_after.utcoffset() or timedelta(0),
        name=local_after.tzname() or "",
    )


def _same_rules(years: list[list[_Change]]) -> bool:
    first = years[0]
    for year in years[1:]:
        for change, other in zip(year, first, strict=True):
            same = (
                change.rule == other.rule
                and change.local.time() == other.local.time()
                and change.offset_from == other.offset_from
                and change.offset_to == other.offset_to
            )
            if not same:
                return False
    return True


def _yearly(key: str, changes: list[_Change]) -> Timezone:
    timezone = Timezone()
    timezone.add("TZID", key)
    for change in changes:
        daylight = change.offset_to > change.offset_from
        part = TimezoneDaylight() if daylight else TimezoneStandard()
        month, byday = change.rule
        part.add("DTSTART", change.local)
        part.add("RRULE", {"FREQ": "YEARLY", "BYMONTH": month, "BYDAY": byday})
        part.add("TZOFFSETFROM", change.offset_from)
        part.add("TZOFFSETTO", change.offset_to)
        if change.name:
            part.add("TZNAME", change.name)
        timezone.add_component(part)
    return timezone


def _each_change(key: str, changes: list[_Change]) -> Timezone:
    """Write one part per change, for zones whose changes follow no weekday rule.

    Each part has a single DTSTART and no RDATE list, which every parser reads,
    and the changes come from the zone database itself. They cover CHECK_YEARS,
    enough for meetings scheduled at most a year ahead.
    """
    timezone = Timezone()
    timezone.add("TZID", key)
    before = TimezoneStandard()
    before.add("DTSTART", datetime(1970, 1, 1))
    before.add("TZOFFSETFROM", changes[0].offset_from)
    before.add("TZOFFSETTO", changes[0].offset_from)
    timezone.add_component(before)
    for change in changes:
        daylight = change.offset_to > change.offset_from
        part = TimezoneDaylight() if daylight else TimezoneStandard()
        part.add("DTSTART", change.local)
        part.add("TZOFFSETFROM", change.offset_from)
        part.add("TZOFFSETTO", change.offset_to)
        if change.name:
            part.add("TZNAME", change.name)
        timezone.add_component(part)
    return timezone


def _fixed_offset(key: str, zone: ZoneInfo) -> Timezone:
    moment = datetime(CHECK_YEARS[0], 1, 1, tzinfo=UTC).astimezone(zone)
    offset = moment.utcoffset() or timedelta(0)
    timezone = Timezone()
    timezone.add("TZID", key)
    part = TimezoneStandard()
    part.add("DTSTART", datetime(1970, 1, 1))
    part.add("TZOFFSETFROM", offset)
    part.add("TZOFFSETTO", offset)
    if moment.tzname():
        part.add("TZNAME", moment.tzname())
    timezone.add_component(part)
    return timezone
