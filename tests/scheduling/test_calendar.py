from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rruleset, rrulestr
from icalendar import Calendar

from parley.scheduling.calendar import (
    DEFAULT_DURATION,
    PRODID,
    CalendarEvent,
    event_ics,
    feed_ics,
    meeting_uid,
)
from parley.scheduling.recurrence import EVERY_DAY, WEEKDAYS, Recurrence

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
STAMP = datetime(2027, 1, 13, 3, tzinfo=UTC)
LINK = "https://parley.example.com/m/k3x9q"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def make_event(**changes) -> CalendarEvent:
    values = {
        "uid": meeting_uid("k3x9q", "parley.example.com"),
        "title": "Board review",
        "start": utc(2027, 1, 15, 13),
        "zone": BERLIN,
        "link": LINK,
    }
    values.update(changes)
    return CalendarEvent(**values)


def only_event(ics: bytes):
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def expand(vevent, count: int) -> list[datetime]:
    """Expand a parsed VEVENT's RRULE with dateutil, as a calendar app would."""
    start = vevent["DTSTART"].dt
    rule = rrulestr(vevent["RRULE"].to_ical().decode(), dtstart=start)
    return [moment.astimezone(UTC) for moment in rule[:count]]


def test_event_calendar_properties():
    calendar, _ = only_event(event_ics(make_event(), stamp=STAMP))

    assert str(calendar["PRODID"]) == PRODID
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"


def test_event_round_trips_start_and_zone():
    _, vevent = only_event(event_ics(make_event(), stamp=STAMP))

    start = vevent["DTSTART"]
    assert start.params["TZID"] == "Europe/Berlin"
    assert start.dt == utc(2027, 1, 15, 13)
    assert start.dt.replace(tzinfo=None) == datetime(2027, 1, 15, 14)


def test_event_fields():
    event = make_event(description="Quarterly numbers")
    _, vevent = only_event(event_ics(event, stamp=STAMP))

    assert str(vevent["UID"]) == "k3x9q@parley.example.com"
    assert str(vevent["SUMMARY"]) == "Board review"
    assert str(vevent["URL"]) == LINK
    assert str(vevent["DESCRIPTION"]) == f"Quarterly numbers\n\n{LINK}"
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert vevent["SEQUENCE"] == 0
    assert vevent["DTSTAMP"].dt == STAMP
    assert "RRULE" not in vevent
    assert "ORGANIZER" not in vevent


def test_event_end_uses_duration():
    _, default = only_event(event_ics(make_event(), stamp=STAMP))
    _, longer = only_event(
        event_ics(make_event(duration=timedelta(hours=2)), stamp=STAMP)
    )

    assert default["DTEND"].dt == utc(2027, 1, 15, 13) + DEFAULT_DURATION
    assert default["DTEND"].params["TZID"] == "Europe/Berlin"
    assert longer["DTEND"].dt == utc(2027, 1, 15, 15)


def test_event_has_vtimezone_before_event():
    calendar, _ = only_event(event_ics(make_event(), stamp=STAMP))

    names = [component.name for component in calendar.subcomponents]
    assert names == ["VTIMEZONE", "VEVENT"]
    assert str(calendar.subcomponents[0]["TZID"]) == "Europe/Berlin"


def test_utc_event_needs_no_vtimezone():
    ics = event_ics(make_event(zone=ZoneInfo("UTC")), stamp=STAMP)
    calendar, vevent = only_event(ics)

    assert calendar.walk("VTIMEZONE") == []
    assert b"DTSTART:20270115T130000Z" in ics
    assert vevent["DTSTART"].dt == utc(2027, 1, 15, 13)


def test_description_is_link_alone_without_text():
    _, vevent = only_event(event_ics(make_event(), stamp=STAMP))

    assert str(vevent["DESCRIPTION"]) == LINK


def test_title_with_ical_special_characters():
    title = 'Sync; budget, "Q1"\nand 周会 🚀'
    _, vevent = only_event(event_ics(make_event(title=title), stamp=STAMP))

    assert str(vevent["SUMMARY"]) == title


def test_organiser_with_address_and_name():
    event = make_event(organiser="alice", organiser_address="mailto:alice@example.com")
    _, vevent = only_event(event_ics(event, stamp=STAMP))

    organiser = vevent["ORGANIZER"]
    assert str(organiser) == "mailto:alice@example.com"
    assert organiser.params["CN"] == "alice"


def test_organiser_name_alone_writes_no_organizer():
    _, vevent = only_event(event_ics(make_event(organiser="alice"), stamp=STAMP))

    assert "ORGANIZER" not in vevent


def test_cancelled_event():
    event = make_event(cancelled=True, sequence=3)
    _, vevent = only_event(event_ics(event, stamp=STAMP))

    assert str(vevent["STATUS"]) == "CANCELLED"
    assert vevent["SEQUENCE"] == 3


def test_output_is_stable_for_a_fixed_stamp():
    assert event_ics(make_event(), stamp=STAMP) == event_ics(make_event(), stamp=STAMP)


def test_stamp_defaults_to_now():
    before = datetime.now(UTC).replace(microsecond=0)
    _, vevent = only_event(event_ics(make_event()))
    after = datetime.now(UTC)

    assert before <= vevent["DTSTAMP"].dt <= after


def test_lines_end_with_crlf():
    ics = event_ics(make_event(), stamp=STAMP)

    assert ics.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in ics.replace(b"\r\n", b"")


def test_naive_start_rejected():
    with pytest.raises(ValueError, match="aware"):
        make_event(start=datetime(2027, 1, 15, 13))


def test_non_positive_duration_rejected():
    with pytest.raises(ValueError, match="positive"):
        make_event(duration=timedelta(0))


def test_meeting_uid():
    assert meeting_uid("k3x9q", "parley.example.com") == "k3x9q@parley.example.com"


def recurring_event(
    recurrence: Recurrence, after: datetime, **changes
) -> CalendarEvent:
    return make_event(
        title="Standup",
        start=recurrence.next_after(after),
        zone=recurrence.zone,
        rrule=recurrence.rrule(),
        **changes,
    )


def test_rrule_round_trips():
    recurrence = Recurrence(WEEKDAYS, time(9, 30), NEW_YORK)
    _, vevent = only_event(
        event_ics(recurring_event(recurrence, utc(2027, 3, 1)), stamp=STAMP)
    )

    assert vevent["RRULE"].to_ical().decode() == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    assert vevent["DTSTART"].params["TZID"] == "America/New_York"
    assert vevent["DTSTART"].dt.replace(tzinfo=None) == datetime(2027, 3, 1, 9, 30)


@pytest.mark.parametrize(
    ("recurrence", "after"),
    [
        # Weekdays at 09:30 in New York across both 2027 changes.
        (Recurrence(WEEKDAYS, time(9, 30), NEW_YORK), utc(2027, 3, 1)),
        (Recurrence(WEEKDAYS, time(9, 30), NEW_YORK), utc(2027, 10, 25)),
        # Weekly in Berlin across the spring change on 2027-03-28.
        (Recurrence({0, 3}, time(10), BERLIN), utc(2027, 3, 1)),
        # Daily at a time that is skipped and one that is repeated.
        (Recurrence(EVERY_DAY, time(2, 30), NEW_YORK), utc(2027, 3, 10)),
        (Recurrence(EVERY_DAY, time(1, 30), NEW_YORK), utc(2027, 11, 3)),
        (Recurrence({0}, time(10), SHANGHAI), utc(2027, 1, 13)),
    ],
)
def test_parsed_rrule_expands_to_our_occurrences(recurrence, after):
    event = recurring_event(recurrence, after)
    _, vevent = only_event(event_ics(event, stamp=STAMP))

    expanded = expand(vevent, 30)

    assert expanded[0] == event.start
    assert expanded[1:] == recurrence.occurrences(event.start, 29)


def test_weekly_occurrences_keep_local_time_in_ics():
    recurrence = Recurrence(WEEKDAYS, time(9, 30), NEW_YORK)
    _, vevent = only_event(
        event_ics(recurring_event(recurrence, utc(2027, 3, 8)), stamp=STAMP)
    )

    expanded = expand(vevent, 10)

    assert {moment.astimezone(NEW_YORK).time() for moment in expanded} == {time(9, 30)}
    assert {moment.hour for moment in expanded} == {13, 14}


def test_cancelled_occurrences_become_exdates():
    recurrence = Recurrence(WEEKDAYS, time(9, 30), NEW_YORK)
    first = recurrence.next_after(utc(2027, 3, 8))
    skipped = recurrence.occurrences(first, 6)[1::4]
    event = recurring_event(
        recurrence, utc(2027, 3, 8), cancelled_starts=tuple(skipped)
    )
    _, vevent = only_event(event_ics(event, stamp=STAMP))

    exdates = vevent["EXDATE"]
    excluded = [moment.dt.astimezone(UTC) for moment in exdates.dts]
    assert exdates.params["TZID"] == "America/New_York"
    assert excluded == skipped

    # A calendar app drops the EXDATEs from the expanded rule.
    expanded = rruleset()
    rule = vevent["RRULE"].to_ical().decode()
    expanded.rrule(rrulestr(rule, dtstart=vevent["DTSTART"].dt))
    for moment in exdates.dts:
        expanded.exdate(moment.dt)
    visible = [moment.astimezone(UTC) for moment in expanded[:6]]
    planned = [first, *recurrence.occurrences(first, 7)]
    assert visible == [moment for moment in planned if moment not in skipped]


def test_feed_contains_events_and_zones():
    events = [
        make_event(uid="a@parley.example.com", zone=BERLIN),
        make_event(
            uid="b@parley.example.com", zone=SHANGHAI, start=utc(2027, 1, 20, 2)
        ),
        make_event(uid="c@parley.example.com", zone=BERLIN, start=utc(2027, 2, 1, 9)),
        make_event(uid="d@parley.example.com", zone=ZoneInfo("UTC")),
    ]

    calendar = Calendar.from_ical(feed_ics(events, name="Team meetings", stamp=STAMP))

    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["NAME"]) == "Team meetings"
    assert str(calendar["X-WR-CALNAME"]) == "Team meetings"
    zones = [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")]
    assert zones == ["Asia/Shanghai", "Europe/Berlin"]
    uids = [str(vevent["UID"]) for vevent in calendar.walk("VEVENT")]
    assert uids == [event.uid for event in events]
    starts = [vevent["DTSTART"].dt for vevent in calendar.walk("VEVENT")]
    assert starts == [event.start for event in events]


def test_empty_feed_is_valid():
    calendar = Calendar.from_ical(feed_ics([], name="Nothing yet", stamp=STAMP))

    assert calendar.walk("VEVENT") == []
    assert str(calendar["NAME"]) == "Nothing yet"


def test_every_file_carries_the_same_vtimezone():
    zone = ZoneInfo("America/New_York")
    march = CalendarEvent(
        uid="a@parley",
        title="a",
        start=datetime(2027, 3, 20, 14, tzinfo=UTC),
        zone=zone,
    )
    november = CalendarEvent(
        uid="b@parley", title="b", start=datetime(2027, 11, 7, 6, tzinfo=UTC), zone=zone
    )
    stamp = datetime(2027, 1, 1, tzinfo=UTC)

    def vtimezone(event: CalendarEvent) -> bytes:
        calendar = Calendar.from_ical(event_ics(event, stamp=stamp))
        return calendar.walk("VTIMEZONE")[0].to_ical()

    assert vtimezone(march) == vtimezone(november)
