"""iCalendar (RFC 5545) files for scheduled meetings: one event, or a feed of many.

Start and end times are written as local times with a TZID, plus a VTIMEZONE for
each zone other than UTC, so calendar apps keep a recurring meeting at its local
time across daylight-saving changes. Both files use METHOD:PUBLISH, which RFC 5546
defines as information that expects no replies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vRecur

from parley.scheduling.vtimezone import build_vtimezone

PRODID = "-//Parley//Parley meetings//EN"
DEFAULT_DURATION = timedelta(minutes=30)


@dataclass(frozen=True)
class CalendarEvent:
    """A scheduled meeting, in plain values, to write as a VEVENT.

    `uid` must stay the same for the meeting's whole life, so calendar apps update
    the event instead of adding a copy (see `meeting_uid`). `start` is aware. `rrule`
    is an RFC 5545 RRULE value such as `FREQ=WEEKLY;BYDAY=MO`, or None for a one-off
    meeting. `cancelled` cancels the whole meeting, and `cancelled_starts` cancels
    single occurrences of a recurring one. Raise `sequence` on every change.

    ORGANIZER needs a calendar address, which is a URI such as `mailto:` or a link to
    the user's profile. Without `organiser_address` no ORGANIZER is written, and
    `organiser` is used only as its display name (CN).
    """

    uid: str
    title: str
    start: datetime
    zone: ZoneInfo
    duration: timedelta = DEFAULT_DURATION
    link: str = ""
    organiser: str = ""
    organiser_address: str = ""
    description: str = ""
    rrule: str | None = None
    cancelled: bool = False
    cancelled_starts: tuple[datetime, ...] = field(default=())
    sequence: int = 0

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError(f"CalendarEvent start must be aware, got {self.start}.")
        if self.duration <= timedelta():
            raise ValueError(
                f"CalendarEvent duration must be positive, got {self.duration}."
            )


def meeting_uid(meeting_id: str, host: str) -> str:
    """Return a globally unique, stable UID for a meeting: `<meeting id>@<host>`."""
    return f"{meeting_id}@{host}"


def event_ics(event: CalendarEvent, *, stamp: datetime | None = None) -> bytes:
    """Write one meeting as an .ics file.

    `stamp` is the DTSTAMP, the time the file is created (now by default). Pass a
    fixed value to get byte-identical output for the same event.
    """
    calendar = _calendar()
    _add_events(calendar, [event], stamp or datetime.now(UTC))
    return calendar.to_ical()


def feed_ics(
    events: Iterable[CalendarEvent], *, name: str, stamp: datetime | None = None
) -> bytes:
    """Write meetings as a calendar feed that calendar apps can subscribe to.

    `name` is the calendar's display name (NAME from RFC 7986, and X-WR-CALNAME,
    which more apps read).
    """
    calendar = _calendar()
    calendar.add("NAME", name)
    calendar.add("X-WR-CALNAME", name)
    _add_events(calendar, list(events), stamp or datetime.now(UTC))
    return calendar.to_ical()


def _calendar() -> Calendar:
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    return calendar


def _add_events(
    calendar: Calendar, events: list[CalendarEvent], stamp: datetime
) -> None:
    """Add a VTIMEZONE for each TZID the events use, then the events.

    Some parsers read a TZID only after its VTIMEZONE, so the zones come first. UTC
    times are written with a Z suffix and need no VTIMEZONE.
    """
    vevents = [_vevent(event, stamp) for event in events]
    tzids = {vevent["DTSTART"].params.get("TZID") for vevent in vevents} - {None}
    for tzid in sorted(tzids):
        calendar.add_component(build_vtimezone(tzid))

    for vevent in vevents:
        calendar.add_component(vevent)


def _vevent(event: CalendarEvent, stamp: datetime) -> Event:
    start = event.start.astimezone(event.zone)

    vevent = Event()
    vevent.add("UID", event.uid)
    vevent.add("DTSTAMP", stamp.astimezone(UTC))
    vevent.add("SEQUENCE", event.sequence)
    vevent.add("DTSTART", start)
    # Adding a timedelta to an aware datetime moves its wall time, which is how
    # RFC 5545 reads a DTEND with a TZID.
    vevent.add("DTEND", start + event.duration)
    vevent.add("SUMMARY", event.title)
    vevent.add("STATUS", "CANCELLED" if event.cancelled else "CONFIRMED")

    description = "\n\n".join(part for part in (event.description, event.link) if part)
    if description:
        vevent.add("DESCRIPTION", description)
    if event.link:
        vevent.add("URL", event.link)
    if event.organiser_address:
        vevent.add("ORGANIZER", _organiser(event))

    if event.rrule:
        vevent.add("RRULE", vRecur.from_ical(event.rrule))
    if event.cancelled_starts:
        excluded = [moment.astimezone(event.zone) for moment in event.cancelled_starts]
        vevent.add("EXDATE", sorted(excluded))
    return vevent


def _organiser(event: CalendarEvent) -> vCalAddress:
    address = vCalAddress(event.organiser_address)
    if event.organiser:
        address.params["CN"] = event.organiser
    return address
