"""Alembic, driven from code: the migration scripts ship inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from casebridge.errors import MigrationsPending
from casebridge.i18n import N_
from casebridge.store.db import translate_db_errors

__all__ = ["current_revision", "head_revision", "require_current", "upgrade"]

_SCRIPTS = Path(__file__).with_name("migrations")


def _config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert rev is not None
    return rev


def current_revision(engine: Engine) -> str | None:
    with translate_db_errors(str(engine.url)), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; each migration runs in its own transaction."""
    with translate_db_errors(str(engine.url)):
        command.upgrade(_config(engine), revision)


def require_current(engine: Engine) -> None:
    current = current_revision(engine)
    head = head_revision()
    if current is None:
        raise MigrationsPending(
            N_("database schema at nothing, code expects {head}: run `casebridge db upgrade`"),
            params={"head": head},
        )
    if current != head:
        raise MigrationsPending(
            N_("database schema at {current}, code expects {head}: run `casebridge db upgrade`"),
            params={"current": current, "head": head},
        )
