"""JanusGateway against a fake Janus on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging

import pytest

from parley.errors import JanusPluginError, JanusUnavailable
from parley.janus import JanusEvent, JanusGateway, JanusHandle
from tests.janus.conftest import free_port
from tests.janus.fakes import FakeJanus, event, success

OFFER = {"type": "offer", "sdp": "v=0\r\na=ice-ufrag:SECRETUFRAG\r\n"}


async def open_handle(gateway: JanusGateway) -> JanusHandle:
    session = await gateway.create_session()
    return await session.attach()


async def test_info_returns_server_info(gateway: JanusGateway) -> None:
    info = await gateway.info()

    assert info["janus"] == "server_info"
    assert info["version_string"] == "1.1.2"


async def test_replies_match_their_transactions(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    handle = await open_handle(gateway)
    fake_janus.on("message:exists", [])
    first = asyncio.create_task(handle.request({"request": "exists", "room": 1}))
    second = asyncio.create_task(handle.request({"request": "exists", "room": 2}))
    requests = await fake_janus.wait_for(lambda m: "body" in m, count=2)

    # reply in the opposite order
    for request in reversed(requests):
        room = request["body"]["room"]
        reply = success({"room": room, "exists": room == 2})
        await fake_janus.send({**reply, "transaction": request["transaction"]})

    assert await first == {"room": 1, "exists": False}
    assert await second == {"room": 2, "exists": True}


async def test_message_waits_for_ack_then_event(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    handle = await open_handle(gateway)
    fake_janus.on("message:join", [])
    joining = asyncio.create_task(handle.message({"request": "join", "room": 7}))
    request = await fake_janus.request("message:join")
    transaction = request["transaction"]

    await fake_janus.send({"janus": "ack", "transaction": transaction})
    await asyncio.sleep(0.05)
    assert not joining.done()

    joined = event({"videoroom": "joined", "id": 5}, jsep={"type": "answer"})
    await fake_janus.send({**joined, "transaction": transaction, "sender": handle.id})
    result = await joining

    assert result == JanusEvent(
        "event", {"videoroom": "joined", "id": 5}, {"type": "answer"}
    )


async def test_event_before_ack_ends_message(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    # Janus 1.1.2 sends a plugin's error event before the ack of the request.
    handle = await open_handle(gateway)
    error = event(
        {"videoroom": "event", "error_code": 426, "error": "No such room (9)"}
    )
    fake_janus.on("message:join", [error, {"janus": "ack"}])

    with pytest.raises(JanusPluginError) as caught:
        await handle.message({"request": "join", "room": 9})

    assert caught.value.code == 426
    assert caught.value.reason == "No such room (9)"
    assert str(caught.value) == "Janus rejected 'join': No such room (9) (error 426)."


async def test_plugin_error_carries_code(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    handle = await open_handle(gateway)
    error = {"videoroom": "event", "error_code": 427, "error": "Room 42 already exists"}
    fake_janus.on("message:create", [success(error)])

    with pytest.raises(JanusPluginError) as caught:
        await handle.request({"request": "create", "room": 42})

    assert caught.value.code == 427
    assert caught.value.reason == "Room 42 already exists"
    assert str(caught.value) == (
        "Janus rejected 'create': Room 42 already exists (error 427)."
    )


async def test_core_error_carries_code(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    session = await gateway.create_session()
    error = {"code": 458, "reason": f"No such session {session.id}"}
    fake_janus.on("attach", [{"janus": "error", "error": error}])

    with pytest.raises(JanusPluginError) as caught:
        await session.attach()

    assert caught.value.code == 458
    assert str(caught.value) == (
        f"Janus rejected 'attach': No such session {session.id} (error 458)."
    )


async def test_silent_janus_times_out(fake_janus: FakeJanus) -> None:
    gateway = JanusGateway(fake_janus.url, request_timeout=0.2)
    await gateway.connect()
    fake_janus.on("info", [])

    with pytest.raises(JanusUnavailable) as caught:
        await gateway.info()

    assert str(caught.value) == (
        f"Janus did not answer within 0.2 s at {fake_janus.url}; is it running?"
    )
    assert caught.value.url == fake_janus.url
    await gateway.close()


async def test_message_timeout_overrides_default(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    handle = await open_handle(gateway)
    fake_janus.on("message:configure", [{"janus": "ack"}])

    with pytest.raises(JanusUnavailable, match="within 0.1 s"):
        await handle.message({"request": "configure"}, timeout=0.1)


async def test_connection_loss_fails_pending_requests(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    disconnects: list[str] = []
    gateway.add_disconnect_listener(lambda: disconnects.append("lost"))
    handle = await open_handle(gateway)
    fake_janus.on("message:join", [{"janus": "ack"}])
    joining = asyncio.create_task(handle.message({"request": "join", "room": 1}))
    await fake_janus.request("message:join")

    await fake_janus.drop()

    with pytest.raises(JanusUnavailable) as caught:
        await joining
    assert str(caught.value) == (
        f"Lost the connection to Janus at {fake_janus.url} before it answered 'join'."
    )
    assert disconnects == ["lost"]
    assert not gateway.connected


async def test_close_calls_no_disconnect_listener(
    fake_janus: FakeJanus,
) -> None:
    disconnects: list[str] = []
    gateway = JanusGateway(fake_janus.url)
    gateway.add_disconnect_listener(lambda: disconnects.append("lost"))
    await gateway.connect()

    await gateway.close()

    assert disconnects == []
    assert not gateway.connected


async def test_request_while_disconnected_raises(fake_janus: FakeJanus) -> None:
    gateway = JanusGateway(fake_janus.url)

    with pytest.raises(JanusUnavailable) as caught:
        await gateway.create_session()

    assert str(caught.value) == (
        f"Cannot send 'create': not connected to Janus at {fake_janus.url}."
    )


async def test_connect_refused_names_url() -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    gateway = JanusGateway(url, request_timeout=1)

    with pytest.raises(JanusUnavailable) as caught:
        await gateway.connect()

    assert str(caught.value) == (
        f"Cannot connect to Janus at {url}: connection refused; is it running?"
    )


async def test_connect_twice_is_misuse(gateway: JanusGateway) -> None:
    with pytest.raises(RuntimeError, match="Already connected"):
        await gateway.connect()


async def test_session_sends_keepalives(fake_janus: FakeJanus) -> None:
    gateway = JanusGateway(fake_janus.url, keepalive_interval=0.05)
    await gateway.connect()
    session = await gateway.create_session()

    keepalives = await fake_janus.wait_for(lambda m: m["janus"] == "keepalive", count=2)

    assert all(m["session_id"] == session.id for m in keepalives)
    await gateway.close()


async def test_destroyed_session_stops_keepalives(fake_janus: FakeJanus) -> None:
    gateway = JanusGateway(fake_janus.url, keepalive_interval=0.05)
    await gateway.connect()
    session = await gateway.create_session()
    await session.destroy()

    await asyncio.sleep(0.2)

    assert [m["janus"] for m in fake_janus.received] == ["create", "destroy"]
    assert not session.alive
    await gateway.close()


async def test_reconnect_leaves_old_sessions_dead(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    session = await gateway.create_session()
    await fake_janus.drop()
    await asyncio.sleep(0.05)

    await gateway.connect()

    assert gateway.connected
    assert gateway.generation == 2
    assert not session.alive


async def test_unsolicited_event_reaches_its_handle(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    session = await gateway.create_session()
    handle = await session.attach()
    other = await session.attach()
    received: list[JanusEvent] = []
    handle.on_event(received.append)
    other.on_event(lambda e: pytest.fail(f"other handle got {e}"))

    leaving = event({"videoroom": "event", "room": 1, "leaving": 8})
    await fake_janus.send({**leaving, "session_id": session.id, "sender": handle.id})
    webrtcup = {"janus": "webrtcup", "session_id": session.id, "sender": handle.id}
    await fake_janus.send(webrtcup)
    await fake_janus.send({**webrtcup, "sender": 999})
    await gateway.info()  # the fake replies in order, so the events came first

    assert received == [
        JanusEvent("event", {"videoroom": "event", "room": 1, "leaving": 8}, None),
        JanusEvent("webrtcup", webrtcup, None),
    ]


async def test_late_ack_is_not_an_event(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    handle = await open_handle(gateway)
    received: list[JanusEvent] = []
    handle.on_event(received.append)
    fake_janus.on("message:leave", [event({"leaving": "ok"}), {"janus": "ack"}])

    await handle.message({"request": "leave"})
    await gateway.info()

    assert received == []


async def test_failing_listener_spares_the_others(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    handle = await open_handle(gateway)
    received: list[JanusEvent] = []

    def fail(event: JanusEvent) -> None:
        raise RuntimeError("listener bug")

    handle.on_event(fail)
    handle.on_event(received.append)

    hangup = {"janus": "hangup", "sender": handle.id, "reason": "DTLS alert"}
    await fake_janus.send(hangup)
    await gateway.info()

    assert received == [JanusEvent("hangup", hangup, None)]


async def test_trickle_none_sends_completed(
    fake_janus: FakeJanus, gateway: JanusGateway
) -> None:
    handle = await open_handle(gateway)

    await handle.trickle(None)

    request = await fake_janus.request("trickle")
    assert request["candidate"] == {"completed": True}
    assert request["handle_id"] == handle.id


async def test_jsep_is_not_logged(
    fake_janus: FakeJanus, gateway: JanusGateway, caplog: pytest.LogCaptureFixture
) -> None:
    handle = await open_handle(gateway)
    fake_janus.on("message:configure", [{"janus": "ack"}, event({"configured": "ok"})])
    caplog.set_level(logging.DEBUG, logger="parley.janus")

    await handle.message({"request": "configure"}, jsep=OFFER)
    await handle.trickle({"candidate": "candidate:1 ufrag SECRETUFRAG"})

    assert "'configure'" in caplog.text
    assert "with a jsep" in caplog.text
    assert "SECRETUFRAG" not in caplog.text
