import pytest

from parley.mattermost.slash import (
    MAX_TEXT_BYTES,
    InvalidCommandText,
    SlashRequest,
    meeting_reply,
    parse_text,
    token_from_header,
    token_matches,
)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("", ""),
        ("   ", ""),
        ("standup", "standup"),
        ("  weekly   sync  ", "weekly sync"),
        ("周会", "周会"),
        ("Réunion 周会 🚀", "Réunion 周会 🚀"),
        ("line one\nline two", "line one line two"),
        ("\tTabbed\r\n", "Tabbed"),
    ],
)
def test_text_becomes_title(text, title):
    invocation = parse_text(text)

    assert invocation.action == "create"
    assert invocation.title == title


@pytest.mark.parametrize("text", ["help", "HELP", " help ", "--help", "帮助"])
def test_help_words_ask_for_usage(text):
    assert parse_text(text).action == "help"


def test_help_inside_a_title_is_a_title():
    invocation = parse_text("help desk sync")

    assert invocation.action == "create"
    assert invocation.title == "help desk sync"


def test_text_over_limit_is_rejected():
    with pytest.raises(InvalidCommandText) as caught:
        parse_text("a" * (MAX_TEXT_BYTES + 1))

    assert caught.value.key == "text_too_long"
    assert caught.value.values == {"size": MAX_TEXT_BYTES + 1, "limit": MAX_TEXT_BYTES}


def test_limit_counts_utf8_bytes():
    with pytest.raises(InvalidCommandText):
        parse_text("周" * (MAX_TEXT_BYTES // 3 + 1))


def test_title_over_200_characters_is_rejected():
    with pytest.raises(InvalidCommandText) as caught:
        parse_text("word " * 60)

    assert caught.value.key == "title_too_long"


def test_any_configured_token_matches():
    assert token_matches(["second"], ["first", "second"])


def test_wrong_token_does_not_match():
    assert not token_matches(["secund"], ["first", "second"])


def test_empty_token_never_matches():
    assert not token_matches(["", ""], ["first"])


def test_header_or_form_token_is_enough():
    assert token_matches(["", "first"], ["first"])
    assert token_matches(["first", ""], ["first"])


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Token abc123", "abc123"),
        ("token abc123", "abc123"),
        ("  Token   abc123 ", "abc123"),
        ("Bearer abc123", ""),
        ("abc123", ""),
        (None, ""),
    ],
)
def test_token_from_header(header, token):
    assert token_from_header(header) == token


def test_request_keeps_repeated_mentions():
    fields = {
        "command": ["/sfu"],
        "text": ["sync @alice @bob"],
        "user_mentions": ["alice", "bob"],
        "token": ["t"],
    }

    request = SlashRequest.from_fields(fields)

    assert request.command == "/sfu"
    assert request.user_mentions == ("alice", "bob")
    assert request.root_id == ""


def test_meeting_reply_has_link_in_text_and_attachment():
    reply = meeting_reply(
        message="Here:",
        title="standup",
        link="https://meet.example.org/join/standup-abc",
        response_type="in_channel",
        starter="bob",
        starter_label="Started by",
    )

    assert reply["response_type"] == "in_channel"
    assert reply["text"] == "Here: https://meet.example.org/join/standup-abc"
    assert reply["attachments"][0]["title"] == "standup"
    assert (
        reply["attachments"][0]["title_link"]
        == "https://meet.example.org/join/standup-abc"
    )
    assert reply["skip_slack_parsing"] is True


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("list", "list"),
        ("LIST", "list"),
        ("列表", "list"),
        ("end", "end"),
        (" End ", "end"),
        ("结束", "end"),
    ],
)
def test_sub_commands_alone(text, action):
    invocation = parse_text(text)

    assert invocation.action == action
    assert invocation.title == ""


@pytest.mark.parametrize(
    ("text", "title"),
    [("end of year party", "end of year party"), ("list review", "list review")],
)
def test_sub_command_words_start_titles(text, title):
    invocation = parse_text(text)

    assert invocation.action == "create"
    assert invocation.title == title


@pytest.mark.parametrize(
    ("text", "title"),
    [("new", ""), ("new weekly sync", "weekly sync"), ("新建 周会", "周会")],
)
def test_new_forces_a_room(text, title):
    invocation = parse_text(text)

    assert invocation.action == "new"
    assert invocation.title == title
