"""Alembic environment: the URL comes from Quarry's settings, never from the ini."""

from alembic import context

from shared.db.models import Base
from shared.db.session import get_engine

target_metadata = Base.metadata

with get_engine().connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
