"""Access rules set through the REST API: room names, passwords, durations, tokens.

A meeting from `/sfu` is reached through its unguessable slug. A room named by an API
caller may be guessable ("standup"), so the API can protect it with a password, limit
how long it runs, and issue tokens that admit their holder until they expire. Parley
checks these rules when a browser sends `join` (see `admit`), never in the browser.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from parley.errors import SignalingError
from parley.meetings.model import Meeting

ROOM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
ROOM_NAME_PATTERN = ROOM_NAME.pattern.join("^$")
MAX_PASSWORD_CHARS = 128
MAX_TOKEN_LIFETIME = timedelta(days=366)  # longer lifetimes are shortened to this
DURATION = re.compile(r"(\d{2}):([0-5]\d):([0-5]\d)")
# DURATION as a JSON Schema pattern, without 00:00:00: one alternative per position
# of a digit that is not zero, since pydantic's patterns have no look-ahead.
DURATION_PATTERN = (
    r"^([Uu]nlimited"
    r"|[1-9][0-9]:[0-5][0-9]:[0-5][0-9]|[0-9][1-9]:[0-5][0-9]:[0-5][0-9]"
    r"|[0-9][0-9]:[1-5][0-9]:[0-5][0-9]|[0-9][0-9]:[0-5][1-9]:[0-5][0-9]"
    r"|[0-9][0-9]:[0-5][0-9]:[1-5][0-9]|[0-9][0-9]:[0-5][0-9]:[0-5][1-9])$"
)

# Units of a token lifetime, as jsonwebtoken's `expiresIn` reads them ("1h", "2 days").
_LIFETIME = re.compile(r"(\d+)\s*([a-z]*)")
LIFETIME_PATTERN = (
    r"^[1-9][0-9]{0,11} ?(ms|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?"
    r"|d|days?|w|weeks?)?$"
)
_UNIT_SECONDS: dict[str, float] = {
    "": 0.001,  # jsonwebtoken reads a bare number in a string as milliseconds
    "ms": 0.001,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}

# scrypt cost: about 50 ms and 16 MiB per check, so guessing is slow.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def check_room_name(name: str) -> str:
    """Return `name` if it can be a room slug, else raise ValueError."""
    if not ROOM_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a room name: use 1 to 64 letters, digits, '-' or '_'"
        )
    return name


def parse_duration(text: str) -> timedelta | None:
    """Read a meeting duration: 'HH:MM:SS', or 'unlimited' for None."""
    if text.strip().lower() == "unlimited":
        return None
    match = DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration: use HH:MM:SS or 'unlimited'")
    hours, minutes, seconds = (int(part) for part in match.groups())
    duration = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if not duration:
        raise ValueError("a duration must be longer than 00:00:00")
    return duration


def format_duration(duration: timedelta) -> str:
    total = int(duration.total_seconds())
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def parse_lifetime(value: str | int) -> timedelta:
    """Read a token lifetime as MiroTalk's `expire` gives it: '1h', '2 days', 3600.

    A number counts seconds; a string is a number and a unit (ms, s, m, h, d, w),
    and a string without a unit counts milliseconds, as in jsonwebtoken. A lifetime
    over MAX_TOKEN_LIFETIME is shortened to it.
    """
    if isinstance(value, int):
        seconds = float(value)
    else:
        match = _LIFETIME.fullmatch(value.strip().lower())
        if match is None or match.group(2) not in _UNIT_SECONDS:
            raise ValueError(
                f"{value!r} is not a lifetime: use a number and a unit, such as '1h'"
            )
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a lifetime: it must be longer than 0")
    return min(timedelta(seconds=min(seconds, 1e12)), MAX_TOKEN_LIFETIME)


def hash_password(password: str) -> str:
    """Return a salted scrypt hash of a room password, to store instead of it."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)  # type: ignore[arg-type]
    return f"scrypt${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    scheme, salt, digest = stored.split("$")
    if scheme != "scrypt":
        raise ValueError(f"unknown password hash scheme {scheme!r}")
    candidate = hashlib.scrypt(password.encode(), salt=_unb64(salt), **_SCRYPT)  # type: ignore[arg-type]
    return hmac.compare_digest(candidate, _unb64(digest))


@dataclass(frozen=True)
class TokenClaims:
    username: str
    presenter: bool
    expires_at: datetime
    room: str | None = None  # None: the token admits to any room


class TokenSigner:
    """Issues and checks join tokens: JWTs signed with HS256.

    The signing key is derived from the API secret, so changing the secret revokes
    every token issued before.
    """

    _HEADER = {"alg": "HS256", "typ": "JWT"}

    def __init__(self, api_secret: str) -> None:
        self._key = hmac.new(
            api_secret.encode(), b"parley join token", hashlib.sha256
        ).digest()

    def issue(self, claims: TokenClaims) -> str:
        payload: dict[str, Any] = {
            "sub": claims.username,
            "presenter": claims.presenter,
            "exp": int(claims.expires_at.timestamp()),
        }
        if claims.room is not None:
            payload["room"] = claims.room
        signed = f"{_b64_json(self._HEADER)}.{_b64_json(payload)}"
        return f"{signed}.{_b64(self._sign(signed))}"

    def verify(self, token: str, now: datetime) -> TokenClaims:
        """Return the token's claims, or raise SignalingError if it admits no one."""
        header, payload = self._decode(token)
        if header != self._HEADER or not isinstance(payload, dict):
            raise _invalid_token()
        try:
            claims = TokenClaims(
                username=str(payload["sub"]),
                presenter=bool(payload["presenter"]),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
                room=None if payload.get("room") is None else str(payload["room"]),
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            raise _invalid_token() from None
        if now >= claims.expires_at:
            raise SignalingError(
                "The link's token has expired; ask for a new link.",
                code="token_expired",
            )
        return claims

    def _decode(self, token: str) -> tuple[Any, Any]:
        parts = token.split(".")
        if len(parts) != 3:
            raise _invalid_token()
        signed = f"{parts[0]}.{parts[1]}"
        try:
            signature = _unb64(parts[2])
            if not hmac.compare_digest(signature, self._sign(signed)):
                raise _invalid_token()
            return json.loads(_unb64(parts[0])), json.loads(_unb64(parts[1]))
        except (binascii.Error, ValueError):
            raise _invalid_token() from None

    def _sign(self, signed: str) -> bytes:
        return hmac.new(self._key, signed.encode("ascii"), hashlib.sha256).digest()


def admit(
    meeting: Meeting,
    *,
    password: object,
    token: object,
    signer: TokenSigner | None,
    now: datetime,
) -> TokenClaims | None:
    """Check a `join` against the meeting's rules; raise SignalingError to reject it.

    A valid token admits its holder without the room password, because only holders
    of the API secret can issue one. Without a token, a password-protected room needs
    the password.
    """
    if token is not None:
        if not isinstance(token, str) or signer is None:
            raise _invalid_token()
        claims = signer.verify(token, now)
        if claims.room is not None and claims.room != meeting.slug:
            raise _invalid_token()
        return claims

    if meeting.password_hash is None:
        return None
    if password is None or password == "":
        raise SignalingError("This room needs a password.", code="password_required")
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_CHARS:
        raise SignalingError("The room password is wrong.", code="password_invalid")
    if not verify_password(password, meeting.password_hash):
        raise SignalingError("The room password is wrong.", code="password_invalid")
    return None


def join_url(
    public_url: str,
    slug: str,
    *,
    name: str | None = None,
    audio: bool | None = None,
    video: bool | None = None,
    password: str | None = None,
    token: str | None = None,
) -> str:
    """Return a link to the meeting page with the page's options in the query."""
    query: dict[str, str] = {}
    if name:
        query["name"] = name
    if audio is not None:
        query["audio"] = "1" if audio else "0"
    if video is not None:
        query["video"] = "1" if video else "0"
    if password:
        query["password"] = password
    if token:
        query["token"] = token
    link = f"{public_url}/join/{slug}"
    return f"{link}?{urlencode(query)}" if query else link


def _invalid_token() -> SignalingError:
    return SignalingError(
        "The link's token is not valid for this room.", code="token_invalid"
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64_json(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())
