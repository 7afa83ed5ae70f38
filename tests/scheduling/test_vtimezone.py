"""VTIMEZONE parts with yearly RRULEs, checked against the zone database."""

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.tz import tzical

from parley.scheduling.vtimezone import build_vtimezone


def offsets_agree(key: str) -> None:
    """Assert the written VTIMEZONE gives zoneinfo's offset every 6 h of 2026-2031."""
    text = build_vtimezone(key).to_ical().decode()
    written = tzical(io.StringIO(text)).get(key)
    zone = ZoneInfo(key)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    while moment < datetime(2032, 1, 1, tzinfo=UTC):
        local = moment.astimezone(zone).replace(tzinfo=None)
        # Wall times in the repeated hour are ambiguous to both; skip the fold.
        if (
            local.replace(tzinfo=zone, fold=1).utcoffset()
            == local.replace(tzinfo=zone).utcoffset()
        ):
            assert (
                local.replace(tzinfo=written).utcoffset()
                == moment.astimezone(zone).utcoffset()
            ), (key, moment)
        moment += timedelta(hours=6)


@pytest.mark.parametrize(
    "key", ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Europe/London"]
)
def test_daylight_zones_use_yearly_rules(key):
    text = build_vtimezone(key).to_ical().decode()

    assert text.count("RRULE:FREQ=YEARLY") == 2
    assert "RDATE" not in text
    offsets_agree(key)


def test_new_york_rules_are_the_us_ones():
    text = build_vtimezone("America/New_York").to_ical().decode()

    assert "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11" in text


def test_berlin_uses_last_sunday():
    text = build_vtimezone("Europe/Berlin").to_ical().decode()

    assert "BYDAY=-1SU;BYMONTH=3" in text
    assert "BYDAY=-1SU;BYMONTH=10" in text


@pytest.mark.parametrize("key", ["Asia/Shanghai", "UTC", "Asia/Tokyo"])
def test_zones_without_daylight_time_have_one_part(key):
    text = build_vtimezone(key).to_ical().decode()

    assert text.count("BEGIN:STANDARD") == 1
    assert "BEGIN:DAYLIGHT" not in text
    offsets_agree(key)


@pytest.mark.parametrize(
    "key", ["America/Santiago", "Africa/Casablanca", "Africa/Cairo", "Asia/Jerusalem"]
)
def test_irregular_zones_list_each_change(key):
    text = build_vtimezone(key).to_ical().decode()

    assert "RDATE" not in text
    assert "RRULE" not in text
    offsets_agree(key)
