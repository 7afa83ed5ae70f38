"""Read the text of `/sfu schedule <when> <title>` into a start time, title and options.

dateparser reads the dates and times, in English and Chinese. This module does the
rest. It finds where the time ends and the title begins, and reads the `every …` or
`每…` prefix of a recurring meeting, the `--remind` option and `@username` invitees.
chinese.py rewrites the Chinese forms that dateparser misreads.

How the time is found. The time comes first. Of the first few words, the shortest
run that dateparser reads as a date with a time of day is the time ("tomorrow 9:30",
"in 30m"). It grows by the following words only when they are am/pm or read as a
day or a time on their own ("10:30 pm", "10am tomorrow"), so a title such as
"dec review" or "12 people" after "15:00" stays a title. Chinese text is split by
chinese.rewrite_leading instead, because it needs no space before the title.

Decisions, each covered by tests:

- A bare clock time ("15:00") is the next such time: today if it is still ahead,
  otherwise tomorrow. "today 9:00" after 09:00 is in the past and rejected.
- A weekday name is the next such day after today ("wednesday 15:00" on a Wednesday
  is a week later), as dateparser reads it.
- Ambiguous times are rejected with a request for a clearer time. They are a date
  without a time of day ("tomorrow", "2027-01-15", "in 2 days") and a bare number
  ("3", "at 3"). So is an hour from 1 to 6 written without am/pm, a leading zero or
  a Chinese period word ("3:00", "3点"), because a meeting is rarely meant for the
  small hours.
- A wall time skipped when clocks go forward (02:30 on the spring-forward day) moves
  forward by the gap. `ScheduleRequest.skipped_by_dst` is then true, so the reply
  can mention it. A wall time repeated when clocks go back is its first occurrence, and
  `ScheduleRequest.repeated_by_dst` is true. These are the rules of RFC 5545, so
  calendar clients show the same instant.
- "in 2 hours" is two real hours from now, even across a daylight-saving change.
- A missing title is not an error: `title` is empty and the caller uses its default
  title, as `/sfu` without a title does. The title length is checked by the caller,
  with the limit that `/sfu <title>` uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser

from parley.scheduling.chinese import rewrite_leading
from parley.scheduling.recurrence import (
    EVERY_DAY,
    WEEKDAYS,
    Recurrence,
    is_repeated,
    is_skipped,
    wall_to_utc,
)

Locale = Literal["en", "zh"]

# The max length of the time, in leading words and in characters. The longest form
# in the tests, "friday 15 january 2027 10:30 am", has six words and 31 characters.
# The character limit also bounds dateparser's work on long input.
MAX_WHEN_WORDS = 6
MAX_WHEN_CHARS = 64
MAX_AHEAD = timedelta(days=366)
MAX_REMIND = timedelta(days=7)

# A result that moves by exactly this much when "now" moves by it is a duration from
# now ("in 30m"). A clock time ("15:00", "tomorrow 9:30") either stays put or, when
# "now" passes it, moves by a whole day.
_NOW_SHIFT = timedelta(minutes=1)


class ScheduleError(ValueError):
    """The text after `/sfu schedule` cannot be scheduled.

    `key` and `values` name the message to show the user in their language, from
    parley.scheduling.messages.
    """

    def __init__(self, message: str, *, key: str, **values: object) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class ScheduleRequest:
    """A meeting to schedule, read from the text after `/sfu schedule`.

    `start` is the first occurrence as an aware UTC time. `local_start` is the naive
    wall time the user asked for in `zone`. It differs from `start` in `zone` only when
    that wall time does not exist (see `skipped_by_dst`). `remind_before` is None when
    the text has no `--remind`, so the configured default applies. `invitees` are the
    `@` mentions as typed, lower-cased, which may include `here`, `channel` and `all`.
    """

    title: str
    start: datetime
    zone: ZoneInfo
    local_start: datetime
    recurrence: Recurrence | None = None
    remind_before: timedelta | None = None
    invitees: tuple[str, ...] = field(default=())

    @property
    def skipped_by_dst(self) -> bool:
        """Whether clocks skip `local_start`, so the meeting starts one gap later."""
        return is_skipped(self.local_start, self.zone)

    @property
    def repeated_by_dst(self) -> bool:
        """Whether `local_start` happens twice, so the meeting takes the first."""
        return is_repeated(self.local_start, self.zone)


def parse_schedule(
    text: str, *, now: datetime, zone: ZoneInfo, locale: Locale = "en"
) -> ScheduleRequest:
    """Read `<when> <title> [--remind <time>] [@user …]` into a ScheduleRequest.

    `now` must be aware. Times are read on the wall clock of `zone`, and `locale`
    decides which language dateparser tries first. Raises ScheduleError.
    """
    if now.tzinfo is None:
        raise ValueError(f"parse_schedule needs an aware now, got {now}.")

    # dateparser reads "in 1h30" as the clock time 01:30; spell out the minutes.
    text = _HOURS_MINUTES.sub(r"\1h \2m", text, count=1)
    words, remind_before, invitees = _take_options(text.split())
    days, rest = _take_recurrence(" ".join(words))
    reader = _Reader(now, zone, locale)
    when, title = _split_when(rest, reader)

    if days is None:
        start, local_start = _one_off_start(when, reader)
        recurrence = None
    else:
        recurrence = _recurrence(days, when, reader)
        start = recurrence.next_after(now)
        local_day = start.astimezone(zone).date()
        local_start = datetime.combine(local_day, recurrence.time)

    return ScheduleRequest(
        title=title,
        start=start,
        zone=zone,
        local_start=local_start,
        recurrence=recurrence,
        remind_before=remind_before,
        invitees=invitees,
    )


_HOURS_MINUTES = re.compile(r"^(\s*in\s+\d{1,3})h(\d{1,2})\b", re.IGNORECASE)


def warm_up() -> None:
    """Load dateparser's English and Chinese data now.

    The first parse in a process loads that data, which took about 90 ms with
    dateparser 1.5 on a 2-core Xeon VM. Calling this at startup keeps that time out
    of the first `/sfu schedule` reply.
    """
    now = datetime.now(UTC)
    for text in ("tomorrow 9:30", "明天 9:30"):
        _Reader(now, ZoneInfo("UTC"), "en").read(text)


# Options and invitees


_OPTION = re.compile(r"(?:--|—{1,2}|–)(?P<name>[A-Za-z][\w-]*)(?:=(?P<value>.*))?")
_MENTION = re.compile(r"@(?P<name>[A-Za-z][A-Za-z0-9._-]*?)[.,;:!?，。；：！？、]*")

_REMIND_UNITS = {
    "m": 1,
    "min": 1,
    "mins": 1,
    "minute": 1,
    "minutes": 1,
    "分": 1,
    "分钟": 1,
    "h": 60,
    "hr": 60,
    "hrs": 60,
    "hour": 60,
    "hours": 60,
    "小时": 60,
    "d": 24 * 60,
    "day": 24 * 60,
    "days": 24 * 60,
    "天": 24 * 60,
}
# Five digits are more than the 7-day maximum in minutes, and keep int() and
# timedelta() away from numbers too large for them.
_REMIND_PART = re.compile(r"\s*(\d{1,5})\s*(分钟|分|小时|天|[A-Za-z]*)", re.IGNORECASE)


def _take_options(
    words: list[str],
) -> tuple[list[str], timedelta | None, tuple[str, ...]]:
    """Remove `--remind` and `@user` words, wherever they are.

    Mobile keyboards can turn `--` into an em dash, so `—remind`, `——remind` and
    `–remind` work too.
    """
    remaining: list[str] = []
    remind_before: timedelta | None = None
    invitees: list[str] = []

    index = 0
    while index < len(words):
        word = words[index]
        index += 1

        option = _OPTION.fullmatch(word)
        if option:
            name, value = option["name"].lower(), option["value"]
            if name != "remind":
                raise ScheduleError(
                    f"Unknown option {word!r}. The only option is --remind <time>.",
                    key="schedule_unknown_option",
                    option=word,
                )
            if value is None:
                value = words[index] if index < len(words) else ""
                index += 1
            remind_before = parse_remind(value)
            continue

        mention = _MENTION.fullmatch(word)
        if mention:
            name = mention["name"].lower()
            if name not in invitees:
                invitees.append(name)
            continue

        remaining.append(word)

    return remaining, remind_before, tuple(invitees)


def parse_remind(value: str) -> timedelta:
    """Read a reminder lead time: `10` (minutes), `5m`, `1h30m`, `2d`, `10分钟`."""
    value = value.strip()
    total = 0
    position = 0
    parts = 0
    bare = False
    while position < len(value):
        match = _REMIND_PART.match(value, position)
        unit = match[2].lower() if match else None
        if match is None or (unit not in _REMIND_UNITS and unit != ""):
            raise _bad_remind(value)
        total += int(match[1]) * _REMIND_UNITS.get(unit, 1)
        bare = bare or unit == ""
        parts += 1
        position = match.end()

    # A bare number means minutes, but only on its own: "1h 30" is a typo.
    if parts == 0 or (bare and parts > 1):
        raise _bad_remind(value)

    remind_before = timedelta(minutes=total)
    if remind_before > MAX_REMIND:
        raise _bad_remind(value)
    return remind_before


def _bad_remind(value: str) -> ScheduleError:
    return ScheduleError(
        f"Invalid reminder {value!r}: give minutes, hours or days before the meeting, "
        f"up to {MAX_REMIND.days} days, such as 10m or 1h.",
        key="schedule_bad_remind",
        value=value,
        max_days=MAX_REMIND.days,
    )


# Recurrence prefix


_EN_DAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
_EN_DAY = "|".join(sorted(_EN_DAYS, key=len, reverse=True))
_EN_EVERY = re.compile(
    rf"(?:every|each)\s+(?P<days>day|weekdays?|workdays?|(?:{_EN_DAY})s?"
    rf"(?:\s*(?:,|and|&)\s*(?:{_EN_DAY})s?)*),?(?=\s|$)"
    r"|(?P<daily>daily|everyday)(?=\s|$)",
    re.IGNORECASE,
)
_ZH_DAY = "一二三四五六日天"
_ZH_EVERY = re.compile(
    r"(?P<daily>每天|每日|天天)"
    r"|(?P<weekdays>每个?工作日|工作日每天)"
    rf"|每个?(?:周|星期|礼拜)(?P<days>[{_ZH_DAY}](?:[、,，和及与]?(?:周|星期|礼拜)?[{_ZH_DAY}])*)"
)


def _take_recurrence(text: str) -> tuple[frozenset[int] | None, str]:
    """Read `every weekday`, `every mon, wed`, `每天` or `每周一` at the start.

    Returns the days of the week (None for a one-off meeting) and the rest of the text.
    """
    match = _EN_EVERY.match(text)
    if match:
        if match["daily"]:
            return EVERY_DAY, text[match.end() :]
        spec = match["days"].lower()
        if spec == "day":
            return EVERY_DAY, text[match.end() :]
        if spec.startswith(("weekday", "workday")):
            return WEEKDAYS, text[match.end() :]
        names = re.findall(_EN_DAY, spec)
        return frozenset(_EN_DAYS[name] for name in names), text[match.end() :]

    match = _ZH_EVERY.match(text)
    if match:
        if match["daily"]:
            return EVERY_DAY, text[match.end() :]
        if match["weekdays"]:
            return WEEKDAYS, text[match.end() :]
        names = re.findall(f"[{_ZH_DAY}]", match["days"])
        # 天 comes after 日 in _ZH_DAY and is another name for Sunday (6).
        days = frozenset(min(_ZH_DAY.index(name), 6) for name in names)
        return days, text[match.end() :]

    return None, text


# Reading the time


@dataclass(frozen=True)
class _Reading:
    """dateparser's result: a naive wall time and the precision it found."""

    wall: datetime
    period: str

    @property
    def has_time(self) -> bool:
        return self.period == "time"


class _Reader:
    """dateparser, set up to read times from `now` on the wall clock of `zone`."""

    def __init__(self, now: datetime, zone: ZoneInfo, locale: Locale) -> None:
        self.now = now
        self.zone = zone
        self.base = now.astimezone(zone).replace(tzinfo=None)
        if self.base.second == 0 and self.base.microsecond == 0:
            # dateparser reports a typed time equal to the base's time of day as a
            # date without a time, so "tomorrow 9:00" at 09:00:00 would read as
            # ambiguous. A base off the whole minute keeps the two apart.
            self.base += timedelta(microseconds=1)
        self.languages = ["zh", "en"] if locale == "zh" else ["en", "zh"]
        self._parser = self._parser_at(self.base)

    def _parser_at(self, base: datetime) -> DateDataParser:
        settings = {
            "RELATIVE_BASE": base,
            "PREFER_DATES_FROM": "future",
            "RETURN_AS_TIMEZONE_AWARE": False,
            "RETURN_TIME_AS_PERIOD": True,
        }
        return DateDataParser(languages=self.languages, settings=settings)

    def read(self, text: str) -> _Reading | None:
        return self._read_with(self._parser, text)

    def read_from(self, text: str, base: datetime) -> _Reading | None:
        """Read `text` as if the local time now were `base`."""
        return self._read_with(self._parser_at(base), text)

    @staticmethod
    def _read_with(parser: DateDataParser, text: str) -> _Reading | None:
        try:
            data = parser.get_date_data(text)
        except (ValueError, OverflowError):
            # dateparser raises these for numbers out of range ("in 10**12 days").
            return None
        if data.date_obj is None:
            return None
        return _Reading(data.date_obj, data.period or "day")

    def is_duration(self, text: str, reading: _Reading) -> bool:
        """Return whether `text` reads as a duration from now, like "in 2 hours"."""
        shifted = self.read_from(text, self.base + _NOW_SHIFT)
        return shifted is not None and shifted.wall - reading.wall == _NOW_SHIFT


@dataclass(frozen=True)
class _When:
    """The time part of the text, as dateparser reads it and as the user typed it."""

    text: str
    typed: str
    reading: _Reading


def _split_when(text: str, reader: _Reader) -> tuple[_When, str]:
    """Split `text` into the time and the title."""
    leading = rewrite_leading(text, reader.base.date())
    if leading is not None:
        readable = 0 < len(leading.when) <= MAX_WHEN_CHARS
        reading = reader.read(leading.when) if readable else None
        if reading is None:
            raise _unparseable(text)
        if not reading.has_time:
            raise _ambiguous(leading.typed)
        # The rewrite may split "14:00Z", so the text is checked as typed, up to
        # the start of the title.
        time_end = len(text) - len(leading.rest)
        _check_offset(text, reader, before=time_end + 1)
        return _When(leading.when, leading.typed, reading), leading.rest

    words = text.split()
    count, reading = _count_when_words(words, reader)
    when = " ".join(words[:count])
    _check_offset(" ".join(words[: count + 1]), reader)
    return _When(when, when, reading), " ".join(words[count:])


def _check_offset(typed: str, reader: _Reader, *, before: int | None = None) -> None:
    """Refuse a UTC offset in the time or right after it, which dateparser drops.

    With `before`, only an offset that starts before that index counts.
    """
    match = _OFFSET.search(typed)
    if match is None or (before is not None and match.start() >= before):
        return
    shown = typed[: match.end()].strip()
    raise ScheduleError(
        f"{shown!r} has a UTC offset, which Parley does not read.",
        key="schedule_offset",
        when=shown,
        zone=reader.zone.key,
    )


# A UTC offset after a clock time, "14:00+02:00" or "14:00Z", or an offset word
# right after the time, "2pm UTC+2".
# dateparser drops these when it reads a wall time, which would silently move the
# meeting, so they are refused instead.
_OFFSET = re.compile(
    r"\d{1,2}:\d{2}(?::\d{2})?(?:[+-]\d{2}(?::?\d{2})?|Z)(?![\w:])"
    r"|\d{1,2}:\d{2}\s+[+-]\d{2}:?\d{2}(?![\w:])"
    r"|\d\s*(?:am|pm)[+-]\d"
    r"|^(?:UTC|GMT)[+-]\d|\s(?:UTC|GMT)\s*[+-]\s*\d",
    re.IGNORECASE,
)


def _count_when_words(words: list[str], reader: _Reader) -> tuple[int, _Reading]:
    """Return how many leading words are the time, and dateparser's reading of them."""
    limit = _when_word_limit(words)
    readings = [reader.read(" ".join(words[:count])) for count in range(1, limit + 1)]

    timed = [count for count in range(1, limit + 1) if _has_time(readings[count - 1])]
    if not timed:
        dated = [count for count in range(1, limit + 1) if readings[count - 1]]
        if dated:
            raise _ambiguous(" ".join(words[: dated[-1]]))
        raise _unparseable(" ".join(words))

    best = timed[0]
    if reader.is_duration(" ".join(words[:best]), readings[best - 1]):
        return _extend_duration(words, best, readings, reader)
    for count in timed[1:]:
        if _extends(words[best:count], reader):
            best = count
    return best, readings[best - 1]


_DURATION_UNIT = re.compile(
    r"\d*(h|hrs?|hours?|m|mins?|minutes?|d|days?|w|weeks?)", re.IGNORECASE
)
_DURATION_PART = re.compile(r"and|\d+(\.\d+)?|" + _DURATION_UNIT.pattern, re.IGNORECASE)


def _extend_duration(
    words: list[str], best: int, readings: list[_Reading | None], reader: _Reader
) -> tuple[int, _Reading]:
    """Extend "in 1 hour" by the words that lengthen it ("30 minutes"), no more.

    Other words after a duration are the title, even a word such as "pm", "m16" or
    "tomorrow's" that dateparser would fold into the time.
    """
    chosen = best
    for count in range(best + 1, len(readings) + 1):
        if not _DURATION_PART.fullmatch(words[count - 1]):
            break
        if not _DURATION_UNIT.fullmatch(words[count - 1]):
            continue  # a number or "and" counts only with the unit after it
        reading = readings[count - 1]
        text = " ".join(words[:count])
        if _has_time(reading) and reader.is_duration(text, reading):
            chosen = count
    return chosen, readings[chosen - 1]


def _when_word_limit(words: list[str]) -> int:
    """Return how many leading words fit in MAX_WHEN_WORDS and MAX_WHEN_CHARS."""
    limit = 0
    length = -1
    for word in words[:MAX_WHEN_WORDS]:
        length += 1 + len(word)
        if length > MAX_WHEN_CHARS:
            break
        limit += 1
    return limit


def _has_time(reading: _Reading | None) -> bool:
    return reading is not None and reading.has_time


_MERIDIEM = {"am", "pm", "a.m.", "p.m."}


def _extends(tail: list[str], reader: _Reader) -> bool:
    """Return whether words after a time belong to it ("10am tomorrow", "10:30 pm").

    They must be am/pm or read as a day or a time on their own, so "15:00 dec review"
    keeps "dec" and "15:00 the review" keeps "the" in the title. They must not end in
    a bare number, which dateparser reads as a month or a day ("15:00 12 people").
    """
    if len(tail) == 1 and tail[0].lower() in _MERIDIEM:
        return True
    if tail[-1].isdigit():
        return False
    alone = reader.read(" ".join(tail))
    return alone is not None and alone.period in ("day", "time")


# An hour from 1 to 6 with minutes, no leading zero and no am/pm after it.
_SMALL_HOUR = re.compile(
    r"(?<![\d:])[1-6]:[0-5]\d(?!\d)(?!\s*(?:am|pm|a\.m\.|p\.m\.))", re.IGNORECASE
)


def _one_off_start(when: _When, reader: _Reader) -> tuple[datetime, datetime]:
    """Return the UTC start and the local wall time asked for, checking both."""
    if reader.is_duration(when.text, when.reading):
        delay = when.reading.wall - reader.base
        start = _to_minute(reader.now + delay).astimezone(UTC)
        local_start = start.astimezone(reader.zone).replace(tzinfo=None)
    else:
        _check_hour(when)
        local_start = _to_minute(when.reading.wall)
        if local_start - reader.base > MAX_AHEAD + timedelta(days=2):
            # Far enough to fail below; converting a time near year 9999 to UTC
            # could overflow the datetime range.
            start = reader.now + MAX_AHEAD + timedelta(days=1)
        else:
            start = wall_to_utc(local_start, reader.zone)

    described = _local_text(local_start, reader.zone)
    if start <= reader.now:
        raise ScheduleError(
            f"{when.typed!r} is {described}, which has passed.",
            key="schedule_past",
            when=when.typed,
            start=described,
        )
    if start - reader.now > MAX_AHEAD:
        raise ScheduleError(
            f"{when.typed!r} is {described}, more than {MAX_AHEAD.days} days ahead.",
            key="schedule_too_far",
            when=when.typed,
            start=described,
            max_days=MAX_AHEAD.days,
        )
    return start, local_start


def _recurrence(days: frozenset[int], when: _When, reader: _Reader) -> Recurrence:
    """Build the recurrence, whose time must be a time of day and nothing more.

    Read from midnight today, a time of day falls within the next 24 hours, while
    "tomorrow 10:00", "monday 10:00" or a date falls later or in the past.
    """
    midnight = reader.base.replace(hour=0, minute=0, second=0, microsecond=0)
    from_midnight = reader.read_from(when.text, midnight)
    time_of_day = (
        from_midnight is not None
        and midnight < from_midnight.wall <= midnight + timedelta(days=1)
    )
    if not time_of_day or reader.is_duration(when.text, when.reading):
        raise ScheduleError(
            f"A recurring meeting takes a time of day only, but {when.typed!r} "
            "names a date or a delay.",
            key="schedule_recurring_date",
            when=when.typed,
        )
    _check_hour(when)
    return Recurrence(days, _to_minute(when.reading.wall).time(), reader.zone)


def _check_hour(when: _When) -> None:
    match = _SMALL_HOUR.search(when.text)
    if match:
        raise ScheduleError(
            f"{when.typed!r} may mean the night or the afternoon. "
            "Write 03:00, 3am or 15:00.",
            key="schedule_ambiguous_hour",
            when=when.typed,
        )


def _to_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _local_text(wall: datetime, zone: ZoneInfo) -> str:
    return f"{wall:%Y-%m-%d %H:%M} {zone.key}"


def _unparseable(text: str) -> ScheduleError:
    # Quote the start only, because a long title-only text would fill the reply.
    quoted = text if len(text) <= MAX_WHEN_CHARS else text[:MAX_WHEN_CHARS] + "…"
    return ScheduleError(
        f"No date or time at the start of {quoted!r}.",
        key="schedule_unparseable",
        text=quoted,
    )


def _ambiguous(when: str) -> ScheduleError:
    return ScheduleError(
        f"{when!r} has no time of day.",
        key="schedule_ambiguous",
        when=when,
    )


# Describing times for the reply


_EN_WEEKDAYS = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
_EN_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_ZH_WEEKDAYS = "一二三四五六日"


def describe_time(start: datetime, zone: ZoneInfo, locale: Locale) -> str:
    """Format an instant for the reply, with weekday, zone name and UTC offset.

    `Fri 15 Jan 2027, 14:00 Europe/Berlin (UTC+01:00)` in English and
    `2027年1月15日 星期五 14:00 Asia/Shanghai (UTC+08:00)` in Chinese. The names come
    from tables here, not strftime, whose names depend on the process locale.
    """
    local = start.astimezone(zone)
    clock = f"{local:%H:%M}"
    offset = _utc_offset(local)
    if locale == "zh":
        weekday = "星期" + _ZH_WEEKDAYS[local.weekday()]
        day = f"{local.year}年{local.month}月{local.day}日"
        return f"{day} {weekday} {clock} {zone.key} ({offset})"

    weekday = _EN_WEEKDAYS[local.weekday()][:3]
    day = f"{local.day} {_EN_MONTHS[local.month - 1]} {local.year}"
    return f"{weekday} {day}, {clock} {zone.key} ({offset})"


def _utc_offset(local: datetime) -> str:
    offset = local.utcoffset() or timedelta()
    sign = "-" if offset < timedelta() else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def describe_recurrence(recurrence: Recurrence, locale: Locale) -> str:
    """Describe the days and time: `every weekday at 09:30` or `每周一 10:00`."""
    clock = f"{recurrence.time:%H:%M}"
    days = sorted(recurrence.days)
    if locale == "zh":
        if recurrence.days == EVERY_DAY:
            return f"每天 {clock}"
        if recurrence.days == WEEKDAYS:
            return f"每个工作日 {clock}"
        names = "、".join("周" + _ZH_WEEKDAYS[day] for day in days)
        return f"每{names} {clock}"

    if recurrence.days == EVERY_DAY:
        return f"every day at {clock}"
    if recurrence.days == WEEKDAYS:
        return f"every weekday at {clock}"
    names = [_EN_WEEKDAYS[day] for day in days]
    listed = (
        names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    )
    return f"every {listed} at {clock}"
