"""`/api/v1/cases`: the cases a user may see; assignments and grants (department heads)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from casebridge.domain.access import Action, GrantScope
from casebridge.hub.api.policy import policy
from casebridge.hub.deps import CurrentPrincipal, Uow, request_id
from casebridge.services import access

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


class CaseOut(BaseModel):
    id: str
    title: str
    stage: str
    handler_agency_id: str | None
    created_at: datetime
    updated_at: datetime


class AssignIn(BaseModel):
    username: str = Field(min_length=1)


class AssignOut(BaseModel):
    case_id: str
    username: str
    created: bool


class GrantIn(BaseModel):
    username: str = Field(min_length=1)
    scope: GrantScope = GrantScope.CASE
    days: Annotated[int, Field(ge=1, le=90)] = 7


class GrantOut(BaseModel):
    id: str
    case_id: str
    user_id: str
    scope: str
    expires_at: datetime


@router.get("", response_model=list[CaseOut], openapi_extra=policy(Action.CASE_LIST))
def list_cases(principal: CurrentPrincipal, uow: Uow) -> list[CaseOut]:
    """Cases whose progress the caller may see."""
    return [
        CaseOut(
            id=c.id,
            title=c.title,
            stage=c.stage,
            handler_agency_id=c.handler_agency_id,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
        for c in access.visible_cases(uow, principal)
    ]


@router.post(
    "/{case_id}/assignments", response_model=AssignOut, openapi_extra=policy(Action.CASE_ASSIGN)
)
def assign(
    case_id: str, body: AssignIn, request: Request, principal: CurrentPrincipal, uow: Uow
) -> AssignOut:
    """A department head assigns a handler of the agency to the case (audited)."""
    created = access.assign_handler(
        uow, principal, case_id, body.username, request_id=request_id(request)
    )
    return AssignOut(case_id=case_id, username=body.username, created=created)


@router.post(
    "/{case_id}/grants",
    response_model=GrantOut,
    status_code=201,
    openapi_extra=policy(Action.CASE_ASSIGN),
)
def grant(
    case_id: str, body: GrantIn, request: Request, principal: CurrentPrincipal, uow: Uow
) -> GrantOut:
    """Time-limited access for a second handler or a supervisor (audited)."""
    g = access.grant_access(
        uow,
        principal,
        case_id,
        body.username,
        body.scope,
        body.days,
        request_id=request_id(request),
    )
    return GrantOut(
        id=g.id, case_id=g.case_id, user_id=g.user_id, scope=g.scope, expires_at=g.expires_at
    )
