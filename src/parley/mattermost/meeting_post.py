"""The channel post that shows a meeting: open with who is in it, then ended.

Each rendering is the whole post (message and props), so a patch replaces what the
post showed before and patches delivered late still leave the newest state.
Times are shown in UTC with the zone named, because a post reads the same for
everyone and Mattermost has no markup for a time in each reader's zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from parley.i18n import Locale, message
from parley.meetings.model import Meeting, ParticipantRecord

OPEN_COLOR = "#1f7a3a"
ENDED_COLOR = "#8a8a8a"
# Longer lists of names are cut, so the post stays readable in a big meeting.
MAX_NAMES = 30


def open_post(
    meeting: Meeting,
    participants: Sequence[str],
    *,
    link: str,
    locale: Locale,
    end_button: dict[str, Any],
) -> dict[str, Any]:
    """Render the post of an open meeting, with its End button."""
    starter = meeting.origin.user_name or "Parley"
    started = (
        _clock_time(meeting.started_at)
        if meeting.started_at is not None
        else message("post_not_started", locale)
    )
    names = _names(participants) or message("post_nobody_yet", locale)
    attachment = {
        "fallback": f"{meeting.title}: {link}",
        "color": OPEN_COLOR,
        "title": message("post_join", locale),
        "title_link": link,
        "text": link,
        "fields": [
            {
                "title": message("post_in_meeting", locale, count=len(participants)),
                "value": names,
                "short": False,
            },
            {
                "title": message("post_started_at", locale),
                "value": started,
                "short": True,
            },
        ],
        "actions": [end_button],
    }
    return {
        "message": message(
            "post_started", locale, starter=starter, title=_escape(meeting.title)
        ),
        "props": {"attachments": [attachment]},
    }


def ended_post(
    meeting: Meeting, took_part: Sequence[ParticipantRecord], *, locale: Locale
) -> dict[str, Any]:
    """Render the post of an ended meeting: when, how long, and who took part."""
    starter = meeting.origin.user_name or "Parley"
    names = _names(_unique_names(took_part)) or message("post_nobody_joined", locale)
    fields = [
        {
            "title": message(
                "post_took_part", locale, count=len(_unique_names(took_part))
            ),
            "value": names,
            "short": False,
        }
    ]
    if meeting.ended_at is not None:
        fields.append(
            {
                "title": message("post_ended_at", locale),
                "value": _clock_time(meeting.ended_at),
                "short": True,
            }
        )
    if meeting.started_at is not None and meeting.ended_at is not None:
        lasted = meeting.ended_at - meeting.started_at
        fields.append(
            {
                "title": message("post_duration", locale),
                "value": format_duration(lasted, locale),
                "short": True,
            }
        )
    attachment = {
        "fallback": meeting.title,
        "color": ENDED_COLOR,
        "fields": fields,
    }
    return {
        "message": message(
            "post_ended", locale, starter=starter, title=_escape(meeting.title)
        ),
        "props": {"attachments": [attachment]},
    }


def format_duration(duration: timedelta, locale: Locale) -> str:
    seconds = max(int(duration.total_seconds()), 0)
    if seconds < 60:
        return message("duration_seconds", locale, seconds=seconds)
    minutes = round(seconds / 60)
    if minutes < 60:
        return message("duration_minutes", locale, minutes=minutes)
    return message("duration_hours", locale, hours=minutes // 60, minutes=minutes % 60)


def _clock_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _unique_names(records: Sequence[ParticipantRecord]) -> list[str]:
    # Someone who rejoined has two records; they took part once.
    return list(dict.fromkeys(record.name for record in records))


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(_escape(name) for name in names[:MAX_NAMES])
    if len(names) > MAX_NAMES:
        shown += f" (+{len(names) - MAX_NAMES})"
    return shown


def _escape(text: str) -> str:
    # Names and titles come from users; without escaping, `*`, `_` or `@channel`
    # in a name would format the post or notify a whole channel.
    text = text.replace("@", "@\u200b")
    for character in "\\*_~`[]|#>":
        text = text.replace(character, "\\" + character)
    return text
