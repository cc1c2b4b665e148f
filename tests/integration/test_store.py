"""Storage on SQLite and PostgreSQL: migrations, idempotent init, atomic units of work."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from casebridge.errors import DatabaseUnavailable, MigrationsPending
from casebridge.services.setup import initialise
from casebridge.standards.registry import load_standards
from casebridge.store.db import make_engine
from casebridge.store.migrate import current_revision, head_revision, require_current, upgrade
from casebridge.store.models import Agency, Case, CaseRef, Person
from casebridge.store.repositories import count_rows
from casebridge.store.uow import UnitOfWorkFactory


def test_migrations_reach_head_and_rerun_is_a_no_op(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    upgrade(engine)
    require_current(engine)


def test_fresh_database_is_reported_as_pending(db_url: str) -> None:
    eng = make_engine(db_url)
    try:
        with pytest.raises(MigrationsPending, match="casebridge db upgrade"):
            require_current(eng)
    finally:
        eng.dispose()


def test_init_twice_changes_nothing_the_second_time(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        first = initialise(uow)
    with uow_factory() as uow:
        after_first = count_rows(uow.session)
    with uow_factory() as uow:
        second = initialise(uow)
    with uow_factory() as uow:
        after_second = count_rows(uow.session)

    assert first.changed
    std = load_standards()
    assert first.created == {
        "agencies": 6,
        "users": 12,
        "tokens": 12,
        "code_tables": len(std.tables),
        "code_entries": sum(len(t.entries) for t in std.tables.values()),
        "dialects": len(std.dialects),
        "dialect_mappings": sum(
            len(dt.links) for d in std.dialects.values() for dt in d.tables.values()
        ),
    }
    assert not second.changed
    assert second.created == {}
    assert second.issued_tokens == {}
    assert after_first == after_second
    assert after_first["agency"] == 6
    assert after_first["code_entry"] == first.created["code_entries"]


def test_failed_unit_of_work_leaves_no_partial_rows(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        initialise(uow)
    with uow_factory() as uow:
        before = count_rows(uow.session)
        police = uow.agencies.by_code("DEMO350102GA")
        assert police is not None
        police_id = police.id

    class Boom(Exception):
        pass

    def crash_midway() -> None:
        with uow_factory() as uow:
            case = Case(title="张三盗窃案", stage="investigation")
            uow.session.add(case)
            uow.session.flush()
            uow.session.add(CaseRef(case_id=case.id, agency_id=police_id, ref="A001"))
            uow.session.add(Person(case_id=case.id, role="suspect", name="张三"))
            uow.session.flush()  # rows are in the database's transaction now …
            raise Boom  # … and the crash comes before commit()

    with pytest.raises(Boom):
        crash_midway()

    with uow_factory() as uow:
        assert count_rows(uow.session) == before


def test_unit_of_work_without_commit_is_rolled_back(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.agencies.add(
            Agency(
                code="X1",
                type="court",
                name_zh="x",
                name_en="x",
                division_code="350102",
                level="county",
            )
        )
    with uow_factory() as uow:
        assert uow.agencies.by_code("X1") is None


def test_committed_unit_of_work_persists(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.agencies.add(
            Agency(
                code="X2",
                type="court",
                name_zh="x",
                name_en="x",
                division_code="350102",
                level="county",
            )
        )
        uow.commit()
    with uow_factory() as uow:
        agency = uow.agencies.by_code("X2")
        assert agency is not None
        assert agency.created_at.tzinfo is not None


@pytest.mark.postgres
def test_unreachable_postgres_is_one_clear_error() -> None:
    eng = make_engine("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    try:
        with pytest.raises(DatabaseUnavailable) as err:
            current_revision(eng)
    finally:
        eng.dispose()
    assert "127.0.0.1:1" in err.value.message
    assert "secret" not in err.value.message


def test_held_pages_are_counted_in_chunks_of_a_few_statement_shapes(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """Registration asks about thousands of hashes a chunk at a time, padded to a few
    lengths: the answer must be the same whatever the chunking, duplicates included."""
    import hashlib

    from casebridge.domain.dossier import Page, Pages, PageSizes
    from casebridge.store.dossier_repository import _padded

    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(2000)]
    held = {h: 10 for h in hashes[::3]}  # 667 held
    with uow_factory() as uow:
        assert uow.dossiers.add_pages(held) == len(held)
        uow.commit()
    with uow_factory() as uow:
        assert uow.dossiers.present(hashes) == set(held)
        assert uow.dossiers.present(hashes + hashes[:50]) == set(held)  # a list repeats
        assert uow.dossiers.present(hashes[:10]) == {hashes[0], hashes[3], hashes[6], hashes[9]}
        distinct = PageSizes([Pages([Page("x", "image/jpeg", 10, h) for h in hashes])])
        assert uow.dossiers.present(distinct.keys()) == set(held)
        assert uow.dossiers.present([]) == set()
        assert uow.dossiers.add_pages(held) == 0  # recorded once
    assert [len(_padded(hashes[:n])) for n in (1, 8, 9, 64, 65, 900)] == [8, 8, 64, 64, 900, 900]
    assert _padded(hashes[:3])[3:] == [hashes[2]] * 5


def test_a_case_read_for_update_waits_for_the_other_writer(uow_factory: UnitOfWorkFactory) -> None:
    """Two exchanges for one case must see each other's effect: the second reads the case
    only after the first committed. On SQLite FOR UPDATE is ignored, so both once read the
    same state and the first one's update was lost."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    with uow_factory() as uow:
        case_id = uow.cases.add(Case(title="张三盗窃案", stage="investigation")).id
        uow.commit()
    first_holds = threading.Event()

    def bump(first: bool) -> None:
        if not first:
            assert first_holds.wait(10)
        with uow_factory() as uow:
            case = uow.cases.get(case_id, for_update=True)
            assert case is not None
            if first:
                first_holds.set()
                threading.Event().wait(0.3)  # the other request arrives meanwhile
            case.event_count += 1
            uow.commit()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(bump, [True, False]))
    with uow_factory() as uow:
        case = uow.cases.get(case_id)
        assert case is not None
        assert case.event_count == 2
