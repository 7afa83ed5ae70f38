"""Secrets Parley makes for itself once and keeps in the database.

Keeping them in the database rather than in a file means that every Parley process
on one database signs and verifies with the same key.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from parley.storage.database import Database
from parley.storage.models import KeyRow


async def get_or_create_key(database: Database, name: str) -> bytes:
    """Return the key called `name`, making a random 256-bit one the first time."""
    existing = await _read(database, name)
    if existing is not None:
        return bytes.fromhex(existing)

    try:
        async with database.write() as session:
            session.add(KeyRow(name=name, value=secrets.token_hex(32)))
    except IntegrityError:
        pass  # another process made it first; use theirs

    stored = await _read(database, name)
    assert stored is not None
    return bytes.fromhex(stored)


async def _read(database: Database, name: str) -> str | None:
    async with database.sessions() as session:
        return await session.scalar(select(KeyRow.value).where(KeyRow.name == name))
