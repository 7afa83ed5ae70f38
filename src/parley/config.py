"""Settings: one TOML file, overridden by environment variables, validated at start.

The file is optional. Environment variables win over the file, so a container or
a systemd unit can change one value without editing it. An unknown key or a bad
value stops the start with a message naming the key. Secrets are `SecretStr` and
print as `**********`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import SplitResult, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from parley.errors import ConfigError
from parley.scheduling.recurrence import is_zone_name

Locale = Literal["zh", "en"]
ResponseType = Literal["in_channel", "ephemeral"]

DEFAULT_MESSAGES: dict[str, str] = {
    "zh": "这是您的会议室:",
    "en": "Here is your meeting room:",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    data_dir: Path = Path("data")
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @model_validator(mode="before")
    @classmethod
    def _default_public_url(cls, data: Any) -> Any:
        # Without a public URL, links point at the address Parley listens on, so
        # changing only the port does not hand out links to the old one.
        if not isinstance(data, dict) or data.get("public_url"):
            return data
        host = str(data.get("host") or "127.0.0.1")
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return {**data, "public_url": f"http://{host}:{data.get('port') or 8080}"}

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        _reject_credentials(parts, "it goes into every meeting link")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"{value!r} is not an http(s) URL; give the base address browsers use "
                "to reach Parley, such as https://meet.example.org"
            )
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r} must not have a query or fragment")
        return value.rstrip("/")


class SlashCommand(_Section):
    """A slash command trigger and the message its reply starts with."""

    name: str
    message: str | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        trigger = value.strip().lower()
        if not trigger.startswith("/") or len(trigger) < 2 or " " in trigger:
            raise ValueError(f"{value!r} is not a slash command trigger such as '/sfu'")
        return trigger


def _reject_credentials(parts: SplitResult, where: str) -> None:
    # A password in a URL would be printed by check-config and logged, so the value
    # is not quoted in the message either.
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"the URL must not contain a user name or password; {where}")


def _has_valid_port(parts: SplitResult) -> bool:
    try:
        return parts.port is None or parts.port > 0
    except ValueError:  # not a number, or above 65535
        return False


class MattermostSettings(_Section):
    tokens: list[SecretStr] = []
    commands: list[SlashCommand] = [SlashCommand(name="/sfu")]
    response_type: ResponseType = "in_channel"
    locale: Locale = "zh"
    # Seconds the reply waits for Janus before it replies "creating" and sends the link
    # through response_url; Mattermost's own limit can be as low as 3 s.
    reply_deadline: float = Field(1.5, gt=0, le=2.5)
    # The REST API, for the channel bot: the server's base URL and either a bot
    # access token or a user's login. Without them, the slash command hands out links
    # and posts nothing of its own.
    url: str | None = None
    bot_token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    # Where Mattermost sends button clicks; it defaults to server.public_url, which
    # may be an address that browsers reach but the Mattermost server does not.
    callback_url: str | None = None

    @field_validator("url", "callback_url")
    @classmethod
    def _check_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if info.field_name == "url":
            # httpx would send such a password as Basic auth instead of the token.
            where = "give the bot token in PARLEY_MATTERMOST_BOT_TOKEN instead"
        else:
            where = "Mattermost sends button clicks without any"
        _reject_credentials(parts, where)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} is not an http(s) URL such as https://chat.example.org"
            )
        if parts.query or parts.fragment:
            raise ValueError(
                f"{parts.scheme}://{parts.hostname}… must not have a query or fragment"
            )
        if not _has_valid_port(parts):
            raise ValueError(f"{value!r} has an invalid port")
        return value.rstrip("/")

    @field_validator("bot_token", "password")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be empty or blank")
        return value

    @model_validator(mode="after")
    def _check_credentials(self) -> MattermostSettings:
        login = self.username is not None or self.password is not None
        if login and (self.username is None or self.password is None):
            raise ValueError(
                "give both mattermost.username and mattermost.password, or neither"
            )
        if login and self.bot_token is not None:
            raise ValueError(
                "give either mattermost.bot_token or a username and password, not both"
            )
        has_credentials = login or self.bot_token is not None
        if has_credentials and self.url is None:
            raise ValueError(
                "the bot credentials need mattermost.url, the Mattermost server's "
                "base URL"
            )
        if self.url is not None and not has_credentials:
            raise ValueError(
                "mattermost.url needs mattermost.bot_token (or a username and "
                "password) for Parley to post in channels"
            )
        return self

    @property
    def bot_enabled(self) -> bool:
        return self.url is not None

    @field_validator("tokens")
    @classmethod
    def _check_tokens(cls, value: list[SecretStr]) -> list[SecretStr]:
        for token in value:
            if not token.get_secret_value().strip():
                raise ValueError("a command token must not be empty")
        return value

    @field_validator("commands")
    @classmethod
    def _check_commands(cls, value: list[SlashCommand]) -> list[SlashCommand]:
        if not value:
            raise ValueError("at least one slash command must be configured")
        return value


class JanusSettings(_Section):
    url: str | None = None
    binary: str = "janus"
    ws_port: int = Field(8188, ge=1, le=65535)
    rtp_port_range: str = "20000-40000"
    interfaces: list[str] = []
    nat_1_1_mapping: str | None = None
    stun_server: str | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None:
            _reject_credentials(urlsplit(value), "Janus's WebSocket API takes none")
        if value is not None and urlsplit(value).scheme not in ("ws", "wss"):
            raise ValueError(f"{value!r} is not a ws:// or wss:// URL")
        return value

    @field_validator("rtp_port_range")
    @classmethod
    def _check_port_range(cls, value: str) -> str:
        low, _, high = value.partition("-")
        if not (
            low.isdigit() and high.isdigit() and 1024 <= int(low) < int(high) <= 65535
        ):
            raise ValueError(f"{value!r} is not a port range such as '20000-40000'")
        return value


class RoomSettings(_Section):
    max_publishers: int = Field(16, ge=2, le=100)
    bitrate: int = Field(1_024_000, ge=64_000, le=10_000_000)
    # Seconds a meeting started by the slash command stays open after the last
    # participant leaves, so that someone who dropped out can come back.
    grace_seconds: int = Field(120, ge=0, le=86_400)


class ScheduleSettings(_Section):
    """Meetings scheduled from a channel with `/sfu schedule`."""

    # The zone a time is read in when the user's Mattermost zone cannot be read.
    default_timezone: str = "UTC"
    reminder_minutes: int = Field(10, ge=0, le=7 * 24 * 60)

    @field_validator("default_timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        if not is_zone_name(value):
            raise ValueError(
                f"{value!r} is not an IANA time zone name such as 'Europe/Berlin' "
                "or 'Asia/Shanghai'"
            )
        return value


class ApiSettings(_Section):
    """The REST APIs under /api: off until a secret is set, since none is built in."""

    secret: SecretStr | None = None
    # GET /api/v1/meetings lists who is in which room, so it is off unless enabled.
    meetings_list_enabled: bool = False

    @field_validator("secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 16:
            raise ValueError(
                "the API secret must have at least 16 characters; generate one with "
                "'python -c \"import secrets; print(secrets.token_urlsafe(32))\"'"
            )
        return value


class Settings(_Section):
    server: ServerSettings = ServerSettings()
    mattermost: MattermostSettings = MattermostSettings()
    janus: JanusSettings = JanusSettings()
    rooms: RoomSettings = RoomSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    api: ApiSettings = ApiSettings()
    database_url: SecretStr | None = None

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.server.data_dir.resolve() / 'parley.db'}"

    @property
    def callback_url(self) -> str:
        return self.mattermost.callback_url or self.server.public_url

    def message_for(self, command: SlashCommand) -> str:
        return command.message or DEFAULT_MESSAGES[self.mattermost.locale]

    def redacted(self) -> dict[str, Any]:
        """Return the settings as plain data with every secret replaced by stars."""
        return self.model_dump(mode="json")


# Environment variable → (section, key, parser). Lists are comma-separated.
def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


ENVIRONMENT: dict[str, tuple[str | None, str, Any]] = {
    "PARLEY_HOST": ("server", "host", str),
    "PARLEY_PORT": ("server", "port", str),
    "PARLEY_PUBLIC_URL": ("server", "public_url", str),
    "PARLEY_DATA_DIR": ("server", "data_dir", str),
    "PARLEY_LOG_LEVEL": ("server", "log_level", str),
    "PARLEY_MATTERMOST_TOKENS": ("mattermost", "tokens", _split),
    "PARLEY_RESPONSE_TYPE": ("mattermost", "response_type", str),
    "PARLEY_LOCALE": ("mattermost", "locale", str),
    "PARLEY_MATTERMOST_URL": ("mattermost", "url", str),
    "PARLEY_MATTERMOST_BOT_TOKEN": ("mattermost", "bot_token", str),
    "PARLEY_MATTERMOST_USERNAME": ("mattermost", "username", str),
    "PARLEY_MATTERMOST_PASSWORD": ("mattermost", "password", str),
    "PARLEY_MATTERMOST_CALLBACK_URL": ("mattermost", "callback_url", str),
    "PARLEY_MEETING_GRACE_SECONDS": ("rooms", "grace_seconds", str),
    "PARLEY_DEFAULT_TIMEZONE": ("schedule", "default_timezone", str),
    "PARLEY_REMINDER_MINUTES": ("schedule", "reminder_minutes", str),
    "PARLEY_JANUS_URL": ("janus", "url", str),
    "PARLEY_JANUS_BINARY": ("janus", "binary", str),
    "PARLEY_JANUS_WS_PORT": ("janus", "ws_port", str),
    "PARLEY_JANUS_RTP_PORT_RANGE": ("janus", "rtp_port_range", str),
    "PARLEY_JANUS_INTERFACES": ("janus", "interfaces", _split),
    "PARLEY_JANUS_NAT_1_1_MAPPING": ("janus", "nat_1_1_mapping", str),
    "PARLEY_API_SECRET": ("api", "secret", str),
    "PARLEY_API_MEETINGS_LIST": ("api", "meetings_list_enabled", str),
    "PARLEY_DATABASE_URL": (None, "database_url", str),
}


def load_settings(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the TOML file (if any), apply environment overrides and validate.

    Raises ConfigError naming the offending key when the file cannot be read or a
    value is unknown or invalid.
    """
    environ = os.environ if environ is None else environ
    if path is None and environ.get("PARLEY_CONFIG"):
        path = Path(environ["PARLEY_CONFIG"])

    data = _read_file(path) if path is not None else {}
    _check_environment_names(environ)
    _apply_environment(data, environ)

    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise _config_error(error, path, environ) from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"Config file {path} is not valid TOML: {error}.") from None


def _check_environment_names(environ: Mapping[str, str]) -> None:
    # A misspelled variable would otherwise be ignored without a word.
    known = ENVIRONMENT.keys() | {"PARLEY_CONFIG"}
    for name in environ:
        if name.startswith("PARLEY_") and name not in known:
            raise ConfigError(
                f"Unknown environment variable {name}; check its spelling "
                "against the README's configuration table.",
                key=name,
            )


def _apply_environment(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, (section, key, parse) in ENVIRONMENT.items():
        if name not in environ or environ[name] == "":
            continue
        target = data if section is None else data.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(
                f"[{section}] in the config file must be a table.", key=key
            )
        target[key] = parse(environ[name])


def _config_error(
    error: ValidationError, path: Path | None, environ: Mapping[str, str]
) -> ConfigError:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    source = f" in {path}" if path is not None else ""
    for name, (section, field, _) in ENVIRONMENT.items():
        dotted = field if section is None else f"{section}.{field}"
        if environ.get(name) and key.startswith(dotted):
            source = f" (from {name})"
    if first["type"] == "extra_forbidden":
        message = f"Unknown setting {key!r}{source}; check its spelling and section."
    else:
        reason = first["msg"].removeprefix("Value error, ")
        message = f"Invalid setting {key!r}{source}: {reason}."
    return ConfigError(message, key=key)
