"""Tests of the Mattermost stand-in against a throwaway command endpoint.

Each test pins one point of Mattermost's slash command contract, so a change
that makes the stand-in less faithful fails here before it misleads a test of
Parley.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.support.mattermost import (
    HOOK_LIFETIME_SECONDS,
    LoopbackServer,
    MattermostStandIn,
    command_response_from_body,
    go_format_value,
    split_command_line,
    webapp_command_line,
)

TOKEN = "7k3p9xq1ebf4tm8wz6r2n5ys0a"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    header_names: list[str]
    body: bytes

    @property
    def form(self) -> dict[str, list[str]]:
        source = self.query if self.method == "GET" else self.body.decode()
        return parse_qs(source, keep_blank_values=True)


Reply = Callable[[Request], Response]


def json_reply(payload: object, status: int = 200) -> Reply:
    body = json.dumps(payload).encode()
    return lambda request: Response(
        body, status_code=status, headers={"Content-Type": "application/json"}
    )


def raw_reply(body: bytes, content_type: str | None, status: int = 200) -> Reply:
    headers = {"Content-Type": content_type} if content_type else {}
    return lambda request: Response(body, status_code=status, headers=headers)


@dataclass
class CommandEndpoint:
    """A slash command endpoint whose reply each test chooses."""

    reply: Reply = field(default_factory=lambda: json_reply({}))
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0

    async def handle(self, request: Request) -> Response:
        self.received.append(
            Received(
                request.method,
                request.url.path,
                request.url.query,
                dict(request.headers),
                [name.decode().lower() for name, _ in request.headers.raw],
                await request.body(),
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.reply(request)

    def reset(self) -> None:
        self.reply = json_reply({})
        self.received.clear()
        self.delay = 0.0


@pytest.fixture(scope="module")
def endpoint_server() -> Iterator[tuple[CommandEndpoint, LoopbackServer]]:
    endpoint = CommandEndpoint()
    app = Starlette(
        routes=[Route("/{path:path}", endpoint.handle, methods=ALL_METHODS)]
    )
    with LoopbackServer(app, name="command-endpoint") as server:
        yield endpoint, server


@pytest.fixture
def endpoint(
    endpoint_server: tuple[CommandEndpoint, LoopbackServer],
) -> Iterator[CommandEndpoint]:
    endpoint_server[0].reset()
    yield endpoint_server[0]


@pytest.fixture
def command_url(endpoint_server: tuple[CommandEndpoint, LoopbackServer]) -> str:
    return f"{endpoint_server[1].url}/cmd"


@pytest.fixture(scope="module")
def running_standin() -> Iterator[MattermostStandIn]:
    with MattermostStandIn() as standin:
        yield standin


@pytest.fixture
def mattermost(running_standin: MattermostStandIn) -> Iterator[MattermostStandIn]:
    running_standin.reset()
    if not running_standin.running:
        running_standin.start()
    yield running_standin


async def post_json(url: str, payload: object) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, json=payload)


# --------------------------------------------------------------------------
# The request Mattermost sends
# --------------------------------------------------------------------------


async def test_post_request_has_mattermost_headers(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    await mattermost.execute_command(command_url, "/sfu standup", token=TOKEN)

    headers = endpoint.received[0].headers
    assert endpoint.received[0].method == "POST"
    assert headers["accept"] == "application/json"
    assert headers["authorization"] == f"Token {TOKEN}"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["user-agent"] == "Mattermost-Bot/1.1"
    assert headers["accept-encoding"] == "gzip"
    assert "connection" not in endpoint.received[0].header_names


async def test_oauth_connection_replaces_token_header(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    await mattermost.execute_command(
        command_url, token=TOKEN, oauth_access_token="oauth-access"
    )

    received = endpoint.received[0]
    assert received.headers["authorization"] == "Bearer oauth-access"
    assert received.form["token"] == [TOKEN]


async def test_form_has_every_field_mattermost_sets(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    outcome = await mattermost.execute_command(command_url, "/sfu standup", token=TOKEN)

    form = endpoint.received[0].form
    assert form["token"] == [TOKEN]
    assert form["team_id"] == [mattermost.team.id]
    assert form["team_domain"] == ["eng"]
    assert form["channel_id"] == [mattermost.channel.id]
    assert form["channel_name"] == ["town-square"]
    assert form["user_id"] == [mattermost.user.id]
    assert form["user_name"] == ["bob"]
    assert form["command"] == ["/sfu"]
    assert form["text"] == ["standup"]
    assert form["root_id"] == [""]
    assert form["response_url"] == [outcome.response_url]
    assert form["trigger_id"][0]
    assert "site_url" not in form
    assert "user_mentions" not in form
    assert "channel_mentions" not in form


async def test_form_keys_are_sorted_with_plus_for_spaces(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    await mattermost.execute_command(command_url, "/sfu Weekly sync+1", token=TOKEN)

    body = endpoint.received[0].body.decode()
    keys = [pair.split("=")[0] for pair in body.split("&")]
    assert keys == sorted(keys)
    assert "text=Weekly+sync%2B1" in body
    assert "command=%2Fsfu" in body


async def test_trigger_lower_cased_and_text_untrimmed(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    await mattermost.execute_command(command_url, "/SFU  Weekly  Sync ", token=TOKEN)

    form = endpoint.received[0].form
    assert form["command"] == ["/sfu"]
    assert form["text"] == [" Weekly  Sync "]


async def test_trigger_alone_sends_empty_text(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    await mattermost.execute_command(command_url, "/sfu", token=TOKEN)

    assert "&text=&" in endpoint.received[0].body.decode()


async def test_ideographic_space_leaves_invalid_utf8_in_text(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    await mattermost.execute_command(command_url, "/sfu\u3000周会", token=TOKEN)

    assert "text=%80%80%E5%91%A8%E4%BC%9A" in endpoint.received[0].body.decode()


async def test_mentions_sent_as_repeated_pairs(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    line = "/sfu sync @alice @Bob. @nobody ~town-square"
    await mattermost.execute_command(command_url, line, token=TOKEN)

    form = endpoint.received[0].form
    assert form["user_mentions"] == ["alice", "bob"]
    assert form["user_mentions_ids"] == [mattermost.other_user.id, mattermost.user.id]
    assert form["channel_mentions"] == ["town-square"]
    assert form["channel_mentions_ids"] == [mattermost.channel.id]


async def test_private_channel_is_never_a_mention(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    mattermost.directory.add_channel(
        "hideout", mattermost.team, members=[mattermost.user], channel_type="P"
    )

    await mattermost.execute_command(command_url, "/sfu ~hideout", token=TOKEN)

    assert "channel_mentions" not in endpoint.received[0].form


async def test_explicit_mentions_replace_resolved_ones(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    await mattermost.execute_command(
        command_url, "/sfu @alice", token=TOKEN, mentions={"carol": "c" * 26}
    )

    form = endpoint.received[0].form
    assert form["user_mentions"] == ["carol"]
    assert form["user_mentions_ids"] == ["c" * 26]


async def test_get_command_sends_query_without_body(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    await mattermost.execute_command(
        command_url + "?team=1", "/sfu standup", token=TOKEN, method="G"
    )

    received = endpoint.received[0]
    assert received.method == "GET"
    assert received.body == b""
    assert received.query.startswith("team=1&channel_id=")
    assert received.form["text"] == ["standup"]
    assert "content-type" not in received.headers
    assert received.headers["authorization"] == f"Token {TOKEN}"


async def test_line_without_slash_is_rejected_before_sending(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    outcome = await mattermost.execute_command(command_url, "sfu standup", token=TOKEN)

    assert outcome.error is not None
    assert outcome.error.id == "api.command.execute_command.start.app_error"
    assert outcome.error.status_code == 400
    assert endpoint.received == []


async def test_each_invocation_gets_a_fresh_hook(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    first = await mattermost.execute_command(command_url, token=TOKEN)
    second = await mattermost.execute_command(command_url, token=TOKEN)

    assert first.hook_id != second.hook_id
    assert first.response_url == f"{mattermost.site_url}/hooks/commands/{first.hook_id}"
    assert len(mattermost.hooks) == 2


async def test_trigger_id_has_mattermost_shape(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    await mattermost.execute_command(command_url, token=TOKEN)

    decoded = base64.b64decode(endpoint.received[0].form["trigger_id"][0]).decode()
    parts = decoded.split(":")
    assert len(parts) == 4
    assert parts[1] == mattermost.user.id


def test_build_request_sends_nothing(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    request = mattermost.build_request(command_url, "/sfu standup", token=TOKEN)

    assert request.method == "POST"
    assert request.field("text") == "standup"
    assert parse_qs(request.body.decode())["token"] == [TOKEN]
    assert endpoint.received == []
    with pytest.raises(ValueError, match="rejected"):
        mattermost.build_request(command_url, "sfu", token=TOKEN)


async def test_token_is_not_in_request_repr(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert TOKEN not in repr(outcome.request)


def test_split_happens_at_first_unicode_space() -> None:
    assert split_command_line("/SFU\tRoom") == ("/sfu", b"Room")
    assert split_command_line("/sfu\nweekly Sync") == ("/sfu", b"weekly Sync")
    assert split_command_line("/sfu\xa0x") == ("/sfu", b"\xa0x")


def test_split_ignores_ascii_separator_controls() -> None:
    assert split_command_line("/sfu\x1cx") == ("/sfu\x1cx", b"")


def test_webapp_trims_text_ends_and_keeps_inner_spaces() -> None:
    assert webapp_command_line("/SFU   Daily   Standup  ") == "/sfu Daily   Standup"
    assert webapp_command_line("/sfu") == "/sfu "
    assert webapp_command_line("/sfu\nWeekly Sync") == "/sfu\nweekly Sync"


# --------------------------------------------------------------------------
# How Mattermost reads the reply
# --------------------------------------------------------------------------


async def test_in_channel_reply_becomes_a_post(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    attachment = {"title": "Join", "title_link": "https://meet.example.org/join/a"}
    endpoint.reply = json_reply(
        {"response_type": "in_channel", "text": "Room", "attachments": [attachment]}
    )

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.error is None
    assert len(outcome.posts) == 1
    post = mattermost.posts_in()[0]
    assert post.message == "Room"
    assert post.attachments[0]["title_link"] == "https://meet.example.org/join/a"
    assert post.type == "slack_attachment"
    assert post.user_id == mattermost.user.id
    assert post.props["from_webhook"] == "true"
    assert post.source == "command"
    assert outcome.ephemeral == []


async def test_ephemeral_reply_reaches_only_the_invoking_user(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = json_reply({"response_type": "ephemeral", "text": "Usage"})

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.ephemeral_messages == ["Usage"]
    assert mattermost.ephemeral_for()[0].message == "Usage"
    assert mattermost.ephemeral_for(mattermost.other_user.id) == []
    assert mattermost.posts_in() == []


async def test_missing_response_type_means_ephemeral(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = json_reply({"text": "Hello"})

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.ephemeral_messages == ["Hello"]


@pytest.mark.parametrize("status", [201, 204, 302, 401, 500])
async def test_any_status_but_200_is_an_error(
    mattermost: MattermostStandIn,
    endpoint: CommandEndpoint,
    command_url: str,
    status: int,
) -> None:
    endpoint.reply = json_reply({"response_type": "in_channel", "text": "x"}, status)

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.error is not None
    assert outcome.error.id == "api.command.execute_command.failed_resp.app_error"
    assert outcome.error.status_code == 500
    assert f"returned response {status} " in outcome.error.message
    assert mattermost.posts_in() == []
    assert outcome.ephemeral == []


async def test_error_body_kept_as_detail_not_shown(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = raw_reply(b"token mismatch", "text/plain", 401)

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.error is not None
    assert outcome.error.detailed_error == "token mismatch"
    assert "token mismatch" not in outcome.error.message
    assert json.loads(outcome.error.to_json())["detailed_error"] == ""


async def test_unknown_response_type_posts_nothing_silently(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = json_reply({"response_type": "in-channel", "text": "Room"})

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.error is None
    assert outcome.posts == []
    assert outcome.ephemeral == []
    assert mattermost.posts_in() == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'"text"',
        b"\xef\xbb\xbf{}",
        b'{"text": NaN}',
        b'{"props": {"size": 1e400}}',
    ],
    ids=["empty", "truncated", "array", "string", "bom", "nan", "overflow"],
)
async def test_unparsable_json_reply_is_an_error(
    mattermost: MattermostStandIn,
    endpoint: CommandEndpoint,
    command_url: str,
    body: bytes,
) -> None:
    endpoint.reply = raw_reply(body, "application/json")

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.error is not None
    assert outcome.error.id == "api.command.execute_command.failed.app_error"
    assert outcome.error.message == "Command with a trigger of 'sfu' failed."


@pytest.mark.parametrize(
    "payload",
    [
        {"text": "x", "skip_slack_parsing": "true"},
        {"text": 5},
        {"text": "x", "props": []},
        {"text": "x", "attachments": {}},
        {"text": "x", "attachments": [{"id": 1.5}]},
        {"text": "x", "attachments": [{"fields": [{"short": "yes"}]}]},
        {"text": "x", "attachments": [{"fields": [{"short": None}]}]},
        {"text": "x", "attachments": [{"actions": [{"integration": []}]}]},
    ],
    ids=[
        "bool-as-string",
        "text-number",
        "props-list",
        "attachments-object",
        "attachment-id-fraction",
        "short-yes",
        "short-null",
        "integration-list",
    ],
)
async def test_wrong_json_type_fails_the_whole_reply(
    mattermost: MattermostStandIn,
    endpoint: CommandEndpoint,
    command_url: str,
    payload: object,
) -> None:
    endpoint.reply = json_reply(payload)

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.error is not None
    assert outcome.error.id == "api.command.execute_command.failed.app_error"
    assert outcome.ephemeral == []


async def test_plain_text_reply_shown_literally(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = raw_reply(b'{"response_type": "in_channel"}', "text/plain")

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.ephemeral_messages == ['{"response_type": "in_channel"}']
    assert mattermost.posts_in() == []


async def test_content_type_match_is_case_sensitive(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = raw_reply(b'{"text":"x"}', "Application/JSON")

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.ephemeral_messages == ['{"text":"x"}']


async def test_json_with_charset_parameter_is_parsed(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = raw_reply(b'{"text":"x"}', "application/json; charset=utf-8")

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.ephemeral_messages == ["x"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "text/plain"),
        (b"", None),
        (b"null", "application/json"),
        (b"{}", "application/json"),
        (b'{"attachments": []}', "application/json"),
        (b'{"attachments": [null]}', "application/json"),
    ],
    ids=["empty-text", "no-type", "null", "empty-object", "no-attachments", "null-one"],
)
async def test_empty_reply_posts_nothing_without_error(
    mattermost: MattermostStandIn,
    endpoint: CommandEndpoint,
    command_url: str,
    body: bytes,
    content_type: str | None,
) -> None:
    endpoint.reply = raw_reply(body, content_type)

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.error is None
    assert outcome.ephemeral == []
    assert outcome.posts == []


async def test_empty_attachment_list_adds_no_attachment_props(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = json_reply(
        {"response_type": "in_channel", "text": "Room", "attachments": [None]}
    )

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.posts[0].type == ""
    assert "attachments" not in outcome.posts[0].props


async def test_json_keys_match_case_insensitively(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = json_reply({"Response_Type": "in_channel", "TEXT": "Room"})

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.posts[0].message == "Room"


async def test_attachment_field_values_become_strings(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    fields = [
        {"title": "n", "value": 5},
        {"title": "big", "value": 1234567},
        {"title": "flag", "value": True},
        {"title": "short", "value": "x", "short": "TRUE"},
    ]
    endpoint.reply = json_reply(
        {"response_type": "in_channel", "attachments": [{"fields": fields}]}
    )

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    values = [item["value"] for item in outcome.posts[0].attachments[0]["fields"]]
    assert values == ["5", "1.234567e+06", "true", "x"]
    assert outcome.posts[0].attachments[0]["fields"][3]["short"] is True


async def test_slack_links_converted_unless_skipped(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    text = "<https://a.example|Join> <!channel>"
    endpoint.reply = json_reply({"response_type": "in_channel", "text": text})
    parsed = await mattermost.execute_command(command_url, token=TOKEN)
    endpoint.reply = json_reply(
        {"response_type": "in_channel", "text": text, "skip_slack_parsing": True}
    )
    skipped = await mattermost.execute_command(command_url, token=TOKEN)

    assert parsed.posts[0].message == "[Join](https://a.example) @channel"
    assert skipped.posts[0].message == text


async def test_system_post_type_fails_to_post(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = json_reply(
        {"response_type": "in_channel", "text": "x", "type": "system_join"}
    )

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.error is not None
    assert (
        outcome.error.id == "api.command.execute_command.create_post_failed.app_error"
    )
    assert mattermost.posts_in() == []


async def test_foreign_channel_fails_to_post(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    private = mattermost.directory.add_channel(
        "secret", mattermost.team, members=[mattermost.other_user]
    )
    endpoint.reply = json_reply(
        {"response_type": "in_channel", "text": "x", "channel_id": private.id}
    )

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.error is not None
    assert (
        outcome.error.id == "api.command.execute_command.create_post_failed.app_error"
    )
    assert mattermost.posts_in(private.id) == []


async def test_extra_responses_posted_and_failures_keep_the_rest(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = json_reply(
        {
            "response_type": "in_channel",
            "text": "main",
            "extra_responses": [
                {"response_type": "ephemeral", "text": "only you"},
                {"response_type": "in_channel", "text": "bad", "type": "system_x"},
            ],
        }
    )

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert [post.message for post in outcome.posts] == ["main"]
    assert outcome.ephemeral_messages == ["only you"]
    assert outcome.error is not None
    assert (
        outcome.error.id == "api.command.execute_command.create_post_failed.app_error"
    )


async def test_goto_location_returned_to_the_client(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = json_reply({"goto_location": "https://meet.example.org/join/a"})

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.goto_location == "https://meet.example.org/join/a"


async def test_reply_over_one_mebibyte_is_cut_and_fails(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = json_reply({"text": "x" * (1024 * 1024)})

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.error is not None
    assert outcome.error.id == "api.command.execute_command.failed.app_error"
    assert outcome.response is not None
    assert len(outcome.response.body) == 1024 * 1024


async def test_post_longer_than_limit_fails_to_post(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = json_reply({"response_type": "in_channel", "text": "y" * 65536})

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.error is not None
    assert (
        outcome.error.id == "api.command.execute_command.create_post_failed.app_error"
    )
    assert mattermost.posts_in() == []


async def test_broken_plain_body_is_an_empty_response(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    async def broken() -> object:
        yield b"partial"
        raise RuntimeError("connection dropped mid-body")

    endpoint.reply = lambda request: StreamingResponse(
        broken(), media_type="text/plain"
    )

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.error is not None
    assert outcome.error.id == "api.command.execute_command.failed_empty.app_error"


async def test_connection_refused_is_a_failure(
    mattermost: MattermostStandIn,
) -> None:
    closed = LoopbackServer(Starlette())
    closed.start()
    closed.stop()

    outcome = await mattermost.execute_command(f"{closed.url}/cmd", token=TOKEN)

    assert outcome.error is not None
    assert outcome.error.id == "api.command.execute_command.failed.app_error"
    assert "connection refused" in outcome.transport_error


async def test_slow_endpoint_times_out(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.delay = 2.0

    outcome = await mattermost.execute_command(
        command_url, token=TOKEN, integration_timeout=0.3
    )

    assert outcome.error is not None
    assert outcome.error.id == "api.command.execute_command.failed.app_error"
    assert outcome.elapsed < 1.5


def test_private_address_refused_unless_allowed(
    mattermost: MattermostStandIn,
) -> None:
    refusal = mattermost._untrusted_address("http://10.1.2.3:8080/mattermost")

    assert refusal.startswith("address forbidden")
    assert mattermost._untrusted_address("http://127.0.0.1:8080/m") == ""
    assert mattermost._untrusted_address("https://parley.example.org/m") == ""


# --------------------------------------------------------------------------
# Redirects, as Go's http.Client follows them
# --------------------------------------------------------------------------


def redirect_to(location: str, status: int) -> Reply:
    def reply(request: Request) -> Response:
        if request.url.path == "/final":
            return json_reply({"text": f"{request.method} final"})(request)
        return Response(b"", status_code=status, headers={"Location": location})

    return reply


@pytest.mark.parametrize("status", [301, 302, 303])
async def test_redirect_turns_post_into_get_without_form(
    mattermost: MattermostStandIn,
    endpoint: CommandEndpoint,
    command_url: str,
    status: int,
) -> None:
    endpoint.reply = redirect_to("/final", status)

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert outcome.redirected
    assert [received.method for received in endpoint.received] == ["POST", "GET"]
    assert endpoint.received[1].body == b""
    assert endpoint.received[1].query == ""
    assert outcome.ephemeral_messages == ["GET final"]


async def test_redirect_307_resends_the_form(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = redirect_to("/final", 307)

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert [received.method for received in endpoint.received] == ["POST", "POST"]
    assert endpoint.received[1].body == endpoint.received[0].body
    assert outcome.ephemeral_messages == ["POST final"]


async def test_redirect_to_another_host_drops_the_token_header(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    other = CommandEndpoint(reply=json_reply({"text": "elsewhere"}))
    app = Starlette(routes=[Route("/{path:path}", other.handle, methods=ALL_METHODS)])
    with LoopbackServer(app) as server:
        endpoint.reply = redirect_to(f"{server.url}/final", 302)
        await mattermost.execute_command(command_url, token=TOKEN)

    assert "authorization" not in other.received[0].headers
    assert other.received[0].headers["referer"] == command_url


async def test_endless_redirects_stop_after_ten_requests(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = redirect_to("/again", 302)

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert len(endpoint.received) == 10
    assert outcome.error is not None
    assert outcome.transport_error == "stopped after 10 redirects"


async def test_redirect_without_location_is_a_status_error(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = raw_reply(b"", None, 302)

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert not outcome.redirected
    assert outcome.error is not None
    assert outcome.error.id == "api.command.execute_command.failed_resp.app_error"


# --------------------------------------------------------------------------
# response_url: POST /hooks/commands/{id}
# --------------------------------------------------------------------------


async def hook_url(
    mattermost: MattermostStandIn, command_url: str, root_id: str = ""
) -> str:
    outcome = await mattermost.execute_command(
        command_url, token=TOKEN, root_id=root_id
    )
    return outcome.response_url


async def test_hook_posts_in_channel_as_the_invoking_user(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    url = await hook_url(mattermost, command_url, root_id="r" * 26)

    reply = await post_json(url, {"response_type": "in_channel", "text": "Link"})

    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/plain"
    assert reply.text == "ok"
    post = mattermost.posts_in()[0]
    assert post.message == "Link"
    assert post.user_id == mattermost.user.id
    assert post.channel_id == mattermost.channel.id
    assert post.root_id == "r" * 26
    assert post.source == "response_url"


async def test_hook_plain_body_posted_as_text(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    url = await hook_url(mattermost, command_url)

    async with httpx.AsyncClient() as client:
        reply = await client.post(url, content=b'{"response_type":"in_channel"}')

    assert reply.status_code == 200
    assert mattermost.posts_in() == []
    assert mattermost.ephemeral_for()[0].message == '{"response_type":"in_channel"}'


async def test_hook_allows_five_uses_then_rejects(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    url = await hook_url(mattermost, command_url)

    statuses = [
        (await post_json(url, {"response_type": "in_channel", "text": str(n)}))
        for n in range(6)
    ]

    assert [reply.status_code for reply in statuses] == [200] * 5 + [400]
    body = statuses[5].json()
    assert set(body) == {"id", "message", "detailed_error", "request_id", "status_code"}
    assert body["id"] == "app.command_webhook.try_use.invalid"
    assert body["status_code"] == 400
    assert statuses[5].headers["content-type"] == "application/json"
    assert len(mattermost.posts_in()) == 5


async def test_synchronous_reply_does_not_use_the_hook(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    endpoint.reply = json_reply({"response_type": "in_channel", "text": "now"})

    outcome = await mattermost.execute_command(command_url, token=TOKEN)

    assert mattermost.hook(outcome.hook_id).use_count == 0


async def test_hook_expires_after_thirty_minutes(
    endpoint: CommandEndpoint, command_url: str
) -> None:
    with MattermostStandIn(clock=lambda: 1_800_000_000.0) as frozen:
        url = await hook_url(frozen, command_url)

        frozen.advance_time(HOOK_LIFETIME_SECONDS - 0.001)
        still_valid = await post_json(url, {"text": "in time"})
        frozen.advance_time(0.001)
        expired = await post_json(url, {"text": "late"})

    assert still_valid.status_code == 200
    assert expired.status_code == 404
    assert expired.json()["id"] == "app.command_webhook.get.missing"


async def test_unknown_hook_is_not_found(mattermost: MattermostStandIn) -> None:
    reply = await post_json(f"{mattermost.site_url}/hooks/commands/{'x' * 26}", {})

    assert reply.status_code == 404
    assert reply.json()["id"] == "app.command_webhook.get.missing"


async def test_hook_bad_json_rejected_without_using_it(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    url = await hook_url(mattermost, command_url)
    hook_id = url.rsplit("/", 1)[1]

    async with httpx.AsyncClient() as client:
        reply = await client.post(
            url, content=b"{", headers={"Content-Type": "application/json"}
        )

    assert reply.status_code == 400
    assert reply.json()["id"] == "web.command_webhook.parse.app_error"
    assert mattermost.hook(hook_id).use_count == 0


async def test_hook_failed_post_still_uses_it(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    url = await hook_url(mattermost, command_url)
    hook_id = url.rsplit("/", 1)[1]

    reply = await post_json(url, {"text": "x", "channel_id": "n" * 26})

    assert reply.status_code == 500
    assert (
        reply.json()["id"] == "api.command.execute_command.create_post_failed.app_error"
    )
    assert mattermost.hook(hook_id).use_count == 1


async def test_hook_get_serves_web_app(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    url = await hook_url(mattermost, command_url)

    async with httpx.AsyncClient() as client:
        reply = await client.get(url)

    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/html"
    assert mattermost.hook(url.rsplit("/", 1)[1]).use_count == 0
    assert mattermost.posts_in() == []


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_hook_other_methods_are_not_allowed(
    mattermost: MattermostStandIn,
    endpoint: CommandEndpoint,
    command_url: str,
    method: str,
) -> None:
    url = await hook_url(mattermost, command_url)

    async with httpx.AsyncClient() as client:
        reply = await client.request(method, url, json={"text": "x"})

    assert reply.status_code == 405
    assert reply.content == b""


async def test_hook_requests_are_logged(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    url = await hook_url(mattermost, command_url)

    await post_json(url, {"text": "x"})

    logged = mattermost.requests[-1]
    assert logged.method == "POST"
    assert logged.path == url.removeprefix(mattermost.site_url)
    assert json.loads(logged.body) == {"text": "x"}
    assert logged.status_code == 200


async def test_wait_for_post_returns_posts_made_later(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    url = await hook_url(mattermost, command_url)

    async def post_later() -> None:
        await asyncio.sleep(0.1)
        await post_json(url, {"response_type": "in_channel", "text": "late"})

    task = asyncio.create_task(post_later())
    posts = await mattermost.wait_for_post(within=2)
    await task

    assert posts[0].message == "late"


async def test_wait_for_post_times_out(mattermost: MattermostStandIn) -> None:
    with pytest.raises(TimeoutError):
        await mattermost.wait_for_post(within=0.1)


# --------------------------------------------------------------------------
# Stopping and restarting
# --------------------------------------------------------------------------


async def test_restart_keeps_port_and_hooks(
    mattermost: MattermostStandIn, endpoint: CommandEndpoint, command_url: str
) -> None:
    url = await hook_url(mattermost, command_url)
    port = mattermost.port

    mattermost.stop()
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(url, json={"text": "while down"})
    mattermost.restart()
    reply = await post_json(url, {"text": "back"})

    assert mattermost.port == port
    assert reply.status_code == 200


# --------------------------------------------------------------------------
# Decoding helpers
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5.0, "5"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5, "-2.5"),
        ([1.0, "a"], "[1 a]"),
        ({"b": 1.0, "a": None}, "map[a:<nil> b:1]"),
    ],
)
def test_values_formatted_like_go(value: object, expected: str) -> None:
    assert go_format_value(value) == expected


def test_extra_response_attachments_are_cleaned() -> None:
    body = json.dumps(
        {"extra_responses": [{"attachments": [None, {"fields": [None]}]}]}
    ).encode()

    reply = command_response_from_body("application/json", body)

    assert reply["extra_responses"][0]["attachments"][0]["fields"] is None
    assert len(reply["extra_responses"][0]["attachments"]) == 1
