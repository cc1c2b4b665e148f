"""Procedure views and supervision alerts for cases at the hub.

Alerts are computed from the replayed state "as of" a date; the first time an alert is seen the
hub records it (``raised_alert``) and appends an audit event, so each is audited exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from casebridge.domain.access import Action
from casebridge.domain.agency import Principal
from casebridge.domain.supervision import Alert, LimitView, alerts_for, evaluate_limits
from casebridge.services import audit
from casebridge.services.access import can, require_case, visible_cases
from casebridge.services.exchanges import ProcedureContext, case_events
from casebridge.store.models import Case, RaisedAlert
from casebridge.store.uow import UnitOfWork

__all__ = ["CaseAlerts", "CaseProcedure", "case_procedure", "list_alerts"]


@dataclass(frozen=True)
class CaseProcedure:
    case: Case
    state: dict[str, Any]
    limits: list[LimitView]
    alerts: list[Alert]
    next_nodes: list[str]


@dataclass(frozen=True)
class CaseAlerts:
    case_id: str
    title: str
    alerts: list[Alert]


def _evaluate(
    uow: UnitOfWork, ctx: ProcedureContext, case: Case, as_of: date
) -> tuple[Any, list[LimitView], list[Alert]]:
    state = ctx.procedure.replay(case_events(uow, case.id))
    limits = evaluate_limits(state, ctx.catalog, ctx.calendar, as_of)
    return state, limits, alerts_for(state, limits, ctx.catalog, as_of, ctx.policy)


def _record_new(
    uow: UnitOfWork, case: Case, alerts: list[Alert], principal: Principal | None
) -> int:
    known = uow.alerts.raised_keys(case.id)
    new = [a for a in alerts if a.key not in known]
    if not new:
        return 0
    # Another request (a second supervisor's screen) may be raising the same alerts: lock
    # the case, then look again, so that each alert is recorded and audited once and neither
    # request fails on the other's row. Only when there is something new: reads stay free.
    uow.cases.get(case.id, for_update=True)
    known = uow.alerts.raised_keys(case.id)
    new = [a for a in alerts if a.key not in known]
    for a in new:
        row = uow.alerts.add(
            RaisedAlert(case_id=case.id, key=a.key, kind=a.kind, severity=a.severity)
        )
        audit.record(
            uow,
            "alert.raise",
            "alert",
            row.id,
            actor=principal,
            case_id=case.id,
            detail={
                "key": a.key,
                "kind": a.kind,
                "severity": a.severity,
                "responsible": a.responsible_agency_type,
                "basis": [b.as_dict() for b in a.basis],
            },
        )
    return len(new)


def case_procedure(
    uow: UnitOfWork,
    ctx: ProcedureContext,
    principal: Principal,
    case_id: str,
    as_of: date,
    *,
    request_id: str | None = None,
) -> CaseProcedure:
    case = require_case(uow, principal, case_id, Action.CASE_PROGRESS, request_id=request_id)
    state, limits, alerts = _evaluate(uow, ctx, case, as_of)
    _record_new(uow, case, alerts, principal)
    audit.record(
        uow,
        "case.progress.read",
        "case",
        case.id,
        actor=principal,
        case_id=case.id,
        request_id=request_id,
    )
    uow.commit()
    may_act = principal.agency_type is not None and can(uow, principal, Action.CASE_WRITE, case.id)
    nxt = (
        [
            n.code
            for n in ctx.procedure.allowed_next(state, principal.agency_type, principal.agency_id)
        ]
        if may_act and principal.agency_type
        else []
    )
    return CaseProcedure(case, state.as_dict(), limits, alerts, nxt)


def _cases_for(uow: UnitOfWork, principal: Principal | None) -> list[Case]:
    if principal is None:  # the operator's CLI: the whole hub
        return uow.cases.all()
    return visible_cases(uow, principal)


def list_alerts(
    uow: UnitOfWork,
    ctx: ProcedureContext,
    principal: Principal | None,
    as_of: date,
    *,
    responsible_only: bool = False,
) -> list[CaseAlerts]:
    """Alerts of every case the caller may supervise (``principal=None``: the whole hub, for
    the operator's CLI). New alerts are recorded and audited in the same transaction."""
    out = []
    recorded = 0
    for case in _cases_for(uow, principal):
        _, _, alerts = _evaluate(uow, ctx, case, as_of)
        recorded += _record_new(uow, case, alerts, principal)
        if responsible_only and principal is not None:
            alerts = [a for a in alerts if a.responsible_agency_type == principal.agency_type]
        if alerts:
            out.append(CaseAlerts(case.id, case.title, alerts))
    if recorded:
        uow.commit()
    return out
