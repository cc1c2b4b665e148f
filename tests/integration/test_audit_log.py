"""The audit log on SQLite and PostgreSQL: hash chain, signed checkpoints, tamper detection
naming the event, and offline-verifiable case exports."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from casebridge.audit.proof import verify_export
from casebridge.audit.signing import load_or_create_signer
from casebridge.services import audit
from casebridge.services.audit_log import export_case, verify_log
from casebridge.store.uow import UnitOfWorkFactory


@pytest.fixture
def factory(engine: Engine, tmp_path: Path) -> UnitOfWorkFactory:
    signer = load_or_create_signer(tmp_path / "keys" / "audit.pem")
    return UnitOfWorkFactory(engine, signer, checkpoint_every=4)


def write_events(factory: UnitOfWorkFactory, n: int, case_id: str | None = "case-1") -> None:
    for i in range(n):
        with factory() as uow:
            audit.record(
                uow, "case.read", "case", f"obj-{i}", case_id=case_id, detail={"i": i, "名": "张三"}
            )
            uow.commit()


def test_chain_and_checkpoints_verify(factory: UnitOfWorkFactory) -> None:
    write_events(factory, 10)
    with factory() as uow:
        report = verify_log(uow)
        assert report.ok, report.problems
        assert (report.events, report.checkpoints) == (10, 2)
        assert [cp.size for cp in uow.audit.checkpoints()] == [4, 8]


def test_rolled_back_action_leaves_no_audit_event(factory: UnitOfWorkFactory) -> None:
    write_events(factory, 2)
    with factory() as uow:
        audit.record(uow, "case.read", "case", "x")
        # no commit: the action and its audit event vanish together
    write_events(factory, 1)
    with factory() as uow:
        report = verify_log(uow)
        assert report.ok
        assert report.events == 3


def _tamper(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql))


TAMPERS: dict[str, tuple[str, int]] = {
    "edit": ("UPDATE audit_event SET object_id = 'forged' WHERE seq = 6", 6),
    "edit_detail": ("UPDATE audit_event SET outcome = 'denied' WHERE seq = 3", 3),
    "delete_middle": ("DELETE FROM audit_event WHERE seq = 5", 6),
    "delete_last": ("DELETE FROM audit_event WHERE seq = 10", 9),
    "reorder": (
        "UPDATE audit_event SET seq = CASE seq WHEN 7 THEN 1007 WHEN 8 THEN 7 END "
        "WHERE seq IN (7, 8)",
        7,
    ),
}


@pytest.mark.parametrize("kind", sorted(TAMPERS))
def test_tampering_is_detected_and_names_the_event(
    factory: UnitOfWorkFactory, engine: Engine, kind: str
) -> None:
    write_events(factory, 10)
    sql, bad_seq = TAMPERS[kind]
    _tamper(engine, sql)
    with factory() as uow:
        report = verify_log(uow)
    assert not report.ok
    assert report.first_bad is not None
    assert report.first_bad["seq"] == bad_seq, report.problems


def test_case_export_verifies_offline_and_detects_forgery(
    factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    write_events(factory, 3, case_id="case-A")
    write_events(factory, 2, case_id="case-B")
    write_events(factory, 2, case_id="case-A")
    with factory() as uow:
        doc = export_case(uow, "case-A")
    assert len(doc["events"]) == 5
    assert doc["checkpoint"]["size"] == 7
    assert verify_export(doc).ok
    trusted = doc["checkpoint"]["public_key"]
    assert verify_export(doc, trusted).ok

    forged = {**doc, "events": [dict(e) for e in doc["events"]]}
    forged["events"][1] = {
        **forged["events"][1],
        "fields": {**forged["events"][1]["fields"], "object_id": "x"},
    }
    report = verify_export(forged)
    assert not report.ok
    assert "content does not match" in report.problems[0]

    other = load_or_create_signer(tmp_path / "other.pem")
    assert not verify_export(doc, other.public_pem).ok


def test_export_of_unknown_case_is_not_found(factory: UnitOfWorkFactory) -> None:
    from casebridge.errors import NotFound

    write_events(factory, 1)
    with factory() as uow, pytest.raises(NotFound):
        export_case(uow, "nope")


def test_concurrent_appends_from_separate_connections_all_land_in_one_chain(
    factory: UnitOfWorkFactory,
) -> None:
    """Requests audit in parallel (hub worker threads and processes, each on its own
    connection). On SQLite the head row was read before the transaction took the write lock,
    so two appends could both take the same sequence number: one request failed with a
    UNIQUE error (seen as a 500 when a client opened two downloads at once)."""
    from concurrent.futures import ThreadPoolExecutor

    def append_many(worker: int) -> None:
        for i in range(25):
            with factory() as uow:
                audit.record(uow, "case.read", "case", f"w{worker}-{i}")
                uow.commit()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(append_many, range(4)))
    with factory() as uow:
        report = verify_log(uow)
        assert report.ok, report.problems
        assert report.events == 100
