"""Room slugs: a readable prefix from the title, then an unguessable random part.

The link is the key to the room, so the random part carries 80 bits from the
operating system's CSPRNG; the prefix only helps people recognise the link.
"""

from __future__ import annotations

import base64
import re
import secrets
import unicodedata

RANDOM_BYTES = 10  # 80 bits
PREFIX_MAX_LENGTH = 32
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(title: str) -> str:
    """Reduce a title to lower-case ASCII words joined by hyphens ('' if none remain).

    Accents are dropped ('Réunion' → 'reunion'); scripts without an ASCII form, such
    as Chinese, leave nothing, and the caller falls back to a fixed prefix.
    """
    ascii_text = (
        unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    )
    words = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    return words[:PREFIX_MAX_LENGTH].rstrip("-")


def new_slug(title: str, *, fallback: str = "room") -> str:
    """Return a fresh slug such as 'weekly-sync-3f9kq2m7x4v6b8d1za5c'."""
    random_part = base64.b32encode(secrets.token_bytes(RANDOM_BYTES)).decode("ascii")
    return f"{slugify(title) or fallback}-{random_part.lower()}"


def new_room_id() -> int:
    """Return a random Janus room id that JavaScript numbers still represent exactly."""
    return secrets.randbelow(2**53 - 1) + 1


def new_id() -> str:
    return secrets.token_hex(16)
