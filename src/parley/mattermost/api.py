"""A small client for the parts of Mattermost's REST API (v4) the channel bot uses.

Four calls are all Parley needs: who am I, create a post, patch a post, and read a
channel member or user. The outbox decides what to do with a failure from the
status, the AppError id and `Retry-After`, so every failure surfaces as one
`MattermostApiError` carrying them (see `parley.errors`).

Authentication is a bot access token (`Authorization: Bearer`), or a user's login:
`POST /api/v4/users/login` returns a session token in the `Token` header, and a 401
later logs in once more, since sessions expire.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from parley.config import MattermostSettings
from parley.errors import MattermostApiError

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class MattermostClient:
    def __init__(
        self,
        base_url: str,
        *,
        bot_token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if bot_token is None and (username is None or password is None):
            raise ValueError("give a bot token, or a username and a password")
        self.base_url = base_url.rstrip("/")
        self._bot_token = bot_token
        self._username = username
        self._password = password
        self._session_token: str | None = None
        self._login_lock = asyncio.Lock()
        self._http = httpx.AsyncClient(
            base_url=f"{self.base_url}/api/v4",
            timeout=TIMEOUT,
            follow_redirects=False,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "Parley"},
        )

    @classmethod
    def from_settings(cls, settings: MattermostSettings) -> MattermostClient:
        assert settings.url is not None
        return cls(
            settings.url,
            bot_token=_reveal(settings.bot_token),
            username=settings.username,
            password=_reveal(settings.password),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ calls

    async def me(self) -> dict[str, Any]:
        return await self._call("GET", "/users/me")

    async def get_user(self, user_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/users/{quote(user_id, safe='')}")

    async def channel_member(self, channel_id: str, user_id: str) -> dict[str, Any]:
        channel, user = quote(channel_id, safe=""), quote(user_id, safe="")
        return await self._call("GET", f"/channels/{channel}/members/{user}")

    async def create_post(self, post: Mapping[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "/posts", json=dict(post))

    async def patch_post(
        self, post_id: str, patch: Mapping[str, Any]
    ) -> dict[str, Any]:
        path = f"/posts/{quote(post_id, safe='')}/patch"
        return await self._call("PUT", path, json=dict(patch))

    async def channel_posts_since(
        self, channel_id: str, since_ms: int
    ) -> list[dict[str, Any]]:
        """Return the posts of a channel created or changed since a time (ms)."""
        path = f"/channels/{quote(channel_id, safe='')}/posts"
        posts = await self._call("GET", path, params={"since": str(since_ms)})
        return list((posts.get("posts") or {}).values())

    # ------------------------------------------------------------------ layers

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        response = await self._send_handling_auth(method, path, json, params)
        if response.is_success:
            return response.json() if response.content else {}
        raise _api_error(method, path, response)

    async def _send_handling_auth(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str] | None,
    ) -> httpx.Response:
        token = await self._token()
        response = await self._send(method, path, json, params, token)
        if response.status_code != 401 or self._bot_token is not None:
            return response

        # A session from a login expires; log in once more and repeat the call.
        await self._login(stale=token)
        return await self._send(method, path, json, params, await self._token())

    async def _send(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str] | None,
        token: str,
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method,
                path,
                json=json,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.TimeoutException as error:
            raise MattermostApiError(
                f"Mattermost at {self.base_url} did not respond to {method} {path} "
                f"in time ({type(error).__name__})."
            ) from error
        except httpx.HTTPError as error:
            raise MattermostApiError(
                f"Cannot reach Mattermost at {self.base_url} for {method} {path}: "
                f"{error or type(error).__name__}."
            ) from error

    async def _token(self) -> str:
        if self._bot_token is not None:
            return self._bot_token
        if self._session_token is None:
            await self._login(stale=None)
        assert self._session_token is not None
        return self._session_token

    async def _login(self, *, stale: str | None) -> None:
        async with self._login_lock:
            if self._session_token is not None and self._session_token != stale:
                return  # another call logged in while this one waited
            response = await self._send_login()
            token = response.headers.get("Token")
            if not token:
                raise MattermostApiError(
                    f"Mattermost at {self.base_url} accepted the login of "
                    f"{self._username!r} but sent no session token.",
                    status_code=response.status_code,
                )
            self._session_token = token
            logger.info("Logged in to Mattermost as %s", self._username)

    async def _send_login(self) -> httpx.Response:
        body = {"login_id": self._username, "password": self._password}
        try:
            response = await self._http.post("/users/login", json=body)
        except httpx.HTTPError as error:
            raise MattermostApiError(
                f"Cannot reach Mattermost at {self.base_url} to log in: "
                f"{error or type(error).__name__}."
            ) from error
        if not response.is_success:
            raise _api_error("POST", "/users/login", response)
        return response


def _api_error(method: str, path: str, response: httpx.Response) -> MattermostApiError:
    """Build the error for a failed call from Mattermost's AppError body, if any.

    A 429 from the rate limiter is plain text, and a proxy in front of Mattermost
    may respond with HTML, so the body is read as JSON only when it is.
    """
    error_id, text = "", response.text[:200].strip()
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error_id = str(body.get("id") or "")
        text = str(body.get("message") or text)

    return MattermostApiError(
        f"Mattermost rejected {method} {path} with {response.status_code}"
        f"{f' ({error_id})' if error_id else ''}: {text}",
        status_code=response.status_code,
        error_id=error_id,
        retry_after=_retry_after(response),
    )


def _retry_after(response: httpx.Response) -> float | None:
    # Mattermost's limiter sends whole seconds, never an HTTP date.
    if response.status_code != 429:
        return None
    value = response.headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _reveal(secret: Any) -> str | None:
    return None if secret is None else secret.get_secret_value()
