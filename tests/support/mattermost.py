"""A stand-in for the Mattermost server, for tests of Parley's slash command.

Mattermost cannot run here, so this module plays the two sides of it that
Parley meets:

* `MattermostStandIn.execute_command` sends the request Mattermost sends to a
  custom slash command's URL and reads the reply the way Mattermost does. It
  returns a `CommandOutcome`: what the invoking user sees (an error under the
  message box, an ephemeral message, an in-channel post) and the raw exchange.
* The stand-in's HTTP server on 127.0.0.1 accepts `POST /hooks/commands/{id}`,
  the `response_url` of each invocation, and records the posts it creates.

The behaviour follows Mattermost's server source (repository
mattermost/mattermost, read mid-2026): `server/channels/app/command.go`
(`ExecuteCommand`, `tryExecuteCustomCommand`, `DoCommandRequest`,
`HandleCommandResponse`, `CreateCommandPost`), `server/public/model/
command_response.go`, `message_attachment.go`, `server/channels/app/webhook.go`
(`HandleCommandWebhook`), `server/channels/web/webhook.go`, `static.go` and
`handlers.go`, plus Go's net/http client for redirects. Error messages are the
English strings of `server/i18n/en.json`; Mattermost localises them, so tests
should assert the error `id` and status, not the text.

The stand-in behaves as a server whose `AllowedUntrustedInternalConnections`
lists 127.0.0.1, ::1 and localhost, with `EnableDeveloper` off (so
`detailed_error` is empty in error bodies) and with post username and icon
overrides off.

The v4 REST API (users/me, login, posts, rate limits) is not built yet. It
belongs in `_routes()` beside the hook route and can share `Directory` and the
post store.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import dataclasses
import ipaddress
import json
import logging
import math
import re
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote_plus, urljoin, urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

logger = logging.getLogger(__name__)

T = TypeVar("T")

# `CommandWebhookLifetime` in server/public/model/command_webhook.go.
HOOK_LIFETIME_SECONDS = 30 * 60
# `TryUse(hook.Id, 5)` in HandleCommandWebhook.
HOOK_MAX_USES = 5
# `MaxIntegrationResponseSize` in server/channels/app/webhook.go.
MAX_RESPONSE_BYTES = 1024 * 1024
# Default `OutgoingIntegrationRequestsTimeout`; the command client's own
# `RequestTimeout` is also 30 s, so a longer setting gains nothing.
DEFAULT_TIMEOUT_SECONDS = 30.0
CLIENT_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 3.0
# Go's http.Client gives up when a redirect arrives after 10 requests.
MAX_REQUESTS_PER_COMMAND = 10
# Posts longer than this are rejected by Post.IsValid on current schemas.
MAX_POST_RUNES = 65535
USER_AGENT = "Mattermost-Bot/1.1"

MESSAGES = {
    "api.command.execute_command.start.app_error": "No command trigger found.",
    "api.command.execute_command.failed.app_error": (
        "Command with a trigger of '{trigger}' failed."
    ),
    "api.command.execute_command.failed_empty.app_error": (
        "Command with a trigger of '{trigger}' returned an empty response."
    ),
    "api.command.execute_command.failed_resp.app_error": (
        "Command with a trigger of '{trigger}' returned response {status}."
    ),
    "api.command.execute_command.create_post_failed.app_error": (
        "Command '{trigger}' failed to post response. "
        "Please contact your System Administrator."
    ),
    "api.command.command_post.forbidden.app_error": (
        "Specified user is not a member of specified channel."
    ),
    "api.context.invalid_param.app_error": "Invalid {name} parameter.",
    "model.post.is_valid.message_length.app_error": (
        "Post Message property is longer than the maximum permitted length."
    ),
    "app.command_webhook.get.missing": "Unable to find the webhook.",
    "app.command_webhook.try_use.invalid": "Invalid webhook.",
    # NOTE: Mattermost passes no parameters here, so Go's template prints
    # "<no value>" for the hook id; the stand-in copies that.
    "web.command_webhook.parse.app_error": (
        "Unable to parse incoming data for webhook <no value>."
    ),
}

# Mattermost ids: 26 characters from this base32 alphabet (model.NewId).
_ID_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"


def new_id() -> str:
    """Return a fresh 26-character Mattermost-style id."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))


def _now_ms(clock: Callable[[], float]) -> int:
    return int(clock() * 1000)


# --------------------------------------------------------------------------
# Users, teams and channels
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: str
    username: str


@dataclass(frozen=True)
class Team:
    id: str
    name: str


@dataclass(frozen=True)
class Channel:
    """A channel; `type` is Mattermost's letter: O open, P private, D direct."""

    id: str
    name: str
    team_id: str
    type: str = "O"


class Directory:
    """Users, teams, channels and memberships known to the stand-in."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.teams: dict[str, Team] = {}
        self.channels: dict[str, Channel] = {}
        self.channel_members: dict[str, set[str]] = {}
        self.team_members: dict[str, set[str]] = {}

    def add_team(self, name: str) -> Team:
        team = Team(new_id(), name)
        self.teams[team.id] = team
        self.team_members[team.id] = set()
        return team

    def add_user(self, username: str, *, teams: Iterable[Team] = ()) -> User:
        user = User(new_id(), username)
        self.users[user.id] = user
        for team in teams:
            self.team_members[team.id].add(user.id)
        return user

    def add_channel(
        self,
        name: str,
        team: Team,
        *,
        members: Iterable[User] = (),
        channel_type: str = "O",
    ) -> Channel:
        channel = Channel(new_id(), name, team.id, channel_type)
        self.channels[channel.id] = channel
        self.channel_members[channel.id] = {user.id for user in members}
        return channel

    def is_member(self, channel_id: str, user_id: str) -> bool:
        return user_id in self.channel_members.get(channel_id, set())

    def user_by_name(self, username: str) -> User | None:
        for user in self.users.values():
            if user.username == username:
                return user
        return None

    def open_channel_by_name(self, name: str, team_id: str) -> Channel | None:
        for channel in self.channels.values():
            if channel.name == name and channel.team_id == team_id:
                return channel if channel.type == "O" else None
        return None


# --------------------------------------------------------------------------
# Records: posts, hooks, errors, exchanges
# --------------------------------------------------------------------------


@dataclass
class Post:
    """A post as Mattermost stores it, or an ephemeral post sent to one user.

    `source` is "command" for the synchronous reply and "response_url" for a
    post made through the hook.
    """

    id: str
    channel_id: str
    user_id: str
    root_id: str
    message: str
    type: str
    props: dict[str, Any]
    create_at: int
    ephemeral: bool
    source: str

    @property
    def attachments(self) -> list[dict[str, Any]]:
        return list(self.props.get("attachments") or [])


@dataclass
class CommandWebhook:
    """One `response_url`: created per invocation, usable 5 times in 30 min."""

    id: str
    user_id: str
    channel_id: str
    team_id: str
    root_id: str
    create_at: int
    use_count: int = 0


@dataclass(frozen=True)
class AppError:
    """Mattermost's `model.AppError`, as its JSON body and as a user sees it."""

    id: str
    message: str
    status_code: int
    detailed_error: str = ""
    request_id: str = ""

    @classmethod
    def make(
        cls, error_id: str, status_code: int, detail: str = "", **params: str
    ) -> AppError:
        message = MESSAGES[error_id].format(**params)
        return cls(error_id, message, status_code, detail, new_id())

    def to_json(self) -> bytes:
        # The server wipes detailed_error unless EnableDeveloper is on.
        body = {
            "id": self.id,
            "message": self.message,
            "detailed_error": "",
            "request_id": self.request_id,
            "status_code": self.status_code,
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class CommandRequest:
    """The request Mattermost sends to the command URL.

    `fields` contains the decoded form values in the order Mattermost sets them
    (bytes, because `text` can hold invalid UTF-8). The token is left out of
    `repr` so a failing test does not print it.
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, bytes], ...]
    body: bytes

    def field(self, name: str) -> str:
        values = [value for key, value in self.fields if key == name]
        return values[0].decode("utf-8", "replace") if values else ""

    def __repr__(self) -> str:
        names = sorted({key for key, _ in self.fields})
        return f"CommandRequest({self.method} {self.url.split('?')[0]}, fields={names})"


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and response on the way to the command URL."""

    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    status_code: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str:
        """Return the first value of a response header, as Go's Header.Get."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return ""

    @property
    def status(self) -> str:
        return f"{self.status_code} {self.reason}".strip()

    def __repr__(self) -> str:
        return f"Exchange({self.method} {self.url.split('?')[0]} -> {self.status})"


@dataclass
class CommandOutcome:
    """What one slash command invocation did, as the invoking user sees it.

    `error` is the red error under the message box (None on success);
    `posts` are in-channel posts and `ephemeral` the messages only the
    invoking user sees, both from the synchronous reply. Posts that arrive
    later through `response_url` are in the stand-in's store, not here.
    """

    request: CommandRequest | None
    exchanges: list[Exchange]
    hook_id: str
    response_url: str
    error: AppError | None = None
    posts: list[Post] = field(default_factory=list)
    ephemeral: list[Post] = field(default_factory=list)
    goto_location: str = ""
    transport_error: str = ""
    elapsed: float = 0.0

    @property
    def response(self) -> Exchange | None:
        return self.exchanges[-1] if self.exchanges else None

    @property
    def redirected(self) -> bool:
        return len(self.exchanges) > 1

    @property
    def ephemeral_messages(self) -> list[str]:
        return [post.message for post in self.ephemeral]


@dataclass(frozen=True)
class ReceivedRequest:
    """A request the stand-in's HTTP server received."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    status_code: int


# --------------------------------------------------------------------------
# Go's encoding/json, as CommandResponseFromJSON decodes a reply
# --------------------------------------------------------------------------


class GoJSONError(ValueError):
    """The reply body would fail json.Unmarshal into the Go types."""


class GoType:
    """A Go type that a JSON value is unmarshalled into.

    Go ignores unknown keys, matches struct keys case-insensitively, leaves a
    field untouched on `null`, and fails the whole decode on a wrong type.
    """

    go_name = "?"

    def decode(self, value: Any, where: str) -> Any:
        raise NotImplementedError

    def zero(self) -> Any:
        return None

    def mismatch(self, value: Any, where: str) -> GoJSONError:
        return GoJSONError(
            f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
            f"{where} of type {self.go_name}"
        )


class GoString(GoType):
    go_name = "string"

    def decode(self, value: Any, where: str) -> Any:
        if not isinstance(value, str):
            raise self.mismatch(value, where)
        return value

    def zero(self) -> Any:
        return ""


class GoBool(GoType):
    go_name = "bool"

    def decode(self, value: Any, where: str) -> Any:
        if not isinstance(value, bool):
            raise self.mismatch(value, where)
        return value

    def zero(self) -> Any:
        return False


class GoInt64(GoType):
    go_name = "int64"

    def decode(self, value: Any, where: str) -> Any:
        # A JSON number with a fraction or exponent (1.0, 1e3) fails too.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.mismatch(value, where)
        if not -(2**63) <= value < 2**63:
            raise self.mismatch(value, where)
        return value

    def zero(self) -> Any:
        return 0


class GoAny(GoType):
    go_name = "interface {}"

    def decode(self, value: Any, where: str) -> Any:
        return _as_go_any(value)


class GoMap(GoType):
    go_name = "map[string]interface {}"

    def decode(self, value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise self.mismatch(value, where)
        return {key: _as_go_any(item) for key, item in value.items()}


class SlackCompatibleBool(GoType):
    """`true`, `false`, or those words as strings in any case; nothing else."""

    go_name = "model.SlackCompatibleBool"

    def decode(self, value: Any, where: str) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        literal = json.dumps(value)
        raise GoJSONError(f"unmarshal: unable to convert {literal} to bool")

    def decode_null(self, where: str) -> Any:
        raise GoJSONError("unmarshal: unable to convert null to bool")

    def zero(self) -> Any:
        return False


class GoSlice(GoType):
    """`[]*T`: a null element stays None, as a nil pointer."""

    def __init__(self, element: GoType) -> None:
        self.element = element

    @property
    def go_name(self) -> str:  # type: ignore[override]
        return f"[]*{self.element.go_name}"

    def decode(self, value: Any, where: str) -> Any:
        if not isinstance(value, list):
            raise self.mismatch(value, where)
        return [
            None if item is None else self.element.decode(item, where) for item in value
        ]


class GoStruct(GoType):
    def __init__(self, go_name: str, fields: dict[str, GoType]) -> None:
        self.go_name = f"model.{go_name}"
        self.name = go_name
        self.fields = fields

    def zero(self) -> Any:
        return {name: kind.zero() for name, kind in self.fields.items()}

    def decode(self, value: Any, where: str = "") -> Any:
        if not isinstance(value, dict) and not where:
            raise GoJSONError(
                f"json: cannot unmarshal {_json_kind(value)} into Go value of "
                f"type {self.go_name}"
            )
        if not isinstance(value, dict):
            raise self.mismatch(value, where)
        result = self.zero()
        for key, item in value.items():
            name = self._field_for(key)
            if name is not None:
                result[name] = self._decode_field(name, item, where)
        return result

    def _field_for(self, key: str) -> str | None:
        if key in self.fields:
            return key
        folded = key.casefold()
        for name in self.fields:
            if name.casefold() == folded:
                return name
        return None

    def _decode_field(self, name: str, item: Any, where: str) -> Any:
        kind = self.fields[name]
        path = f"{where or self.name}.{name}"
        if item is not None:
            return kind.decode(item, path)
        if isinstance(kind, SlackCompatibleBool):
            return kind.decode_null(path)
        if isinstance(kind, GoStruct):
            return None  # a nil pointer
        return kind.zero()


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _as_go_any(value: Any) -> Any:
    """Convert a JSON value to what Go stores in an `any`: numbers become float64."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        number = float(value) if abs(value) < 1e309 else math.inf
        if not math.isfinite(number):
            raise GoJSONError(
                f"json: cannot unmarshal number {value} into Go value of type float64"
            )
        return number
    if isinstance(value, list):
        return [_as_go_any(item) for item in value]
    return {key: _as_go_any(item) for key, item in value.items()}


_STRING = GoString()
_ACTION_OPTION = GoStruct("PostActionOptions", {"text": _STRING, "value": _STRING})
_ACTION_INTEGRATION = GoStruct(
    "PostActionIntegration", {"url": _STRING, "context": GoMap()}
)
_ACTION = GoStruct(
    "PostAction",
    {
        "id": _STRING,
        "type": _STRING,
        "name": _STRING,
        "disabled": GoBool(),
        "style": _STRING,
        "data_source": _STRING,
        "options": GoSlice(_ACTION_OPTION),
        "default_option": _STRING,
        "integration": _ACTION_INTEGRATION,
        "cookie": _STRING,
    },
)
_ATTACHMENT_FIELD = GoStruct(
    "MessageAttachmentField",
    {"title": _STRING, "value": GoAny(), "short": SlackCompatibleBool()},
)
_ATTACHMENT_STRINGS = [
    "fallback",
    "color",
    "pretext",
    "author_name",
    "author_link",
    "author_icon",
    "title",
    "title_link",
    "text",
    "image_url",
    "thumb_url",
    "footer",
    "footer_icon",
]
_ATTACHMENT = GoStruct(
    "MessageAttachment",
    {
        "id": GoInt64(),
        **{name: _STRING for name in _ATTACHMENT_STRINGS},
        "fields": GoSlice(_ATTACHMENT_FIELD),
        "ts": GoAny(),
        "actions": GoSlice(_ACTION),
    },
)
_COMMAND_RESPONSE_STRINGS = [
    "response_type",
    "text",
    "username",
    "channel_id",
    "icon_url",
    "type",
    "goto_location",
    "trigger_id",
]
COMMAND_RESPONSE = GoStruct(
    "CommandResponse",
    {
        **{name: _STRING for name in _COMMAND_RESPONSE_STRINGS},
        "props": GoMap(),
        "skip_slack_parsing": GoBool(),
        "attachments": GoSlice(_ATTACHMENT),
    },
)
COMMAND_RESPONSE.fields["extra_responses"] = GoSlice(COMMAND_RESPONSE)


def _reject_constant(name: str) -> Any:
    raise GoJSONError(f"invalid character '{name[0]}' looking for beginning of value")


def parse_go_json(body: bytes) -> Any:
    """Parse JSON as Go's decoder does: invalid UTF-8 in strings becomes U+FFFD,
    a byte order mark and NaN/Infinity are errors."""
    text = body.decode("utf-8", "replace")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        # utils.HumanizeJSONError reports line and character like this.
        raise GoJSONError(
            f"parsing error at line {error.lineno}, character {error.colno}: "
            f"{error.msg}"
        ) from None


def command_response_from_json(body: bytes) -> dict[str, Any]:
    """Decode a reply as `model.CommandResponseFromJSON` does."""
    value = parse_go_json(body)
    if value is None:
        return COMMAND_RESPONSE.zero()
    response = COMMAND_RESPONSE.decode(value)
    response["attachments"] = stringify_attachments(response["attachments"])
    for extra in response["extra_responses"] or []:
        if extra is None:
            # NOTE: Go dereferences the nil element and the handler panics;
            # the stand-in reports it as a failed decode instead.
            raise GoJSONError("extra_responses contains null")
        extra["attachments"] = stringify_attachments(extra["attachments"])
    return response


def command_response_from_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Decode a reply as `model.CommandResponseFromHTTPBody` does.

    Only a media type of exactly `application/json` (case-sensitive, any
    parameters) is parsed as JSON; any other body becomes the text of an
    ephemeral reply.
    """
    if content_type.split(";")[0].strip() == "application/json":
        return command_response_from_json(body)
    response = COMMAND_RESPONSE.zero()
    response["text"] = body.decode("utf-8", "replace")
    return response


def stringify_attachments(
    attachments: list[dict[str, Any] | None] | None,
) -> list[dict[str, Any]] | None:
    """Drop null attachments and fields and turn field values into strings.

    Like StringifyMessageAttachmentFieldValue, an empty result is nil, so
    `"attachments": []` counts as no attachments at all.
    """
    present = [item for item in attachments or [] if item is not None]
    for attachment in present:
        fields = [item for item in attachment["fields"] or [] if item is not None]
        for item in fields:
            if item["value"] is not None:
                item["value"] = go_format_value(item["value"])
        attachment["fields"] = fields or None
    return present or None


def go_format_value(value: Any) -> str:
    """Format a decoded JSON value as Go's `fmt.Sprintf("%v", value)`."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float):
        return _go_format_float(value)
    if isinstance(value, list):
        return "[" + " ".join(go_format_value(item) for item in value) + "]"
    pairs = (f"{key}:{go_format_value(value[key])}" for key in sorted(value))
    return "map[" + " ".join(pairs) + "]"


def _go_format_float(value: float) -> str:
    """Format like Go's %v for float64: the shortest digits, in exponent form
    when the decimal exponent is below -4 or 6 and above (1e+06, 1e-05)."""
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)
    magnitude = point - 1
    prefix = "-" if sign else ""
    if magnitude < -4 or magnitude >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if magnitude < 0 else '+'}{abs(magnitude):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


# --------------------------------------------------------------------------
# Slack compatibility applied to a reply's text
# --------------------------------------------------------------------------

_SLACK_LINK = re.compile(r"<([^<|]+)\|([^>]+)>")
_SLACK_USER_ID = re.compile(r"<@([a-zA-Z0-9]+)>")
_ANNOUNCEMENTS = (("<!channel>", "@channel"), ("<!here>", "@here"), ("<!all>", "@all"))


def parse_slack_links(text: str) -> str:
    """Turn `<url|label>` into `[label](url)` (model.ParseSlackLinksToMarkdown)."""
    return _SLACK_LINK.sub(r"[\2](\1)", text)


def process_slack_text(text: str, directory: Directory) -> str:
    """Expand `<!channel>` style announcements and `<@userid>` references."""
    for slack, mattermost in _ANNOUNCEMENTS:
        text = text.replace(slack, mattermost)
    for user_id in _SLACK_USER_ID.findall(text):
        user = directory.users.get(user_id)
        if user is not None:
            text = text.replace(f"<@{user_id}>", f"@{user.username}")
    return text


def process_attachments(
    attachments: list[dict[str, Any]] | None, directory: Directory
) -> list[dict[str, Any]] | None:
    """Apply ProcessSlackText to pretext, text, title and field values."""
    for attachment in attachments or []:
        for name in ("pretext", "text", "title"):
            attachment[name] = process_slack_text(attachment[name], directory)
        for item in attachment["fields"] or []:
            if item["value"] is not None:
                text = go_format_value(item["value"])
                item["value"] = process_slack_text(text, directory)
    return attachments


def parse_message_attachments(attachments: list[dict[str, Any]]) -> list[dict]:
    """Apply Slack link parsing to text, pretext and string field values."""
    for attachment in attachments:
        attachment["text"] = parse_slack_links(attachment["text"])
        attachment["pretext"] = parse_slack_links(attachment["pretext"])
        for item in attachment["fields"] or []:
            if isinstance(item["value"], str):
                item["value"] = parse_slack_links(item["value"])
    return attachments


# --------------------------------------------------------------------------
# The outgoing request: ExecuteCommand and tryExecuteCustomCommand
# --------------------------------------------------------------------------

# Go's unicode.IsSpace. Python's str.isspace also counts U+001C to U+001F,
# which Go does not, so the set is spelled out.
GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
) | frozenset(chr(code) for code in range(0x2000, 0x200B))
# What JavaScript's String.prototype.trim removes.
JS_SPACE = frozenset(
    "\t\n\v\f\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"
) | frozenset(chr(code) for code in range(0x2000, 0x200B))

_AT_MENTION = re.compile(r"\B@[0-9A-Za-z][0-9A-Za-z.\-_:]*", re.ASCII)
_CHANNEL_MENTION = re.compile(r"\B~[a-zA-Z0-9\-_]+", re.ASCII)


def webapp_command_line(typed: str) -> str:
    """Return the line the web app sends for what the user typed.

    The web app lower-cases everything before the first ASCII space (the
    whole line if there is none) and trims the rest at both ends.
    """
    index = typed.find(" ")
    if index < 0:
        index = len(typed)
    rest = typed[index:].strip("".join(JS_SPACE))
    return typed[:index].lower() + " " + rest


def split_command_line(line: str) -> tuple[str, bytes]:
    """Split a command line into trigger and text as ExecuteCommand does.

    The split is at the first Unicode space; the trigger is lower-cased and
    the text is the rest after that one byte, untrimmed. Go slices bytes, so
    a multi-byte space such as U+3000 leaves its last two bytes at the start
    of the text, which is then invalid UTF-8.
    """
    raw = line.encode("utf-8")
    for index, char in enumerate(line):
        if char in GO_SPACE:
            cut = len(line[:index].encode("utf-8"))
            return line[:index].lower(), raw[cut + 1 :]
    return line.lower(), b""


def encode_form(fields: Iterable[tuple[str, bytes]]) -> str:
    """Encode fields as Go's url.Values.Encode: keys sorted, `+` for spaces."""
    grouped: dict[str, list[bytes]] = {}
    for key, value in fields:
        grouped.setdefault(key, []).append(value)
    pairs = [
        f"{quote_plus(key, safe='')}={quote_plus(value, safe='')}"
        for key in sorted(grouped)
        for value in grouped[key]
    ]
    return "&".join(pairs)


def find_user_mentions(text: str, team_id: str, directory: Directory) -> dict[str, str]:
    """Map each `@name` in text that is a team member to the user's id."""
    mentions: dict[str, str] = {}
    for match in _AT_MENTION.findall(text):
        name = match[1:].lower()
        while name and name not in mentions:
            user = directory.user_by_name(name)
            if user is not None:
                if user.id in directory.team_members.get(team_id, set()):
                    mentions[name] = user.id
                break
            # Retry without trailing punctuation, as "@alice." means alice.
            if name[-1] not in ".-_":
                break
            name = name[:-1]
    return mentions


def find_channel_mentions(
    text: str, team_id: str, directory: Directory
) -> dict[str, str]:
    """Map each `~name` in text that is an open channel of the team to its id."""
    mentions: dict[str, str] = {}
    for match in _CHANNEL_MENTION.findall(text):
        channel = directory.open_channel_by_name(match[1:], team_id)
        if channel is not None:
            mentions[match[1:]] = channel.id
    return mentions


def _mention_fields(
    prefix: str, mentions: Mapping[str, str]
) -> list[tuple[str, bytes]]:
    fields: list[tuple[str, bytes]] = []
    for name, mention_id in mentions.items():
        fields.append((f"{prefix}_mentions", name.encode()))
        fields.append((f"{prefix}_mentions_ids", mention_id.encode()))
    return fields


def generate_trigger_id(user_id: str, now_ms: int) -> str:
    """Return a trigger id shaped like model.GenerateTriggerId's (not signed)."""
    data = f"{new_id()}:{user_id}:{now_ms}:"
    signature = base64.b64encode(secrets.token_bytes(71)).decode()
    return base64.b64encode((data + signature).encode()).decode()


def build_command_request(
    command_url: str,
    method: str,
    token: str,
    fields: list[tuple[str, bytes]],
    *,
    oauth_access_token: str | None = None,
) -> CommandRequest:
    """Build the HTTP request DoCommandRequest sends.

    With an outgoing OAuth connection for the command URL (an Enterprise
    feature), the OAuth access token replaces the `Token` header, and only
    the form field carries the command token.
    """
    if method not in ("P", "G"):
        raise ValueError(f"command method {method!r} is not 'P' (POST) or 'G' (GET)")
    encoded = encode_form(fields)
    headers = [("Accept", "application/json")]
    if oauth_access_token is not None:
        headers.append(("Authorization", f"Bearer {oauth_access_token}"))
    elif token:
        headers.append(("Authorization", f"Token {token}"))
    if method == "G":
        separator = "&" if urlsplit(command_url).query else "?"
        url = command_url + separator + encoded
        return CommandRequest("GET", url, tuple(headers), tuple(fields), b"")
    headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    body = encoded.encode("ascii")
    return CommandRequest("POST", command_url, tuple(headers), tuple(fields), body)


# --------------------------------------------------------------------------
# Sending: Go's http.Client with Mattermost's transport
# --------------------------------------------------------------------------


class TransportError(Exception):
    """No usable response: the connection failed, or too many redirects.

    `exchanges` contains the complete responses received before the failure.
    """

    def __init__(self, reason: str, exchanges: list[Exchange] | None = None):
        super().__init__(reason)
        self.exchanges = exchanges or []


class BodyReadError(TransportError):
    """The status line and headers of the last response arrived, its body
    did not."""


_SENSITIVE_HEADERS = {"authorization", "www-authenticate", "cookie", "cookie2"}


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def _redirect_headers(
    first: CommandRequest, previous_url: str, next_url: str
) -> list[tuple[str, str]]:
    """Return the headers Go sends on a redirect.

    These are the first request's headers, without credentials when the host
    changes, plus a Referer.
    """
    same_host = _host_port(first.url) == _host_port(next_url)
    headers = [
        (key, value)
        for key, value in first.headers
        if same_host or key.lower() not in _SENSITIVE_HEADERS
    ]
    if not (previous_url.startswith("https:") and next_url.startswith("http:")):
        headers.append(("Referer", previous_url))
    return headers


def _redirect_target(method: str, exchange: Exchange) -> tuple[str, bool] | None:
    """Return the next method and whether to resend the body, or None."""
    location = exchange.header("Location")
    if exchange.status_code in (301, 302, 303) and location:
        return ("GET" if method not in ("GET", "HEAD") else method), False
    if exchange.status_code in (307, 308) and location:
        return method, True
    return None


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body.extend(chunk)
        if len(body) >= limit:
            break
    return bytes(body[:limit])


async def _send_once(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> tuple[Exchange, str]:
    """Send one request; return the exchange and a body read error or ''."""
    request = client.build_request(method, url, headers=headers, content=body or None)
    try:
        response = await client.send(request, stream=True)
    except httpx.HTTPError as error:
        raise TransportError(_describe_transport_error(error, url)) from None
    read_error = ""
    try:
        payload = await _read_limited(response, MAX_RESPONSE_BYTES)
    except httpx.HTTPError as error:
        payload, read_error = b"", f"reading the body failed: {error!r}"
    finally:
        await response.aclose()
    exchange = Exchange(
        method,
        url,
        tuple(request.headers.items()),
        response.status_code,
        response.reason_phrase,
        tuple(response.headers.multi_items()),
        payload,
    )
    return exchange, read_error


def _describe_transport_error(error: httpx.HTTPError, url: str) -> str:
    host = _host_port(url)
    if isinstance(error, httpx.ConnectTimeout):
        return f"dial tcp {host}: i/o timeout"
    if isinstance(error, httpx.ConnectError):
        return f"dial tcp {host}: connect: connection refused"
    return f"{type(error).__name__}: {error}"


class _RedactTokenQuery(logging.Filter):
    """Hide `token=` values in httpx's request log lines.

    httpx logs every request URL at INFO, and a GET command carries the
    command token in its query string.
    """

    _TOKEN_VALUE = re.compile(r"(\btoken=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._redact(arg) for arg in record.args)
        return True

    def _redact(self, arg: object) -> object:
        text = str(arg)
        if "token=" not in text:
            return arg
        return self._TOKEN_VALUE.sub(r"\1[redacted]", text)


_httpx_logger = logging.getLogger("httpx")
if not any(isinstance(f, _RedactTokenQuery) for f in _httpx_logger.filters):
    _httpx_logger.addFilter(_RedactTokenQuery())


def _new_go_like_client() -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT_SECONDS),
        trust_env=False,
    )
    # Go's transport sends no Connection header and requests gzip only.
    del client.headers["Connection"]
    del client.headers["Accept"]
    client.headers["Accept-Encoding"] = "gzip"
    client.headers["User-Agent"] = USER_AGENT
    return client


async def send_like_go(request: CommandRequest) -> list[Exchange]:
    """Send the request and follow redirects as Go's http.Client does.

    A 301, 302 or 303 turns a POST into a GET without the form body, and a
    307 or 308 resends the body. Raises TransportError when no usable
    response arrives, and BodyReadError when the last body cannot be read.
    """
    exchanges: list[Exchange] = []
    method, url = request.method, request.url
    headers, body = list(request.headers), request.body
    async with _new_go_like_client() as client:
        while True:
            exchange, read_error = await _send_once(client, method, url, headers, body)
            exchanges.append(exchange)
            target = _redirect_target(method, exchange)
            if target is None and read_error:
                raise BodyReadError(read_error, exchanges)
            if target is None:
                return exchanges
            if len(exchanges) >= MAX_REQUESTS_PER_COMMAND:
                raise TransportError("stopped after 10 redirects", exchanges)

            # follow the redirect
            next_url = urljoin(url, exchange.header("Location"))
            method, keep_body = target
            headers = _redirect_headers(request, url, next_url)
            body = body if keep_body else b""
            url = next_url


# --------------------------------------------------------------------------
# Serving ASGI apps on loopback
# --------------------------------------------------------------------------


def _bind_loopback(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A restart binds the same port while old connections sit in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def _uvicorn_server(app: Any, *, lifespan: str) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        lifespan=lifespan,  # type: ignore[arg-type]
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    # access_log=False only works while "uvicorn.access" has no handlers, and
    # pytest's log capture adds one. Its lines carry query strings, so a GET
    # command's token, so it is switched off, as Parley's own logging does.
    logging.getLogger("uvicorn.access").disabled = True
    return uvicorn.Server(config)


class LoopbackServer:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a thread of its own.

    The thread has its own event loop, so the app keeps serving while a
    test's loop is busy or blocked. The first `start` picks a free port and
    later starts reuse it.
    """

    def __init__(self, app: Any, *, port: int = 0, name: str = "loopback") -> None:
        self.app = app
        self.port = port
        self.name = name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running on {self.url}.")
        sock = _bind_loopback(self.port)
        self.port = sock.getsockname()[1]
        self._server = _uvicorn_server(self.app, lifespan="off")
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"{self.name}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError(f"{self.name} did not start on {self.url} in 10 s.")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving; the port refuses connections until the next start."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@asynccontextmanager
async def serve_in_loop(app: Any, *, port: int = 0) -> AsyncIterator[str]:
    """Serve an ASGI app on 127.0.0.1 in the running event loop, with its
    lifespan, and yield its base URL.

    Tests can then reach the app's objects (stores, fakes) from the same loop.
    """
    sock = _bind_loopback(port)
    server = _uvicorn_server(app, lifespan="on")
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    await task
                    raise RuntimeError("The app stopped while starting.")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()


# --------------------------------------------------------------------------
# The stand-in server
# --------------------------------------------------------------------------

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# What `GET` on any path that is not an API route returns: the web app page.
_WEBAPP_PAGE = b"<!doctype html><html><head><title>Mattermost</title></head></html>"
_LOOPBACK_NAMES = {"127.0.0.1", "::1", "localhost"}


@dataclass(frozen=True)
class _Command:
    """The custom command as an admin configured it (model.Command)."""

    url: str
    token: str
    method: str
    oauth_access_token: str | None


@dataclass
class _CommandArgs:
    user: User
    channel_id: str
    team_id: str
    root_id: str
    trigger: str


class MattermostStandIn:
    """A Mattermost server on 127.0.0.1 for one test or one test module.

    Use it as a context manager or call `start()` and `stop()`; `restart()`
    brings it back on the same port. State (posts, hooks, requests) survives
    a restart, as a real server's database would. `advance_time` moves the
    stand-in's clock so tests can expire a `response_url` without waiting.
    """

    def __init__(self, *, port: int = 0, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._time_offset = 0.0
        self._lock = threading.Lock()
        self.directory = Directory()
        self.team = self.directory.add_team("eng")
        self.user = self.directory.add_user("bob", teams=[self.team])
        self.other_user = self.directory.add_user("alice", teams=[self.team])
        self.channel = self.directory.add_channel(
            "town-square", self.team, members=[self.user, self.other_user]
        )
        self._posts: list[Post] = []
        self._ephemeral: list[Post] = []
        self._hooks: dict[str, CommandWebhook] = {}
        self._requests: list[ReceivedRequest] = []
        self.app = Starlette(routes=self._routes())
        self._server = LoopbackServer(self.app, port=port, name="mattermost-standin")

    # ---------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def site_url(self) -> str:
        """`ServiceSettings.SiteURL`; every response_url starts with it."""
        return self._server.url

    @property
    def running(self) -> bool:
        return self._server.running

    def __enter__(self) -> MattermostStandIn:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving on 127.0.0.1; the first start picks a free port."""
        self._server.start()
        logger.info("Mattermost stand-in listening on %s", self.site_url)

    def stop(self) -> None:
        """Stop serving; connections to the port are refused until `start`."""
        self._server.stop()
        logger.info("Mattermost stand-in on port %d stopped", self.port)

    def restart(self) -> None:
        self.stop()
        self.start()

    def reset(self) -> None:
        """Forget posts, hooks and requests and undo `advance_time`, so one
        running stand-in can serve many tests."""
        with self._lock:
            self._posts.clear()
            self._ephemeral.clear()
            self._hooks.clear()
            self._requests.clear()
            self._time_offset = 0.0

    def advance_time(self, seconds: float) -> None:
        """Move the stand-in's clock forward, for hook lifetime tests."""
        with self._lock:
            self._time_offset += seconds

    def now(self) -> float:
        return self._clock() + self._time_offset

    # ---------------------------------------------------------------- accessors

    def posts_in(self, channel_id: str | None = None) -> list[Post]:
        """In-channel posts of a channel (the default channel if None)."""
        channel_id = channel_id or self.channel.id
        with self._lock:
            return [copy.deepcopy(p) for p in self._posts if p.channel_id == channel_id]

    def ephemeral_for(self, user_id: str | None = None) -> list[Post]:
        """Ephemeral posts sent to a user (the default user if None)."""
        user_id = user_id or self.user.id
        with self._lock:
            return [copy.deepcopy(p) for p in self._ephemeral if p.user_id == user_id]

    def hook(self, hook_id: str) -> CommandWebhook:
        with self._lock:
            return dataclasses.replace(self._hooks[hook_id])

    @property
    def hooks(self) -> list[CommandWebhook]:
        with self._lock:
            return [dataclasses.replace(hook) for hook in self._hooks.values()]

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Requests the stand-in's server received, oldest first."""
        with self._lock:
            return list(self._requests)

    async def wait_for(
        self, probe: Callable[[], T | None], *, within: float = 5.0
    ) -> T:
        """Poll `probe` until it returns something other than None or False."""
        deadline = time.monotonic() + within
        while True:
            result = probe()
            if result is not None and result is not False:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Nothing arrived at the stand-in within {within} s."
                )
            await asyncio.sleep(0.02)

    async def wait_for_post(
        self, channel_id: str | None = None, *, count: int = 1, within: float = 5.0
    ) -> list[Post]:
        """Wait until the channel has at least `count` posts and return them."""

        def probe() -> list[Post] | None:
            posts = self.posts_in(channel_id)
            return posts if len(posts) >= count else None

        return await self.wait_for(probe, within=within)

    async def wait_for_ephemeral(
        self, user_id: str | None = None, *, count: int = 1, within: float = 5.0
    ) -> list[Post]:
        """Wait until the user has at least `count` ephemeral posts."""

        def probe() -> list[Post] | None:
            posts = self.ephemeral_for(user_id)
            return posts if len(posts) >= count else None

        return await self.wait_for(probe, within=within)

    # ------------------------------------------------------ executing a command

    async def execute_command(
        self,
        command_url: str,
        line: str = "/sfu standup",
        *,
        token: str,
        method: str = "P",
        user: User | None = None,
        channel: Channel | None = None,
        team: Team | None = None,
        root_id: str = "",
        mentions: Mapping[str, str] | None = None,
        channel_mentions: Mapping[str, str] | None = None,
        oauth_access_token: str | None = None,
        integration_timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> CommandOutcome:
        """Run a slash command line as `POST /api/v4/commands/execute` does.

        `line` is what reaches the server (see `webapp_command_line` for what
        the web app makes of typed text). `token`, `method` ("P" or "G") and
        `oauth_access_token` describe the command as configured. Mentions are
        resolved from `directory` unless given. `integration_timeout` is
        `OutgoingIntegrationRequestsTimeout` in seconds.
        """
        started = time.monotonic()
        command = _Command(command_url, token, method, oauth_access_token)
        outcome = await self._execute(
            command,
            line,
            self._args(user, channel, team, root_id),
            (mentions, channel_mentions),
            integration_timeout,
        )
        outcome.elapsed = time.monotonic() - started
        return outcome

    def _args(
        self, user: User | None, channel: Channel | None, team: Team | None, root: str
    ) -> _CommandArgs:
        channel = channel or self.channel
        team = team or self.directory.teams[channel.team_id]
        return _CommandArgs(user or self.user, channel.id, team.id, root, "")

    def build_request(
        self,
        command_url: str,
        line: str = "/sfu standup",
        *,
        token: str,
        method: str = "P",
    ) -> CommandRequest:
        """Return the request Mattermost would send for `line`, without sending it.

        The default user runs it in the default channel, and the request gets a
        fresh `response_url` of this stand-in. Raises ValueError when
        Mattermost would reject the line before sending anything.
        """
        command = _Command(command_url, token, method, None)
        outcome, _ = self._prepare(command, line, self._args(None, None, None, ""))
        if outcome.request is None:
            assert outcome.error is not None
            raise ValueError(f"{line!r} is rejected: {outcome.error.message}")
        return outcome.request

    async def _execute(
        self,
        command: _Command,
        line: str,
        args: _CommandArgs,
        mentions: tuple[Mapping[str, str] | None, Mapping[str, str] | None],
        integration_timeout: float,
    ) -> CommandOutcome:
        outcome, args = self._prepare(command, line, args, mentions)
        if outcome.request is None:
            return outcome
        refusal = self._untrusted_address(command.url)
        if refusal:
            return self._failed(outcome, args, refusal)
        return await self._send_and_interpret(outcome, args, integration_timeout)

    def _prepare(
        self,
        command: _Command,
        line: str,
        args: _CommandArgs,
        mentions: tuple[Mapping[str, str] | None, Mapping[str, str] | None] = (
            None,
            None,
        ),
    ) -> tuple[CommandOutcome, _CommandArgs]:
        """Do what Mattermost does before it sends the request."""
        # api4 executeCommand rejects a line that is not "/" plus something.
        if len(line) <= 1 or not line.startswith("/"):
            error = AppError.make("api.command.execute_command.start.app_error", 400)
            return CommandOutcome(None, [], "", "", error=error), args

        # split the line and create the one-off response_url
        trigger, text = split_command_line(line)
        args.trigger = trigger[1:]
        hook = self._create_hook(args)
        response_url = f"{self.site_url}/hooks/commands/{hook.id}"

        # build the form and the request
        fields = self._form_fields(args, command.token, text, response_url, mentions)
        request = build_command_request(
            command.url,
            command.method,
            command.token,
            fields,
            oauth_access_token=command.oauth_access_token,
        )
        return CommandOutcome(request, [], hook.id, response_url), args

    def _form_fields(
        self,
        args: _CommandArgs,
        token: str,
        text: bytes,
        response_url: str,
        mentions: tuple[Mapping[str, str] | None, Mapping[str, str] | None],
    ) -> list[tuple[str, bytes]]:
        directory = self.directory
        team = directory.teams[args.team_id]
        channel = directory.channels[args.channel_id]
        decoded = text.decode("utf-8", "replace")
        users, channels = mentions
        if users is None:
            users = find_user_mentions(decoded, team.id, directory)
        if channels is None:
            channels = find_channel_mentions(decoded, team.id, directory)
        plain = [
            ("token", token),
            ("team_id", team.id),
            ("team_domain", team.name),
            ("channel_id", channel.id),
            ("channel_name", channel.name),
            ("user_id", args.user.id),
            ("user_name", args.user.username),
            ("command", "/" + args.trigger),
        ]
        fields = [(key, value.encode()) for key, value in plain]
        fields.append(("text", text))
        trigger_id = generate_trigger_id(args.user.id, _now_ms(self.now))
        fields += [
            ("trigger_id", trigger_id.encode()),
            ("root_id", args.root_id.encode()),
        ]
        fields += _mention_fields("user", users) + _mention_fields("channel", channels)
        fields.append(("response_url", response_url.encode()))
        return fields

    def _untrusted_address(self, command_url: str) -> str:
        """Return the refusal for a private address not allowed, or ''."""
        host = urlsplit(command_url).hostname or ""
        if host in _LOOPBACK_NAMES:
            return ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return ""
        if address.is_private or address.is_loopback or address.is_link_local:
            return (
                "address forbidden, you may need to set "
                "AllowedUntrustedInternalConnections to allow an integration "
                "access to your internal network"
            )
        return ""

    async def _send_and_interpret(
        self, outcome: CommandOutcome, args: _CommandArgs, integration_timeout: float
    ) -> CommandOutcome:
        assert outcome.request is not None
        limit = min(integration_timeout, CLIENT_TIMEOUT_SECONDS)
        try:
            async with asyncio.timeout(limit):
                outcome.exchanges = await send_like_go(outcome.request)
        except BodyReadError as error:
            outcome.exchanges = error.exchanges
            return self._body_unreadable(outcome, args, str(error))
        except TransportError as error:
            outcome.exchanges = error.exchanges
            return self._failed(outcome, args, str(error))
        except TimeoutError:
            reason = "context deadline exceeded (Client.Timeout exceeded)"
            return self._failed(outcome, args, reason)
        return self._interpret(outcome, args)

    def _failed(
        self, outcome: CommandOutcome, args: _CommandArgs, reason: str
    ) -> CommandOutcome:
        outcome.transport_error = reason
        outcome.error = AppError.make(
            "api.command.execute_command.failed.app_error",
            500,
            reason,
            trigger=args.trigger,
        )
        return outcome

    def _body_unreadable(
        self, outcome: CommandOutcome, args: _CommandArgs, reason: str
    ) -> CommandOutcome:
        """A body read error fails JSON parsing, but for any other content type
        CommandResponseFromHTTPBody returns nil, which Mattermost calls empty."""
        response = outcome.response
        assert response is not None
        if response.status_code != 200:
            return self._interpret(outcome, args)
        media_type = response.header("Content-Type").split(";")[0].strip()
        if media_type == "application/json":
            return self._failed(outcome, args, reason)
        outcome.transport_error = reason
        outcome.error = AppError.make(
            "api.command.execute_command.failed_empty.app_error",
            500,
            trigger=args.trigger,
        )
        return outcome

    def _interpret(self, outcome: CommandOutcome, args: _CommandArgs) -> CommandOutcome:
        response = outcome.response
        assert response is not None
        if response.status_code != 200:
            outcome.error = AppError.make(
                "api.command.execute_command.failed_resp.app_error",
                500,
                response.body.decode("utf-8", "replace"),
                trigger=args.trigger,
                status=response.status,
            )
            return outcome
        try:
            reply = command_response_from_body(
                response.header("Content-Type"), response.body
            )
        except GoJSONError as error:
            return self._failed(outcome, args, str(error))
        outcome.goto_location = reply["goto_location"]
        with self._lock:
            posts, error = self._handle_command_response(args, reply, "command")
        outcome.posts = [post for post in posts if not post.ephemeral]
        outcome.ephemeral = [post for post in posts if post.ephemeral]
        outcome.error = error
        return outcome

    # ------------------------------------------------------- posting a response

    def _create_hook(self, args: _CommandArgs) -> CommandWebhook:
        hook = CommandWebhook(
            new_id(),
            args.user.id,
            args.channel_id,
            args.team_id,
            args.root_id,
            _now_ms(self.now),
        )
        with self._lock:
            self._hooks[hook.id] = hook
        return hook

    def _handle_command_response(
        self, args: _CommandArgs, reply: dict[str, Any], source: str
    ) -> tuple[list[Post], AppError | None]:
        """Post the reply and each extra response; called with the lock held.

        As in HandleCommandResponse, a failed post does not stop the others,
        and the posts that succeeded stay.
        """
        posts: list[Post] = []
        last_error: AppError | None = None
        for item in [reply, *(reply["extra_responses"] or [])]:
            try:
                post = self._handle_response_post(args, item, source)
            except _PostRejected as rejected:
                last_error = rejected.error
                continue
            if post is not None:
                posts.append(post)
        if last_error is None:
            return posts, None
        error = AppError.make(
            "api.command.execute_command.create_post_failed.app_error",
            500,
            last_error.message,
            trigger=args.trigger,
        )
        return posts, error

    def _handle_response_post(
        self, args: _CommandArgs, reply: dict[str, Any], source: str
    ) -> Post | None:
        channel_id = args.channel_id
        if reply["channel_id"]:
            if not self.directory.is_member(reply["channel_id"], args.user.id):
                raise _PostRejected(
                    AppError.make("api.command.command_post.forbidden.app_error", 403)
                )
            channel_id = reply["channel_id"]

        # Slack compatibility, unless the reply sets skip_slack_parsing
        text, attachments = reply["text"], reply["attachments"]
        if not reply["skip_slack_parsing"]:
            text = process_slack_text(text, self.directory)
            attachments = process_attachments(attachments, self.directory)
            text = parse_slack_links(text)

        post_type = reply["type"]
        if post_type.startswith("system_"):
            raise _PostRejected(
                AppError.make(
                    "api.context.invalid_param.app_error", 400, name="post.type"
                )
            )
        props = self._post_props(reply["props"])
        if attachments is not None:
            post_type = post_type or "slack_attachment"
            props["attachments"] = parse_message_attachments(attachments)
        post = Post(
            new_id(), channel_id, args.user.id, args.root_id, text, post_type, props,
            _now_ms(self.now), ephemeral=False, source=source,
        )  # fmt: skip
        return self._store_post(post, reply["response_type"], attachments)

    @staticmethod
    def _post_props(reply_props: dict[str, Any] | None) -> dict[str, Any]:
        reserved = {"from_webhook", "override_username", "override_icon_url"}
        props = {
            key: value
            for key, value in (reply_props or {}).items()
            if key not in reserved and key != "override_icon_emoji"
        }
        # Custom command posts carry the BOT tag.
        props["from_webhook"] = "true"
        return props

    def _store_post(
        self, post: Post, response_type: str, attachments: list | None
    ) -> Post | None:
        if response_type == "in_channel":
            if len(post.message) > MAX_POST_RUNES:
                raise _PostRejected(
                    AppError.make("model.post.is_valid.message_length.app_error", 400)
                )
            self._posts.append(post)
            return post
        has_content = post.message != "" or attachments is not None
        if response_type in ("", "ephemeral") and has_content:
            post.ephemeral = True
            self._ephemeral.append(post)
            return post
        # Any other response_type, or an empty ephemeral reply, posts nothing.
        return None

    # ------------------------------------------------------- the HTTP endpoints

    def _routes(self) -> list[Route]:
        return [
            Route("/hooks/commands/{hook_id}", self._command_webhook, methods=["POST"]),
            # TODO: the v4 REST API routes go here when tests need them.
            Route("/{path:path}", self._fallback, methods=_ALL_METHODS),
        ]

    async def _record(self, request: Request, status_code: int) -> None:
        received = ReceivedRequest(
            request.method,
            request.url.path,
            request.url.query,
            tuple(request.headers.items()),
            await request.body(),
            status_code,
        )
        with self._lock:
            self._requests.append(received)
        path = request.url.path
        if path.startswith("/hooks/"):
            path = path.rsplit("/", 1)[0] + "/<id>"
        logger.debug("%s %s -> %d", request.method, path, status_code)

    async def _fallback(self, request: Request) -> Response:
        """Any other path: GET serves the web app page (200 text/html), any
        other method is 405 with an empty body, as Mattermost's router does."""
        if request.method in ("GET", "HEAD"):
            response = Response(_WEBAPP_PAGE, headers={"Content-Type": "text/html"})
        else:
            response = Response(b"", status_code=405)
        await self._record(request, response.status_code)
        return response

    async def _command_webhook(self, request: Request) -> Response:
        hook_id = request.path_params["hook_id"]
        if not (hook_id.isascii() and hook_id.isalnum()):
            # The route only matches [A-Za-z0-9]+; the catch-all is GET only.
            return await self._fallback(request)
        body = await request.body()
        try:
            reply = command_response_from_body(
                request.headers.get("content-type", ""), body
            )
        except GoJSONError as error:
            parse_error = AppError.make(
                "web.command_webhook.parse.app_error", 400, str(error)
            )
            return await self._app_error_response(request, parse_error)
        error = self._handle_command_webhook(hook_id, reply)
        if error is not None:
            return await self._app_error_response(request, error)
        await self._record(request, 200)
        return Response(b"ok", headers={"Content-Type": "text/plain"})

    async def _app_error_response(self, request: Request, error: AppError) -> Response:
        # The hook id in the path is the URL's only secret, so it is not logged.
        logger.info("Hook request rejected with %d %s", error.status_code, error.id)
        await self._record(request, error.status_code)
        return Response(
            error.to_json(),
            status_code=error.status_code,
            headers={
                "Content-Type": "application/json",
                "X-Request-Id": error.request_id,
            },
        )

    def _handle_command_webhook(
        self, hook_id: str, reply: dict[str, Any]
    ) -> AppError | None:
        """Find the hook, count the use, then post, as HandleCommandWebhook."""
        with self._lock:
            hook = self._hooks.get(hook_id)
            oldest = _now_ms(self.now) - HOOK_LIFETIME_SECONDS * 1000
            if hook is None or hook.create_at <= oldest:
                return AppError.make("app.command_webhook.get.missing", 404)
            # TryUse counts the use before the post, so a failed post burns it.
            if hook.use_count >= HOOK_MAX_USES:
                return AppError.make("app.command_webhook.try_use.invalid", 400)
            hook.use_count += 1
            user = self.directory.users[hook.user_id]
            args = _CommandArgs(user, hook.channel_id, hook.team_id, hook.root_id, "")
            _, error = self._handle_command_response(args, reply, "response_url")
        return error


class _PostRejected(Exception):
    def __init__(self, error: AppError) -> None:
        super().__init__(error.message)
        self.error = error
