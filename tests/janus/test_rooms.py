"""Rooms and participants on the real Janus shared by the test session."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from parley.errors import JanusPluginError
from parley.janus import (
    JanusEvent,
    JanusGateway,
    JanusSupervisor,
    Publisher,
    Subscriber,
    VideoRoomControl,
)
from parley.janus.videoroom import FEED_NOT_FOUND, ROOM_EXISTS, ROOM_NOT_FOUND

pytestmark = pytest.mark.asyncio(loop_scope="session")

room_ids = itertools.count(5000)


@pytest_asyncio.fixture(loop_scope="session")
async def gateway(shared_janus: JanusSupervisor) -> AsyncIterator[JanusGateway]:
    connected = JanusGateway(shared_janus.status.ws_url)
    await connected.connect()
    yield connected
    await connected.close()


@pytest_asyncio.fixture(loop_scope="session")
async def rooms(gateway: JanusGateway) -> AsyncIterator[VideoRoomControl]:
    control = VideoRoomControl(gateway)
    yield control
    await control.close()


@pytest_asyncio.fixture(loop_scope="session")
async def room_id(rooms: VideoRoomControl) -> AsyncIterator[int]:
    room = next(room_ids)
    await rooms.create_room(room, description="test", max_publishers=4, bitrate=256000)
    yield room
    if await rooms.room_exists(room):
        await rooms.destroy_room(room)


async def join_publisher(
    gateway: JanusGateway, room_id: int, feed_id: int, display: str
) -> tuple[Publisher, list[JanusEvent]]:
    """Join a publisher without media and collect its unsolicited events."""
    publisher = await Publisher.attach(await gateway.create_session())
    events: list[JanusEvent] = []
    publisher.on_event(events.append)
    await publisher.join(room_id, feed_id, display)
    return publisher, events


async def wait_for_events(events: list[JanusEvent], count: int) -> None:
    for _ in range(100):
        if len(events) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} events within 2 s, got {events}")


async def test_created_room_exists(rooms: VideoRoomControl, room_id: int) -> None:
    assert await rooms.room_exists(room_id)


async def test_destroyed_room_does_not_exist(rooms: VideoRoomControl) -> None:
    room = next(room_ids)
    await rooms.create_room(room, description="gone", max_publishers=2, bitrate=64000)

    await rooms.destroy_room(room)

    assert not await rooms.room_exists(room)


async def test_duplicate_room_is_rejected(
    rooms: VideoRoomControl, room_id: int
) -> None:
    with pytest.raises(JanusPluginError) as caught:
        await rooms.create_room(room_id, description="x", max_publishers=2, bitrate=1)

    assert caught.value.code == ROOM_EXISTS
    assert str(caught.value) == (
        f"Janus rejected 'create': Room {room_id} already exists (error 427)."
    )


async def test_destroying_missing_room_is_rejected(rooms: VideoRoomControl) -> None:
    with pytest.raises(JanusPluginError) as caught:
        await rooms.destroy_room(999_999)

    assert caught.value.code == ROOM_NOT_FOUND
    assert caught.value.reason == "No such room (999999)"


async def test_new_room_has_no_participants(
    rooms: VideoRoomControl, room_id: int
) -> None:
    assert await rooms.list_participants(room_id) == []


async def test_participants_lists_joined_publisher(
    gateway: JanusGateway, rooms: VideoRoomControl, room_id: int
) -> None:
    await join_publisher(gateway, room_id, 7, "Ada")

    participants = await rooms.list_participants(room_id)

    assert participants == [{"id": 7, "display": "Ada", "publisher": False}]


async def test_others_hear_joining_and_leaving(
    gateway: JanusGateway, room_id: int
) -> None:
    _, ada_events = await join_publisher(gateway, room_id, 7, "Ada")
    bob, _ = await join_publisher(gateway, room_id, 8, "Bob")

    await bob.close()
    await wait_for_events(ada_events, 2)

    assert [event.data for event in ada_events] == [
        {
            "videoroom": "event",
            "room": room_id,
            "joining": {"id": 8, "display": "Bob"},
        },
        {"videoroom": "event", "room": room_id, "leaving": 8},
    ]


async def test_join_returns_no_publishers_without_media(
    gateway: JanusGateway, room_id: int
) -> None:
    await join_publisher(gateway, room_id, 7, "Ada")
    bob = await Publisher.attach(await gateway.create_session())

    publishers = await bob.join(room_id, 8, "Bob")

    # Ada joined but never published, so she is an attendee, not a publisher
    assert publishers == []
    assert bob.private_id is not None


async def test_kicked_publisher_is_told(
    gateway: JanusGateway, rooms: VideoRoomControl, room_id: int
) -> None:
    _, ada_events = await join_publisher(gateway, room_id, 7, "Ada")
    _, bob_events = await join_publisher(gateway, room_id, 8, "Bob")

    await rooms.kick(room_id, 8)
    await wait_for_events(bob_events, 1)
    await wait_for_events(ada_events, 2)

    assert bob_events[0].data == {
        "videoroom": "event",
        "room": room_id,
        "leaving": "ok",
        "reason": "kicked",
    }
    assert ada_events[1].data == {
        "videoroom": "event",
        "room": room_id,
        "kicked": 8,
    }


async def test_destroyed_room_tells_participants(
    gateway: JanusGateway, rooms: VideoRoomControl
) -> None:
    room = next(room_ids)
    await rooms.create_room(room, description="x", max_publishers=2, bitrate=64000)
    _, ada_events = await join_publisher(gateway, room, 7, "Ada")

    await rooms.destroy_room(room)
    await wait_for_events(ada_events, 1)

    assert ada_events[0].data == {"videoroom": "destroyed", "room": room}


async def test_subscribing_to_silent_feed_is_rejected(
    gateway: JanusGateway, room_id: int
) -> None:
    await join_publisher(gateway, room_id, 7, "Ada")
    subscriber = await Subscriber.attach(await gateway.create_session())

    with pytest.raises(JanusPluginError) as caught:
        await subscriber.join(room_id, 7)

    assert caught.value.code == FEED_NOT_FOUND
    assert caught.value.reason == "No such feed (7)"


async def test_duplicate_feed_id_is_rejected(
    gateway: JanusGateway, room_id: int
) -> None:
    await join_publisher(gateway, room_id, 7, "Ada")
    impostor = await Publisher.attach(await gateway.create_session())

    with pytest.raises(JanusPluginError) as caught:
        await impostor.join(room_id, 7, "Eve")

    assert caught.value.code == 436
