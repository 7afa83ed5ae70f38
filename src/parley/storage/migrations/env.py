"""Alembic environment: runs on the connection Parley hands over at start.

From the command line (`alembic -x url=sqlite:///data/parley.db upgrade head`) it opens
its own synchronous connection instead.
"""

from alembic import context
from sqlalchemy import create_engine

from parley.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    url = context.get_x_argument(as_dictionary=True)["url"]
    with create_engine(url).connect() as own_connection:
        run_on(own_connection)
        own_connection.commit()
