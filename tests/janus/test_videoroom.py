"""Videoroom helpers against a fake Janus: what they send and what they return."""

from __future__ import annotations

import pytest

from parley.errors import JanusPluginError
from parley.janus import JanusGateway, Publisher, Subscriber, VideoRoomControl
from tests.janus.fakes import FakeJanus, event, request_key, success

OFFER = {"type": "offer", "sdp": "v=0\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\n"}


async def test_create_room_sends_parley_room_settings(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    fake_janus.on("message:create", [success({"videoroom": "created", "room": 42})])
    rooms = VideoRoomControl(gateway)

    await rooms.create_room(42, description="standup", max_publishers=6, bitrate=512000)

    request = await fake_janus.request("message:create")
    assert request["body"] == {
        "request": "create",
        "room": 42,
        "description": "standup",
        "publishers": 6,
        "bitrate": 512000,
        "videocodec": "vp8",
        "audiocodec": "opus",
        "is_private": True,
        "permanent": False,
        "notify_joining": True,
    }


async def test_room_control_reuses_its_session(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    fake_janus.on("message:exists", [success({"exists": True})])
    rooms = VideoRoomControl(gateway)

    assert await rooms.room_exists(1)
    assert await rooms.room_exists(2)

    verbs = [m["janus"] for m in fake_janus.received]
    assert verbs == ["create", "attach", "message", "message"]


async def test_room_control_reopens_expired_session(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    fake_janus.on("message:exists", [success({"exists": True})])
    rooms = VideoRoomControl(gateway)
    await rooms.room_exists(1)
    expired = {"janus": "error", "error": {"code": 458, "reason": "No such session"}}
    fake_janus.on("message:exists", [expired])

    with pytest.raises(JanusPluginError):
        await rooms.room_exists(1)

    # the retry went to a second session, and Janus rejected it again
    sessions = [m for m in fake_janus.received if m["janus"] == "create"]
    assert len(sessions) == 2


async def test_list_participants_returns_the_list(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    ada = {"id": 7, "display": "Ada", "publisher": False}
    fake_janus.on("message:listparticipants", [success({"participants": [ada]})])
    rooms = VideoRoomControl(gateway)

    assert await rooms.list_participants(3) == [ada]


async def test_publisher_join_returns_publishers(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    bob = {"id": 8, "display": "Bob", "streams": []}
    joined = {"videoroom": "joined", "id": 7, "private_id": 99, "publishers": [bob]}
    fake_janus.on("message:join", [{"janus": "ack"}, event(joined)])
    publisher = await Publisher.attach(await gateway.create_session())

    publishers = await publisher.join(3, 7, "Ada")

    assert publishers == [bob]
    assert publisher.private_id == 99
    request = await fake_janus.request("message:join")
    assert request["body"] == {
        "request": "join",
        "ptype": "publisher",
        "room": 3,
        "id": 7,
        "display": "Ada",
    }


async def test_publish_returns_the_answer(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    configured = event({"videoroom": "event", "configured": "ok"}, jsep=ANSWER)
    fake_janus.on("message:configure", [{"janus": "ack"}, configured])
    publisher = await Publisher.attach(await gateway.create_session())

    answer = await publisher.publish(OFFER)

    assert answer == ANSWER
    request = await fake_janus.request("message:configure")
    assert request["body"] == {"request": "configure", "audio": True, "video": True}
    assert request["jsep"] == OFFER


async def test_publish_without_answer_raises(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    configured = event({"videoroom": "event", "configured": "ok"})
    fake_janus.on("message:configure", [{"janus": "ack"}, configured])
    publisher = await Publisher.attach(await gateway.create_session())

    with pytest.raises(JanusPluginError, match="sent no answer"):
        await publisher.publish(OFFER)


async def test_set_media_configures_audio_and_video(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    fake_janus.on("message:configure", [{"janus": "ack"}, event({"configured": "ok"})])
    publisher = await Publisher.attach(await gateway.create_session())

    await publisher.set_media(audio=False, video=True)

    request = await fake_janus.request("message:configure")
    assert request["body"] == {"request": "configure", "audio": False, "video": True}
    assert "jsep" not in request


async def test_subscriber_join_asks_for_one_feed(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    attached = event({"videoroom": "attached", "room": 3}, jsep=OFFER)
    fake_janus.on("message:join", [{"janus": "ack"}, attached])
    subscriber = await Subscriber.attach(await gateway.create_session())

    offer = await subscriber.join(3, 8, private_id=99)

    assert offer == OFFER
    request = await fake_janus.request("message:join")
    assert request["body"] == {
        "request": "join",
        "ptype": "subscriber",
        "room": 3,
        "streams": [{"feed": 8}],
        "private_id": 99,
    }


async def test_subscriber_start_sends_the_answer(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    fake_janus.on("message:start", [{"janus": "ack"}, event({"started": "ok"})])
    subscriber = await Subscriber.attach(await gateway.create_session())

    await subscriber.start(ANSWER)

    request = await fake_janus.request("message:start")
    assert request["body"] == {"request": "start"}
    assert request["jsep"] == ANSWER


async def test_publisher_close_leaves_then_detaches(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    joined = {"videoroom": "joined", "id": 7, "publishers": []}
    fake_janus.on("message:join", [{"janus": "ack"}, event(joined)])
    fake_janus.on("message:leave", [event({"leaving": "ok"})])
    publisher = await Publisher.attach(await gateway.create_session())
    await publisher.join(3, 7, "Ada")

    await publisher.close()

    keys = [request_key(m) for m in fake_janus.received]
    assert keys[-2:] == ["message:leave", "detach"]
