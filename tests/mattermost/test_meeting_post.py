from datetime import UTC, datetime, timedelta

import pytest

from parley.mattermost.actions import (
    END_MEETING,
    ActionSigner,
    InvalidClick,
    end_button,
    read_click,
)
from parley.mattermost.meeting_post import ended_post, format_duration, open_post
from parley.meetings.model import Meeting, MeetingState, Origin, ParticipantRecord

START = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
LINK = "https://meet.example.org/join/standup-abc"


def make_meeting(**changes) -> Meeting:
    values = dict(
        id="m1",
        slug="standup-abc",
        title="Standup",
        janus_room_id=1,
        state=MeetingState.OPEN,
        created_at=START,
        origin=Origin(channel_id="c1", user_id="u1", user_name="bob"),
    )
    values.update(changes)
    return Meeting(**values)


def record(name: str, minutes: int) -> ParticipantRecord:
    return ParticipantRecord(
        id=name, name=name, joined_at=START + timedelta(minutes=minutes)
    )


@pytest.fixture
def signer():
    return ActionSigner(b"k" * 32)


def button(signer):
    return end_button(
        signer, slug="standup-abc", callback_url="http://p", label="End meeting"
    )


def test_open_post_lists_participants(signer):
    meeting = make_meeting(started_at=START)

    post = open_post(
        meeting, ["Ada", "Bob"], link=LINK, locale="en", end_button=button(signer)
    )

    assert post["message"] == "@bob started a meeting: **Standup**"
    attachment = post["props"]["attachments"][0]
    assert attachment["title_link"] == LINK
    assert attachment["fields"][0] == {
        "title": "In the meeting (2)",
        "value": "Ada, Bob",
        "short": False,
    }
    assert attachment["fields"][1]["value"] == "2027-01-15 09:00 UTC"
    assert attachment["actions"][0]["id"] == END_MEETING


def test_open_post_before_anyone_joined(signer):
    post = open_post(
        make_meeting(), [], link=LINK, locale="zh", end_button=button(signer)
    )

    fields = post["props"]["attachments"][0]["fields"]
    assert fields[0]["value"] == "暂无"
    assert fields[1]["value"] == "等待第一位参会者"


def test_names_cannot_format_or_mention(signer):
    post = open_post(
        make_meeting(title="*big* @channel"),
        ["@here", "_x_"],
        link=LINK,
        locale="en",
        end_button=button(signer),
    )

    assert "@channel" not in post["message"]
    assert "\\*big\\*" in post["message"]
    value = post["props"]["attachments"][0]["fields"][0]["value"]
    assert "@here" not in value
    assert "\\_x\\_" in value


def test_ended_post_has_duration_and_people():
    meeting = make_meeting(
        state=MeetingState.ENDED,
        started_at=START,
        ended_at=START + timedelta(minutes=23, seconds=10),
    )
    took_part = [record("Ada", 0), record("Bob", 2), record("Ada", 10)]

    post = ended_post(meeting, took_part, locale="en")

    assert post["message"] == "Meeting **Standup**, started by @bob, has ended."
    attachment = post["props"]["attachments"][0]
    assert "actions" not in attachment
    fields = {field["title"]: field["value"] for field in attachment["fields"]}
    assert fields == {
        "Took part (2)": "Ada, Bob",
        "Ended": "2027-01-15 09:23 UTC",
        "Duration": "23 min",
    }


def test_ended_post_when_nobody_joined():
    meeting = make_meeting(state=MeetingState.ENDED, ended_at=START)

    post = ended_post(meeting, [], locale="zh")

    fields = post["props"]["attachments"][0]["fields"]
    assert fields[0]["value"] == "无人加入"
    assert all(field["title"] != "时长" for field in fields)


@pytest.mark.parametrize(
    ("seconds", "locale", "text"),
    [
        (45, "en", "45 s"),
        (60 * 23 + 20, "en", "23 min"),
        (3600 + 5 * 60, "en", "1 h 5 min"),
        (3600 * 2, "zh", "2 小时 0 分钟"),
        (-5, "en", "0 s"),
    ],
)
def test_durations_read_naturally(seconds, locale, text):
    assert format_duration(timedelta(seconds=seconds), locale) == text


def click_body(context, **fields):
    return {
        "user_id": "u2",
        "user_name": "alice",
        "channel_id": "c1",
        "post_id": "p1",
        "context": context,
        **fields,
    }


def test_signed_click_is_read(signer):
    context = button(signer)["integration"]["context"]

    click = read_click(click_body(context), signer)

    assert click.action == END_MEETING
    assert click.target == "standup-abc"
    assert click.user_id == "u2"
    assert click.channel_id == "c1"


def test_button_id_is_alphanumeric(signer):
    assert button(signer)["id"].isalnum()
    assert button(signer)["integration"]["url"] == "http://p/mattermost/actions"


@pytest.mark.parametrize(
    "change",
    [
        {"target": "other-room"},
        {"action": "deletemeeting"},
        {"signature": "0" * 64},
        {"signature": "é" * 64},
        {"signature": None},
    ],
)
def test_tampered_click_is_rejected(signer, change):
    context = {**button(signer)["integration"]["context"], **change}

    with pytest.raises(InvalidClick):
        read_click(click_body(context), signer)


def test_click_signed_with_another_key_is_rejected(signer):
    context = button(ActionSigner(b"x" * 32))["integration"]["context"]

    with pytest.raises(InvalidClick, match="does not verify"):
        read_click(click_body(context), signer)


@pytest.mark.parametrize("body", [[], "text", {"context": "x"}, {}])
def test_malformed_click_is_rejected(signer, body):
    with pytest.raises(InvalidClick):
        read_click(body, signer)
