"""The `parley` command: `parley serve`, `parley check-config`."""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path

import uvicorn

from parley.config import Settings, load_settings
from parley.errors import ConfigError
from parley.logs import configure_logging

# A signaling frame carries at most one SDP; anything far larger is not a browser.
WS_MAX_BYTES = 256 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="parley", description="Video meetings from a Mattermost slash command."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help in (
        ("serve", "run the HTTP service and its Janus"),
        ("check-config", "validate the settings and print them, secrets redacted"),
    ):
        command = commands.add_parser(name, help=help)
        command.add_argument(
            "--config",
            type=Path,
            help="TOML config file (default: $PARLEY_CONFIG, else built-in defaults)",
        )
    args = parser.parse_args(argv)

    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        print(f"parley: {error}", file=sys.stderr)
        return 2

    if args.command == "check-config":
        print(
            json.dumps(settings.redacted(), indent=2, ensure_ascii=False, default=str)
        )
        return 0
    return serve(settings)


def serve(settings: Settings) -> int:
    secrets = [token.get_secret_value() for token in settings.mattermost.tokens]
    if settings.api.secret is not None:
        secrets.append(settings.api.secret.get_secret_value())
    if settings.database_url is not None:
        secrets.append(settings.database_url.get_secret_value())
    configure_logging(settings.server.log_level, secrets)

    # Checked before Janus starts, so a taken port fails at once with the setting to
    # change, instead of after start-up with uvicorn's bare errno.
    problem = _listen_problem(settings.server.host, settings.server.port)
    if problem is not None:
        print(f"parley: {problem}", file=sys.stderr)
        return 2

    from parley.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        access_log=False,
        ws_max_size=WS_MAX_BYTES,
        proxy_headers=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    server.run()
    # `started` stays False when start-up failed, e.g. the port was taken.
    return 0 if server.started else 1


def _listen_problem(host: str, port: int) -> str | None:
    """Return why Parley cannot listen on host:port, or None if it can."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        return (
            f"Cannot listen on host {host!r}: {error.strerror}. "
            "Set PARLEY_HOST (server.host) to an address of this machine."
        )

    family, kind, _, _, address = addresses[0]
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return (
                f"Cannot listen on {host}:{port}: {error.strerror}. "
                "Set PARLEY_PORT (server.port) to a free port, or stop what uses it."
            )
    return None


if __name__ == "__main__":
    sys.exit(main())
