"""Storage adapter: SQLAlchemy tables, the stores and Alembic migrations."""

from parley.storage.database import Database, create_engine, migrate, session_factory
from parley.storage.outbox import SqlOutboxStore
from parley.storage.repository import SqlMeetingStore

__all__ = [
    "Database",
    "SqlMeetingStore",
    "SqlOutboxStore",
    "create_engine",
    "migrate",
    "session_factory",
]
