from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from parley.mattermost.schedule_posts import remind_text
from parley.scheduling.model import Schedule, ScheduleState

START = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)


def schedule_with(remind: timedelta) -> Schedule:
    return Schedule(
        id="s" * 32,
        short_id="abcdef",
        title="demo",
        zone=ZoneInfo("UTC"),
        first_start=START,
        next_start=START,
        remind_before=remind,
        state=ScheduleState.SCHEDULED,
        created_at=START,
    )


@pytest.mark.parametrize(
    ("seconds", "locale", "text"),
    [
        (0, "en", "only at the start"),
        (52, "en", "52 s before"),
        (60, "en", "1 min before"),
        (600, "zh", "提前 10 分钟提醒"),
        (52, "zh", "提前 52 秒提醒"),
        (3600, "en", "1 h before"),
        (5400, "en", "90 min before"),
        (7 * 86400, "en", "7 d before"),
        (86400, "zh", "提前 1 天提醒"),
    ],
)
def test_remind_text(seconds, locale, text):
    assert remind_text(schedule_with(timedelta(seconds=seconds)), locale) == text


def test_skipped_first_reminder_is_not_promised():
    schedule = schedule_with(timedelta(minutes=5))
    schedule.reminded_start = schedule.next_start  # too close to start at scheduling

    assert remind_text(schedule, "en") == "only at the start"
