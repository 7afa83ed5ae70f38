"""Janus configuration files: what they contain, and that Janus accepts them."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from parley.errors import ConfigError, JanusError
from parley.janus import JanusGateway, JanusProcessSettings, render_janus_config
from parley.janus.jcfg import MODULES_DIR, quote, write_janus_config
from tests.janus.conftest import process_settings, requires_janus


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def test_config_has_three_files(tmp_path: Path) -> None:
    files = render_janus_config(JanusProcessSettings(config_dir=tmp_path))

    assert sorted(files) == [
        "janus.jcfg",
        "janus.plugin.videoroom.jcfg",
        "janus.transport.websockets.jcfg",
    ]


def test_core_config_sets_media_and_nat(tmp_path: Path) -> None:
    settings = JanusProcessSettings(
        config_dir=tmp_path,
        rtp_port_range="30000-30100",
        ice_interfaces=["parley0", "eth1"],
        nat_1_1_mapping="203.0.113.7",
        stun_server="stun.example.org:3479",
    )

    core = lines(render_janus_config(settings)["janus.jcfg"])

    assert 'rtp_port_range = "30000-30100"' in core
    assert "ipv6 = false" in core
    assert "ignore_mdns = true" in core
    assert "full_trickle = false" in core
    assert "session_timeout = 60" in core
    assert 'ice_enforce_list = "parley0,eth1"' in core
    assert 'nat_1_1_mapping = "203.0.113.7"' in core
    assert 'stun_server = "stun.example.org"' in core
    assert "stun_port = 3479" in core
    assert f'configs_folder = "{tmp_path}"' in core


def test_core_config_omits_unset_nat_options(tmp_path: Path) -> None:
    core = render_janus_config(JanusProcessSettings(config_dir=tmp_path))["janus.jcfg"]

    assert "ice_enforce_list" not in core
    assert "nat_1_1_mapping" not in core
    assert "stun_server" not in core
    assert "admin_secret" not in core


def test_core_config_disables_every_other_module(tmp_path: Path) -> None:
    core = render_janus_config(JanusProcessSettings(config_dir=tmp_path))["janus.jcfg"]
    disabled = {
        name
        for line in lines(core)
        if line.startswith("disable = ")
        for name in line.removeprefix("disable = ").strip('"').split(",")
    }

    installed = {path.name for path in MODULES_DIR.glob("*/libjanus_*.so")}
    assert "libjanus_nanomsg.so" in disabled
    assert "libjanus_http.so" in disabled
    assert "libjanus_jsonlog.so" in disabled
    assert "libjanus_wsevh.so" in disabled
    assert installed - disabled <= {"libjanus_videoroom.so", "libjanus_websockets.so"}
    assert "libjanus_videoroom.so" not in disabled
    assert "libjanus_websockets.so" not in disabled


def test_videoroom_config_has_no_admin_key(tmp_path: Path) -> None:
    files = render_janus_config(JanusProcessSettings(config_dir=tmp_path))

    assert "admin_key" not in files["janus.plugin.videoroom.jcfg"]


def test_websockets_config_binds_loopback_only(tmp_path: Path) -> None:
    settings = JanusProcessSettings(config_dir=tmp_path, ws_port=18188)

    transport = lines(render_janus_config(settings)["janus.transport.websockets.jcfg"])

    assert "ws = true" in transport
    assert "ws_port = 18188" in transport
    assert 'ws_ip = "127.0.0.1"' in transport
    assert "wss = false" in transport
    assert "admin_ws = false" in transport
    assert "admin_wss = false" in transport


def test_quote_escapes_quotes_and_backslashes() -> None:
    assert quote('a "b" \\c') == '"a \\"b\\" \\\\c"'


def test_quote_rejects_control_characters() -> None:
    with pytest.raises(ConfigError, match="contains a control character"):
        quote("eth0\x00")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ws_port", 0, "Janus WebSocket port 0 is invalid; use 1 to 65535."),
        (
            "rtp_port_range",
            "40000-30000",
            "RTP port range '40000-30000' is invalid; "
            "use two ports such as '20000-40000'.",
        ),
        (
            "ice_interfaces",
            ["eth0,eth1"],
            "ICE interface 'eth0,eth1' is invalid; give one interface name or "
            "address prefix per entry.",
        ),
        ("debug_level", 9, "Janus debug level 9 is invalid; use 0 to 7."),
    ],
)
def test_invalid_setting_raises_config_error(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        JanusProcessSettings(config_dir=tmp_path, **{field: value})  # type: ignore[arg-type]

    assert str(caught.value) == message


def test_ws_url_brackets_ipv6_host(tmp_path: Path) -> None:
    settings = JanusProcessSettings(config_dir=tmp_path, ws_host="::1", ws_port=9)

    assert settings.ws_url == "ws://[::1]:9"


@requires_janus
async def test_janus_accepts_the_config(tmp_path: Path) -> None:
    settings = process_settings(tmp_path)
    write_janus_config(settings)
    process = await asyncio.create_subprocess_exec(
        "janus",
        f"--configs-folder={tmp_path}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        info = await request_info(settings.ws_url)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 10)

    assert list(info["plugins"]) == ["janus.plugin.videoroom"]
    assert list(info["transports"]) == ["janus.transport.websockets"]
    assert info["events"] == {}
    assert info["loggers"] == {}
    assert info["session-timeout"] == 60
    assert info["full-trickle"] is False
    assert info["ipv6"] is False


async def request_info(url: str) -> dict[str, Any]:
    """Poll `url` for up to 10 s until Janus responds to `info`."""
    for _ in range(100):
        gateway = JanusGateway(url, request_timeout=1)
        try:
            await gateway.connect()
            return await gateway.info()
        except JanusError:
            await asyncio.sleep(0.1)
        finally:
            await gateway.close()
    raise AssertionError(f"Janus did not answer at {url} within 10 s")
