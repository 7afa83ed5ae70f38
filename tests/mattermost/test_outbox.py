"""The outbox against a scripted Mattermost at the HTTP transport, on real SQLite."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest

from parley.mattermost.api import MattermostClient
from parley.mattermost.outbox import POST_KEY_PROP, Outbox
from parley.storage import Database, SqlOutboxStore, create_engine, migrate
from tests.support.fakes import FakeClock

CHANNEL = "c" * 26


@dataclass
class ScriptedMattermost:
    """Posts kept in memory. Each request first takes the next of `failures`."""

    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    patches: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failures: list[httpx.Response | Exception] = field(default_factory=list)
    # Store the post, then lose the response, as when a connection drops.
    lose_next_create_answer: bool = False
    requests: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        if request.method == "POST" and request.url.path == "/api/v4/posts":
            return self._create(json.loads(request.content))
        if request.method == "PUT" and request.url.path.endswith("/patch"):
            post_id = request.url.path.split("/")[-2]
            return self._patch(post_id, json.loads(request.content))
        if request.method == "GET" and "/channels/" in request.url.path:
            return httpx.Response(200, json={"order": [], "posts": self.posts})
        return httpx.Response(404, json={"id": "api.context.404.app_error"})

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        post_id = f"p{len(self.posts):025d}"
        self.posts[post_id] = {"id": post_id, **body}
        if self.lose_next_create_answer:
            self.lose_next_create_answer = False
            raise httpx.ReadError("connection reset")
        return httpx.Response(201, json=self.posts[post_id])

    def _patch(self, post_id: str, body: dict[str, Any]) -> httpx.Response:
        if post_id not in self.posts:
            return httpx.Response(404, json={"id": "app.post.get.app_error"})
        self.posts[post_id].update(body)
        self.patches.append((post_id, body))
        return httpx.Response(200, json=self.posts[post_id])


@pytest.fixture
async def database(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    await migrate(engine)
    yield Database(engine)
    await engine.dispose()


@pytest.fixture
def mattermost():
    return ScriptedMattermost()


@pytest.fixture
def clock():
    return FakeClock()


def make_outbox(database, mattermost, clock, **options) -> Outbox:
    client = MattermostClient(
        "http://mattermost.test",
        bot_token="bot-token",
        transport=httpx.MockTransport(mattermost.handle),
    )
    options.setdefault("first_retry", 1.0)
    return Outbox(
        SqlOutboxStore(database), client, clock, httpx.AsyncClient(), **options
    )


async def create(outbox: Outbox, key: str, text: str, **fields) -> None:
    await outbox.create_post(
        key, channel_id=CHANNEL, root_id="", body={"message": text}, **fields
    )


async def deliver_all(outbox: Outbox, clock: FakeClock, *, rounds: int = 20) -> None:
    """Run delivery passes, moving the clock past every backoff, until idle."""
    for _ in range(rounds):
        await outbox.deliver_due()
        due = await outbox.store.next_attempt_at()
        if due is None:
            return
        clock.current = max(clock.current, due)
    raise AssertionError(f"the outbox was not idle after {rounds} rounds")


async def test_create_then_patches_arrive_in_order(database, mattermost, clock):
    outbox = make_outbox(database, mattermost, clock)

    await create(outbox, "meeting:1", "open")
    await outbox.patch_post("meeting:1", {"message": "Ada joined"})
    await outbox.patch_post("meeting:1", {"message": "ended"})
    await deliver_all(outbox, clock)

    assert len(mattermost.posts) == 1
    assert [body["message"] for _, body in mattermost.patches] == [
        "Ada joined",
        "ended",
    ]
    post = next(iter(mattermost.posts.values()))
    assert post["message"] == "ended"
    assert post["props"][POST_KEY_PROP] == "meeting:1"
    assert post["channel_id"] == CHANNEL


async def test_entries_wait_while_mattermost_is_down(database, mattermost, clock):
    outbox = make_outbox(database, mattermost, clock)
    mattermost.failures = [httpx.ConnectError("refused")] * 3

    await create(outbox, "meeting:1", "open")
    await outbox.patch_post("meeting:1", {"message": "Ada joined"})
    await deliver_all(outbox, clock)

    assert len(mattermost.posts) == 1
    assert [body["message"] for _, body in mattermost.patches] == ["Ada joined"]
    assert await outbox.store.count_pending() == 0


async def test_patch_never_overtakes_a_failing_create(database, mattermost, clock):
    outbox = make_outbox(database, mattermost, clock)
    mattermost.failures = [httpx.Response(503, text="<html>proxy</html>")]
    await create(outbox, "meeting:1", "open")
    await outbox.patch_post("meeting:1", {"message": "Ada joined"})

    await outbox.deliver_due()

    assert mattermost.requests == ["POST /api/v4/posts"]
    assert mattermost.patches == []


async def test_retry_waits_for_retry_after(database, mattermost, clock):
    outbox = make_outbox(database, mattermost, clock, first_retry=0.5)
    mattermost.failures = [
        httpx.Response(429, text="limit exceeded\n", headers={"Retry-After": "7"})
    ]
    await create(outbox, "meeting:1", "open")
    started = clock.now()

    await outbox.deliver_due()

    due = await outbox.store.next_attempt_at()
    assert due is not None
    assert due - started >= timedelta(seconds=7)
    clock.advance(6)
    assert await outbox.deliver_due() == 0
    clock.advance(1.1)
    assert await outbox.deliver_due() == 1
    assert len(mattermost.posts) == 1


async def test_backoff_doubles_up_to_its_limit(database, mattermost, clock):
    outbox = make_outbox(database, mattermost, clock, first_retry=1.0, max_retry=4.0)
    mattermost.failures = [httpx.Response(502, text="bad gateway")] * 5
    await create(outbox, "meeting:1", "open")

    waits = []
    for _ in range(5):
        before = clock.now()
        await outbox.deliver_due()
        due = await outbox.store.next_attempt_at()
        waits.append((due - before).total_seconds())
        clock.current = due

    # 1, 2, 4, 4, 4 seconds, each within the ±20 % jitter
    for wait, expected in zip(waits, [1, 2, 4, 4, 4], strict=True):
        assert expected * 0.8 <= wait <= expected * 1.2


async def test_lost_answer_does_not_post_twice(database, mattermost, clock):
    outbox = make_outbox(database, mattermost, clock)
    mattermost.lose_next_create_answer = True

    await create(outbox, "meeting:1", "open")
    await deliver_all(outbox, clock)

    assert len(mattermost.posts) == 1
    assert "GET /api/v4/channels/" + CHANNEL + "/posts" in mattermost.requests


async def test_forbidden_post_uses_the_response_url(database, mattermost, clock):
    hook_posts = []

    def hook(request: httpx.Request) -> httpx.Response:
        hook_posts.append(json.loads(request.content))
        return httpx.Response(200, text="ok")

    outbox = make_outbox(database, mattermost, clock)
    outbox.http = httpx.AsyncClient(transport=httpx.MockTransport(hook))
    mattermost.failures = [
        httpx.Response(403, json={"id": "api.context.permissions.app_error"})
    ]
    reply = {"response_type": "in_channel", "text": "Here is your meeting room"}

    await create(
        outbox,
        "meeting:1",
        "open",
        fallback={"url": "http://mattermost.test/hooks/commands/abc", "reply": reply},
    )
    await outbox.patch_post("meeting:1", {"message": "Ada joined"})
    await deliver_all(outbox, clock)

    assert mattermost.posts == {}
    assert hook_posts == [reply]
    assert await outbox.store.count_pending() == 0


async def test_forbidden_post_without_fallback_is_dropped(
    database, mattermost, clock, caplog
):
    outbox = make_outbox(database, mattermost, clock)
    mattermost.failures = [
        httpx.Response(403, json={"id": "api.context.permissions.app_error"})
    ]

    await create(outbox, "meeting:1", "open")
    await deliver_all(outbox, clock)

    assert mattermost.posts == {}
    assert "Gave up on create of meeting:1" in caplog.text
    assert "api.context.permissions.app_error" in caplog.text


async def test_gives_up_after_a_day(database, mattermost, clock):
    outbox = make_outbox(database, mattermost, clock, max_retry=3600)
    mattermost.failures = [httpx.ConnectError("refused")] * 100

    await create(outbox, "meeting:1", "open")
    await deliver_all(outbox, clock, rounds=60)

    assert await outbox.store.count_pending() == 0
    assert mattermost.posts == {}


async def test_restart_delivers_what_was_queued(database, mattermost, clock):
    before = make_outbox(database, mattermost, clock)
    mattermost.failures = [httpx.ConnectError("refused")]
    await create(before, "meeting:1", "open")
    await before.patch_post("meeting:1", {"message": "Ada joined"})
    await before.deliver_due()
    await before.client.aclose()

    after = make_outbox(database, mattermost, clock)
    await deliver_all(after, clock)

    assert len(mattermost.posts) == 1
    assert [body["message"] for _, body in mattermost.patches] == ["Ada joined"]


async def test_two_outboxes_deliver_each_entry_once(database, mattermost, clock):
    first = make_outbox(database, mattermost, clock)
    second = make_outbox(database, mattermost, clock)
    for number in range(10):
        await create(first, f"meeting:{number}", "open")
        await second.patch_post(f"meeting:{number}", {"message": "ended"})

    for _ in range(5):
        await first.deliver_due()
        await second.deliver_due()

    assert len(mattermost.posts) == 10
    assert len(mattermost.patches) == 10
    assert await first.store.count_pending() == 0


async def test_claim_of_a_dead_process_runs_out(database, mattermost, clock):
    store = SqlOutboxStore(database)
    outbox = make_outbox(database, mattermost, clock)
    await create(outbox, "meeting:1", "open")
    now = clock.now()
    # a process claims the entry and dies before sending it
    claimed = await store.claim_due(
        now, lease_until=now + timedelta(seconds=60), limit=5
    )
    assert len(claimed) == 1

    assert await outbox.deliver_due() == 0
    clock.advance(61)
    assert await outbox.deliver_due() == 1
    assert len(mattermost.posts) == 1
