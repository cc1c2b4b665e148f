"""Standard tables in the database (SQLite and PostgreSQL): loaded once per version."""

from __future__ import annotations

import dataclasses

from casebridge.services.standards import load_standard_tables
from casebridge.standards.registry import Standards, load_standards
from casebridge.store.uow import UnitOfWorkFactory


def test_tables_and_dialects_are_stored_with_their_versions(
    uow_factory: UnitOfWorkFactory,
) -> None:
    std = load_standards()
    with uow_factory() as uow:
        created = load_standard_tables(uow, std)
        uow.commit()
    assert created["code_tables"] == len(std.tables)
    with uow_factory() as uow:
        stored = {t.name: (t.version, t.entry_count) for t in uow.code_tables.tables()}
        crime = [
            (e.name_zh, e.extra.get("article"), e.retired)
            for e in uow.code_tables.entries("crime", std.table("crime").version)
        ]
        dialects = {d.name: d.synthetic for d in uow.code_tables.dialects()}
        police_links = uow.code_tables.mapping_count("police", std.dialects["police"].version)
    assert stored == {n: (t.version, len(t.entries)) for n, t in std.tables.items()}
    assert ("盗窃罪", "264", False) in crime
    assert sum(1 for _, _, retired in crime if not retired) == 483
    assert dialects == {"police": True, "procuratorate": True, "court": True}
    assert police_links == sum(len(t.links) for t in std.dialects["police"].tables.values())


def test_a_new_table_version_is_added_beside_the_old_one(uow_factory: UnitOfWorkFactory) -> None:
    std = load_standards()
    with uow_factory() as uow:
        load_standard_tables(uow, std)
        uow.commit()
    tables = dict(std.tables)
    tables["gender"] = dataclasses.replace(tables["gender"], version="next")
    newer = Standards(tables, std.dialects)
    with uow_factory() as uow:
        created = load_standard_tables(uow, newer)
        uow.commit()
    assert created == {"code_tables": 1, "code_entries": len(tables["gender"].entries)}
    with uow_factory() as uow:
        versions = sorted(t.version for t in uow.code_tables.tables() if t.name == "gender")
        old = len(uow.code_tables.entries("gender", std.table("gender").version))
    assert versions == sorted([std.table("gender").version, "next"])
    assert old == len(tables["gender"].entries)
