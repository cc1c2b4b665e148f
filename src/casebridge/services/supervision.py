"""Procedure views and supervision alerts for cases at the hub.

Alerts are computed from the replayed state "as of" a date; the first time an alert is seen the
hub records it (``raised_alert``) and appends an audit event, so each is audited exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from casebridge.domain.agency import AgencyType, Principal, Role
from casebridge.domain.supervision import Alert, LimitView, alerts_for, evaluate_limits
from casebridge.services import audit
from casebridge.services.exchanges import ProcedureContext, case_events, visible_case
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
    uow: UnitOfWork, ctx: ProcedureContext, principal: Principal, case_id: str, as_of: date
) -> CaseProcedure:
    case = visible_case(uow, principal, case_id)
    state, limits, alerts = _evaluate(uow, ctx, case, as_of)
    if _record_new(uow, case, alerts, principal):
        uow.commit()
    nxt = (
        [
            n.code
            for n in ctx.procedure.allowed_next(state, principal.agency_type, principal.agency_id)
        ]
        if principal.agency_type
        else []
    )
    return CaseProcedure(case, state.as_dict(), limits, alerts, nxt)


def _cases_for(uow: UnitOfWork, principal: Principal | None) -> list[Case]:
    if (
        principal is None
        or principal.has_role(Role.SUPERVISOR)
        or (principal.agency_type is AgencyType.POLITICAL_LEGAL_COMMITTEE)
    ):
        # Supervisors oversee every case of the platform's region (region scoping: issue 6).
        return list(uow.cases.all())
    if principal.agency_id is None:
        return []
    return list(uow.cases.involving_agency(principal.agency_id))


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
