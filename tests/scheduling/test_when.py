from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from parley.scheduling.recurrence import EVERY_DAY, WEEKDAYS, Recurrence
from parley.scheduling.when import (
    MAX_AHEAD,
    ScheduleError,
    describe_recurrence,
    describe_time,
    parse_remind,
    parse_schedule,
)

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# Wednesday 2027-01-13 03:00 UTC: 04:00 in Berlin, 11:00 in Shanghai, and
# Tuesday 2027-01-12 22:00 in New York.
NOW = utc(2027, 1, 13, 3, 0)


def parse(text, zone=BERLIN, now=NOW, locale="en"):
    return parse_schedule(text, now=now, zone=zone, locale=locale)


ONE_OFF = [
    # English, UTC
    ("2027-01-15 14:00 board review", UTC_ZONE, utc(2027, 1, 15, 14), "board review"),
    ("in 30m demo", UTC_ZONE, utc(2027, 1, 13, 3, 30), "demo"),
    ("in 2 hours retro", UTC_ZONE, utc(2027, 1, 13, 5), "retro"),
    ("in 90 minutes x", UTC_ZONE, utc(2027, 1, 13, 4, 30), "x"),
    ("today 15:00 x", UTC_ZONE, utc(2027, 1, 13, 15), "x"),
    ("tomorrow 9:30 standup", UTC_ZONE, utc(2027, 1, 14, 9, 30), "standup"),
    ("tomorrow at 9:30 standup", UTC_ZONE, utc(2027, 1, 14, 9, 30), "standup"),
    ("monday 10am planning", UTC_ZONE, utc(2027, 1, 18, 10), "planning"),
    ("next monday 10:00 x", UTC_ZONE, utc(2027, 1, 18, 10), "x"),
    ("wednesday 15:00 x", UTC_ZONE, utc(2027, 1, 20, 15), "x"),
    ("jan 20 3pm x", UTC_ZONE, utc(2027, 1, 20, 15), "x"),
    ("15:00 x", UTC_ZONE, utc(2027, 1, 13, 15), "x"),
    ("02:00 x", UTC_ZONE, utc(2027, 1, 14, 2), "x"),
    ("noon lunch", UTC_ZONE, utc(2027, 1, 13, 12), "lunch"),
    ("10am tomorrow standup", UTC_ZONE, utc(2027, 1, 14, 10), "standup"),
    ("tomorrow 10:30 pm x", UTC_ZONE, utc(2027, 1, 14, 22, 30), "x"),
    ("tomorrow 10:30 P.M. x", UTC_ZONE, utc(2027, 1, 14, 22, 30), "x"),
    ("10:30 pm tomorrow x", UTC_ZONE, utc(2027, 1, 14, 22, 30), "x"),
    ("tomorrow 3 pm x", UTC_ZONE, utc(2027, 1, 14, 15), "x"),
    ("tomorrow 3:00 pm x", UTC_ZONE, utc(2027, 1, 14, 15), "x"),
    ("9:30 sat review", UTC_ZONE, utc(2027, 1, 16, 9, 30), "review"),
    ("15:00 12 people", UTC_ZONE, utc(2027, 1, 13, 15), "12 people"),
    ("15:00 dec review", UTC_ZONE, utc(2027, 1, 13, 15), "dec review"),
    ("15:00 the review", UTC_ZONE, utc(2027, 1, 13, 15), "the review"),
    ("tomorrow 15:00 1:1 with bob", UTC_ZONE, utc(2027, 1, 14, 15), "1:1 with bob"),
    ("15:00 周会", UTC_ZONE, utc(2027, 1, 13, 15), "周会"),
    # English, other zones
    ("2027-01-15 14:00 board review", BERLIN, utc(2027, 1, 15, 13), "board review"),
    ("today 15:00 x", BERLIN, utc(2027, 1, 13, 14), "x"),
    ("tomorrow 9:30 standup", BERLIN, utc(2027, 1, 14, 8, 30), "standup"),
    ("monday 10am planning", BERLIN, utc(2027, 1, 18, 9), "planning"),
    ("tomorrow 9:30 standup", NEW_YORK, utc(2027, 1, 13, 14, 30), "standup"),
    ("today 23:00 x", NEW_YORK, utc(2027, 1, 13, 4), "x"),
    ("in 30m demo", NEW_YORK, utc(2027, 1, 13, 3, 30), "demo"),
    ("monday 10am planning", NEW_YORK, utc(2027, 1, 18, 15), "planning"),
    ("2027-01-15 14:00 board review", NEW_YORK, utc(2027, 1, 15, 19), "board review"),
    # Chinese
    ("明天 10:00 周会", SHANGHAI, utc(2027, 1, 14, 2), "周会"),
    ("明天 10:00 周会", BERLIN, utc(2027, 1, 14, 9), "周会"),
    ("明天10点开会", SHANGHAI, utc(2027, 1, 14, 2), "开会"),
    ("明日 10:00 x", SHANGHAI, utc(2027, 1, 14, 2), "x"),
    ("下周一 9:30 周会", SHANGHAI, utc(2027, 1, 18, 1, 30), "周会"),
    ("下个星期一 9:30 周会", SHANGHAI, utc(2027, 1, 18, 1, 30), "周会"),
    ("今天下午3点 评审", SHANGHAI, utc(2027, 1, 13, 7), "评审"),
    ("今天 下午3点半 评审", SHANGHAI, utc(2027, 1, 13, 7, 30), "评审"),
    ("明天 下午 3:00 评审", SHANGHAI, utc(2027, 1, 14, 7), "评审"),
    ("15:00 x", SHANGHAI, utc(2027, 1, 13, 7), "x"),
    ("后天 上午9点 x", SHANGHAI, utc(2027, 1, 15, 1), "x"),
    ("大后天 10:00 x", SHANGHAI, utc(2027, 1, 16, 2), "x"),
    ("周五 14:00 x", SHANGHAI, utc(2027, 1, 15, 6), "x"),
    ("星期天 10:00 x", SHANGHAI, utc(2027, 1, 17, 2), "x"),
    ("周天 10:00 x", SHANGHAI, utc(2027, 1, 17, 2), "x"),
    ("礼拜天 10:00 x", SHANGHAI, utc(2027, 1, 17, 2), "x"),
    ("下周日 10:00 x", SHANGHAI, utc(2027, 1, 24, 2), "x"),
    ("本周五 14:00 x", SHANGHAI, utc(2027, 1, 15, 6), "x"),
    ("这周五 14:00 x", SHANGHAI, utc(2027, 1, 15, 6), "x"),
    ("1月20号 14:00 x", SHANGHAI, utc(2027, 1, 20, 6), "x"),
    ("1月10日 14:00 x", SHANGHAI, utc(2028, 1, 10, 6), "x"),
    ("2027年1月15日 14:00 x", SHANGHAI, utc(2027, 1, 15, 6), "x"),
    ("半小时后 喝茶", SHANGHAI, utc(2027, 1, 13, 3, 30), "喝茶"),
    ("30分钟后 x", SHANGHAI, utc(2027, 1, 13, 3, 30), "x"),
    ("两个小时后 x", SHANGHAI, utc(2027, 1, 13, 5), "x"),
    ("一个半小时后 x", SHANGHAI, utc(2027, 1, 13, 4, 30), "x"),
    ("今晚8点 x", SHANGHAI, utc(2027, 1, 13, 12), "x"),
    ("明晚8点 聚餐", SHANGHAI, utc(2027, 1, 14, 12), "聚餐"),
    ("明天 中午12点 午餐", SHANGHAI, utc(2027, 1, 14, 4), "午餐"),
    ("明天中午1点 x", SHANGHAI, utc(2027, 1, 14, 5), "x"),
    ("明天 凌晨3点 演练", SHANGHAI, utc(2027, 1, 13, 19), "演练"),
    ("明天 十点 x", SHANGHAI, utc(2027, 1, 14, 2), "x"),
    ("明天 10点15分 x", SHANGHAI, utc(2027, 1, 14, 2, 15), "x"),
    ("明天 10点一刻 x", SHANGHAI, utc(2027, 1, 14, 2, 15), "x"),
    ("明天 3pm x", SHANGHAI, utc(2027, 1, 14, 7), "x"),
    ("明天 二十三点 x", SHANGHAI, utc(2027, 1, 14, 15), "x"),
    ("明天 十二点三十分 x", SHANGHAI, utc(2027, 1, 14, 4, 30), "x"),
    ("明天 下午两点 x", SHANGHAI, utc(2027, 1, 14, 6), "x"),
    ("明天 10:00 周一例会", SHANGHAI, utc(2027, 1, 14, 2), "周一例会"),
]


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.parametrize(("text", "zone", "start", "title"), ONE_OFF)
def test_one_off_start_and_title(text, zone, start, title, locale):
    request = parse(text, zone=zone, locale=locale)

    assert request.start == start
    assert request.start.tzinfo is UTC
    assert request.title == title
    assert request.zone is zone
    assert request.recurrence is None


DAYLIGHT_SAVING = [
    # New York springs forward on 2027-03-14: 02:00 EST becomes 03:00 EDT.
    (utc(2027, 3, 13, 17), NEW_YORK, "tomorrow 9:30 x", utc(2027, 3, 14, 13, 30)),
    (utc(2027, 3, 13, 17), NEW_YORK, "tomorrow 03:30 x", utc(2027, 3, 14, 7, 30)),
    (utc(2027, 3, 14, 6, 30), NEW_YORK, "in 2 hours x", utc(2027, 3, 14, 8, 30)),
    # New York falls back on 2027-11-07: 02:00 EDT becomes 01:00 EST.
    (utc(2027, 11, 6, 16), NEW_YORK, "tomorrow 9:30 x", utc(2027, 11, 7, 14, 30)),
    (utc(2027, 11, 6, 16), NEW_YORK, "tomorrow 01:30 x", utc(2027, 11, 7, 5, 30)),
    (utc(2027, 11, 7, 4, 30), NEW_YORK, "in 2 hours x", utc(2027, 11, 7, 6, 30)),
    # Berlin springs forward on 2027-03-28: 02:00 CET becomes 03:00 CEST.
    (utc(2027, 3, 27, 11), BERLIN, "tomorrow 9:30 x", utc(2027, 3, 28, 7, 30)),
    (utc(2027, 3, 27, 11), BERLIN, "sunday 9:30 x", utc(2027, 3, 28, 7, 30)),
    (utc(2027, 3, 28, 0, 30), BERLIN, "in 1 hour x", utc(2027, 3, 28, 1, 30)),
    # Berlin falls back on 2027-10-31: 03:00 CEST becomes 02:00 CET.
    (utc(2027, 10, 30, 10), BERLIN, "tomorrow 02:30 x", utc(2027, 10, 31, 0, 30)),
]


@pytest.mark.parametrize(("now", "zone", "text", "start"), DAYLIGHT_SAVING)
def test_start_across_daylight_saving(now, zone, text, start):
    request = parse(text, zone=zone, now=now)

    assert request.start == start
    assert request.skipped_by_dst is False


@pytest.mark.parametrize(
    ("now", "zone", "text", "start", "local_start"),
    [
        (
            utc(2027, 3, 13, 17),
            NEW_YORK,
            "tomorrow 02:30 x",
            utc(2027, 3, 14, 7, 30),
            datetime(2027, 3, 14, 2, 30),
        ),
        (
            utc(2027, 3, 27, 11),
            BERLIN,
            "tomorrow 02:30 x",
            utc(2027, 3, 28, 1, 30),
            datetime(2027, 3, 28, 2, 30),
        ),
    ],
)
def test_skipped_wall_time_moves_forward(now, zone, text, start, local_start):
    request = parse(text, zone=zone, now=now)

    assert request.start == start
    assert request.local_start == local_start
    assert request.skipped_by_dst is True
    assert request.start.astimezone(zone).hour == 3


def test_local_start_is_the_wall_time_read():
    request = parse("tomorrow 9:30 standup", zone=SHANGHAI)

    assert request.local_start == datetime(2027, 1, 14, 9, 30)
    assert request.local_start.tzinfo is None


def test_duration_drops_seconds():
    request = parse("in 30m demo", now=utc(2027, 1, 13, 3, 0, 41, 5000))

    assert request.start == utc(2027, 1, 13, 3, 30)


RECURRING = [
    (
        "every weekday 9:30 standup",
        BERLIN,
        WEEKDAYS,
        time(9, 30),
        utc(2027, 1, 13, 8, 30),
        "standup",
    ),
    (
        "every weekday at 9:30 standup",
        BERLIN,
        WEEKDAYS,
        time(9, 30),
        utc(2027, 1, 13, 8, 30),
        "standup",
    ),
    (
        "every monday 10:00 weekly sync",
        BERLIN,
        {0},
        time(10),
        utc(2027, 1, 18, 9),
        "weekly sync",
    ),
    ("every day 9:00 x", BERLIN, EVERY_DAY, time(9), utc(2027, 1, 13, 8), "x"),
    ("daily 9:00 x", BERLIN, EVERY_DAY, time(9), utc(2027, 1, 13, 8), "x"),
    (
        "every mon, wed and fri 10:00 sync",
        BERLIN,
        {0, 2, 4},
        time(10),
        utc(2027, 1, 13, 9),
        "sync",
    ),
    (
        "every tuesdays and thursdays 4pm x",
        BERLIN,
        {1, 3},
        time(16),
        utc(2027, 1, 14, 15),
        "x",
    ),
    ("Every Monday 10:00 x", NEW_YORK, {0}, time(10), utc(2027, 1, 18, 15), "x"),
    ("每周一 10:00 周会", SHANGHAI, {0}, time(10), utc(2027, 1, 18, 2), "周会"),
    (
        "每个工作日 9:30 站会",
        SHANGHAI,
        WEEKDAYS,
        time(9, 30),
        utc(2027, 1, 14, 1, 30),
        "站会",
    ),
    (
        "工作日每天 9:30 站会",
        SHANGHAI,
        WEEKDAYS,
        time(9, 30),
        utc(2027, 1, 14, 1, 30),
        "站会",
    ),
    ("每天 9:00 x", SHANGHAI, EVERY_DAY, time(9), utc(2027, 1, 14, 1), "x"),
    ("每天下午3点 x", SHANGHAI, EVERY_DAY, time(15), utc(2027, 1, 13, 7), "x"),
    (
        "每周一三五 下午3点 同步",
        SHANGHAI,
        {0, 2, 4},
        time(15),
        utc(2027, 1, 13, 7),
        "同步",
    ),
    ("每周二、周四 10:00 x", SHANGHAI, {1, 3}, time(10), utc(2027, 1, 14, 2), "x"),
    ("每个周日 10:00 x", SHANGHAI, {6}, time(10), utc(2027, 1, 17, 2), "x"),
]


@pytest.mark.parametrize(("text", "zone", "days", "at", "start", "title"), RECURRING)
def test_recurring_meeting(text, zone, days, at, start, title):
    request = parse(text, zone=zone)

    assert request.recurrence == Recurrence(frozenset(days), at, zone)
    assert request.start == start
    assert request.title == title


def test_recurring_first_occurrence_in_gap():
    # 02:30 daily in New York: the first meeting falls on the spring-forward day.
    request = parse("every day 02:30 x", zone=NEW_YORK, now=utc(2027, 3, 13, 17))

    assert request.start == utc(2027, 3, 14, 7, 30)
    assert request.local_start == datetime(2027, 3, 14, 2, 30)
    assert request.skipped_by_dst is True


def test_recurring_start_matches_recurrence():
    request = parse("every weekday 9:30 standup", zone=NEW_YORK)

    assert request.recurrence is not None
    assert request.start == request.recurrence.next_after(NOW)


ERRORS = [
    ("", "schedule_unparseable"),
    ("board review", "schedule_unparseable"),
    ("standup tomorrow 9:30", "schedule_unparseable"),
    ("2027年2月30日 10:00 x", "schedule_unparseable"),
    ("下午 评审", "schedule_unparseable"),
    ("十十点 x", "schedule_unparseable"),
    ("一二三点 x", "schedule_unparseable"),
    ("3", "schedule_ambiguous"),
    ("at 3 sync", "schedule_ambiguous"),
    ("tomorrow 3 sync", "schedule_ambiguous"),
    ("tomorrow standup", "schedule_ambiguous"),
    ("2027-01-15 review", "schedule_ambiguous"),
    ("in 2 days demo", "schedule_ambiguous"),
    ("monday planning", "schedule_ambiguous"),
    ("tonight party", "schedule_ambiguous"),
    ("明天 周会", "schedule_ambiguous"),
    ("明天下午 评审", "schedule_ambiguous"),
    ("tomorrow 3:00 x", "schedule_ambiguous_hour"),
    ("5:30 x", "schedule_ambiguous_hour"),
    ("明天 3点 x", "schedule_ambiguous_hour"),
    ("明天 三点半 x", "schedule_ambiguous_hour"),
    ("明天 两点 x", "schedule_ambiguous_hour"),
    ("every weekday 6:45 x", "schedule_ambiguous_hour"),
    ("today 03:00 x", "schedule_past"),
    ("yesterday 10:00 x", "schedule_past"),
    ("last monday 10:00 x", "schedule_past"),
    ("本周一 10:00 x", "schedule_past"),
    ("now x", "schedule_past"),
    ("in 0m x", "schedule_past"),
    ("2028-03-01 10:00 x", "schedule_too_far"),
    ("every monday tomorrow 10:00", "schedule_recurring_date"),
    ("every monday 2027-01-20 10:00 x", "schedule_recurring_date"),
    ("every day in 2 hours x", "schedule_recurring_date"),
    ("每周一 明天 10:00 x", "schedule_recurring_date"),
    ("tomorrow 9:30 x --remind 8d", "schedule_bad_remind"),
    ("tomorrow 9:30 x --remind soon", "schedule_bad_remind"),
    ("tomorrow 9:30 x --remind", "schedule_bad_remind"),
    ("tomorrow 9:30 x --agenda y", "schedule_unknown_option"),
    ("tomorrow 9:30 x —remnid 5m", "schedule_unknown_option"),
]


@pytest.mark.parametrize(("text", "key"), ERRORS)
def test_error_key(text, key):
    with pytest.raises(ScheduleError) as raised:
        parse(text)

    assert raised.value.key == key


def test_past_error_names_typed_and_local_time():
    with pytest.raises(ScheduleError) as raised:
        parse("本周一 10:00 x", zone=SHANGHAI)

    assert raised.value.values == {
        "when": "本周一 10:00",
        "start": "2027-01-11 10:00 Asia/Shanghai",
    }


def test_ambiguous_error_names_date_words():
    with pytest.raises(ScheduleError) as raised:
        parse("tomorrow standup")

    assert raised.value.values == {"when": "tomorrow"}


def test_too_far_error_values():
    with pytest.raises(ScheduleError) as raised:
        parse("2028-03-01 10:00 x")

    assert raised.value.values["max_days"] == MAX_AHEAD.days
    assert raised.value.values["start"] == "2028-03-01 10:00 Europe/Berlin"


def test_latest_allowed_start():
    request = parse("2028-01-13 03:00 x", zone=UTC_ZONE)

    assert request.start - NOW == MAX_AHEAD - timedelta(days=1)


def test_naive_now_is_a_programming_error():
    with pytest.raises(ValueError, match="aware") as raised:
        parse("tomorrow 9:30 x", now=datetime(2027, 1, 13, 3))

    assert not isinstance(raised.value, ScheduleError)


def test_missing_title_is_empty():
    request = parse("tomorrow 9:30")

    assert request.title == ""
    assert request.start == utc(2027, 1, 14, 8, 30)


def test_title_whitespace_normalised():
    request = parse("  tomorrow   9:30\n weekly \t sync  ")

    assert request.title == "weekly sync"


@pytest.mark.parametrize(
    ("text", "remind_before"),
    [
        ("tomorrow 9:30 standup --remind 5m", timedelta(minutes=5)),
        ("tomorrow 9:30 standup --remind 1h", timedelta(hours=1)),
        ("tomorrow 9:30 standup --remind 0", timedelta(0)),
        ("tomorrow 9:30 standup --remind=15m", timedelta(minutes=15)),
        ("tomorrow 9:30 --remind 10m standup", timedelta(minutes=10)),
        ("--remind 10m tomorrow 9:30 standup", timedelta(minutes=10)),
        ("tomorrow 9:30 standup —remind 5m", timedelta(minutes=5)),
        ("tomorrow 9:30 standup ——remind 5m", timedelta(minutes=5)),
        ("tomorrow 9:30 standup –remind 5m", timedelta(minutes=5)),
        ("tomorrow 9:30 standup --REMIND 5m", timedelta(minutes=5)),
        ("tomorrow 9:30 standup", None),
    ],
)
def test_remind_option(text, remind_before):
    request = parse(text)

    assert request.remind_before == remind_before
    assert request.title == "standup"


@pytest.mark.parametrize(
    ("value", "remind_before"),
    [
        ("5m", timedelta(minutes=5)),
        ("5 min", timedelta(minutes=5)),
        ("90", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("2h", timedelta(hours=2)),
        ("2d", timedelta(days=2)),
        ("7d", timedelta(days=7)),
        ("10分钟", timedelta(minutes=10)),
        ("1小时", timedelta(hours=1)),
        ("1天", timedelta(days=1)),
        ("0", timedelta(0)),
    ],
)
def test_parse_remind(value, remind_before):
    assert parse_remind(value) == remind_before


@pytest.mark.parametrize(
    "value",
    [
        "",
        "8d",
        "7d1m",
        "-5",
        "soon",
        "1h 30",
        "5x",
        "1.5h",
        "99999999999m",
        pytest.param("9" * 4000, id="4000-digits"),
    ],
)
def test_parse_remind_rejects(value):
    with pytest.raises(ScheduleError) as raised:
        parse_remind(value)

    assert raised.value.key == "schedule_bad_remind"
    assert raised.value.values == {"value": value, "max_days": 7}


def test_invitees_removed_from_title():
    request = parse("tomorrow 9:30 sync @Alice @bob, with @alice @carol.smith")

    assert request.invitees == ("alice", "bob", "carol.smith")
    assert request.title == "sync with"


def test_invitee_before_time():
    request = parse("@dave tomorrow 9:30 sync")

    assert request.invitees == ("dave",)
    assert request.start == utc(2027, 1, 14, 8, 30)


def test_non_username_at_words_stay_in_title():
    request = parse("tomorrow 9:30 sync @ 5pm @张三")

    assert request.invitees == ()
    assert request.title == "sync @ 5pm @张三"


def test_group_mentions_are_invitees():
    request = parse("tomorrow 9:30 all hands @here")

    assert request.invitees == ("here",)


def test_chinese_with_options_and_invitees():
    request = parse("明天 10:00 周会 @li.lei —remind 15m", zone=SHANGHAI, locale="zh")

    assert request.start == utc(2027, 1, 14, 2)
    assert request.title == "周会"
    assert request.invitees == ("li.lei",)
    assert request.remind_before == timedelta(minutes=15)


@pytest.mark.parametrize(
    ("start", "zone", "locale", "text"),
    [
        (
            utc(2027, 1, 15, 13),
            BERLIN,
            "en",
            "Fri 15 Jan 2027, 14:00 Europe/Berlin (UTC+01:00)",
        ),
        (
            utc(2027, 1, 15, 6),
            SHANGHAI,
            "zh",
            "2027年1月15日 星期五 14:00 Asia/Shanghai (UTC+08:00)",
        ),
        (
            utc(2027, 7, 4, 13, 30),
            NEW_YORK,
            "en",
            "Sun 4 Jul 2027, 09:30 America/New_York (UTC-04:00)",
        ),
        (
            utc(2027, 7, 4, 13, 30),
            NEW_YORK,
            "zh",
            "2027年7月4日 星期日 09:30 America/New_York (UTC-04:00)",
        ),
        (
            utc(2027, 1, 15, 8, 30),
            ZoneInfo("Asia/Kolkata"),
            "en",
            "Fri 15 Jan 2027, 14:00 Asia/Kolkata (UTC+05:30)",
        ),
        (
            utc(2027, 12, 31, 23, 59),
            UTC_ZONE,
            "en",
            "Fri 31 Dec 2027, 23:59 UTC (UTC+00:00)",
        ),
    ],
)
def test_describe_time(start, zone, locale, text):
    assert describe_time(start, zone, locale) == text


@pytest.mark.parametrize(
    ("days", "at", "english", "chinese"),
    [
        (WEEKDAYS, time(9, 30), "every weekday at 09:30", "每个工作日 09:30"),
        (EVERY_DAY, time(9), "every day at 09:00", "每天 09:00"),
        ({0}, time(10), "every Monday at 10:00", "每周一 10:00"),
        ({0, 3}, time(10), "every Monday and Thursday at 10:00", "每周一、周四 10:00"),
        (
            {4, 0, 2},
            time(16, 5),
            "every Monday, Wednesday and Friday at 16:05",
            "每周一、周三、周五 16:05",
        ),
        ({6}, time(10), "every Sunday at 10:00", "每周日 10:00"),
    ],
)
def test_describe_recurrence(days, at, english, chinese):
    recurrence = Recurrence(frozenset(days), at, BERLIN)

    assert describe_recurrence(recurrence, "en") == english
    assert describe_recurrence(recurrence, "zh") == chinese


def test_longest_english_form_fits():
    request = parse("friday 15 january 2027 10:30 am board", zone=UTC_ZONE)

    assert request.start == utc(2027, 1, 15, 10, 30)
    assert request.title == "board"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(" ".join(["1:1" * 220] * 6), id="long-words"),
        pytest.param("明天" * 2000 + " 10:00", id="long-chinese"),
        pytest.param("review " * 500, id="long-title"),
    ],
)
def test_long_text_is_unparseable_and_quoted_short(text):
    with pytest.raises(ScheduleError) as raised:
        parse(text)

    assert raised.value.key == "schedule_unparseable"
    assert len(raised.value.values["text"]) <= 65


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("tomorrow 9:00 sync", utc(2027, 1, 16, 9, 0)),
        ("明天 9:00 周会", utc(2027, 1, 16, 9, 0)),
        ("9:00 sync", utc(2027, 1, 16, 9, 0)),
    ],
)
def test_time_equal_to_now_is_a_time(text, start):
    now = utc(2027, 1, 15, 9, 0)

    request = parse_schedule(text, now=now, zone=ZoneInfo("UTC"))

    assert request.start == start


@pytest.mark.parametrize("zone", ["America/New_York", "UTC", "Asia/Shanghai"])
def test_year_9999_is_too_far(zone):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule("9999-12-31 23:59 x", now=NOW, zone=ZoneInfo(zone))

    assert caught.value.key == "schedule_too_far"


def test_repeated_wall_time_takes_the_first():
    new_york = ZoneInfo("America/New_York")

    request = parse_schedule(
        "2027-11-07 01:30 sync", now=utc(2027, 11, 1, 9, 0), zone=new_york
    )

    assert request.start == utc(2027, 11, 7, 5, 30)  # 01:30 EDT, not EST
    assert request.repeated_by_dst
    assert not request.skipped_by_dst


def test_ordinary_wall_time_is_not_repeated():
    request = parse_schedule(
        "2027-11-07 03:30 sync",
        now=utc(2027, 11, 1, 9, 0),
        zone=ZoneInfo("America/New_York"),
    )

    assert not request.repeated_by_dst


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("in 2m m16", "m16"),
        ("in 2m am", "am"),
        ("in 2m tomorrow's agenda", "tomorrow's agenda"),
        ("in 2m pm review", "pm review"),
        ("in 2m 5pm review", "5pm review"),
        ("in 2m 1:1 with alice", "1:1 with alice"),
        ("in 2m 3 people", "3 people"),
    ],
)
def test_words_after_a_duration_are_the_title(text, title):
    request = parse_schedule(text, now=NOW, zone=ZoneInfo("UTC"))

    assert request.start == NOW + timedelta(minutes=2)
    assert request.title == title


@pytest.mark.parametrize(
    ("text", "delay"),
    [
        ("in 1 hour 30 minutes standup", timedelta(hours=1, minutes=30)),
        ("in 1h 30m standup", timedelta(hours=1, minutes=30)),
        ("in 2 h 30 m standup", timedelta(hours=2, minutes=30)),
        ("in 1 hour and 15 minutes standup", timedelta(hours=1, minutes=15)),
    ],
)
def test_compound_duration_is_read_whole(text, delay):
    request = parse_schedule(text, now=NOW, zone=ZoneInfo("UTC"))

    assert request.start == NOW + delay
    assert request.title == "standup"


@pytest.mark.parametrize(
    "text",
    [
        "2027-01-20 14:00+02:00 review",
        "2027-01-20 14:00Z review",
        "tomorrow 2pm UTC+2 x",
    ],
)
def test_utc_offset_is_refused(text):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text, now=NOW, zone=ZoneInfo("Asia/Tokyo"))

    assert caught.value.key == "schedule_offset"
    assert caught.value.values["zone"] == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("tomorrow 10:00 q-2 review", "q-2 review"),
        ("tomorrow 10:00 +1 call", "+1 call"),
    ],
)
def test_dashes_and_plus_in_titles_are_not_offsets(text, title):
    request = parse_schedule(text, now=NOW, zone=ZoneInfo("Asia/Tokyo"))

    assert request.title == title


@pytest.mark.parametrize(
    "text",
    [
        "14:00 +02:00 review",
        "tomorrow 10:00 +0200 review",
        "10am+2 review",
        "明天 10:00+08:00 周会",
        "明天 14:00Z 周会",
    ],
)
def test_more_offset_forms_are_refused(text):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text, now=NOW, zone=ZoneInfo("Europe/Berlin"))

    assert caught.value.key == "schedule_offset"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("tomorrow 10:00 +15 people", "+15 people"),
        ("明天 10:00 周会 14:00Z", "周会 14:00Z"),
        ("2027-01-20 10:00 team-b sync", "team-b sync"),
    ],
)
def test_offset_like_words_in_titles_stay(text, title):
    request = parse_schedule(text, now=NOW, zone=ZoneInfo("Europe/Berlin"))

    assert request.title == title


@pytest.mark.parametrize(
    ("text", "delay"),
    [
        ("in 1h30 standup", timedelta(hours=1, minutes=30)),
        ("in 2h15 standup", timedelta(hours=2, minutes=15)),
    ],
)
def test_hours_with_minutes_is_a_duration(text, delay):
    request = parse_schedule(text, now=NOW, zone=ZoneInfo("Europe/Berlin"))

    assert request.start == NOW + delay
    assert request.title == "standup"
