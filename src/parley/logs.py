"""Logging set-up: one line per event, and secrets scrubbed as a last line of defence.

Code never passes a secret to a logger on purpose; the filter catches what slips
through, such as a token echoed inside an exception message.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "[redacted]"


class SecretFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains a shorter one is masked whole.
        self.secrets = sorted(
            {s for s in secrets if len(s) >= 4}, key=len, reverse=True
        )

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        text = record.getMessage()
        scrubbed = text
        for secret in self.secrets:
            scrubbed = scrubbed.replace(secret, MASK)
        if scrubbed != text:
            record.msg, record.args = scrubbed, None
        return True


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(SecretFilter(secrets))

    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Uvicorn's access log prints query strings, and a GET slash command carries its
    # token in the query; Parley logs requests itself instead.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("websockets", "aiosqlite", "httpx", "httpcore", "alembic"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
