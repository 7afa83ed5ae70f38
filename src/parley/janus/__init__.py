"""Parley's adapter to the Janus WebRTC gateway and its videoroom plugin.

`JanusController` is the entry point: it runs or reaches Janus and keeps the
connection open. The modules below it, from the wire up:

- `gateway`: the WebSocket connection, sessions, handles and events.
- `videoroom`: rooms, publishers and subscribers on top of handles.
- `jcfg`: the configuration files of a Janus that Parley runs itself.
- `supervisor`: that Janus process, restarted when it exits.
"""

from parley.janus.controller import JanusController, ReconnectListener
from parley.janus.gateway import (
    EventCallback,
    JanusEvent,
    JanusGateway,
    JanusHandle,
    JanusSession,
)
from parley.janus.jcfg import (
    JanusProcessSettings,
    render_janus_config,
    write_janus_config,
)
from parley.janus.supervisor import JanusStatus, JanusSupervisor
from parley.janus.videoroom import Publisher, Subscriber, VideoRoomControl

__all__ = [
    "EventCallback",
    "JanusController",
    "JanusEvent",
    "JanusGateway",
    "JanusHandle",
    "JanusProcessSettings",
    "JanusSession",
    "JanusStatus",
    "JanusSupervisor",
    "Publisher",
    "ReconnectListener",
    "Subscriber",
    "VideoRoomControl",
    "render_janus_config",
    "write_janus_config",
]
