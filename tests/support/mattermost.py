"""A stand-in for the Mattermost server, for tests of Parley's slash command
and channel bot.

Mattermost cannot run here, so this module plays the sides of it that
Parley meets:

* `MattermostStandIn.execute_command` sends the request Mattermost sends to a
  custom slash command's URL and reads the reply the way Mattermost does. It
  returns a `CommandOutcome`: what the invoking user sees (an error under the
  message box, an ephemeral message, an in-channel post) and the raw exchange.
* The stand-in's HTTP server on 127.0.0.1 accepts `POST /hooks/commands/{id}`,
  the `response_url` of each invocation, and records the posts it creates.
* The same server answers the part of the v4 REST API a channel bot uses:
  `GET /api/v4/users/me`, `POST /api/v4/users/login`, `GET /api/v4/users/
  {id}`, `POST /api/v4/posts`, `GET /api/v4/posts/{id}`, `PUT /api/v4/posts/
  {id}/patch`, `GET /api/v4/channels/{id}/posts` and `GET /api/v4/channels/
  {id}/members/{user_id}`. Any other path under /api/v4/ is the API's JSON
  404. Tests get a bot and its access token from `add_bot`, or log a human
  in after `set_password`.
* `MattermostStandIn.click` presses an interactive button as `POST /api/v4/
  posts/{id}/actions/{action}` does (that route works too): it sends the
  integration request and applies the reply. It returns an `ActionOutcome`.

The behaviour follows Mattermost's server source (repository
mattermost/mattermost, read mid-2026): `server/channels/app/command.go`
(`ExecuteCommand`, `tryExecuteCustomCommand`, `DoCommandRequest`,
`HandleCommandResponse`, `CreateCommandPost`), `server/public/model/
command_response.go`, `message_attachment.go`, `server/channels/app/webhook.go`
(`HandleCommandWebhook`), `server/channels/web/webhook.go`, `static.go` and
`handlers.go`, plus Go's net/http client for redirects. The API follows
`server/channels/web/handlers.go` (sessions, CSRF, the 404 answer),
`server/channels/app/authentication.go` (`ParseAuthTokenFromRequest`),
`server/channels/api4/user.go`, `post.go`, `post_utils.go`, `channel.go` and
`integration_action.go`, `server/channels/app/post.go` (`CreatePostAsUser`,
`CreatePost`, `deduplicateCreatePost`, `UpdatePost`), `server/channels/app/
integration_action.go` (`DoPostActionWithCookie`, `DoActionRequest`),
`server/channels/store/sqlstore/post_store.go`, and the models in
`server/public/model/` (`post.go`, `user.go`, `channel_member.go`, `role.go`,
`integration_action.go`). The rate limiter is `server/channels/app/
ratelimit.go` over github.com/throttled/throttled v2.2.5. Error messages are
the English strings of `server/i18n/en.json`; Mattermost localises them, so
tests should assert the error `id` and status, not the text.

The stand-in behaves as a server whose `AllowedUntrustedInternalConnections`
lists 127.0.0.1, ::1 and localhost, with `EnableDeveloper` off (so
`detailed_error` is empty in error bodies), with post username and icon
overrides off, and with the default permission scheme. Rate limiting is off
until `rate_limit` switches it on. `fail_api` makes the next API requests
fail as a reverse proxy in front of Mattermost would, for outage tests.

NOTE: the API has no OAuth, no personal access tokens for humans, no files,
reactions, link previews or post deletion, and ignores the `after` and
`before` cursors of a channel's post list.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import dataclasses
import hashlib
import hmac
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
from http import HTTPStatus
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
# Post.IsValid rejects longer messages. The store allows a quarter of the
# Posts.Message column's bytes, and that column is VARCHAR(65535)
# (determineMaxPostSize in server/channels/store/sqlstore/post_store.go,
# server/channels/db/migrations/postgres/000020_create_posts.up.sql).
MAX_POST_RUNES = 65535 // 4
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
    "api.context.404.app_error": "Sorry, we could not find the page.",
    "api.context.invalid_body_param.app_error": (
        "Invalid or missing {name} in request body."
    ),
    "api.context.invalid_url_param.app_error": (
        "Invalid or missing {name} parameter in request URL."
    ),
    "api.context.permissions.app_error": (
        "You do not have the appropriate permissions."
    ),
    "api.context.session_expired.app_error": (
        "Invalid or expired session, please login again."
    ),
    "api.context.token_provided.app_error": (
        "Session is not OAuth but token was provided in the query string."
    ),
    "api.user.login.blank_pwd.app_error": "Password field must not be blank",
    "api.user.login.bot_login_forbidden.app_error": "Bot login is forbidden.",
    "api.user.login.invalid_credentials_email_username": (
        "Enter a valid email or username and/or password."
    ),
    "app.user.missing_account.const": "Unable to find the user.",
    "app.channel.get.existing.app_error": (
        "Unable to find the existing channel {channel_id}."
    ),
    "app.channel.get_member.missing.app_error": (
        "No channel member found for that user ID and channel ID."
    ),
    "app.post.get.app_error": "Unable to get the post.",
    "app.post.save.existing.app_error": "You cannot update an existing Post.",
    "api.post.create_post.root_id.app_error": "Invalid RootId parameter.",
    "api.post.create_post.channel_root_id.app_error": (
        "Invalid ChannelId for RootId parameter."
    ),
    "api.post.deduplicate_create_post.failed_to_get": (
        "Failed to fetch original post after deduplicating a client repeating "
        "the same request."
    ),
    "api.post.do_action.action_id.app_error": "Invalid action id.",
    "api.post.do_action.action_integration.app_error": "Action integration error.",
    "model.post.is_valid.type.app_error": "Invalid type.",
    "model.post.is_valid.props.app_error": "Invalid props.",
    "model.post.is_valid.file_ids.app_error": (
        "Invalid file ids. Note that uploads are limited to 10 files maximum. "
        "Please use additional posts for more files."
    ),
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


def _default_timezone() -> dict[str, str]:
    # timezones.DefaultUserTimezone: every value is a string, even the flag.
    return {
        "automaticTimezone": "",
        "manualTimezone": "",
        "useAutomaticTimezone": "true",
    }


@dataclass
class Account:
    """What Mattermost stores about a user besides the id and username.

    `roles` contains the system roles of model.User.Roles. A password is kept
    only as its SHA-256 digest, and an empty digest means no password login.
    """

    email: str
    create_at: int
    update_at: int
    roles: str = "system_user"
    is_bot: bool = False
    first_name: str = ""
    last_name: str = ""
    nickname: str = ""
    locale: str = "en"
    timezone: dict[str, str] = field(default_factory=_default_timezone)
    password_sha256: str = ""


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

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.users: dict[str, User] = {}
        self.accounts: dict[str, Account] = {}
        self.teams: dict[str, Team] = {}
        self.channels: dict[str, Channel] = {}
        self.channel_members: dict[str, set[str]] = {}
        self.channel_admins: dict[str, set[str]] = {}
        self.team_members: dict[str, set[str]] = {}
        self._now = now

    def add_team(self, name: str) -> Team:
        team = Team(new_id(), name)
        self.teams[team.id] = team
        self.team_members[team.id] = set()
        return team

    def add_user(
        self, username: str, *, teams: Iterable[Team] = (), is_bot: bool = False
    ) -> User:
        if self.user_by_name(username) is not None:
            raise ValueError(f"A user named {username!r} already exists.")
        user = User(new_id(), username)
        self.users[user.id] = user
        # Bots get `<username>@localhost` as model.UserFromBot gives them.
        domain = "localhost" if is_bot else "example.com"
        created = _now_ms(self._now)
        self.accounts[user.id] = Account(
            f"{username}@{domain}", created, created, is_bot=is_bot
        )
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
        self.channel_admins[channel.id] = set()
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

    `source` is "command" for the synchronous reply, "response_url" for a post
    made through the hook, "api" for `POST /api/v4/posts` and "action" for the
    ephemeral reply to a button click. `pending_post_id` is the value the
    creating request carried; Mattermost does not store it, so only the
    create response shows it.
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
    update_at: int = 0
    edit_at: int = 0
    delete_at: int = 0
    is_pinned: bool = False
    original_id: str = ""
    hashtags: str = ""
    file_ids: list[str] = field(default_factory=list)
    pending_post_id: str = ""
    has_reactions: bool = False

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

    def to_json(self, *, wipe_detail: bool = True) -> bytes:
        # The server wipes detailed_error unless EnableDeveloper is on, except
        # in the API's not-found response, which no handler wraps.
        body: dict[str, Any] = {
            "id": self.id,
            "message": self.message,
            "detailed_error": "" if wipe_detail else self.detailed_error,
        }
        # request_id and status_code are `omitempty` in model.AppError.
        if self.request_id:
            body["request_id"] = self.request_id
        body["status_code"] = self.status_code
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


@dataclass
class ActionOutcome:
    """What one click on an interactive button did.

    `status` and `error` are what `POST /api/v4/posts/{id}/actions/{action}`
    returns (200 and None on success). `request` is the JSON body sent to
    the integration and `response` the integration's response. Both are
    None when the click failed before anything was sent. `ephemeral_text` is
    what the clicking user saw, after link parsing, and `trigger_id` is the
    one the web app gets.
    """

    status: int
    error: AppError | None = None
    ephemeral_text: str = ""
    request: dict[str, Any] | None = None
    response: Exchange | None = None
    trigger_id: str = ""


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
        # A nested struct is a pointer in these Go types, so it starts nil.
        return {
            name: None if isinstance(kind, GoStruct) else kind.zero()
            for name, kind in self.fields.items()
        }

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
    _check_loopback(url)
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


def _check_loopback(url: str) -> None:
    """Refuse to connect anywhere but this machine's loopback addresses.

    Test equipment never sends traffic off the machine, so a URL naming another
    host, such as a public URL a test left in a button, fails as a dial error
    instead of leaving the machine. Real Mattermost would try to connect.
    """
    host = urlsplit(url).hostname or ""
    if host in ("127.0.0.1", "::1", "localhost"):
        return
    raise TransportError(
        f"dial tcp {host}: the stand-in connects only to loopback addresses"
    )


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
# The v4 REST API: limits and wire shapes
# --------------------------------------------------------------------------

# `pendingPostIDsCacheTTL` in server/channels/app/post.go.
PENDING_POST_ID_TTL_SECONDS = 30
# web.PerPageDefault and web.PerPageMaximum (server/channels/web/params.go);
# a larger per_page is cut to the maximum.
PER_PAGE_DEFAULT = 60
PER_PAGE_MAXIMUM = 200
# The LIMIT in SqlPostStore.GetPostsSince.
POSTS_SINCE_LIMIT = 1000
# PostPropsMaxRunes and PostFileidsMaxRunes in server/public/model/post.go.
MAX_PROPS_RUNES = 800_000
MAX_FILE_IDS_RUNES = 300
# model.PostActionRetainPropKeys: props an action's `update` cannot change.
ACTION_RETAIN_PROP_KEYS = ("from_webhook", "override_username", "override_icon_url")
# Post types Post.IsValid accepts without the `custom_` prefix. A `system_`
# type never gets that far: CreatePostAsUser rejects it first.
_PLAIN_POST_TYPES = frozenset(
    {
        "",
        "slack_attachment",
        "add_bot_teams_channels",
        "warn_metric_status",
        "reminder",
        "me",
    }
)
# Props Post.SanitizeProps removes from what a client sends.
_SANITIZED_PROPS = ("add_channel_member", "force_notification")
# User.SetDefaultNotifications and model.GetDefaultChannelNotifyProps.
_USER_NOTIFY_PROPS = {
    "email": "true",
    "push": "mention",
    "desktop": "mention",
    "desktop_sound": "true",
    "mention_keys": "",
    "channel": "true",
    "push_status": "away",
    "comments": "never",
    "first_name": "false",
    "desktop_threads": "all",
    "email_threads": "all",
    "push_threads": "all",
}
_CHANNEL_NOTIFY_PROPS = {
    "desktop": "default",
    "mark_unread": "all",
    "push": "default",
    "email": "default",
    "ignore_channel_mentions": "default",
    "channel_auto_follow_threads": "off",
}

_POST_FIELDS = GoStruct(
    "Post",
    {
        "id": _STRING,
        "create_at": GoInt64(),
        "update_at": GoInt64(),
        "edit_at": GoInt64(),
        "delete_at": GoInt64(),
        "is_pinned": GoBool(),
        "user_id": _STRING,
        "channel_id": _STRING,
        "root_id": _STRING,
        "original_id": _STRING,
        "message": _STRING,
        "type": _STRING,
        "props": GoMap(),
        "hashtags": _STRING,
        "file_ids": GoSlice(_STRING),
        "pending_post_id": _STRING,
        "has_reactions": GoBool(),
        "reply_count": GoInt64(),
        "last_reply_at": GoInt64(),
        "metadata": GoMap(),
    },
)
_POST_PATCH = GoStruct(
    "PostPatch",
    {
        "is_pinned": GoBool(),
        "message": _STRING,
        "props": GoMap(),
        "file_ids": GoSlice(_STRING),
        "has_reactions": GoBool(),
    },
)
_ACTION_REPLY = GoStruct(
    "PostActionIntegrationResponse",
    {"update": _POST_FIELDS, "ephemeral_text": _STRING, "skip_slack_parsing": GoBool()},
)
_DO_ACTION_REQUEST = GoStruct(
    "DoPostActionRequest", {"selected_option": _STRING, "cookie": _STRING}
)

_GO_HTML_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def go_json(value: Any, *, newline: bool = True) -> bytes:
    """Encode a value as Go's encoding/json does.

    The output is compact with `<`, `>` and `&` escaped, and a float64 without
    a fraction prints as an integer. json.NewEncoder adds the newline,
    json.Marshal does not.
    """
    text = json.dumps(_go_numbers(value), ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _GO_HTML_ESCAPES:
        text = text.replace(char, escaped)
    return (text + "\n" if newline else text).encode()


def _go_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, list):
        return [_go_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _go_numbers(item) for key, item in value.items()}
    return value


def is_valid_id(value: str) -> bool:
    """model.IsValidId: 26 letters or digits."""
    return len(value) == 26 and value.isalnum()


def _is_route_id(value: str) -> bool:
    # The router's `{id:[A-Za-z0-9]+}` patterns.
    return value.isascii() and value.isalnum()


# model.ParseHashtags, with Go's \pL spelled as "a word character that is
# neither a digit nor an underscore".
_LETTER = r"[^\W\d_]"
_VALID_HASHTAG = re.compile(rf"#{_LETTER}(?:{_LETTER}|[0-9._\-])*(?:{_LETTER}|[0-9])")
_PUNCTUATION_START = re.compile(rf"^(?:(?!{_LETTER})[^0-9\s#])+")
_PUNCTUATION_END = re.compile(rf"(?:(?!{_LETTER})[^0-9\s])+$")
_REPEATED_HASH = re.compile(r"^#{2,}")
_GO_SPACE_RUN = re.compile("[" + re.escape("".join(sorted(GO_SPACE))) + "]+")


def parse_hashtags(message: str) -> str:
    """Return a message's hashtags, space-separated, as model.ParseHashtags.

    Each word loses leading and trailing punctuation first. The result is
    cut at a word boundary to stay under 1000 bytes.
    """
    tags = ""
    for word in _GO_SPACE_RUN.split(message):
        word = _PUNCTUATION_START.sub("", word)
        word = _PUNCTUATION_END.sub("", word)
        word = _REPEATED_HASH.sub("#", word)
        if _VALID_HASHTAG.fullmatch(word):
            tags += " " + word
    encoded = tags.encode()
    if len(encoded) > 1000:
        cut = encoded[:999]
        space = cut.rfind(b" ")
        tags = cut[:space].decode("utf-8", "replace") if space > -1 else ""
    return tags.strip()


def normalize_attachments(
    raw: Any, *, new_action_id: Callable[[], str] | None = None
) -> list[dict[str, Any]] | None:
    """Re-encode `props["attachments"]` as model.Post.Attachments does.

    Each element goes through json.Marshal and json.Unmarshal into a
    MessageAttachment: unknown keys vanish, an element that fails to decode
    is dropped, and null fields and actions are removed. Anything but a list
    becomes null. With `new_action_id`, actions without an id get one, as
    GenerateActionIds does when a post is saved. Action ids are kept as sent:
    the server only logs a warning for an id that is not alphanumeric, and
    such a button can never be clicked because no route matches its URL.
    """
    if not isinstance(raw, list):
        return None
    attachments = []
    for item in raw:
        try:
            decoded = (
                _ATTACHMENT.zero()
                if item is None
                else _ATTACHMENT.decode(_go_numbers(item), "attachment")
            )
        except GoJSONError:
            continue
        attachments.append(_attachment_struct(decoded, new_action_id))
    return attachments


def _attachment_struct(
    decoded: dict[str, Any], new_action_id: Callable[[], str] | None
) -> dict[str, Any]:
    # The keys follow MessageAttachment's fields; `actions` is omitempty.
    body: dict[str, Any] = {"id": decoded["id"]}
    for name in _ATTACHMENT_STRINGS[:9]:
        body[name] = decoded[name]
    fields = decoded["fields"]
    body["fields"] = (
        None
        if fields is None
        else [
            {"title": item["title"], "value": item["value"], "short": item["short"]}
            for item in fields
            if item is not None
        ]
    )
    for name in _ATTACHMENT_STRINGS[9:]:
        body[name] = decoded[name]
    body["ts"] = decoded["ts"]
    actions = [
        _action_struct(action, new_action_id)
        for action in decoded["actions"] or []
        if action is not None
    ]
    if actions:
        body["actions"] = actions
    return body


def _action_struct(
    action: dict[str, Any], new_action_id: Callable[[], str] | None
) -> dict[str, Any]:
    # Every PostAction field is omitempty.
    body: dict[str, Any] = {}
    action_id = action["id"] or (new_action_id() if new_action_id else "")
    if action_id:
        body["id"] = action_id
    for name in ("type", "name"):
        if action[name]:
            body[name] = action[name]
    if action["disabled"]:
        body["disabled"] = True
    for name in ("style", "data_source"):
        if action[name]:
            body[name] = action[name]
    if action["options"]:
        body["options"] = [
            None
            if option is None
            else {"text": option["text"], "value": option["value"]}
            for option in action["options"]
        ]
    if action["default_option"]:
        body["default_option"] = action["default_option"]
    integration = action["integration"]
    if integration is not None:
        body["integration"] = {
            name: integration[name] for name in ("url", "context") if integration[name]
        }
    if action["cookie"]:
        body["cookie"] = action["cookie"]
    return body


def _strip_integrations(props: dict[str, Any]) -> dict[str, Any]:
    """Return props as Post.StripActionIntegrations leaves them for clients."""
    props = copy.deepcopy(props)
    if props.get("attachments") is None:
        return props
    attachments = normalize_attachments(props["attachments"])
    for attachment in attachments or []:
        for action in attachment.get("actions", []):
            action.pop("integration", None)
    props["attachments"] = attachments
    return props


def _attachments_equal(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Compare the attachments of two props maps as Post.AttachmentsEqual.

    PostAction.Equals ignores an action's style and disabled flag.
    """

    def comparable(props: dict[str, Any]) -> list[dict[str, Any]]:
        attachments = normalize_attachments(props.get("attachments")) or []
        for attachment in attachments:
            for action in attachment.get("actions", []):
                action.pop("style", None)
                action.pop("disabled", None)
        return attachments

    return comparable(old) == comparable(new)


def _fill_action_ids(props: dict[str, Any]) -> None:
    """Give every action without an id a new one, as GenerateActionIds."""
    attachments = props.get("attachments")
    if not isinstance(attachments, list):
        return
    for attachment in attachments:
        actions = attachment.get("actions") if isinstance(attachment, dict) else None
        for action in actions or []:
            if isinstance(action, dict) and not action.get("id"):
                action["id"] = new_id()


def user_json(user: User, account: Account, *, own: bool) -> dict[str, Any]:
    """Return model.User as the API sends it.

    The caller's own record goes through User.Sanitize with no options and
    keeps its notify props. Another user's record goes through
    SanitizeProfile with the default privacy settings, which show the email
    and full name but drop notify props and the password update time.
    """
    body: dict[str, Any] = {
        "id": user.id,
        "create_at": account.create_at,
        "update_at": account.update_at,
        "delete_at": 0,
        "username": user.username,
        "auth_data": "",
        "auth_service": "",
        "email": account.email,
        "nickname": account.nickname,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "position": "",
        "roles": account.roles,
    }
    if own:
        body["notify_props"] = dict(_USER_NOTIFY_PROPS)
        body["last_password_update"] = account.create_at
    body["locale"] = account.locale
    body["timezone"] = dict(account.timezone)
    if account.is_bot:
        body["is_bot"] = True
    body["disable_welcome_email"] = False
    return body


def channel_member_json(
    channel_id: str, user_id: str, *, admin: bool, last_update_at: int
) -> dict[str, Any]:
    """Return model.ChannelMember for a member who has never viewed the channel."""
    return {
        "channel_id": channel_id,
        "user_id": user_id,
        # The store lists the scheme roles in the order guest, user, admin.
        "roles": "channel_user channel_admin" if admin else "channel_user",
        "last_viewed_at": 0,
        "msg_count": 0,
        "mention_count": 0,
        "mention_count_root": 0,
        "urgent_mention_count": 0,
        "msg_count_root": 0,
        "notify_props": dict(_CHANNEL_NOTIFY_PROPS),
        "last_update_at": last_update_at,
        "scheme_guest": False,
        "scheme_user": True,
        "scheme_admin": admin,
        "explicit_roles": "",
        "autotranslation_disabled": False,
    }


def post_json(
    post: Post, *, reply_count: int, pending: bool = False, metadata: bool = True
) -> dict[str, Any]:
    """Return model.Post as the API sends it, without action integrations.

    `pending` shows the request's pending_post_id, which only the create
    response carries. PreparePostForClient adds `metadata`; for a post with
    attachments it lists one message_attachment embed.
    NOTE: no link previews, files, emojis or reactions appear in metadata.
    """
    body: dict[str, Any] = {
        "id": post.id,
        "create_at": post.create_at,
        "update_at": post.update_at,
        "edit_at": post.edit_at,
        "delete_at": post.delete_at,
        "is_pinned": post.is_pinned,
        "user_id": post.user_id,
        "channel_id": post.channel_id,
        "root_id": post.root_id,
        "original_id": post.original_id,
        "message": post.message,
        "type": post.type,
        "props": _strip_integrations(post.props),
        "hashtags": post.hashtags,
    }
    if post.file_ids:
        body["file_ids"] = list(post.file_ids)
    body["pending_post_id"] = post.pending_post_id if pending else ""
    if post.has_reactions:
        body["has_reactions"] = True
    body["reply_count"] = reply_count
    body["last_reply_at"] = 0
    body["participants"] = None
    if metadata:
        embeds = "attachments" in post.props and not post.delete_at
        body["metadata"] = (
            {"embeds": [{"type": "message_attachment"}]} if embeds else {}
        )
    return body


# --------------------------------------------------------------------------
# The v4 REST API: sessions, rate limits and the reverse proxy
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Session:
    """A login session ("login") or a bot access token ("bot")."""

    token: str
    user_id: str
    kind: str
    csrf: str = ""


def parse_auth_token(request: Request) -> tuple[str, str]:
    """Return the token and where it came from, as ParseAuthTokenFromRequest.

    The MMAUTHTOKEN cookie wins, then `Authorization: Bearer` and `Token`
    (both case-insensitive), then `?access_token=`. Go cuts every token to 50
    bytes before looking it up.
    """
    header = request.headers.get("authorization", "")
    cookie = request.cookies.get("MMAUTHTOKEN")
    if cookie is not None:
        return cookie[:50], "cookie"
    if len(header) > 6 and header[:6].upper() == "BEARER":
        return header[7:][:50], "header"
    if len(header) > 5 and header[:5].lower() == "token":
        return header[6:][:50], "header"
    query = _query_first(request, "access_token")
    if query:
        return query[:50], "query"
    return "", ""


def _query_first(request: Request, name: str) -> str:
    # Go's url.Values.Get returns the first value; Starlette's get, the last.
    values = request.query_params.getlist(name)
    return values[0] if values else ""


def _parse_bool(text: str) -> bool:
    # strconv.ParseBool, with an unparsable value read as false.
    return text in ("1", "t", "T", "TRUE", "true", "True")


def _go_atoi(text: str) -> int | None:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


@dataclass(frozen=True)
class RateDecision:
    """throttled's RateLimitResult for one request. Durations are nanoseconds."""

    limited: bool
    limit: int
    remaining: int
    reset_after: int
    retry_after: int | None

    def headers(self) -> list[tuple[str, str]]:
        """Return what setRateLimitHeaders adds, with Go's canonical names."""
        headers = [
            ("X-Ratelimit-Limit", str(self.limit)),
            ("X-Ratelimit-Remaining", str(self.remaining)),
            ("X-Ratelimit-Reset", str(_ceil_seconds(self.reset_after))),
        ]
        if self.retry_after is not None:
            headers.append(("Retry-After", str(_ceil_seconds(self.retry_after))))
        return headers


def _ceil_seconds(nanoseconds: int) -> int:
    return -(-nanoseconds // 1_000_000_000)


class RateLimiter:
    """The GCRA limiter of github.com/throttled/throttled v2.2.5 (rate.go).

    Mattermost builds it from RateLimitSettings as `MaxRate:
    PerSec(PerSec)` and `MaxBurst: MaxBurst` (server/channels/app/
    ratelimit.go), so `burst + 1` requests pass at once and then one per
    `1 / per_second` seconds. Times are integer nanoseconds, as Go's
    time.Duration.
    """

    def __init__(self, per_second: float, burst: int) -> None:
        # RateLimitSettings.isValid rejects both of these.
        if per_second <= 0:
            raise ValueError(f"per_second must be above 0, not {per_second}.")
        if burst <= 0:
            raise ValueError(f"burst must be above 0, not {burst}.")
        self.emission = int(1_000_000_000 / per_second)
        self.tolerance = self.emission * (burst + 1)
        self.limit = burst + 1
        self._arrivals: dict[str, int] = {}

    def clear(self) -> None:
        """Forget every key, as a restarted server's in-memory store does."""
        self._arrivals.clear()

    def check(self, key: str, now: int) -> RateDecision:
        """Count one request for `key` unless it is over the limit."""
        stored = self._arrivals.get(key)
        arrival = now if stored is None else stored
        next_arrival = max(arrival, now) + self.emission
        allow_at = next_arrival - self.tolerance
        retry_after = None
        if now < allow_at:
            ttl = arrival - now
            retry_after = allow_at - now
        else:
            ttl = next_arrival - now
            self._arrivals[key] = next_arrival
        # Go divides Durations truncating toward zero, so a spare above
        # -emission gives 0 remaining requests, as does any negative one.
        spare = self.tolerance - ttl
        remaining = max(spare, 0) // self.emission
        return RateDecision(
            retry_after is not None, self.limit, remaining, ttl, retry_after
        )


def _limit_exceeded(decision: RateDecision) -> Response:
    # http.Error(w, "limit exceeded", 429) after setRateLimitHeaders.
    headers = dict(decision.headers())
    headers["Content-Type"] = "text/plain; charset=utf-8"
    headers["X-Content-Type-Options"] = "nosniff"
    return Response(b"limit exceeded\n", status_code=429, headers=headers)


def _proxy_failure(status: int) -> Response:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body = f"{status} {phrase}\n".encode()
    return Response(
        body, status_code=status, headers={"Content-Type": "text/plain; charset=utf-8"}
    )


class _Frontend:
    """The ASGI layer in front of the stand-in's routes.

    It plays the reverse proxy that `fail_api` scripts, then Mattermost's
    rate limiter. server.go wraps the limiter around the whole router, so
    every path counts: the API, the hooks and the web app.
    """

    def __init__(self, app: Any, standin: MattermostStandIn) -> None:
        self.app = app
        self.standin = standin

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # the proxy fails the request before Mattermost receives it
        status = self.standin._take_proxy_failure(scope["path"])
        if status is not None:
            await self._answer(scope, receive, send, _proxy_failure(status))
            return

        # the rate limiter counts it by remote address
        client = scope.get("client")
        decision = self.standin._rate_decision(client[0] if client else "")
        if decision is None:
            await self.app(scope, receive, send)
            return
        if decision.limited:
            await self._answer(scope, receive, send, _limit_exceeded(decision))
            return

        extra = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in decision.headers()
        ]

        async def send_with_limits(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_limits)

    async def _answer(
        self, scope: Any, receive: Any, send: Any, response: Response
    ) -> None:
        await self.standin._record(Request(scope, receive), response.status_code)
        await response(scope, receive, send)


# --------------------------------------------------------------------------
# The v4 REST API: handler plumbing
# --------------------------------------------------------------------------


class _ApiFailure(Exception):
    """An AppError that a handler returns, as `c.Err` in Mattermost."""

    def __init__(self, error: AppError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class _Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _ActionPlan:
    """What DoPostActionWithCookie gathered before it calls the integration."""

    url: str
    request: dict[str, Any]
    client_trigger_id: str
    post_id: str
    channel_id: str
    user_id: str
    root_post_id: str
    retain: dict[str, Any]
    remove: list[str]


def _fail(error_id: str, status: int, detail: str = "", **params: str) -> _ApiFailure:
    return _ApiFailure(AppError.make(error_id, status, detail, **params))


def _permission_error() -> _ApiFailure:
    return _fail("api.context.permissions.app_error", 403)


def _require_id(value: str, name: str) -> None:
    if not is_valid_id(value):
        raise _fail("api.context.invalid_url_param.app_error", 400, name=name)


def _decode_body(
    struct: GoStruct, body: bytes, name: str
) -> tuple[dict[str, Any], Any]:
    """Decode a request body as json.Decoder does into a Go struct.

    Raises the 400 of SetInvalidParamWithErr(name) when decoding fails.
    Returns the struct and the parsed JSON, from which callers can tell an
    absent field from a zero one.
    """
    try:
        raw = parse_go_json(body)
        decoded = struct.zero() if raw is None else struct.decode(raw)
    except GoJSONError as error:
        raise _fail(
            "api.context.invalid_body_param.app_error", 400, str(error), name=name
        ) from None
    return decoded, raw


def _present_fields(struct: GoStruct, raw: Any) -> set[str]:
    # A pointer field of a Go struct stays nil when its key is absent or null.
    if not isinstance(raw, dict):
        return set()
    present = set()
    for key, value in raw.items():
        name = struct._field_for(key)
        if value is not None and name is not None:
            present.add(name)
    return present


def _map_from_json(body: bytes) -> dict[str, str]:
    # model.MapFromJSON: any decoding error, a non-string value included,
    # gives an empty map.
    try:
        value = parse_go_json(body)
    except GoJSONError:
        return {}
    if not isinstance(value, dict):
        return {}
    if not all(item is None or isinstance(item, str) for item in value.values()):
        return {}
    return {key: item or "" for key, item in value.items()}


def _api_headers(method: str, request_id: str) -> dict[str, str]:
    # What web.Handler.ServeHTTP sets on every API response.
    headers = {
        "Content-Type": "application/json",
        "X-Request-Id": request_id,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if method == "GET":
        headers["Expires"] = "0"
    return headers


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _api_not_found_error(path: str) -> AppError:
    # Handle404 in server/channels/web/handlers.go keeps this detail even
    # with EnableDeveloper off.
    return AppError.make(
        "api.context.404.app_error",
        404,
        f"There doesn't appear to be an api call for the url='{path}'.  "
        "Typo? are you missing a team_id or user_id as part of the url?",
    )


def _find_action(props: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    # Post.GetAction: the first action with this id in any attachment.
    for attachment in normalize_attachments(props.get("attachments")) or []:
        for action in attachment.get("actions") or []:
            if action.get("id") == action_id:
                return action
    return None


def _newest_first(posts: list[Post]) -> list[Post]:
    # ORDER BY CreateAt DESC; among equal times the later insert comes first.
    return sorted(reversed(posts), key=lambda post: post.create_at, reverse=True)


def _page_params(request: Request) -> tuple[int, int]:
    """Read page and per_page as web.ParamsFromRequest does: a value that is
    not a number or is negative gets the default, and per_page is capped."""
    page = _go_atoi(_query_first(request, "page"))
    per_page = _go_atoi(_query_first(request, "per_page"))
    if page is None or page < 0:
        page = 0
    if per_page is None or per_page < 0:
        per_page = PER_PAGE_DEFAULT
    return page, min(per_page, PER_PAGE_MAXIMUM)


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
    brings it back on the same port. State (users, posts, hooks, sessions,
    requests) survives a restart, as a real server's database would.
    `advance_time` moves the stand-in's clock, which the hook lifetime, the
    pending post id cache and the rate limiter all read, so tests need not
    wait.
    """

    def __init__(self, *, port: int = 0, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._time_offset = 0.0
        self._lock = threading.Lock()
        self.directory = Directory(now=self.now)
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
        self._posts_by_id: dict[str, Post] = {}
        self._versions: dict[str, list[Post]] = {}
        # The deleted copies SqlPostStore.Update inserts for each old version.
        self._edit_copies: list[Post] = []
        self._sessions: dict[str, _Session] = {}
        self._member_updates: dict[tuple[str, str], int] = {}
        # pending_post_id -> (post id, expiry time in seconds)
        self._pending_post_ids: dict[str, tuple[str, float]] = {}
        self._limiter: RateLimiter | None = None
        self._proxy_failures: tuple[int, int] = (0, 503)
        self.app = _Frontend(Starlette(routes=self._routes()), self)
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
        """Stop serving; connections to the port are refused until `start`.

        Like a stopped Mattermost process, the stand-in loses its in-memory
        caches: the rate limiter's counts and the pending post ids seen.
        """
        self._server.stop()
        with self._lock:
            if self._limiter is not None:
                self._limiter.clear()
            self._pending_post_ids.clear()
        logger.info("Mattermost stand-in on port %d stopped", self.port)

    def restart(self) -> None:
        self.stop()
        self.start()

    def reset(self) -> None:
        """Forget posts, hooks, requests, login sessions, the rate limit and
        scripted proxy failures, and undo `advance_time`, so one running
        stand-in can serve many tests.

        Users, bots, their access tokens, passwords and channel memberships
        stay.
        """
        with self._lock:
            self._posts.clear()
            self._ephemeral.clear()
            self._hooks.clear()
            self._requests.clear()
            self._time_offset = 0.0
            self._posts_by_id.clear()
            self._versions.clear()
            self._edit_copies.clear()
            self._pending_post_ids.clear()
            self._limiter = None
            self._proxy_failures = (0, 503)
            self._sessions = {
                token: session
                for token, session in self._sessions.items()
                if session.kind != "login"
            }

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

    def post(self, post_id: str) -> Post | None:
        """The current version of a post, or None for an unknown id."""
        with self._lock:
            post = self._posts_by_id.get(post_id)
            return None if post is None else copy.deepcopy(post)

    def post_history(self, post_id: str) -> list[Post]:
        """Every version of a post, oldest first.

        The first is the post as created, and each accepted patch, update or
        action reply adds one. A root post's update time also moves when a
        reply arrives, but that is not a new version.
        """
        with self._lock:
            return copy.deepcopy(self._versions.get(post_id, []))

    def api_requests(
        self, method: str | None = None, path_prefix: str = "/api/v4/"
    ) -> list[ReceivedRequest]:
        """Requests received under `path_prefix`, oldest first, optionally of
        one method."""
        with self._lock:
            return [
                received
                for received in self._requests
                if received.path.startswith(path_prefix)
                and (method is None or received.method == method)
            ]

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

    # ----------------------------------------------------- accounts and settings

    def add_bot(
        self,
        username: str = "parley",
        *,
        channels: Iterable[Channel] = (),
        roles: str = "system_user",
    ) -> tuple[User, str]:
        """Create a bot in the default team and return it with an access token.

        The bot is a member of `channels` only. Its system roles decide where
        it may post without membership. A bot made with the default settings
        has `system_user` alone, which grants no create_post_public, so it
        must join even open channels (MakeDefaultRoles in server/public/model/
        role.go). Add `system_post_all_public` for open channels of its teams
        or `system_post_all` for every channel, as the "post:channels" and
        "post:all" bot options do.
        """
        with self._lock:
            user = self.directory.add_user(username, teams=[self.team], is_bot=True)
            self.directory.accounts[user.id].roles = roles
            for channel in channels:
                self._add_member(channel.id, user.id)
            token = new_id()
            self._sessions[token] = _Session(token, user.id, "bot")
        logger.info("Created bot %s", username)
        return user, token

    def set_password(self, user: User, password: str) -> None:
        """Let a human user log in with this password."""
        with self._lock:
            account = self.directory.accounts[user.id]
            if account.is_bot:
                raise ValueError(
                    f"{user.username} is a bot, and Mattermost rejects password "
                    "logins for bots; use the token from add_bot."
                )
            account.password_sha256 = _sha256(password)

    def revoke_token(self, token: str) -> None:
        """Revoke a bot access token or end a login session."""
        with self._lock:
            if self._sessions.pop(token, None) is None:
                raise ValueError("That token was never issued or is already revoked.")

    def expire_sessions(self) -> None:
        """End every login session; bot access tokens keep working."""
        with self._lock:
            self._sessions = {
                token: session
                for token, session in self._sessions.items()
                if session.kind != "login"
            }

    def add_channel(
        self, name: str, *, private: bool = False, members: Iterable[User] = ()
    ) -> Channel:
        """Create a channel in the default team; `private` makes it type P."""
        with self._lock:
            channel = self.directory.add_channel(
                name, self.team, channel_type="P" if private else "O"
            )
            for user in members:
                self._add_member(channel.id, user.id)
        return channel

    def add_member(self, channel: Channel, user: User) -> None:
        """Add a user to a channel with the channel_user role."""
        with self._lock:
            self._add_member(channel.id, user.id)

    def make_channel_admin(self, channel: Channel, user: User) -> None:
        """Give a user the channel_admin role, adding them to the channel first."""
        with self._lock:
            self._add_member(channel.id, user.id)
            self.directory.channel_admins[channel.id].add(user.id)
            self._member_updates[(channel.id, user.id)] = _now_ms(self.now)

    def set_timezone(
        self,
        user: User,
        *,
        automatic: str = "",
        manual: str = "",
        use_automatic: bool = True,
    ) -> None:
        """Set model.User.Timezone; its flag is the string "true" or "false"."""
        with self._lock:
            account = self.directory.accounts[user.id]
            account.timezone = {
                "automaticTimezone": automatic,
                "manualTimezone": manual,
                "useAutomaticTimezone": "true" if use_automatic else "false",
            }
            account.update_at = _now_ms(self.now)

    def rate_limit(self, per_second: float | None, burst: int = 100) -> None:
        """Switch RateLimitSettings on with these values, or off with None.

        Mattermost's defaults are 10 requests a second and a burst of 100,
        counted by remote address. Every test client on 127.0.0.1 therefore
        shares one budget. Counts start afresh on each call.
        NOTE: VaryByUser and VaryByHeader are not modelled.
        """
        limiter = None if per_second is None else RateLimiter(per_second, burst)
        with self._lock:
            self._limiter = limiter
        if per_second is None:
            logger.info("Rate limiting off")
        else:
            logger.info("Rate limiting at %s requests/s, burst %d", per_second, burst)

    def fail_api(self, count: int, status: int = 503) -> None:
        """Fail the next `count` requests under /api/v4/ with `status`.

        This is how a reverse proxy in front of Mattermost responds while
        Mattermost is down or overloaded, not how Mattermost responds: the
        body is plain text, not an AppError, and the request never reaches
        the rate limiter or a handler.
        """
        if count < 0 or not 400 <= status <= 599:
            raise ValueError(
                f"count must be 0 or more and status 4xx or 5xx, "
                f"not {count} and {status}."
            )
        with self._lock:
            self._proxy_failures = (count, status)

    def _add_member(self, channel_id: str, user_id: str) -> None:
        # Called with the lock held.
        if not self.directory.is_member(channel_id, user_id):
            self.directory.channel_members[channel_id].add(user_id)
            self._member_updates[(channel_id, user_id)] = _now_ms(self.now)

    def _take_proxy_failure(self, path: str) -> int | None:
        if not path.startswith("/api/v4/"):
            return None
        with self._lock:
            count, status = self._proxy_failures
            if count == 0:
                return None
            self._proxy_failures = (count - 1, status)
        return status

    def _rate_decision(self, remote_address: str) -> RateDecision | None:
        with self._lock:
            if self._limiter is None:
                return None
            now = int(self.now() * 1_000_000_000)
            return self._limiter.check(remote_address, now)

    # ------------------------------------------------------ clicking a button

    async def click(
        self,
        post_id: str,
        action_id: str,
        user: User | None = None,
        *,
        selected_option: str = "",
    ) -> ActionOutcome:
        """Click a button as `POST /api/v4/posts/{id}/actions/{action}` does.

        The default user clicks unless `user` is given. Mattermost sends the
        integration request, applies its `update` and sends `ephemeral_text`
        to the clicking user (see `ephemeral_for`). `selected_option` is the
        choice in a select menu.
        """
        if not (_is_route_id(post_id) and _is_route_id(action_id)):
            # No route matches the URL the web app builds for such an id.
            path = f"/api/v4/posts/{post_id}/actions/{action_id}"
            return ActionOutcome(404, _api_not_found_error(path))
        if not is_valid_id(post_id):
            error = AppError.make(
                "api.context.invalid_url_param.app_error", 400, name="post_id"
            )
            return ActionOutcome(400, error)
        return await self._run_post_action(
            (user or self.user).id, post_id, action_id, selected_option
        )

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
        """Post the reply and each extra response. Called with the lock held.

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
            self._save_post(post)
            return post
        has_content = post.message != "" or attachments is not None
        if response_type in ("", "ephemeral") and has_content:
            post.ephemeral = True
            self._ephemeral.append(post)
            return post
        # Any other response_type, or an empty ephemeral reply, posts nothing.
        return None

    # ------------------------------------------------------- storing posts

    def _save_post(self, post: Post) -> None:
        """Store a new post as SqlPostStore.Save does. Called with the lock held.

        A reply also moves its root's update time to the reply's create time,
        which is how a thread shows up in `since` queries.
        """
        post.update_at = post.create_at
        post.hashtags = parse_hashtags(post.message)
        _fill_action_ids(post.props)
        self._posts.append(post)
        self._posts_by_id[post.id] = post
        self._versions[post.id] = [copy.deepcopy(post)]
        root = self._posts_by_id.get(post.root_id)
        if root is not None:
            root.update_at = max(root.update_at, post.create_at)

    def _update_post(self, old: Post, new: Post) -> Post:
        """Store a changed post as App.UpdatePost and SqlPostStore.Update do.

        Called with the lock held, and `new` is a changed copy of `old`. The
        edit time moves when the message or the attachments change. The old
        version stays in the channel as a deleted copy whose original_id is
        the post's id.
        """
        now = _now_ms(self.now)
        for key in _SANITIZED_PROPS:
            new.props.pop(key, None)
        if new.message != old.message:
            new.edit_at = now
            new.hashtags = parse_hashtags(new.message)
        elif new.file_ids != old.file_ids or not _attachments_equal(
            old.props, new.props
        ):
            new.edit_at = now
        self._check_post(new)
        new.update_at = now

        # keep the old version as SqlPostStore.Update does
        old_copy = dataclasses.replace(
            copy.deepcopy(old),
            id=new_id(),
            original_id=old.id,
            delete_at=now,
            update_at=now,
        )
        self._edit_copies.append(old_copy)

        # store the new version in place, so every reference to the post has it
        stored = self._posts_by_id[old.id]
        for item in dataclasses.fields(Post):
            setattr(stored, item.name, getattr(new, item.name))
        self._versions[old.id].append(copy.deepcopy(stored))
        root = self._posts_by_id.get(stored.root_id)
        if root is not None:
            root.update_at = max(root.update_at, now)
        return stored

    def _check_post(self, post: Post) -> None:
        """Normalise attachments and run Post.IsValid's checks that a client
        can fail. Called with the lock held."""
        if post.props.get("attachments") is not None:
            post.props["attachments"] = normalize_attachments(
                post.props["attachments"], new_action_id=new_id
            )
        post.file_ids = list(dict.fromkeys(post.file_ids))
        if len(post.message) > MAX_POST_RUNES:
            raise _fail("model.post.is_valid.message_length.app_error", 400)
        if len(go_json(post.file_ids, newline=False).decode()) > MAX_FILE_IDS_RUNES:
            raise _fail("model.post.is_valid.file_ids.app_error", 400)
        if len(go_json(post.props, newline=False).decode()) > MAX_PROPS_RUNES:
            raise _fail("model.post.is_valid.props.app_error", 400)

    def _live_post(self, post_id: str) -> Post | None:
        post = self._posts_by_id.get(post_id)
        return None if post is None or post.delete_at else post

    def _reply_count(self, post: Post) -> int:
        # The ReplyCount SqlPostStore.GetSingle counts: live replies in the thread.
        root_id = post.root_id or post.id
        return sum(1 for p in self._posts if p.root_id == root_id and not p.delete_at)

    def _post_body(self, post: Post, *, pending: bool = False) -> dict[str, Any]:
        return post_json(post, reply_count=self._reply_count(post), pending=pending)

    # ------------------------------------------------------------ permissions

    def _has_role(self, user_id: str, role: str) -> bool:
        return role in self.directory.accounts[user_id].roles.split()

    def _is_admin(self, user_id: str) -> bool:
        return self._has_role(user_id, "system_admin")

    def _is_channel_user(self, user_id: str, channel_id: str) -> bool:
        """Whether the user has the channel_user role's permissions there.

        Members get them from the role (read, create, edit and delete own
        posts); system admins have every permission everywhere.
        """
        return self._is_admin(user_id) or self.directory.is_member(channel_id, user_id)

    def _can_create_post(self, user_id: str, channel: Channel) -> bool:
        # userCreatePostPermissionCheckWithContext in api4/post_utils.go.
        if self._is_channel_user(user_id, channel.id):
            return True
        if self._has_role(user_id, "system_post_all"):
            return True
        return channel.type == "O" and self._has_role(user_id, "system_post_all_public")

    def _can_read(self, user_id: str, channel: Channel) -> bool:
        # HasPermissionToReadChannel: team members may read an open channel.
        if self._is_channel_user(user_id, channel.id):
            return True
        team_members = self.directory.team_members.get(channel.team_id, set())
        return channel.type == "O" and user_id in team_members

    def _can_edit(self, user_id: str, post: Post) -> bool:
        # edit_post for one's own post, edit_others_posts (admins) for others.
        if post.user_id == user_id:
            return self._is_channel_user(user_id, post.channel_id)
        return self._is_admin(user_id)

    # ---------------------------------------------------------- the v4 REST API

    def _api_routes(self) -> list[Route]:
        endpoint = self._endpoint
        return [
            Route("/api/v4/users/me", endpoint(self._get_me), methods=["GET"]),
            Route(
                "/api/v4/users/login",
                endpoint(self._login, session_required=False),
                methods=["POST"],
            ),
            Route("/api/v4/users/{user_id}", endpoint(self._get_user), methods=["GET"]),
            Route("/api/v4/posts", endpoint(self._create_post), methods=["POST"]),
            Route("/api/v4/posts/{post_id}", endpoint(self._get_post), methods=["GET"]),
            Route(
                "/api/v4/posts/{post_id}/patch",
                endpoint(self._patch_post),
                methods=["PUT"],
            ),
            Route(
                "/api/v4/posts/{post_id}/actions/{action_id}",
                endpoint(self._post_action),
                methods=["POST"],
            ),
            Route(
                "/api/v4/channels/{channel_id}/posts",
                endpoint(self._channel_posts),
                methods=["GET"],
            ),
            Route(
                "/api/v4/channels/{channel_id}/members/{user_id}",
                endpoint(self._channel_member),
                methods=["GET"],
            ),
            Route("/api/v4/{path:path}", self._api_not_found, methods=_ALL_METHODS),
        ]

    def _endpoint(
        self, handler: Callable[[Request, Any], Any], *, session_required: bool = True
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            if not all(_is_route_id(value) for value in request.path_params.values()):
                return await self._api_not_found(request)
            return await self._api_call(request, handler, session_required)

        return endpoint

    async def _api_call(
        self,
        request: Request,
        handler: Callable[[Request, Any], Any],
        session_required: bool,
    ) -> Response:
        """Run a handler as web.Handler.ServeHTTP does: find the session, call
        the handler, and send any AppError as its JSON body."""
        try:
            session = self._authenticate(request, session_required)
            reply = await handler(request, session)
        except _ApiFailure as failure:
            return await self._api_error_response(request, failure.error)
        headers = {**_api_headers(request.method, new_id()), **reply.headers}
        response = Response(
            go_json(reply.body), status_code=reply.status, headers=headers
        )
        await self._record(request, reply.status)
        return response

    async def _api_error_response(self, request: Request, error: AppError) -> Response:
        logger.info(
            "API request %s %s rejected with %d %s",
            request.method,
            request.url.path,
            error.status_code,
            error.id,
        )
        await self._record(request, error.status_code)
        return Response(
            error.to_json(),
            status_code=error.status_code,
            headers=_api_headers(request.method, error.request_id),
        )

    async def _api_not_found(self, request: Request) -> Response:
        """Return Handle404's JSON 404 for any other /api/v4/ path or method."""
        error = _api_not_found_error(request.url.path)
        await self._record(request, 404)
        return Response(
            error.to_json(wipe_detail=False),
            status_code=404,
            headers={"Content-Type": "application/json"},
        )

    def _authenticate(
        self, request: Request, session_required: bool
    ) -> _Session | None:
        """Find the request's session as web.Handler.ServeHTTP does.

        An unknown, revoked or expired token is a 401 where a session is
        required. A token in the query string is a 401 everywhere, because
        only OAuth sessions may use it and the stand-in has none. A cookie
        needs a CSRF header on anything but GET.
        """
        token, location = parse_auth_token(request)
        session = None
        if token:
            with self._lock:
                session = self._sessions.get(token)
            if session is not None and location == "query":
                raise _fail("api.context.token_provided.app_error", 401)
            unsafe = location == "cookie" and request.method != "GET"
            if (
                session is not None
                and unsafe
                and not self._csrf_passes(request, session)
            ):
                raise _fail("api.context.session_expired.app_error", 401)
        if session is None and session_required:
            raise _fail("api.context.session_expired.app_error", 401)
        return session

    @staticmethod
    def _csrf_passes(request: Request, session: _Session) -> bool:
        # checkCSRFToken, with ExperimentalStrictCSRFEnforcement off.
        if request.headers.get("x-csrf-token") == session.csrf:
            return True
        return request.headers.get("x-requested-with") == "XMLHttpRequest"

    # ------------------------------------------------------------------- users

    async def _get_me(self, request: Request, session: _Session) -> _Reply:
        with self._lock:
            user = self.directory.users[session.user_id]
            return _Reply(
                200, user_json(user, self.directory.accounts[user.id], own=True)
            )

    async def _get_user(self, request: Request, session: _Session) -> _Reply:
        user_id = request.path_params["user_id"]
        _require_id(user_id, "user_id")
        with self._lock:
            user = self.directory.users.get(user_id)
            if user is None:
                raise _fail("app.user.missing_account.const", 404)
            account = self.directory.accounts[user_id]
            return _Reply(200, user_json(user, account, own=user_id == session.user_id))

    async def _login(self, request: Request, session: _Session | None) -> _Reply:
        """`POST /api/v4/users/login`, as api4/user.go login and
        App.AuthenticateUserForLogin.

        Every failure but the unmasked ones (a blank password, a bot) becomes
        invalid_credentials_email_username.
        """
        fields = _map_from_json(await request.body())
        login_id, password = fields.get("login_id", ""), fields.get("password", "")
        if not password:
            raise _fail("api.user.login.blank_pwd.app_error", 400)
        invalid = _fail("api.user.login.invalid_credentials_email_username", 401)
        with self._lock:
            user = self._user_for_login(login_id)
            if user is None:
                raise invalid
            account = self.directory.accounts[user.id]
            if account.is_bot:
                raise _fail("api.user.login.bot_login_forbidden.app_error", 401)
            given = _sha256(password)
            if not account.password_sha256 or not hmac.compare_digest(
                given, account.password_sha256
            ):
                raise invalid
            new_session = _Session(new_id(), user.id, "login", csrf=new_id())
            self._sessions[new_session.token] = new_session
            body = user_json(user, account, own=True)
        logger.info("User %s logged in", user.username)
        return _Reply(200, body, {"Token": new_session.token})

    def _user_for_login(self, login_id: str) -> User | None:
        # Sign-in with username and with email are both on by default.
        wanted = login_id.lower()
        for user in self.directory.users.values():
            account = self.directory.accounts[user.id]
            if wanted in (user.username.lower(), account.email.lower()):
                return user
        return None

    async def _channel_member(self, request: Request, session: _Session) -> _Reply:
        """Read a membership; the caller needs read_channel, so a non-member
        gets 403 even when asking about themselves."""
        channel_id = request.path_params["channel_id"]
        user_id = request.path_params["user_id"]
        _require_id(channel_id, "channel_id")
        if user_id == "me":
            user_id = session.user_id
        _require_id(user_id, "user_id")
        with self._lock:
            channel = self.directory.channels.get(channel_id)
            if channel is None or not self._is_channel_user(
                session.user_id, channel_id
            ):
                raise _permission_error()
            if not self.directory.is_member(channel_id, user_id):
                raise _fail("app.channel.get_member.missing.app_error", 404)
            return _Reply(
                200,
                channel_member_json(
                    channel_id,
                    user_id,
                    admin=user_id in self.directory.channel_admins[channel_id],
                    last_update_at=self._member_updates.get((channel_id, user_id), 0),
                ),
            )

    # ------------------------------------------------------------------- posts

    async def _create_post(self, request: Request, session: _Session) -> _Reply:
        """`POST /api/v4/posts`, as api4 createPost, App.CreatePostAsUser and
        App.CreatePost, with deduplication by pending_post_id.

        A create repeated with the same pending_post_id within 30 s of the
        first one's success returns the first post (201, as stored: its
        pending_post_id empty and no metadata), unless the caller may not
        read it. Mattermost returns 500 api.post.deduplicate_create_post.
        pending while the first is still being saved. The stand-in saves
        under its lock, so that response never occurs here.
        """
        fields, _ = _decode_body(_POST_FIELDS, await request.body(), "post")
        user_id = session.user_id
        with self._lock:
            channel = self.directory.channels.get(fields["channel_id"])
            if channel is None or not self._can_create_post(user_id, channel):
                raise _permission_error()
            if fields["file_ids"] and not self._is_channel_user(user_id, channel.id):
                raise _permission_error()
            if fields["type"].startswith("system_"):
                raise _fail(
                    "api.context.invalid_param.app_error", 400, name="post.type"
                )

            pending_post_id = fields["pending_post_id"]
            found = self._deduplicate(pending_post_id, user_id)
            if found is not None:
                body = post_json(
                    found, reply_count=self._reply_count(found), metadata=False
                )
                return _Reply(201, body)
            try:
                post = self._new_api_post(fields, user_id, channel)
            except _ApiFailure:
                self._pending_post_ids.pop(pending_post_id, None)
                raise
            self._save_post(post)
            if pending_post_id:
                expiry = self.now() + PENDING_POST_ID_TTL_SECONDS
                self._pending_post_ids[pending_post_id] = (post.id, expiry)
            return _Reply(201, self._post_body(post, pending=True))

    def _deduplicate(self, pending_post_id: str, user_id: str) -> Post | None:
        """Return the post an earlier create with this pending_post_id made,
        as App.deduplicateCreatePost. Called with the lock held."""
        if not pending_post_id:
            return None
        entry = self._pending_post_ids.get(pending_post_id)
        if entry is None or self.now() > entry[1]:
            return None
        post = self._live_post(entry[0])
        if post is None:
            raise _fail("api.post.deduplicate_create_post.failed_to_get", 500)
        if not self._can_read(user_id, self.directory.channels[post.channel_id]):
            # GetPostIfAuthorized returned 403, so the create goes ahead.
            return None
        return post

    def _new_api_post(
        self, fields: dict[str, Any], user_id: str, channel: Channel
    ) -> Post:
        """Build and check a post as App.CreatePost and the store's Save do.
        Called with the lock held."""
        props = dict(fields["props"] or {})
        for key in _SANITIZED_PROPS:
            props.pop(key, None)
        root_id = fields["root_id"]
        if root_id:
            self._check_root(root_id, channel.id)
        if self.directory.accounts[user_id].is_bot:
            props["from_bot"] = "true"
        # Only system admins may choose the create time.
        create_at = fields["create_at"] if self._is_admin(user_id) else 0
        post = Post(
            new_id(), channel.id, user_id, root_id, fields["message"], fields["type"],
            props, create_at or _now_ms(self.now), ephemeral=False, source="api",
            edit_at=fields["edit_at"], is_pinned=fields["is_pinned"],
            file_ids=[item or "" for item in fields["file_ids"] or []],
            pending_post_id=fields["pending_post_id"],
            has_reactions=fields["has_reactions"],
        )  # fmt: skip
        if fields["id"]:
            raise _fail("app.post.save.existing.app_error", 400)
        self._check_post(post)
        if post.type not in _PLAIN_POST_TYPES and not post.type.startswith("custom_"):
            raise _fail("model.post.is_valid.type.app_error", 400)
        # NOTE: file ids are kept as sent; the stand-in has no uploaded files.
        return post

    def _check_root(self, root_id: str, channel_id: str) -> None:
        # Both errors are 400: CreatePostAsUser turns the 500 of the channel
        # mismatch into a 400.
        root = self._live_post(root_id)
        if root is None or root.root_id:
            raise _fail("api.post.create_post.root_id.app_error", 400)
        if root.channel_id != channel_id:
            raise _fail("api.post.create_post.channel_root_id.app_error", 400)

    async def _get_post(self, request: Request, session: _Session) -> _Reply:
        post_id = request.path_params["post_id"]
        _require_id(post_id, "post_id")
        user_id = session.user_id
        include_deleted = _parse_bool(_query_first(request, "include_deleted"))
        with self._lock:
            if include_deleted and not self._is_admin(user_id):
                raise _permission_error()
            post = self._posts_by_id.get(post_id)
            if post is None or (post.delete_at and not include_deleted):
                raise _fail("app.post.get.app_error", 404)
            if not self._can_read(user_id, self.directory.channels[post.channel_id]):
                raise _permission_error()
            return _Reply(200, self._post_body(post))

    async def _patch_post(self, request: Request, session: _Session) -> _Reply:
        """`PUT /api/v4/posts/{id}/patch`: only the fields sent change, and
        `props` replaces the whole map. An unknown post is a 403, as the
        handler reports a failed lookup as a permission error."""
        post_id = request.path_params["post_id"]
        _require_id(post_id, "post_id")
        fields, raw = _decode_body(_POST_PATCH, await request.body(), "post")
        present = _present_fields(_POST_PATCH, raw)
        with self._lock:
            old = self._live_post(post_id)
            if old is None or not self._can_edit(session.user_id, old):
                raise _permission_error()
            new = copy.deepcopy(old)
            for name in present:
                value = fields[name]
                if name == "file_ids":
                    value = [item or "" for item in value]
                setattr(new, name, value)
            return _Reply(200, self._post_body(self._update_post(old, new)))

    async def _channel_posts(self, request: Request, session: _Session) -> _Reply:
        """`GET /api/v4/channels/{id}/posts` as api4 getPostsForChannel.

        With `since` above 0 the list is every post of the channel whose
        update time is later, deleted posts and the deleted copies of edited
        ones included, plus the roots of their threads. `order` holds only
        the updated posts, newest first, and page and per_page do not apply.
        Without it, `order` is one page of live posts, newest first.
        NOTE: the `after` and `before` cursors are checked but not applied.
        """
        channel_id = request.path_params["channel_id"]
        _require_id(channel_id, "channel_id")
        for name in ("after", "before"):
            value = _query_first(request, name)
            if value and not is_valid_id(value):
                raise _fail("api.context.invalid_body_param.app_error", 400, name=name)
        since = 0
        if _query_first(request, "since"):
            parsed = _go_atoi(_query_first(request, "since"))
            if parsed is None:
                raise _fail(
                    "api.context.invalid_body_param.app_error", 400, name="since"
                )
            since = parsed
        skip_threads = _parse_bool(_query_first(request, "skipFetchThreads"))
        include_deleted = _parse_bool(_query_first(request, "include_deleted"))
        page, per_page = _page_params(request)
        with self._lock:
            if include_deleted and not self._is_admin(session.user_id):
                raise _permission_error()
            channel = self.directory.channels.get(channel_id)
            if channel is None:
                raise _fail(
                    "app.channel.get.existing.app_error", 404, channel_id=channel_id
                )
            if not self._can_read(session.user_id, channel):
                raise _permission_error()
            if since > 0:
                return _Reply(200, self._posts_since(channel_id, since, skip_threads))
            return _Reply(
                200, self._posts_page(channel_id, page, per_page, skip_threads)
            )

    def _posts_since(
        self, channel_id: str, since: int, skip_threads: bool
    ) -> dict[str, Any]:
        # SqlPostStore.GetPostsSince, called with the lock held.
        rows = [
            post
            for post in [*self._posts, *self._edit_copies]
            if post.channel_id == channel_id and post.update_at > since
        ][:POSTS_SINCE_LIMIT]
        posts = {post.id: post for post in rows}
        for post in rows:
            root = self._posts_by_id.get(post.root_id)
            if root is not None:
                posts.setdefault(root.id, root)
        order = [post.id for post in _newest_first(rows)]
        return self._post_list(order, posts, "", "", counted=skip_threads)

    def _posts_page(
        self, channel_id: str, page: int, per_page: int, skip_threads: bool
    ) -> dict[str, Any]:
        # SqlPostStore.GetPosts and AddCursorIdsForPostList, with the lock held.
        live = _newest_first(
            [p for p in self._posts if p.channel_id == channel_id and not p.delete_at]
        )
        chosen = live[page * per_page : (page + 1) * per_page]
        posts = {post.id: post for post in chosen}
        roots = {post.root_id for post in chosen if post.root_id}
        for post in live:
            in_thread = not skip_threads and post.root_id in roots
            if post.id in roots or in_thread:
                posts.setdefault(post.id, post)
        next_id = prev_id = ""
        if chosen:
            newer = [p for p in live if p.create_at > chosen[0].create_at]
            older = [p for p in live if p.create_at < chosen[-1].create_at]
            next_id = newer[-1].id if newer else ""
            prev_id = older[0].id if older else ""
        order = [post.id for post in chosen]
        return self._post_list(order, posts, next_id, prev_id, counted=skip_threads)

    def _post_list(
        self,
        order: list[str],
        posts: dict[str, Post],
        next_id: str,
        prev_id: str,
        *,
        counted: bool,
    ) -> dict[str, Any]:
        """Return model.PostList. Reply counts are only counted when the
        request sets skipFetchThreads, as the store's queries do."""
        return {
            "order": order,
            "posts": {
                post_id: post_json(
                    post, reply_count=self._reply_count(post) if counted else 0
                )
                for post_id, post in posts.items()
            },
            "next_post_id": next_id,
            "prev_post_id": prev_id,
            "first_inaccessible_post_time": 0,
        }

    # ----------------------------------------------------------------- actions

    async def _post_action(self, request: Request, session: _Session) -> _Reply:
        """`POST /api/v4/posts/{id}/actions/{action}`: the web app's click."""
        post_id = request.path_params["post_id"]
        _require_id(post_id, "post_id")
        # api4 doPostAction only logs a body that does not decode.
        try:
            fields, _ = _decode_body(_DO_ACTION_REQUEST, await request.body(), "action")
        except _ApiFailure as failure:
            logger.info(
                "Ignoring an invalid action body for post %s: %s",
                post_id,
                failure.error.detailed_error,
            )
            fields = _DO_ACTION_REQUEST.zero()
        if fields["cookie"]:
            # NOTE: the stand-in posts no ephemeral buttons, so no cookie it
            # could decrypt exists.
            raise _fail("api.post.do_action.action_integration.app_error", 400)
        outcome = await self._run_post_action(
            session.user_id,
            post_id,
            request.path_params["action_id"],
            fields["selected_option"],
        )
        if outcome.error is not None:
            raise _ApiFailure(outcome.error)
        return _Reply(200, {"status": "OK", "trigger_id": outcome.trigger_id})

    async def _run_post_action(
        self, user_id: str, post_id: str, action_id: str, selected_option: str
    ) -> ActionOutcome:
        """Run a click as App.DoPostActionWithCookie does."""
        outcome = ActionOutcome(200)
        try:
            with self._lock:
                plan = self._plan_post_action(
                    user_id, post_id, action_id, selected_option
                )
            outcome.request = plan.request
            reply = await self._send_action_request(plan, outcome)
            with self._lock:
                outcome.ephemeral_text = self._apply_action_reply(plan, reply)
        except _ApiFailure as failure:
            logger.info(
                "Click on action %s of post %s failed with %d %s",
                action_id,
                post_id,
                failure.error.status_code,
                failure.error.id,
            )
            outcome.status = failure.error.status_code
            outcome.error = failure.error
            return outcome
        outcome.trigger_id = plan.client_trigger_id
        return outcome

    def _plan_post_action(
        self, user_id: str, post_id: str, action_id: str, selected_option: str
    ) -> _ActionPlan:
        """Check the click and build the integration request, with the lock held."""
        post = self._live_post(post_id)
        # read_channel_content through the post's channel (membership only)
        may_read = self._is_admin(user_id) or (
            post is not None and self.directory.is_member(post.channel_id, user_id)
        )
        if not may_read:
            raise _permission_error()
        if post is None:
            raise _fail("app.post.get.app_error", 404)
        action = _find_action(post.props, action_id)
        if action is None or action.get("integration") is None:
            raise _fail("api.post.do_action.action_id.app_error", 404)

        channel = self.directory.channels[post.channel_id]
        team = self.directory.teams.get(channel.team_id)
        trigger_id = generate_trigger_id(user_id, _now_ms(self.now))
        context = copy.deepcopy(action["integration"].get("context"))
        data_source = ""
        if action.get("type") == "select" and selected_option:
            context = context or {}
            context["selected_option"] = selected_option
            data_source = action.get("data_source", "")
        request: dict[str, Any] = {
            "user_id": user_id,
            "user_name": self.directory.users[user_id].username,
            "channel_id": channel.id,
            "channel_name": channel.name,
            "team_id": channel.team_id,
            "team_domain": team.name if team else "",
            "post_id": post.id,
            "trigger_id": trigger_id,
            "type": action.get("type", ""),
            "data_source": data_source,
        }
        if context:
            request["context"] = context
        return _ActionPlan(
            url=action["integration"].get("url", ""),
            request=request,
            client_trigger_id=base64.b64decode(trigger_id).decode().split(":")[0],
            post_id=post.id,
            channel_id=channel.id,
            user_id=user_id,
            root_post_id=post.root_id or post.id,
            retain={
                k: post.props[k] for k in ACTION_RETAIN_PROP_KEYS if k in post.props
            },
            remove=[k for k in ACTION_RETAIN_PROP_KEYS if k not in post.props],
        )

    async def _send_action_request(
        self, plan: _ActionPlan, outcome: ActionOutcome
    ) -> dict[str, Any] | None:
        """POST the request to the integration as App.DoActionRequest does
        and decode the reply; every failure is a 400 action_integration."""

        def failed(detail: str) -> _ApiFailure:
            return _fail("api.post.do_action.action_integration.app_error", 400, detail)

        # NOTE: a `/plugins/` URL goes to a plugin inside Mattermost, and the
        # stand-in runs none, so it fails like any URL that is not http(s).
        if urlsplit(plan.url).scheme not in ("http", "https"):
            raise failed(f"unsupported protocol scheme in {plan.url!r}")
        refusal = self._untrusted_address(plan.url)
        if refusal:
            raise failed(refusal)
        # The command request type carries any request send_like_go sends.
        headers = (("Content-Type", "application/json"), ("Accept", "application/json"))
        request = CommandRequest(
            "POST", plan.url, headers, (), go_json(plan.request, newline=False)
        )
        try:
            async with asyncio.timeout(
                min(DEFAULT_TIMEOUT_SECONDS, CLIENT_TIMEOUT_SECONDS)
            ):
                exchanges = await send_like_go(request)
        except TransportError as error:
            outcome.response = error.exchanges[-1] if error.exchanges else None
            raise failed(str(error)) from None
        except TimeoutError:
            raise failed("context deadline exceeded") from None

        response = exchanges[-1]
        outcome.response = response
        if response.status_code != 200:
            raise failed(f"status={response.status_code}")
        if not response.body:
            return None
        try:
            value = parse_go_json(response.body)
            return (
                _ACTION_REPLY.zero() if value is None else _ACTION_REPLY.decode(value)
            )
        except GoJSONError as error:
            raise failed(str(error)) from None

    def _apply_action_reply(
        self, plan: _ActionPlan, reply: dict[str, Any] | None
    ) -> str:
        """Apply `update` and send `ephemeral_text`; return the text shown.

        `update` replaces the message (an absent one empties it) and, when it
        has props, the props, except the retained keys. The pinned and
        reaction flags stay. Called with the lock held.
        """
        if reply is None:
            return ""
        update = reply["update"]
        if update is not None:
            old = self._live_post(plan.post_id)
            if old is None:
                raise _fail("app.post.get.app_error", 404)
            new = copy.deepcopy(old)
            new.message = update["message"]
            if update["props"] is not None:
                new.props = dict(update["props"])
                new.props.update(copy.deepcopy(plan.retain))
                for key in plan.remove:
                    new.props.pop(key, None)
            self._update_post(old, new)

        text = reply["ephemeral_text"]
        if not text:
            return ""
        message = text if reply["skip_slack_parsing"] else parse_slack_links(text)
        self._ephemeral.append(
            Post(
                new_id(), plan.channel_id, plan.user_id, plan.root_post_id, message,
                "system_ephemeral", copy.deepcopy(plan.retain), _now_ms(self.now),
                ephemeral=True, source="action",
            )
        )  # fmt: skip
        return message

    # ------------------------------------------------------- the HTTP endpoints

    def _routes(self) -> list[Route]:
        return [
            Route("/hooks/commands/{hook_id}", self._command_webhook, methods=["POST"]),
            *self._api_routes(),
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
