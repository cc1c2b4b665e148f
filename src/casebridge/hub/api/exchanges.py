"""`/api/v1/exchanges`, `/api/v1/inbox`: send, sign for, read. Routes only parse and delegate."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from casebridge.domain.access import Action
from casebridge.domain.agency import Principal
from casebridge.hub.api.policy import policy
from casebridge.hub.deps import CurrentPrincipal, Uow, container, request_id
from casebridge.services import exchanges as svc
from casebridge.services.clock import today_cn
from casebridge.store.models import Exchange
from casebridge.store.uow import UnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["exchanges"])


class PayloadIn(BaseModel):
    """The exchange's content in the sender's own codes (see docs/procedure.md)."""

    model_config = ConfigDict(extra="forbid")

    case: dict[str, Any] | None = Field(default=None, description="title, case_ref, crime")
    persons: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    fields: dict[str, Any] = {}


class SendExchangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node: str = Field(description="node code or its exact Chinese name", min_length=1)
    receiver_agency: str | None = Field(
        default=None, description="receiver's agency id or organisation code (none for facts)"
    )
    case_id: str | None = Field(default=None, description="existing case; omit to open one")
    payload: PayloadIn = PayloadIn()
    idempotency_key: str = Field(min_length=8, max_length=128)
    in_reply_to: str | None = None
    occurred_on: date | None = Field(default=None, description="default: today (UTC+8)")
    dossier_ref: str | None = None


class ReceiptOut(BaseModel):
    kind: str
    agency_id: str
    user_id: str
    at: datetime


class ExchangeOut(BaseModel):
    id: str
    node: str
    kind: str
    case_id: str
    sender_agency_id: str
    receiver_agency_id: str | None
    in_reply_to: str | None
    status: str
    occurred_on: date | None
    created_at: datetime
    payload: dict[str, Any]
    table_versions: dict[str, Any]
    dossier_ref: str | None
    receipts: list[ReceiptOut] = []
    replies: list[str] = []
    withheld: bool = False  # content hidden: sign for it (or be assigned) to read it


def _out(
    uow: UnitOfWork,
    request: Request,
    principal: Principal,
    x: Exchange,
    *,
    detail: bool = False,
    readable: bool = True,
) -> ExchangeOut:
    converter = container(request).procedure.converter
    payload = converter.outbound(str(principal.agency_type), x.payload) if readable else {}
    fact = x.node_kind == "fact"
    return ExchangeOut(
        id=x.id,
        node=x.node_code,
        kind=x.node_kind,
        case_id=x.case_id,
        sender_agency_id=x.sender_agency_id,
        receiver_agency_id=None if fact else x.receiver_agency_id,
        in_reply_to=x.in_reply_to_id,
        status=x.status,
        occurred_on=x.occurred_on,
        created_at=x.created_at,
        payload=payload,
        table_versions=x.table_versions,
        dossier_ref=x.dossier_ref,
        receipts=[
            ReceiptOut(kind=r.kind, agency_id=r.agency_id, user_id=r.user_id, at=r.at)
            for r in x.receipts
        ]
        if detail
        else [],
        replies=[r.id for r in uow.exchanges.replies_to(x.id)] if detail else [],
        withheld=not readable,
    )


@router.post(
    "/exchanges",
    status_code=201,
    response_model=ExchangeOut,
    openapi_extra=policy(Action.CASE_WRITE),
)
def send_exchange(
    body: SendExchangeIn,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    uow: Uow,
) -> ExchangeOut:
    """Send a collaboration node (or record a fact) for a new or existing case.

    Converted from the sender's codes, checked against the catalog and the case's procedure
    state, and stored with its effects in one transaction. Replaying an idempotency key returns
    the first result (200, `Idempotent-Replayed: true`) and changes nothing."""
    c = container(request)
    result = svc.send_exchange(
        uow,
        c.procedure,
        principal,
        svc.SendExchange(
            node=body.node,
            idempotency_key=body.idempotency_key,
            payload=body.payload.model_dump(exclude_none=True),
            receiver_agency=body.receiver_agency,
            case_id=body.case_id,
            in_reply_to=body.in_reply_to,
            occurred_on=body.occurred_on,
            dossier_ref=body.dossier_ref,
        ),
        today=today_cn(),
        request_id=request_id(request),
    )
    if result.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/api/v1/exchanges/{result.exchange.id}"
    return _out(uow, request, principal, result.exchange, detail=True)


@router.get("/inbox", response_model=list[ExchangeOut], openapi_extra=policy(Action.CASE_LIST))
def inbox(
    request: Request,
    principal: CurrentPrincipal,
    uow: Uow,
    status: Annotated[str | None, Query(pattern="^(delivered|signed_for|replied)$")] = None,
) -> list[ExchangeOut]:
    """Exchanges addressed to the caller's agency, in the agency's own codes. Content is shown
    to users who may read the case; others see the arrival (`withheld`) and can sign for it."""
    items = svc.inbox(uow, principal, status=status, request_id=request_id(request))
    return [_out(uow, request, principal, i.exchange, readable=i.readable) for i in items]


@router.get(
    "/exchanges/{exchange_id}", response_model=ExchangeOut, openapi_extra=policy(Action.CASE_READ)
)
def get_exchange(
    exchange_id: str, request: Request, principal: CurrentPrincipal, uow: Uow
) -> ExchangeOut:
    """One exchange with its receipts and replies (sender or receiver only)."""
    x = svc.get_exchange(uow, principal, exchange_id, request_id=request_id(request))
    return _out(uow, request, principal, x, detail=True)


@router.post(
    "/exchanges/{exchange_id}/sign-for",
    response_model=ReceiptOut,
    openapi_extra=policy(Action.SIGN_FOR),
)
def sign_for(
    exchange_id: str, request: Request, principal: CurrentPrincipal, uow: Uow
) -> ReceiptOut:
    """签收: the receiving agency acknowledges the exchange; the sender sees the receipt."""
    r = svc.sign_for(uow, principal, exchange_id, request_id=request_id(request))
    return ReceiptOut(kind=r.kind, agency_id=r.agency_id, user_id=r.user_id, at=r.at)
