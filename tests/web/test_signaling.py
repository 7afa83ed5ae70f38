"""The signaling WebSocket against a fake media gateway."""

import time
from contextlib import ExitStack

import pytest
from starlette.websockets import WebSocketDisconnect

from parley.errors import JanusPluginError, JanusUnavailable
from tests.support.fakes import FAKE_ANSWER_SDP, FAKE_OFFER_SDP

OFFER = "v=0\r\no=- 9 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


@pytest.fixture
def sockets():
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def join(client, slug, sockets):
    def join(client, slug, name):
        socket = sockets.enter_context(client.websocket_connect(f"/join/{slug}/signal"))
        socket.send_json({"type": "join", "name": name})
        return socket, socket.receive_json()

    return join


def test_join_returns_self_and_room(client, slug, join):
    socket, joined = join(client, slug, "  Ada   Lovelace ")

    assert joined["type"] == "joined"
    assert joined["you"]["name"] == "Ada Lovelace"
    assert joined["participants"] == []
    assert joined["room"] == {"slug": slug, "title": "standup"}
    socket.close()


def test_second_participant_sees_first_and_is_announced(client, slug, join):
    first, first_joined = join(client, slug, "Ada")
    second, second_joined = join(client, slug, "Grace")

    assert [p["name"] for p in second_joined["participants"]] == ["Ada"]
    announced = first.receive_json()
    assert announced["type"] == "participant_joined"
    assert announced["participant"]["name"] == "Grace"
    first.close()
    second.close()


def test_publish_returns_janus_answer(client, slug, join):
    socket, _ = join(client, slug, "Ada")

    socket.send_json({"type": "publish", "sdp": OFFER})

    assert socket.receive_json() == {"type": "published", "sdp": FAKE_ANSWER_SDP}
    socket.close()


def test_webrtcup_announces_stream_to_others(client, slug, gateway, join):
    first, first_joined = join(client, slug, "Ada")
    second, _ = join(client, slug, "Grace")
    first.receive_json()  # participant_joined

    client.portal.call(gateway.publishers[0].emit, "webrtcup")

    updated = second.receive_json()
    assert updated["type"] == "participant_updated"
    assert updated["participant"]["publishing"] is True
    available = second.receive_json()
    assert available == {
        "type": "stream_available",
        "participant": first_joined["you"]["id"],
    }
    first.close()
    second.close()


def test_subscribe_relays_offer_and_answer(client, slug, gateway, join):
    first, first_joined = join(client, slug, "Ada")
    client.portal.call(gateway.publishers[0].emit, "webrtcup")
    second, second_joined = join(client, slug, "Grace")
    ada = first_joined["you"]["id"]
    assert second_joined["participants"][0]["publishing"] is True

    second.send_json({"type": "subscribe", "participant": ada})
    offer = second.receive_json()
    second.send_json({"type": "answer", "participant": ada, "sdp": OFFER})
    second.send_json(
        {
            "type": "trickle",
            "participant": ada,
            "candidate": {"candidate": "c", "sdpMid": "0"},
        }
    )
    second.send_json({"type": "trickle", "participant": ada, "candidate": None})
    second.send_json({"type": "leave"})

    assert offer == {"type": "offer", "participant": ada, "sdp": FAKE_OFFER_SDP}
    subscriber = gateway.subscribers[0]
    assert subscriber.feed_id == gateway.publishers[0].feed_id
    assert subscriber.answer == {"type": "answer", "sdp": OFFER}
    assert subscriber.candidates == [{"candidate": "c", "sdpMid": "0"}, None]
    first.close()


def test_leaving_tells_others_and_closes_links(client, slug, gateway, join):
    first, _ = join(client, slug, "Ada")
    second, second_joined = join(client, slug, "Grace")
    first.receive_json()

    second.send_json({"type": "leave"})

    left = first.receive_json()
    assert left == {
        "type": "participant_left",
        "participant": second_joined["you"]["id"],
    }
    assert gateway.publishers[1].closed
    first.close()


def test_disconnect_counts_as_leaving(client, slug, gateway, join):
    first, _ = join(client, slug, "Ada")
    second, second_joined = join(client, slug, "Grace")
    first.receive_json()

    second.close()

    assert first.receive_json()["type"] == "participant_left"
    first.close()


def test_unknown_room_is_fatal(client):
    with client.websocket_connect("/join/nope-aaaa/signal") as socket:
        frame = socket.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()

    assert frame["code"] == "room_not_found"
    assert frame["fatal"] is True
    assert closed.value.code == 4404


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "publish", "sdp": OFFER}, "not_joined"),
        ({"type": "join"}, "bad_message"),
        ({"type": "join", "name": "   "}, "bad_message"),
        ({"type": "join", "name": "x" * 65}, "bad_message"),
        ({"type": "dance"}, "bad_message"),
        ({"kind": "join"}, "bad_message"),
    ],
)
def test_bad_frames_get_error_and_socket_stays_open(client, slug, frame, code):
    with client.websocket_connect(f"/join/{slug}/signal") as socket:
        socket.send_json(frame)
        error = socket.receive_json()
        socket.send_json({"type": "join", "name": "Ada"})
        joined = socket.receive_json()

    assert error["type"] == "error"
    assert error["code"] == code
    assert error["fatal"] is False
    assert error.get("request") == frame.get("type")
    assert joined["type"] == "joined"


def test_invalid_json_gets_error(client, slug):
    with client.websocket_connect(f"/join/{slug}/signal") as socket:
        socket.send_text("{not json")
        error = socket.receive_json()

    assert error["code"] == "bad_message"
    assert error["message"] == "The frame is not valid JSON."


def test_publish_without_sdp_is_rejected(client, slug, join):
    socket, _ = join(client, slug, "Ada")

    socket.send_json({"type": "publish", "sdp": "hello"})

    error = socket.receive_json()
    assert error["code"] == "bad_message"
    assert error["message"] == "'publish' needs an SDP offer in 'sdp'."
    socket.close()


def test_subscribe_to_unknown_participant(client, slug, join):
    socket, _ = join(client, slug, "Ada")

    socket.send_json({"type": "subscribe", "participant": "ghost"})

    assert socket.receive_json()["code"] == "unknown_participant"
    socket.close()


def test_join_when_janus_down_is_refused(client, slug, gateway):
    gateway.is_ready = False

    with client.websocket_connect(f"/join/{slug}/signal") as socket:
        socket.send_json({"type": "join", "name": "Ada"})
        error = socket.receive_json()

    assert error["code"] == "media_unavailable"


def test_room_lost_by_janus_is_recreated_on_join(client, slug, gateway, join):
    gateway.rooms.clear()

    socket, joined = join(client, slug, "Ada")

    assert joined["type"] == "joined"
    assert len(gateway.rooms) == 1
    socket.close()


def test_join_is_recorded_and_room_released(client, slug, join):
    parley = client.app.state.parley
    socket, _ = join(client, slug, "Ada")
    assert parley.live_rooms.count_participants() == 1

    socket.send_json({"type": "leave"})
    socket.close()
    # The server leaves the room after the client's close returns; give it 2 s.
    for _ in range(200):
        if len(parley.live_rooms) == 0:
            break
        time.sleep(0.01)

    health = client.get("/healthz").json()
    assert health["participants"] == 0
    assert health["live_rooms"] == 0


def test_ending_meeting_tells_everyone_and_closes(client, slug, gateway, join):
    parley = client.app.state.parley
    first, _ = join(client, slug, "Ada")
    second, _ = join(client, slug, "Grace")
    first.receive_json()  # participant_joined
    meeting = client.portal.call(parley.service.find_open_meeting, slug)

    client.portal.call(parley.live_rooms.end_meeting, meeting)

    for socket in (first, second):
        frames = []
        with pytest.raises(WebSocketDisconnect):
            while True:
                frames.append(socket.receive_json())
        assert {"type": "room_ended", "reason": "ended"} in frames
    assert gateway.rooms == {}
    assert all(publisher.closed for publisher in gateway.publishers)
    assert client.get(f"/join/{slug}").status_code == 410
    health = client.get("/healthz").json()
    assert health["live_rooms"] == 0
    assert health["participants"] == 0


def test_ended_meeting_refuses_signaling(client, slug):
    parley = client.app.state.parley
    meeting = client.portal.call(parley.service.find_open_meeting, slug)
    client.portal.call(parley.live_rooms.end_meeting, meeting)

    with client.websocket_connect(f"/join/{slug}/signal") as socket:
        error = socket.receive_json()

    assert error["code"] == "room_ended"
    assert error["fatal"] is True


def test_rejected_offer_names_request_and_reason(client, slug, gateway, join):
    gateway.publish_error = JanusPluginError(
        "Janus error 465: Invalid SDP", code=465, reason="Invalid SDP"
    )
    socket, _ = join(client, slug, "Ada")

    socket.send_json({"type": "publish", "sdp": OFFER})

    assert socket.receive_json() == {
        "type": "error",
        "code": "media_rejected",
        "message": "The media server rejected the publish request: Invalid SDP.",
        "fatal": False,
        "request": "publish",
    }


def test_unreachable_janus_asks_to_retry(client, slug, gateway, join):
    gateway.publish_error = JanusUnavailable("timed out", url="ws://fake")
    socket, _ = join(client, slug, "Ada")

    socket.send_json({"type": "publish", "sdp": OFFER})

    error = socket.receive_json()
    assert error["code"] == "media_unavailable"
    assert error["message"] == "The media server did not respond; try again shortly."
    assert error["request"] == "publish"


def test_late_hangup_after_leave_is_not_broadcast(client, slug, gateway, join):
    first, _ = join(client, slug, "Ada")
    second, _ = join(client, slug, "Grace")
    first.receive_json()  # participant_joined
    client.portal.call(gateway.publishers[1].emit, "webrtcup")
    assert first.receive_json()["type"] == "participant_updated"
    assert first.receive_json()["type"] == "stream_available"
    second.send_json({"type": "leave"})
    assert first.receive_json()["type"] == "participant_left"

    client.portal.call(gateway.publishers[1].emit, "hangup")
    first.send_json({"type": "dance"})

    # The next frame is the reply to "dance", not an update about Grace.
    assert first.receive_json()["code"] == "bad_message"
