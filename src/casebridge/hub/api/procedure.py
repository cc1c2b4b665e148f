"""`/api/v1/nodes`, `/api/v1/cases/{id}/procedure`, `/api/v1/alerts`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from casebridge.domain.access import Action
from casebridge.domain.catalog import LAWS, Node
from casebridge.errors import NotFound
from casebridge.hub.api.policy import policy
from casebridge.hub.deps import CurrentPrincipal, Uow, container, request_id
from casebridge.i18n import N_
from casebridge.services import supervision as svc
from casebridge.services.clock import today_cn

__all__ = ["node_dict", "router"]

router = APIRouter(prefix="/api/v1", tags=["procedure"])


def node_dict(n: Node, reply_to: tuple[str, ...] = ()) -> dict[str, Any]:
    """The catalog entry as JSON (API and CLI share it)."""
    return {
        "code": n.code,
        "name_zh": n.name_zh,
        "name_en": n.name_en,
        "kind": n.kind.value,
        "from": list(n.senders),
        "to": list(n.receivers),
        "stages": list(n.stages),
        "starts_case": n.starts_case,
        "replies": list(n.replies),
        "reply_to": list(reply_to),
        "documents": {
            "required": list(n.required_documents),
            "optional": list(n.optional_documents),
            "expected": list(n.expected_documents),
        },
        "fields": list(n.fields),
        "effect": {
            "stage": n.effect.stage,
            "handler": n.effect.handler,
            "measure": n.effect.measure,
            "custody": n.effect.custody,
            "closes_case": n.effect.closes_case,
        },
        "limits": {
            "start": [*n.limits.start, *n.limits.start_if_custody, *n.limits.start_if_free],
            "stop": list(n.limits.stop),
            "restart": list(n.limits.restart),
            "extend": [{"rule": r, **d.as_dict()} for r, d in n.limits.extend],
            "suspend": list(n.limits.suspend),
            "resume": list(n.limits.resume),
        },
        "max_per_case": n.max_per_case,
        "basis": [
            {**b.as_dict(), "law_name_zh": LAWS[b.law][0], "law_name_en": LAWS[b.law][1]}
            for b in n.basis
        ],
        "note": n.note,
    }


class ProcedureOut(BaseModel):
    case_id: str
    title: str
    as_of: date
    catalog_version: str
    state: dict[str, Any]
    limits: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    next_nodes: list[str]


class CaseAlertsOut(BaseModel):
    case_id: str
    title: str
    alerts: list[dict[str, Any]]


@router.get("/nodes", openapi_extra=policy(Action.REFERENCE))
def list_nodes(request: Request, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """The collaboration-node catalog (reference data; any authenticated user)."""
    cat = container(request).procedure.catalog
    return [node_dict(n, cat.reply_to.get(n.code, ())) for n in cat.nodes.values()]


@router.get("/nodes/{code}", openapi_extra=policy(Action.REFERENCE))
def get_node(code: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    cat = container(request).procedure.catalog
    node = cat.resolve(code)
    if node is None:
        raise NotFound(N_("no collaboration node {node}"), params={"node": repr(code)})
    return node_dict(node, cat.reply_to.get(node.code, ()))


@router.get(
    "/cases/{case_id}/procedure",
    response_model=ProcedureOut,
    openapi_extra=policy(Action.CASE_PROGRESS),
)
def case_procedure(
    case_id: str,
    request: Request,
    principal: CurrentPrincipal,
    uow: Uow,
    as_of: Annotated[date | None, Query(description="default: today (UTC+8)")] = None,
) -> ProcedureOut:
    """Stage, custody, running limits, alerts, and the nodes the caller's agency may send next."""
    ctx = container(request).procedure
    day = as_of or today_cn()
    view = svc.case_procedure(uow, ctx, principal, case_id, day, request_id=request_id(request))
    return ProcedureOut(
        case_id=view.case.id,
        title=view.case.title,
        as_of=day,
        catalog_version=ctx.catalog.version,
        state=view.state,
        limits=[v.as_dict() for v in view.limits],
        alerts=[a.as_dict() for a in view.alerts],
        next_nodes=view.next_nodes,
    )


@router.get("/alerts", response_model=list[CaseAlertsOut], openapi_extra=policy(Action.CASE_LIST))
def alerts(
    request: Request,
    principal: CurrentPrincipal,
    uow: Uow,
    as_of: Annotated[date | None, Query()] = None,
    responsible: Annotated[bool, Query(description="only alerts my agency must act on")] = False,
) -> list[CaseAlertsOut]:
    """Supervision alerts of the cases the caller may see (supervisors: all cases)."""
    ctx = container(request).procedure
    found = svc.list_alerts(uow, ctx, principal, as_of or today_cn(), responsible_only=responsible)
    return [
        CaseAlertsOut(case_id=c.case_id, title=c.title, alerts=[a.as_dict() for a in c.alerts])
        for c in found
    ]
