"""The hand-written migrations create exactly what the models declare, on both engines."""

from __future__ import annotations

import datetime as dt
import hashlib

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from casebridge.domain.dossier import Document, Manifest, Page, Volume
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
        upgrade(eng, "0008")
        with eng.connect() as conn:
            stored = conn.execute(text("SELECT manifest FROM dossier_version")).scalar_one()
        assert bytes(stored) == manifest.encode("utf-8")
        command.downgrade(_config(eng), "0007")
        with eng.connect() as conn:
            back = conn.execute(text("SELECT manifest FROM dossier_version")).scalar_one()
        assert back == manifest
    finally:
        eng.dispose()


def test_a_stored_manifest_becomes_its_parts_a_volume_each_and_back(db_url: str) -> None:
    """0009 cuts each stored manifest into its head, one part a volume and its end (what
    the hub writes since), keeps its digest and length, and its downgrade joins them back
    into exactly the same bytes. Bytes laid out otherwise stay one part."""
    manifest = _two_volume_manifest()
    odd = b'{"not":"laid out as the hub writes it"}'
    eng = make_engine(db_url)
    try:
        upgrade(eng, "0008")
        with eng.begin() as conn:
            conn.execute(
                text("INSERT INTO dossier (id, title, created_at) VALUES ('D', 't', :at)"),
                {"at": _AT},
            )
            for vid, root, body in (("v", "0" * 64, manifest), ("w", "1" * 64, odd)):
                conn.execute(
                    text(
                        "INSERT INTO dossier_version (id, dossier_id, merkle_root, manifest,"
                        " page_count, total_bytes, status, created_at)"
                        " VALUES (:id, 'D', :root, :m, 0, 0, 'complete', :at)"
                    ),
                    {"id": vid, "root": root, "m": body, "at": _AT},
                )
        upgrade(eng)
        with eng.connect() as conn:
            parts = {
                vid: [
                    bytes(p)
                    for p in conn.execute(
                        text(
                            "SELECT data FROM dossier_manifest_part WHERE version_id = :v"
                            " ORDER BY seq"
                        ),
                        {"v": vid},
                    ).scalars()
                ]
                for vid in ("v", "w")
            }
            kept = dict(conn.execute(text("SELECT id, manifest_sha256 FROM dossier_version")).all())
            sizes = dict(conn.execute(text("SELECT id, manifest_size FROM dossier_version")).all())
        head, first, second, end = parts["v"]
        assert head.endswith(b'"volumes":[')
        assert end == b"]}"
        assert first.startswith(b'{"documents":[')
        assert second.startswith(b',{"documents":[')
        assert b"".join(parts["v"]) == manifest
        assert parts["w"] == [odd]
        assert kept == {
            "v": hashlib.sha256(manifest).hexdigest(),
            "w": hashlib.sha256(odd).hexdigest(),
        }
        assert sizes == {"v": len(manifest), "w": len(odd)}
        command.downgrade(_config(eng), "0008")
        with eng.connect() as conn:
            back = dict(conn.execute(text("SELECT id, manifest FROM dossier_version")).all())
        assert {k: bytes(v) for k, v in back.items()} == {"v": manifest, "w": odd}
    finally:
        eng.dispose()


def _two_volume_manifest() -> bytes:
    page = Page("1.jpg", "image/jpeg", 5, "ab" * 32)
    volumes = tuple(
        Volume(
            f"第{n}卷",
            (Document("0101", '笔录, "引号" 与 {"documents":[', "110000000000", (page,)),),
        )
        for n in (1, 2)
    )
    return Manifest("D", "盗窃案", volumes).sealed().canonical()
