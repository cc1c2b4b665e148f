"""Alembic environment: uses the engine handed over by casebridge.store.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from casebridge.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only through casebridge.store.migrate
    raise RuntimeError("run migrations through `casebridge db upgrade`")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
