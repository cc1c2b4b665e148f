"""Supervision alerts at the hub: listed, and audited exactly once when first raised."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from casebridge.bootstrap import Container
from casebridge.domain.agency import Principal
from casebridge.services.exchanges import SendExchange, send_exchange
from casebridge.services.supervision import list_alerts
from casebridge.store.models import AuditEvent
from tests.conftest import police_principal


def _detained(container: Container, police: Principal, key: str, name: str) -> None:
    """A case opened on 2026-03-02 by a detention with no follow-up: 3 days later overdue."""
    with container.uow() as uow:
        send_exchange(
            uow,
            container.procedure,
            police,
            SendExchange(
                node="detention_executed",
                idempotency_key=key,
                payload={"case": {"title": f"{name}案"}, "persons": [{"key": "p1", "name": name}]},
                occurred_on=date(2026, 3, 2),
            ),
            today=date(2026, 3, 2),
        )


def test_alert_is_raised_once_and_audited(container: Container) -> None:
    police = police_principal(container)
    ctx = container.procedure
    _detained(container, police, "police-detention-1", "赵六")
    as_of = date(2026, 3, 9)  # the 3-day limit passed on 03-05
    with container.uow() as uow:
        first = list_alerts(uow, ctx, police, as_of)
    with container.uow() as uow:
        second = list_alerts(uow, ctx, police, as_of)
    assert [a.kind for a in first[0].alerts] == ["overdue", "custody_without_basis"]
    assert [a.key for a in first[0].alerts] == [a.key for a in second[0].alerts]
    assert first[0].alerts[0].responsible_agency_type == "police"
    with container.uow() as uow:
        raised = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "alert.raise")
        ).all()
        assert len(raised) == 2
        assert {e.detail["kind"] for e in raised} == {"overdue", "custody_without_basis"}


def test_two_supervisors_reading_at_once_raise_each_alert_once(container: Container) -> None:
    """Two requests that list the alerts at the same moment both see a new alert; one of
    them once failed (a unique key hit by the other) — a read answered with an error."""
    import threading

    police = police_principal(container)
    ctx = container.procedure
    _detained(container, police, "police-detention-race", "钱七")
    go = threading.Barrier(2)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            with container.uow() as uow:
                go.wait()
                list_alerts(uow, ctx, police, date(2026, 3, 9))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with container.uow() as uow:
        raised = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "alert.raise")
        ).all()
        assert len(raised) == 2
