"""Demo cases for `casebridge demo`: a case moving police → procuratorate, and one whose
detention has outrun its time limit, so that the API shows exchanges, limits and alerts.

Idempotent through the exchanges' idempotency keys: a second run (on any day) creates nothing.
Synthetic people and numbers; dates are relative to the first run's day.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from casebridge.services.auth import principal_for
from casebridge.services.exchanges import ProcedureContext, SendExchange, send_exchange, sign_for
from casebridge.store.uow import UnitOfWorkFactory

__all__ = ["seed_demo_cases"]


def _send(
    factory: UnitOfWorkFactory,
    ctx: ProcedureContext,
    username: str,
    cmd: SendExchange,
    today: date,
) -> tuple[str, str, bool]:
    with factory() as uow:
        user = uow.users.by_username(username)
        assert user is not None, f"demo user {username} missing: run `casebridge init`"
        result = send_exchange(uow, ctx, principal_for(user), cmd, today=today)
        return result.exchange.id, result.exchange.case_id, not result.replayed


def _sign(factory: UnitOfWorkFactory, username: str, exchange_id: str) -> None:
    with factory() as uow:
        user = uow.users.by_username(username)
        assert user is not None
        sign_for(uow, principal_for(user), exchange_id)


def _person(key: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "name": name, "role": "suspect", **extra}


def seed_demo_cases(factory: UnitOfWorkFactory, ctx: ProcedureContext, today: date) -> int:
    """Returns the number of exchanges created by this run (0 on a re-run)."""
    created = 0

    def day(n: int) -> date:
        return today - timedelta(days=n)

    # the police speak their own (synthetic demo) codes: gender "M", 盗窃 category 050204
    zhang = _person("p1", "张三", gender="M", ethnicity="01", charges=[{"crime": "050204"}])
    _, case1, new = _send(
        factory,
        ctx,
        "police.handler",
        SendExchange(
            node="detention_executed",
            idempotency_key="demo-case1-0001",
            payload={
                "case": {"title": "张三盗窃案（演示）", "case_ref": "DEMO-GA-2026-0001"},
                "persons": [zhang],
            },
            occurred_on=day(9),
        ),
        today,
    )
    created += new
    x2, _, new = _send(
        factory,
        ctx,
        "police.handler",
        SendExchange(
            node="arrest_request",
            idempotency_key="demo-case1-0002",
            case_id=case1,
            receiver_agency="DEMO350102JCY",
            payload={
                "persons": [zhang],
                "documents": [{"type": "arrest_request", "title": "提请批准逮捕书", "pages": 6}],
            },
            occurred_on=day(6),
        ),
        today,
    )
    created += new
    if new:
        _sign(factory, "procuratorate.handler", x2)
    x3, _, new = _send(
        factory,
        ctx,
        "procuratorate.handler",
        SendExchange(
            node="arrest_approved",
            idempotency_key="demo-case1-0003",
            case_id=case1,
            receiver_agency="DEMO350102GA",
            payload={
                "persons": [{"key": "p1", "name": "张三"}],
                "documents": [{"type": "arrest_approval_decision", "title": "批准逮捕决定书"}],
            },
            occurred_on=day(2),
        ),
        today,
    )
    created += new
    if new:
        _sign(factory, "police.handler", x3)

    li = _person("p1", "李四", gender="M", ethnicity="01")
    _, _, new = _send(
        factory,
        ctx,
        "police.handler",
        SendExchange(
            node="detention_executed",
            idempotency_key="demo-case2-0001",
            payload={
                "case": {"title": "李四诈骗案（演示）", "case_ref": "DEMO-GA-2026-0002"},
                "persons": [li],
            },
            occurred_on=day(5),
        ),
        today,
    )
    created += new
    return created
