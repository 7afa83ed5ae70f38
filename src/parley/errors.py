"""Parley's exceptions, split by who caused the failure.

    ParleyError
    ├── ConfigError              a setting is missing or invalid, so Parley stops
    ├── JanusError               the media gateway failed us
    │   ├── JanusUnavailable     no connection, connection lost, or no response in time
    │   └── JanusPluginError     Janus or its videoroom plugin rejected a request
    ├── MeetingError             a request about meetings that cannot be honoured
    │   ├── RoomNotFound         no room has that slug
    │   ├── RoomEnded            the room exists but its meeting is over
    │   ├── RoomNameTaken        an open meeting already has the requested room name
    │   └── SignalingError       a browser sent a message out of turn or malformed
    └── MattermostError          Mattermost refused or could not be reached
        └── MattermostApiError   a REST API call failed; says whether to retry

Context lives on the exception (the room, Janus's error code) so callers can act on it
without parsing the message.
"""

from __future__ import annotations


class ParleyError(Exception):
    """Base class of every error Parley raises on purpose."""


class ConfigError(ParleyError):
    """A setting is missing or invalid."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class JanusError(ParleyError):
    """The Janus gateway failed to do what was asked."""


class JanusUnavailable(JanusError):
    """Janus cannot be reached, the connection broke, or a request timed out."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class JanusPluginError(JanusError):
    """Janus or one of its plugins returned an error for a request."""

    def __init__(self, message: str, *, code: int, reason: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class MeetingError(ParleyError):
    """A request about a meeting that cannot be honoured."""


class RoomNotFound(MeetingError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"No room has the slug {slug!r}.")
        self.slug = slug


class RoomEnded(MeetingError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"The meeting in room {slug!r} has ended.")
        self.slug = slug


class RoomNameTaken(MeetingError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"An open meeting already uses the room name {slug!r}.")
        self.slug = slug


class SignalingError(MeetingError):
    """A browser sent a signaling message that is malformed or out of turn."""

    def __init__(self, message: str, *, code: str = "bad_message") -> None:
        super().__init__(message)
        self.code = code


class MattermostError(ParleyError):
    """Mattermost could not be reached or refused a request."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class MattermostApiError(MattermostError):
    """A call to Mattermost's REST API failed.

    `error_id` is Mattermost's AppError id when the body carried one. `retryable`
    is true when the same call may succeed later, because the server was
    unreachable, timed out, failed (5xx) or limited the rate (429, with
    `retry_after` in seconds).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_id: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.error_id = error_id
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        status = self.status_code
        return status is None or status == 429 or status >= 500
