from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from parley.scheduling.recurrence import (
    EVERY_DAY,
    WEEKDAYS,
    Recurrence,
    is_skipped,
    wall_to_utc,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "rule"),
    [
        (EVERY_DAY, "FREQ=DAILY"),
        (WEEKDAYS, "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        ({0}, "FREQ=WEEKLY;BYDAY=MO"),
        ({4, 0, 2}, "FREQ=WEEKLY;BYDAY=MO,WE,FR"),
        ({5, 6}, "FREQ=WEEKLY;BYDAY=SA,SU"),
    ],
)
def test_rrule_value(days, rule):
    recurrence = Recurrence(frozenset(days), time(9, 30), BERLIN)

    assert recurrence.rrule() == rule


def test_days_accept_any_iterable():
    from_list = Recurrence([0, 2], time(10), BERLIN)
    from_set = Recurrence(frozenset({2, 0}), time(10), BERLIN)

    assert from_list == from_set
    assert hash(from_list) == hash(from_set)
    assert from_list.frequency == "WEEKLY"


@pytest.mark.parametrize("days", [frozenset(), frozenset({7}), frozenset({-1, 0})])
def test_invalid_days_rejected(days):
    with pytest.raises(ValueError, match="0..6"):
        Recurrence(days, time(10), BERLIN)


def test_aware_time_rejected():
    with pytest.raises(ValueError, match="naive"):
        Recurrence(WEEKDAYS, time(10, tzinfo=UTC), BERLIN)


def test_naive_instant_rejected():
    recurrence = Recurrence(WEEKDAYS, time(10), BERLIN)

    with pytest.raises(ValueError, match="aware"):
        recurrence.next_after(datetime(2027, 1, 13, 9))


def test_next_after_later_today():
    # Wednesday 2027-01-13, 08:00 in Berlin.
    recurrence = Recurrence(WEEKDAYS, time(9, 30), BERLIN)

    assert recurrence.next_after(utc(2027, 1, 13, 7)) == utc(2027, 1, 13, 8, 30)


def test_next_after_is_strict():
    recurrence = Recurrence(WEEKDAYS, time(9, 30), BERLIN)

    assert recurrence.next_after(utc(2027, 1, 13, 8, 30)) == utc(2027, 1, 14, 8, 30)


def test_weekdays_skip_weekend():
    # Friday 2027-01-15 at 10:00 Berlin: the next weekday meeting is Monday.
    recurrence = Recurrence(WEEKDAYS, time(9, 30), BERLIN)

    assert recurrence.next_after(utc(2027, 1, 15, 9)) == utc(2027, 1, 18, 8, 30)


def test_weekly_wraps_to_next_week():
    # Monday 2027-01-18 at 11:00 Berlin, after the 10:00 meeting.
    recurrence = Recurrence({0}, time(10), BERLIN)

    assert recurrence.next_after(utc(2027, 1, 18, 10)) == utc(2027, 1, 25, 9)


def test_local_date_decides_the_day():
    # 2027-01-17 20:00 UTC is already Monday 04:00 in Shanghai.
    recurrence = Recurrence({0}, time(9, 30), SHANGHAI)

    assert recurrence.next_after(utc(2027, 1, 17, 20)) == utc(2027, 1, 18, 1, 30)


def test_occurrences_count_and_order():
    recurrence = Recurrence({0, 2, 4}, time(10), BERLIN)

    found = recurrence.occurrences(utc(2027, 1, 13, 12), 4)

    assert found == [
        utc(2027, 1, 15, 9),
        utc(2027, 1, 18, 9),
        utc(2027, 1, 20, 9),
        utc(2027, 1, 22, 9),
    ]


def test_occurrences_are_utc():
    recurrence = Recurrence(EVERY_DAY, time(9), NEW_YORK)

    found = recurrence.occurrences(utc(2027, 1, 13), 3)

    assert all(moment.tzinfo is UTC for moment in found)


def test_spring_forward_keeps_local_time_new_york():
    # Clocks in New York go from 02:00 EST to 03:00 EDT on Sunday 2027-03-14.
    recurrence = Recurrence(WEEKDAYS, time(9, 30), NEW_YORK)

    found = recurrence.occurrences(utc(2027, 3, 11, 15), 3)

    assert found == [
        utc(2027, 3, 12, 14, 30),
        utc(2027, 3, 15, 13, 30),
        utc(2027, 3, 16, 13, 30),
    ]
    for moment in found:
        assert moment.astimezone(NEW_YORK).time() == time(9, 30)


def test_fall_back_keeps_local_time_new_york():
    # Clocks in New York go from 02:00 EDT back to 01:00 EST on Sunday 2027-11-07.
    recurrence = Recurrence(EVERY_DAY, time(9, 30), NEW_YORK)

    found = recurrence.occurrences(utc(2027, 11, 6, 0), 3)

    assert found == [
        utc(2027, 11, 6, 13, 30),
        utc(2027, 11, 7, 14, 30),
        utc(2027, 11, 8, 14, 30),
    ]


def test_spring_forward_keeps_local_time_berlin():
    # Clocks in Berlin go from 02:00 CET to 03:00 CEST on Sunday 2027-03-28.
    recurrence = Recurrence({4, 0}, time(9, 30), BERLIN)

    found = recurrence.occurrences(utc(2027, 3, 25, 12), 2)

    assert found == [utc(2027, 3, 26, 8, 30), utc(2027, 3, 29, 7, 30)]


def test_skipped_time_moves_forward_by_the_gap():
    # 02:30 does not exist in New York on 2027-03-14, so it is read as 02:30 EST.
    recurrence = Recurrence(EVERY_DAY, time(2, 30), NEW_YORK)

    found = recurrence.occurrences(utc(2027, 3, 13, 12), 3)

    assert found == [
        utc(2027, 3, 14, 7, 30),
        utc(2027, 3, 15, 6, 30),
        utc(2027, 3, 16, 6, 30),
    ]
    assert found[0].astimezone(NEW_YORK).time() == time(3, 30)


def test_repeated_time_is_first_occurrence():
    # 01:30 happens twice in New York on 2027-11-07: first EDT, then EST.
    recurrence = Recurrence(EVERY_DAY, time(1, 30), NEW_YORK)

    found = recurrence.occurrences(utc(2027, 11, 6, 12), 2)

    assert found == [utc(2027, 11, 7, 5, 30), utc(2027, 11, 8, 6, 30)]


def test_repeated_time_occurs_once_per_day():
    # Asked from between the two 01:30s, the next meeting is the following day.
    recurrence = Recurrence(EVERY_DAY, time(1, 30), NEW_YORK)

    assert recurrence.next_after(utc(2027, 11, 7, 5, 45)) == utc(2027, 11, 8, 6, 30)


@pytest.mark.parametrize(
    ("wall", "zone", "instant", "skipped"),
    [
        (datetime(2027, 3, 14, 2, 30), NEW_YORK, utc(2027, 3, 14, 7, 30), True),
        (datetime(2027, 3, 14, 3, 30), NEW_YORK, utc(2027, 3, 14, 7, 30), False),
        (datetime(2027, 11, 7, 1, 30), NEW_YORK, utc(2027, 11, 7, 5, 30), False),
        (datetime(2027, 3, 28, 2, 15), BERLIN, utc(2027, 3, 28, 1, 15), True),
        (datetime(2027, 10, 31, 2, 30), BERLIN, utc(2027, 10, 31, 0, 30), False),
        (datetime(2027, 1, 15, 14, 0), SHANGHAI, utc(2027, 1, 15, 6, 0), False),
    ],
)
def test_wall_to_utc_gap_and_overlap(wall, zone, instant, skipped):
    assert wall_to_utc(wall, zone) == instant
    assert is_skipped(wall, zone) is skipped
