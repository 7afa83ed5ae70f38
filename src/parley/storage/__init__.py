"""Storage adapter: SQLAlchemy tables, the meeting store and Alembic migrations."""

from parley.storage.database import create_engine, migrate, session_factory
from parley.storage.repository import SqlMeetingStore

__all__ = ["SqlMeetingStore", "create_engine", "migrate", "session_factory"]
