"""Room names, durations, token lifetimes, passwords and tokens."""

from datetime import UTC, datetime, timedelta

import pytest

from parley.errors import SignalingError
from parley.meetings.access import (
    TokenClaims,
    TokenSigner,
    admit,
    check_room_name,
    format_duration,
    hash_password,
    join_url,
    parse_duration,
    parse_lifetime,
    verify_password,
)
from parley.meetings.model import Meeting, MeetingState

NOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)


def meeting(**fields):
    return Meeting(
        id="m1",
        slug="room",
        title="Room",
        janus_room_id=1,
        state=MeetingState.OPEN,
        created_at=NOW,
        **fields,
    )


@pytest.mark.parametrize("name", ["a", "Weekly_sync-2", "x" * 64])
def test_room_name_accepts_valid(name):
    assert check_room_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 65, "a b", "a/b", "ü", "a.b"])
def test_room_name_rejects_invalid(name):
    with pytest.raises(ValueError, match="is not a room name"):
        check_room_name(name)


def test_duration_parses_and_formats():
    assert parse_duration("01:02:03") == timedelta(hours=1, minutes=2, seconds=3)
    assert parse_duration("unlimited") is None
    assert parse_duration("Unlimited") is None
    assert format_duration(timedelta(hours=26, seconds=5)) == "26:00:05"


@pytest.mark.parametrize("text", ["1:00:00", "00:60:00", "00:00:00", "", "1h"])
def test_duration_rejects_invalid(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1h", 3600), ("2 days", 172800), ("30m", 1800), (90, 90), ("1500", 1.5)],
)
def test_lifetime_reads_jsonwebtoken_units(value, seconds):
    assert parse_lifetime(value) == timedelta(seconds=seconds)


def test_lifetime_over_maximum_is_shortened():
    assert parse_lifetime("400d") == timedelta(days=366)
    assert parse_lifetime(10**30) == timedelta(days=366)


@pytest.mark.parametrize("value", ["soon", "1 fortnight", 0, -5, "0h", "h"])
def test_lifetime_rejects_invalid(value):
    with pytest.raises(ValueError):
        parse_lifetime(value)


def test_password_hash_verifies_only_the_password():
    stored = hash_password("open sesame")

    assert "open sesame" not in stored
    assert verify_password("open sesame", stored)
    assert not verify_password("open sesame ", stored)


def test_token_round_trips_claims():
    signer = TokenSigner("a-long-api-secret-value")
    claims = TokenClaims("ada", True, NOW + timedelta(hours=1), room="room")

    assert signer.verify(signer.issue(claims), NOW) == claims


def test_token_expires():
    signer = TokenSigner("a-long-api-secret-value")
    token = signer.issue(TokenClaims("ada", False, NOW + timedelta(seconds=5)))

    with pytest.raises(SignalingError) as error:
        signer.verify(token, NOW + timedelta(seconds=5))
    assert error.value.code == "token_expired"


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c", "...", "é.é.é"])
def test_malformed_token_is_invalid(token):
    signer = TokenSigner("a-long-api-secret-value")

    with pytest.raises(SignalingError) as error:
        signer.verify(token, NOW)
    assert error.value.code == "token_invalid"


def test_token_from_other_secret_is_invalid():
    token = TokenSigner("first-secret-value").issue(
        TokenClaims("ada", False, NOW + timedelta(hours=1))
    )

    with pytest.raises(SignalingError) as error:
        TokenSigner("second-secret-value").verify(token, NOW)
    assert error.value.code == "token_invalid"


def test_admit_open_room_without_credentials():
    assert admit(meeting(), password=None, token=None, signer=None, now=NOW) is None


@pytest.mark.parametrize(
    ("password", "code"),
    [
        (None, "password_required"),
        ("", "password_required"),
        ("no", "password_invalid"),
        (42, "password_invalid"),
    ],
)
def test_admit_protected_room_rejects(password, code):
    protected = meeting(password_hash=hash_password("yes"))

    with pytest.raises(SignalingError) as error:
        admit(protected, password=password, token=None, signer=None, now=NOW)
    assert error.value.code == code


def test_admit_token_without_signer_is_invalid():
    with pytest.raises(SignalingError) as error:
        admit(meeting(), password=None, token="a.b.c", signer=None, now=NOW)
    assert error.value.code == "token_invalid"


def test_join_url_encodes_options():
    url = join_url(
        "https://m.example", "room", name="Ada L", audio=False, video=True, token="t"
    )

    assert url == "https://m.example/join/room?name=Ada+L&audio=0&video=1&token=t"
    assert join_url("https://m.example", "room") == "https://m.example/join/room"
