"""The outbox: every post and post update for Mattermost, delivered once, in order.

Calls to Mattermost never run on a request's path. The caller stores an entry and
returns, and a worker task sends due entries. When Mattermost is down, slow or
limiting the rate, the worker retries them with exponential backoff (or after
`Retry-After`). The entries live in the database, so retries continue after a restart.

Entries of one post (one `post_key`) are sent strictly in order: its oldest pending
entry blocks the others. A patch needs the id of the post its create made, which
`bot_posts` keeps.

A create whose earlier attempt ended without an answer may have reached Mattermost
anyway. Each create carries its `post_key` as `pending_post_id`, which Mattermost
uses to answer a repeat within 30 s with the first post. For a later retry the outbox
first looks in the channel for a post that carries its `post_key`, so a lost response
does not make a second post.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

import httpx

from parley.errors import MattermostApiError
from parley.mattermost.api import MattermostClient
from parley.mattermost.response_url import post_to_response_url
from parley.types import Clock, OutboxAction, OutboxEntry, OutboxStore
from parley.worker import Worker

logger = logging.getLogger(__name__)

POST_KEY_PROP = "parley_post_key"
# Longer than any one call takes (10 s timeout, plus a login), so a claim only runs
# out when its process has died.
LEASE = timedelta(seconds=60)
# Mattermost keeps a response_url for 30 minutes.
RESPONSE_URL_LIFETIME = timedelta(minutes=30)


class Outbox:
    def __init__(
        self,
        store: OutboxStore,
        client: MattermostClient,
        clock: Clock,
        http: httpx.AsyncClient,
        *,
        first_retry: float = 1.0,
        max_retry: float = 300.0,
        give_up_after: timedelta = timedelta(days=1),
        poll_interval: float = 5.0,
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.http = http
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.give_up_after = give_up_after
        self.poll_interval = poll_interval
        # Polled even with nothing due here: another process may add entries, and a
        # dead process's lease runs out.
        self._worker = Worker(
            "Mattermost outbox",
            self.deliver_due,
            store.next_attempt_at,
            clock,
            lambda: self.poll_interval,
        )

    # ---------------------------------------------------------------- enqueue

    async def create_post(
        self,
        post_key: str,
        *,
        channel_id: str,
        root_id: str,
        body: dict[str, Any],
        fallback: dict[str, Any] | None = None,
    ) -> None:
        """Queue a new post. `fallback` ({url, reply}) is a slash command's
        response_url and the reply to post there if the bot may not post."""
        await self._add(
            post_key, "create", body, channel_id=channel_id, root_id=root_id,
            fallback=fallback,
        )  # fmt: skip

    async def patch_post(self, post_key: str, body: dict[str, Any]) -> None:
        """Queue an update of the post queued under `post_key`."""
        await self._add(post_key, "patch", body)

    async def _add(
        self, post_key: str, action: OutboxAction, body: dict[str, Any], **fields: Any
    ) -> None:
        body = {**body, "props": {**body.get("props", {}), POST_KEY_PROP: post_key}}
        await self.store.add(
            post_key=post_key, action=action, body=body, now=self.clock.now(), **fields
        )
        self._worker.wake()

    # ---------------------------------------------------------------- worker

    def wake(self) -> None:
        self._worker.wake()

    def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    async def deliver_due(self) -> int:
        """Send every entry that is due now; return how many were settled."""
        now = self.clock.now()
        entries = await self.store.claim_due(now, lease_until=now + LEASE, limit=50)
        for entry in entries:
            await self._deliver(entry)
        return len(entries)

    # ---------------------------------------------------------------- delivery

    async def _deliver(self, entry: OutboxEntry) -> None:
        try:
            if entry.action == "create":
                await self._create(entry)
            else:
                await self._patch(entry)
        except MattermostApiError as error:
            await self._failed(entry, error)
            return
        if entry.attempts > 1:
            logger.info(
                "Delivered %s of %s to Mattermost after %d attempts",
                entry.action,
                entry.post_key,
                entry.attempts,
            )

    async def _create(self, entry: OutboxEntry) -> None:
        post_id = await self.store.post_id(entry.post_key)
        if post_id is None and entry.attempts > 1:
            post_id = await self._find_landed_post(entry)
        if post_id is not None:
            await self.store.mark_delivered(entry.id, now=self.clock.now())
            return

        post = await self.client.create_post(
            {
                "channel_id": entry.channel_id,
                "root_id": entry.root_id,
                # Mattermost returns the first post for a create repeated within
                # 30 s with the same pending_post_id, instead of making a second.
                "pending_post_id": entry.post_key,
                **entry.body,
            }
        )
        await self.store.record_post(
            entry.id,
            post_key=entry.post_key,
            post_id=post["id"],
            channel_id=entry.channel_id,
            now=self.clock.now(),
        )

    async def _find_landed_post(self, entry: OutboxEntry) -> str | None:
        since = entry.created_at - timedelta(minutes=1)
        posts = await self.client.channel_posts_since(
            entry.channel_id, int(since.timestamp() * 1000)
        )
        for post in posts:
            if (post.get("props") or {}).get(POST_KEY_PROP) == entry.post_key:
                logger.info(
                    "Found post %s of %s from an earlier attempt; not posting again",
                    post.get("id"),
                    entry.post_key,
                )
                return str(post["id"])
        return None

    async def _patch(self, entry: OutboxEntry) -> None:
        post_id = await self.store.post_id(entry.post_key)
        if post_id is None:
            # The create before it failed for good, so there is nothing to update.
            await self.store.mark_failed(
                entry.id,
                now=self.clock.now(),
                error="the post to update was never created",
            )
            return
        await self.client.patch_post(post_id, entry.body)
        await self.store.mark_delivered(entry.id, now=self.clock.now())

    # ---------------------------------------------------------------- failures

    async def _failed(self, entry: OutboxEntry, error: MattermostApiError) -> None:
        now = self.clock.now()
        # 401 is retried too: an administrator fixing the token must not lose posts.
        retryable = error.retryable or error.status_code == 401
        if retryable and now - entry.created_at < self.give_up_after:
            delay = self._backoff(entry.attempts, error.retry_after)
            await self.store.retry_later(
                entry.id, at=now + timedelta(seconds=delay), error=str(error)
            )
            self._log_retry(entry, error, delay)
            return

        await self.store.mark_failed(entry.id, now=now, error=str(error))
        logger.error(
            "Gave up on %s of %s after %d attempts: %s",
            entry.action,
            entry.post_key,
            entry.attempts,
            error,
        )
        if entry.action == "create" and entry.fallback is not None:
            await self._post_fallback(entry, now)

    def _backoff(self, attempts: int, retry_after: float | None) -> float:
        delay = min(self.first_retry * 2 ** (attempts - 1), self.max_retry)
        # Jitter spreads the retries of many entries after an outage.
        delay *= random.uniform(0.8, 1.2)
        return max(delay, retry_after or 0.0)

    def _log_retry(
        self, entry: OutboxEntry, error: MattermostApiError, delay: float
    ) -> None:
        # The first failure and then every tenth, so an outage does not flood the log.
        if entry.attempts == 1 or entry.attempts % 10 == 0:
            logger.warning(
                "Mattermost did not take %s of %s (attempt %d); retrying in %.1f s: %s",
                entry.action,
                entry.post_key,
                entry.attempts,
                delay,
                error,
            )

    async def _post_fallback(self, entry: OutboxEntry, now: datetime) -> None:
        assert entry.fallback is not None
        if now - entry.created_at > RESPONSE_URL_LIFETIME:
            return
        logger.warning(
            "Posting the meeting of %s through the slash command's response_url "
            "instead; add the bot to channel %s so that it can post there",
            entry.post_key,
            entry.channel_id,
        )
        await post_to_response_url(
            self.http, entry.fallback["url"], entry.fallback["reply"]
        )
