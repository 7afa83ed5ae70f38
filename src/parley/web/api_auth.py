"""The REST APIs' secret check, with a limit on failed attempts per client address.

Both APIs take the same secret (`api.secret`); they differ only in how a client
presents it and in the error bodies, which each API module builds.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine
from enum import Enum
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import SecretStr

logger = logging.getLogger(__name__)

MAX_FAILURES = 10  # failed attempts per client address within WINDOW_SECONDS
WINDOW_SECONDS = 60.0
MAX_TRACKED_ADDRESSES = 10_000


class Verdict(Enum):
    ACCEPTED = "accepted"
    DISABLED = "disabled"  # no secret is configured, so the API is off
    REJECTED = "rejected"  # missing or wrong secret
    LIMITED = "limited"  # too many failures from this address lately


class FailedAttempts:
    """Failed secret checks per client address, over a sliding window."""

    def __init__(
        self,
        *,
        limit: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._monotonic = monotonic
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str) -> float | None:
        """Return the seconds until `address` may try again, or None if it may now."""
        failures = self._recent(address)
        if len(failures) < self.limit:
            return None
        return max(failures[0] + self.window - self._monotonic(), 0.0)

    def record(self, address: str) -> None:
        failures = self._recent(address)
        failures.append(self._monotonic())
        self._failures[address] = failures
        self._failures.move_to_end(address)
        # Bounded memory: forget the address that failed least recently.
        while len(self._failures) > MAX_TRACKED_ADDRESSES:
            self._failures.popitem(last=False)

    def _recent(self, address: str) -> deque[float]:
        failures = self._failures.get(address, deque())
        cutoff = self._monotonic() - self.window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            self._failures.pop(address, None)
        return failures


def check_secret(
    request: Request, presented: str | None, secret: SecretStr | None
) -> tuple[Verdict, float]:
    """Judge the secret a client presented; return the verdict and a retry delay.

    The comparison takes the same time wherever the strings differ.
    """
    if secret is None:
        return Verdict.DISABLED, 0.0

    # TODO: behind a reverse proxy every client has the proxy's address, so one
    # client's failures block all; reading X-Forwarded-For needs a trusted-proxy
    # setting, which Parley does not have yet.
    address = request.client.host if request.client else "unknown"
    attempts: FailedAttempts = request.app.state.parley.failed_attempts
    delay = attempts.retry_after(address)
    if delay is not None:
        return Verdict.LIMITED, delay

    expected = secret.get_secret_value().encode()
    if presented is not None and hmac.compare_digest(presented.encode(), expected):
        return Verdict.ACCEPTED, 0.0

    attempts.record(address)
    logger.warning(
        "REST API request %s %s rejected: %s secret from %s",
        request.method,
        request.url.path,
        "wrong" if presented else "missing",
        address,
    )
    return Verdict.REJECTED, 0.0


class ApiError(Exception):
    """An error response of a REST API, with the body that API's clients expect."""

    def __init__(
        self,
        status: int,
        body: dict[str, object],
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(body)
        self.status = status
        self.body = body
        self.headers = headers


def retry_after_header(delay: float) -> dict[str, str]:
    return {"Retry-After": str(max(int(delay + 0.999), 1))}


class SecretFirstRoute(APIRoute):
    """A route that runs `guard` before FastAPI reads the body, so a client without
    the secret gets the API's refusal and never a validation error."""

    @staticmethod
    def guard(request: Request) -> None:
        raise NotImplementedError

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            self.guard(request)
            return await handler(request)

        return guarded
