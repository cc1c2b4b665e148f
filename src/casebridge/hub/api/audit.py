"""`/api/v1/audit`: the audit log, for auditors only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from casebridge.domain.access import Action
from casebridge.hub.api.policy import policy
from casebridge.hub.deps import CurrentPrincipal, Uow, request_id
from casebridge.services import access
from casebridge.services.audit_log import verify_log

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEventOut(BaseModel):
    seq: int
    id: str
    at: datetime
    actor_user_id: str | None
    agency_id: str | None
    action: str
    object_type: str
    object_id: str | None
    case_id: str | None
    request_id: str | None
    outcome: str
    detail: dict[str, Any]
    hash: str


@router.get("/events", response_model=list[AuditEventOut], openapi_extra=policy(Action.AUDIT_READ))
def events(
    request: Request,
    principal: CurrentPrincipal,
    uow: Uow,
    case_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEventOut]:
    """Audit events, oldest first, optionally of one case."""
    access.require(uow, principal, Action.AUDIT_READ, request_id=request_id(request))
    rows = uow.audit.for_case(case_id)[:limit] if case_id else uow.audit.list(limit=limit)
    return [
        AuditEventOut(
            seq=e.seq,
            id=e.id,
            at=e.at,
            actor_user_id=e.actor_user_id,
            agency_id=e.agency_id,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            case_id=e.case_id,
            request_id=e.request_id,
            outcome=e.outcome,
            detail=e.detail,
            hash=e.hash,
        )
        for e in rows
    ]


@router.get("/verify", openapi_extra=policy(Action.AUDIT_READ))
def verify(request: Request, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """Verify the whole chain and every checkpoint now."""
    access.require(uow, principal, Action.AUDIT_READ, request_id=request_id(request))
    return verify_log(uow).as_dict()
