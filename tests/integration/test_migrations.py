"""The hand-written migrations create exactly what the models declare, on both engines."""

from __future__ import annotations

import datetime as dt

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from casebridge.store.db import make_engine
from casebridge.store.migrate import _config, upgrade
from casebridge.store.models import Base

_AT = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    # server defaults added for existing rows are not part of the model; ignore nothing else
    assert diff == []


def test_manifests_stored_as_text_become_their_utf8_bytes_and_back(db_url: str) -> None:
    """0008 turns each stored manifest (text until then) into exactly its UTF-8 bytes —
    the canonical bytes its Merkle root and any signature cover — and its downgrade
    turns them back into the same text."""
    manifest = '{"title":"盗窃案 卷一","volumes":[]}'
    eng = make_engine(db_url)
    try:
        upgrade(eng, "0007")
        with eng.begin() as conn:
            conn.execute(
                text("INSERT INTO dossier (id, title, created_at) VALUES ('D', 't', :at)"),
                {"at": _AT},
            )
            conn.execute(
                text(
                    "INSERT INTO dossier_version (id, dossier_id, merkle_root, manifest,"
                    " page_count, total_bytes, status, created_at)"
                    " VALUES ('v', 'D', :root, :m, 0, 0, 'complete', :at)"
                ),
                {"root": "0" * 64, "m": manifest, "at": _AT},
            )
        upgrade(eng)
        with eng.connect() as conn:
            stored = conn.execute(text("SELECT manifest FROM dossier_version")).scalar_one()
        assert bytes(stored) == manifest.encode("utf-8")
        command.downgrade(_config(eng), "0007")
        with eng.connect() as conn:
            back = conn.execute(text("SELECT manifest FROM dossier_version")).scalar_one()
        assert back == manifest
    finally:
        eng.dispose()
