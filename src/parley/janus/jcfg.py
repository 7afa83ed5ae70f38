"""Configuration files for a Janus process that Parley runs itself.

Janus reads libconfig syntax ("jcfg"). Parley writes a minimal set: the core
(`janus.jcfg`) with only the videoroom plugin and the WebSocket transport loaded,
the videoroom plugin, and the WebSocket transport bound to loopback by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from parley.errors import ConfigError

MODULES_DIR = Path("/usr/lib/x86_64-linux-gnu/janus")
"""The folder in which the Debian package `janus` installs its modules."""

SESSION_TIMEOUT = 60
"""Seconds without a request or keepalive after which Janus destroys a session."""

KEPT_MODULES = frozenset({"libjanus_videoroom.so", "libjanus_websockets.so"})

# Modules of the Debian janus 1.1.2 package, by folder. Modules found on disk are
# added to these at render time, so a newer package's extra modules are disabled too.
KNOWN_MODULES: dict[str, tuple[str, ...]] = {
    "plugins": (
        "libjanus_audiobridge.so",
        "libjanus_duktape.so",
        "libjanus_echotest.so",
        "libjanus_lua.so",
        "libjanus_nosip.so",
        "libjanus_recordplay.so",
        "libjanus_sip.so",
        "libjanus_streaming.so",
        "libjanus_textroom.so",
        "libjanus_videocall.so",
        "libjanus_videoroom.so",
        "libjanus_voicemail.so",
    ),
    "transports": (
        "libjanus_http.so",
        "libjanus_mqtt.so",
        "libjanus_nanomsg.so",
        "libjanus_pfunix.so",
        "libjanus_rabbitmq.so",
        "libjanus_websockets.so",
    ),
    "events": (
        "libjanus_gelfevh.so",
        "libjanus_mqttevh.so",
        "libjanus_nanomsgevh.so",
        "libjanus_rabbitmqevh.so",
        "libjanus_sampleevh.so",
        "libjanus_wsevh.so",
    ),
    "loggers": ("libjanus_jsonlog.so",),
}

_PORT_RANGE = re.compile(r"(\d+)-(\d+)")


@dataclass
class JanusProcessSettings:
    """Settings of a Janus process that Parley starts and configures.

    `ice_interfaces` becomes Janus's `ice_enforce_list`. Janus (libnice) skips
    interfaces flagged LOOPBACK before it reads that list, and falls back to every
    other interface when no listed interface matches, so naming `lo` here does not
    keep media on loopback.
    """

    config_dir: Path
    ws_host: str = "127.0.0.1"
    ws_port: int = 8188
    rtp_port_range: str = "20000-40000"
    ice_interfaces: list[str] = field(default_factory=list)
    ipv6: bool = False
    ignore_mdns: bool = True
    nat_1_1_mapping: str | None = None
    stun_server: str | None = None
    # NOTE: from level 5 on, Janus prints SDP (with ICE credentials) to its log.
    debug_level: int = 4
    # Where the supervisor appends Janus's output; None sends it to Python logging.
    log_file: Path | None = None
    # The folder holding Janus's plugins/, transports/, events/ and loggers/.
    modules_dir: Path = MODULES_DIR

    def __post_init__(self) -> None:
        self.config_dir = Path(self.config_dir)
        _check_port(self.ws_port)
        _check_port_range(self.rtp_port_range)
        _check_interfaces(self.ice_interfaces)
        if not 0 <= self.debug_level <= 7:
            raise ConfigError(
                f"Janus debug level {self.debug_level} is invalid; use 0 to 7.",
                key="janus.debug_level",
            )

    @property
    def ws_url(self) -> str:
        """The WebSocket URL at which this Janus serves its API."""
        host = f"[{self.ws_host}]" if ":" in self.ws_host else self.ws_host
        return f"ws://{host}:{self.ws_port}"


def render_janus_config(settings: JanusProcessSettings) -> dict[str, str]:
    """Render the jcfg files for `settings`, keyed by file name."""
    return {
        "janus.jcfg": _render_core(settings),
        "janus.plugin.videoroom.jcfg": _render_videoroom(),
        "janus.transport.websockets.jcfg": _render_websockets(settings),
    }


def write_janus_config(settings: JanusProcessSettings) -> list[Path]:
    """Write the jcfg files into `settings.config_dir` and return their paths."""
    settings.config_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_janus_config(settings).items():
        path = settings.config_dir / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def quote(value: str) -> str:
    """Quote `value` as a libconfig string literal."""
    if any(ord(char) < 0x20 and char not in "\n\t" for char in value):
        raise ConfigError(f"Janus setting {value!r} contains a control character.")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _render_core(settings: JanusProcessSettings) -> str:
    folders = settings.modules_dir
    general = {
        "configs_folder": quote(str(settings.config_dir)),
        "plugins_folder": quote(str(folders / "plugins")),
        "transports_folder": quote(str(folders / "transports")),
        "events_folder": quote(str(folders / "events")),
        "loggers_folder": quote(str(folders / "loggers")),
        "log_to_stdout": "true",
        "debug_level": str(settings.debug_level),
        "debug_colors": "false",
        "session_timeout": str(SESSION_TIMEOUT),
        "reclaim_session_timeout": "0",
    }
    media = {
        "ipv6": _boolean(settings.ipv6),
        "rtp_port_range": quote(settings.rtp_port_range),
    }
    sections = {
        "general": general,
        "certificates": {},
        "media": media,
        "nat": _nat_section(settings),
        "plugins": _disable_section(settings, "plugins"),
        "transports": _disable_section(settings, "transports"),
        "loggers": _disable_section(settings, "loggers"),
        "events": {"broadcast": "false", **_disable_section(settings, "events")},
    }
    return _render_sections(sections)


def _nat_section(settings: JanusProcessSettings) -> dict[str, str]:
    nat = {
        "nice_debug": "false",
        "full_trickle": "false",
        "ignore_mdns": _boolean(settings.ignore_mdns),
    }
    if settings.stun_server:
        host, _, port = settings.stun_server.rpartition(":")
        if host and port.isdigit():
            nat["stun_server"] = quote(host)
            nat["stun_port"] = port
        else:
            nat["stun_server"] = quote(settings.stun_server)
            nat["stun_port"] = "3478"
    if settings.nat_1_1_mapping:
        nat["nat_1_1_mapping"] = quote(settings.nat_1_1_mapping)
    if settings.ice_interfaces:
        nat["ice_enforce_list"] = quote(",".join(settings.ice_interfaces))
    return nat


def _disable_section(settings: JanusProcessSettings, folder: str) -> dict[str, str]:
    modules = set(KNOWN_MODULES[folder])
    directory = settings.modules_dir / folder
    if directory.is_dir():
        modules.update(path.name for path in directory.glob("libjanus_*.so"))
    disabled = sorted(modules - KEPT_MODULES)
    if not disabled:
        return {}
    return {"disable": quote(",".join(disabled))}


def _render_videoroom() -> str:
    # No admin_key: with one set, `create` requests that omit it fail with 429.
    # No rooms are predefined, because Parley creates each room when it is needed.
    return _render_sections({"general": {}})


def _render_websockets(settings: JanusProcessSettings) -> str:
    general = {
        "json": quote("compact"),
        "ws": "true",
        "ws_port": str(settings.ws_port),
        "ws_ip": quote(settings.ws_host),
        "wss": "false",
    }
    admin = {"admin_ws": "false", "admin_wss": "false"}
    return _render_sections({"general": general, "admin": admin})


def _render_sections(sections: dict[str, dict[str, str]]) -> str:
    lines = ["# Written by Parley; changes are overwritten when Parley starts Janus."]
    for name, values in sections.items():
        lines.append(f"{name}: {{")
        lines.extend(f"\t{key} = {value}" for key, value in values.items())
        lines.append("}")
    return "\n".join(lines) + "\n"


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise ConfigError(
            f"Janus WebSocket port {port} is invalid; use 1 to 65535.",
            key="janus.ws_port",
        )


def _check_port_range(value: str) -> None:
    match = _PORT_RANGE.fullmatch(value)
    if match is None or not 1 <= int(match[1]) < int(match[2]) <= 65535:
        raise ConfigError(
            f"RTP port range {value!r} is invalid; "
            "use two ports such as '20000-40000'.",
            key="janus.rtp_port_range",
        )


def _check_interfaces(interfaces: list[str]) -> None:
    for name in interfaces:
        if not name or "," in name or name.strip() != name:
            raise ConfigError(
                f"ICE interface {name!r} is invalid; give one interface name or "
                "address prefix per entry.",
                key="janus.interfaces",
            )
