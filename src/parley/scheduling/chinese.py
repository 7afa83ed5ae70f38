"""Rewrite a Chinese date and time at the start of a text into words dateparser reads.

dateparser 1.5 reads 明天 10:00, 周一 10:00, 后天 9:00 and 2小时后 itself, but it
returns nothing for 下周一, 下午3点, 1月15号, 明日, 周天, 半小时后 or numbers written
in Chinese (十点). Chinese also needs no space between the time and the title
(明天10点开会), so this module also finds where the time ends.

The expression is read in the order Chinese writes it: dates first (明天, 下周一,
1月15日, 3天后), then an optional period of the day (下午), then an optional clock
time (3点半, 15:00). The first clock time ends it, so a title that starts with a
date word (明天 10:00 周一例会) keeps that word.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import NamedTuple

# 0–99 in Chinese numerals, from 零 to 九十九 (十五, 二十, 两).
_CHINESE_NUMERAL = (
    r"[二两三四五六七八九]?十[一二三四五六七八九]?|[零〇一二两三四五六七八九]"
)
_NUMBER = rf"\d{{1,2}}|{_CHINESE_NUMERAL}"
_DAY_OF_WEEK = "一二三四五六日天"

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}

# dateparser's Chinese data contains 今天 and 明天, but not 今日 or 明日.
_DAY_WORDS = {
    "大后天": "大后天",
    "今天": "今天",
    "今日": "今天",
    "明天": "明天",
    "明日": "明天",
    "后天": "后天",
    "後天": "后天",
}

# One word for a day and a period of it, such as 今晚 ("this evening").
_DAY_AND_PERIOD = {
    "今早": ("今天", "早上"),
    "今晚": ("今天", "晚上"),
    "明早": ("明天", "早上"),
    "明晨": ("明天", "早上"),
    "明晚": ("明天", "晚上"),
}

_MORNING = {"凌晨", "早上", "早晨", "清晨", "上午"}
_EVENING = {"傍晚", "晚上", "夜里", "夜间"}
_AFTERNOON = {"午后", "下午", *_EVENING}
_NOON = "中午"

_DAY_WORD = re.compile("|".join(sorted(_DAY_WORDS, key=len, reverse=True)))
_DAY_AND_PERIOD_WORD = re.compile("|".join(_DAY_AND_PERIOD))
_WEEK_DAY = re.compile(rf"(下一?个?|本|这个?)?(?:周|星期|礼拜)([{_DAY_OF_WEEK}])")
_FULL_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_MONTH_DAY = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_DURATION = re.compile(
    rf"(?:({_NUMBER})\s*个?\s*(半)?|(半))\s*个?\s*(分钟|分|小时|钟头|天)\s*(?:以后|之后|后)"
)
_PERIOD = re.compile(
    "|".join(sorted([*_MORNING, *_AFTERNOON, _NOON], key=len, reverse=True))
)
_CLOCK_COLON = re.compile(r"(\d{1,2})\s*[:：]\s*(\d{2})")
_CLOCK_POINT = re.compile(
    rf"({_NUMBER})\s*(?:点钟|[点點时時])(?:(半)|(一刻)|(三刻)|[零〇]?({_NUMBER})分?)?"
)
_CLOCK_12_HOUR = re.compile(r"\d{1,2}(?::\d{2})?\s*(?:am|pm)\b", re.IGNORECASE)
_SPACES = re.compile(r"\s*")


def chinese_number(text: str) -> int:
    """Convert 0–99 written in digits or Chinese numerals (十五, 二十, 两) to an int."""
    if text.isdigit():
        return int(text)
    if not re.fullmatch(_CHINESE_NUMERAL, text):
        raise ValueError(f"{text!r} is not a number from 0 to 99")
    if "十" not in text:
        return _DIGITS[text]

    tens, _, ones = text.partition("十")
    value = 10 * _DIGITS[tens] if tens else 10
    if ones:
        value += _DIGITS[ones]
    return value


class Leading(NamedTuple):
    """A Chinese date and time at the start of a text, and the text after it."""

    when: str
    """The date and time rewritten for dateparser, such as `2027-01-18 15:00`."""
    typed: str
    """The same date and time as typed, such as `下周一下午3点`."""
    rest: str


def rewrite_leading(text: str, today: date) -> Leading | None:
    """Split a Chinese date and time off the start of `text`, or return None.

    None means the text does not start with a Chinese date or time, and the caller
    reads it word by word instead. `today` is the local date that 下周一 and 1月15日
    are counted from.
    """
    position = 0
    parts: list[str] = []
    period: str | None = None
    chinese = False

    while True:
        position = _SPACES.match(text, position).end()
        rewritten = _rewrite_date(text, position, today)
        if rewritten is None:
            break
        word, period_word, position = rewritten
        parts.append(word)
        period = period_word or period
        chinese = True

    position = _SPACES.match(text, position).end()
    match = _PERIOD.match(text, position)
    if match:
        period = match.group()
        position = _SPACES.match(text, match.end()).end()
        chinese = True

    clock = _rewrite_clock(text, position, period)
    if clock is not None:
        word, position, chinese_clock = clock
        parts.append(word)
        chinese = chinese or chinese_clock

    if not chinese:
        return None
    return Leading(" ".join(parts), text[:position].strip(), text[position:].strip())


def _rewrite_date(
    text: str, position: int, today: date
) -> tuple[str, str | None, int] | None:
    """Read one date word at `position`: (replacement, period it implies, end)."""
    match = _DAY_AND_PERIOD_WORD.match(text, position)
    if match:
        day, period = _DAY_AND_PERIOD[match.group()]
        return day, period, match.end()

    match = _DAY_WORD.match(text, position)
    if match:
        return _DAY_WORDS[match.group()], None, match.end()

    match = _WEEK_DAY.match(text, position)
    if match:
        return _week_day(match.group(1), match.group(2), today), None, match.end()

    match = _FULL_DATE.match(text, position)
    if match:
        year, month, day = (int(group) for group in match.groups())
        return _iso_date(year, month, day, match.group()), None, match.end()

    match = _MONTH_DAY.match(text, position)
    if match:
        month, day = int(match.group(1)), int(match.group(2))
        return _next_month_day(month, day, today, match.group()), None, match.end()

    match = _DURATION.match(text, position)
    if match:
        return _duration(match), None, match.end()

    return None


def _week_day(prefix: str | None, name: str, today: date) -> str:
    """Rewrite 周一, 下周一 or 本周一 (weeks start on Monday in China)."""
    weekday = _DAY_OF_WEEK.index(name) if name != "天" else 6
    if prefix is None:
        # dateparser reads 星期日 as the next Sunday, but not 周天 or 礼拜天.
        return "星期" + ("日" if name == "天" else name)

    monday = today - timedelta(days=today.weekday())
    weeks = 1 if prefix.startswith("下") else 0
    return (monday + timedelta(weeks=weeks, days=weekday)).isoformat()


def _iso_date(year: int, month: int, day: int, original: str) -> str:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        # Leave an impossible date (2月30日) as typed, so it reads as no date at all.
        return original


def _next_month_day(month: int, day: int, today: date, original: str) -> str:
    """Rewrite 1月15日 as the next such date, this year or next year."""
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate.isoformat()
    return original


def _duration(match: re.Match[str]) -> str:
    """Rewrite 半小时后, 两个小时后 or 一个半小时后 as minutes or days from now."""
    count, half, only_half, unit = match.groups()
    amount = 0.0 if only_half else float(chinese_number(count))
    if half or only_half:
        amount += 0.5

    if unit == "天":
        # Half a day is no meeting time, so keep whole days, which dateparser reads.
        return f"{int(amount)}天后"
    minutes = amount if unit in ("分钟", "分") else amount * 60
    return f"{int(minutes)}分钟后"


def _rewrite_clock(
    text: str, position: int, period: str | None
) -> tuple[str, int, bool] | None:
    """Read a clock time at `position`: (HH:MM text, end, written in Chinese)."""
    match = _CLOCK_12_HOUR.match(text, position)
    if match:
        return match.group(), match.end(), False

    match = _CLOCK_COLON.match(text, position)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        word = _clock_word(hour, minute, period, match.group(1))
        return (word, match.end(), False) if word else None

    match = _CLOCK_POINT.match(text, position)
    if match:
        hour_text, half, quarter, three_quarters, minute_text = match.groups()
        minute = 0
        if half:
            minute = 30
        elif quarter:
            minute = 15
        elif three_quarters:
            minute = 45
        elif minute_text:
            minute = chinese_number(minute_text)
        word = _clock_word(chinese_number(hour_text), minute, period, hour_text)
        return (word, match.end(), True) if word else None

    return None


def _clock_word(
    hour: int, minute: int, period: str | None, hour_text: str
) -> str | None:
    """Return `H:MM` on a 24-hour clock, or None for an impossible time.

    Without a period the hour keeps the form it was typed in: 3点 becomes 3:00, not
    03:00, so the caller's check for an hour that may mean the afternoon still applies.
    """
    if period in _EVENING and hour == 12:
        # 晚上12点 is the midnight that ends the day, so 明天晚上12点 would be read a
        # day early. It is left unread, and the caller asks for a clearer time.
        return None
    if (period in _AFTERNOON and hour < 12) or (period == _NOON and hour < 6):
        hour += 12
    elif period == "凌晨" and hour == 12:
        hour = 0

    # 下午15点 is fine, but 下午25点 is not a time.
    if hour > 23 or minute > 59:
        return None
    if period is not None or hour_text.startswith(("0", "零", "〇")):
        return f"{hour:02d}:{minute:02d}"
    return f"{hour}:{minute:02d}"
