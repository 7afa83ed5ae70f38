"""The slash command's wire format: what Mattermost sends and the replies it shows.

Mattermost (server/channels/app/command.go) sends a form with the fields below,
lower-cases the trigger in `command` and passes `text` untrimmed. It shows a reply
only when the status is exactly 200, the Content-Type is application/json and
`response_type` is `in_channel` or `ephemeral`. Anything else becomes an error box
or literal text, so every reply meant for the user, errors included, is built here
as a 200 JSON body.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_TEXT_BYTES = 4096
MAX_TITLE_CHARS = 200

FIELDS = (
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "response_url",
    "trigger_id",
    "root_id",
)


@dataclass(frozen=True)
class SlashRequest:
    """One slash command invocation, as Mattermost sends it."""

    command: str
    text: str = ""
    token: str = ""
    team_id: str = ""
    team_domain: str = ""
    channel_id: str = ""
    channel_name: str = ""
    user_id: str = ""
    user_name: str = ""
    response_url: str = ""
    trigger_id: str = ""
    root_id: str = ""
    user_mentions: tuple[str, ...] = field(default=())
    channel_mentions: tuple[str, ...] = field(default=())

    @classmethod
    def from_fields(cls, fields: Mapping[str, Sequence[str]]) -> SlashRequest:
        """Build a request from decoded form, query or JSON fields (lists of values)."""
        values = {name: _first(fields.get(name, ())) for name in FIELDS}
        return cls(
            **values,
            user_mentions=tuple(fields.get("user_mentions", ())),
            channel_mentions=tuple(fields.get("channel_mentions", ())),
        )


def _first(values: Sequence[str]) -> str:
    return values[0] if values else ""


def token_matches(candidates: Iterable[str], configured: Iterable[str]) -> bool:
    """Compare every candidate with every configured token in constant time.

    The loop does not stop at the first match, so the time taken does not reveal which
    token matched or how many are configured before it.
    """
    matched = False
    for candidate in candidates:
        if not candidate:
            continue
        for token in configured:
            matched |= hmac.compare_digest(candidate.encode(), token.encode())
    return matched


def token_from_header(authorization: str | None) -> str:
    """Return the token of an `Authorization: Token <token>` header ('' otherwise)."""
    if not authorization:
        return ""
    scheme, _, value = authorization.strip().partition(" ")
    return value.strip() if scheme.lower() == "token" else ""


Action = Literal["create", "new", "list", "end", "help", "schedule"]

# Sub-commands are recognised in English and Chinese. `list`, `end` and `help` count
# only as the whole text, so `/sfu end of year party` is still a title.
HELP_WORDS = frozenset({"help", "-h", "--help", "帮助"})
LIST_WORDS = frozenset({"list", "列表"})
END_WORDS = frozenset({"end", "结束"})
NEW_WORDS = frozenset({"new", "新建"})
SCHEDULE_WORDS = frozenset({"schedule", "预约"})


@dataclass(frozen=True)
class Invocation:
    """The action requested by the text after the trigger, with its title.

    `create` opens a room or offers the channel's open one; `new` always opens one.
    For `schedule`, `text` is everything after the word, for the schedule parser.
    """

    action: Action
    title: str = ""
    text: str = ""


class InvalidCommandText(ValueError):
    """The text after the trigger cannot be used.

    `key` and `values` name the message to show the user in their language.
    """

    def __init__(self, message: str, *, key: str, **values: int) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


def parse_text(text: str) -> Invocation:
    """Turn the text after the trigger into an action.

    Mattermost does not trim `text`, and the web client lower-cases the first word when
    the trigger is followed by a newline, so whitespace is normalised and sub-commands
    are matched case-insensitively.
    """
    if len(text.encode()) > MAX_TEXT_BYTES:
        size = len(text.encode())
        raise InvalidCommandText(
            f"The text after the command is {size} bytes long; "
            f"the limit is {MAX_TEXT_BYTES}.",
            key="text_too_long",
            size=size,
            limit=MAX_TEXT_BYTES,
        )

    words = text.split()
    if not words:
        return Invocation("create")
    first = words[0].lower()
    if len(words) == 1:
        for action, vocabulary in (
            ("help", HELP_WORDS),
            ("list", LIST_WORDS),
            ("end", END_WORDS),
        ):
            if first in vocabulary:
                return Invocation(action)  # type: ignore[arg-type]

    if first in SCHEDULE_WORDS:
        return Invocation("schedule", text=" ".join(words[1:]))

    action: Action = "create"
    if first in NEW_WORDS:
        action, words = "new", words[1:]
    title = " ".join(words)
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidCommandText(
            f"The meeting title is {len(title)} characters long; "
            f"keep it under {MAX_TITLE_CHARS}.",
            key="title_too_long",
            length=len(title),
            limit=MAX_TITLE_CHARS,
        )
    return Invocation(action, title=title)


ResponseType = Literal["in_channel", "ephemeral"]


def ephemeral_reply(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": text, "skip_slack_parsing": True}


def meeting_reply(
    *,
    message: str,
    title: str,
    link: str,
    response_type: ResponseType,
    starter: str,
    starter_label: str,
) -> dict[str, Any]:
    """Build the reply that hands out a meeting link.

    `skip_slack_parsing` stops Mattermost from reading `<…|…>` in a title as a link.
    """
    return {
        "response_type": response_type,
        "text": f"{message} {link}",
        "skip_slack_parsing": True,
        "attachments": [
            {
                "fallback": f"{title}: {link}",
                "color": "#1f7a3a",
                "title": title,
                "title_link": link,
                "text": link,
                "fields": [
                    {"title": starter_label, "value": f"@{starter}", "short": True}
                ]
                if starter
                else [],
            }
        ],
    }
