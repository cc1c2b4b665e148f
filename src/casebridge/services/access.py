"""Applying the access policy in services: load the case's facts, decide, audit denials.

A denied case access raises NotFound (absence, not refusal), after recording the denial in the
audit log in its own transaction — the denial must be kept even though the request fails.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from casebridge.domain.access import Action, CaseAccess, GrantScope, decide
from casebridge.domain.agency import Principal, Role
from casebridge.errors import InvalidInput, NotFound, PermissionDenied, Problem, Said
from casebridge.i18n import N_
from casebridge.services import audit
from casebridge.store.models import AccessGrant, Case, Exchange
from casebridge.store.types import utcnow
from casebridge.store.uow import UnitOfWork

__all__ = [
    "assign_handler",
    "can",
    "deny",
    "grant_access",
    "require",
    "require_case",
    "require_exchange",
    "visible_cases",
]


def deny(
    uow: UnitOfWork,
    principal: Principal,
    action: Action,
    object_type: str,
    object_id: str | None,
    case_id: str | None,
    reason: str,
    request_id: str | None,
) -> None:
    uow.session.rollback()
    audit.record(
        uow,
        f"{action}.denied",
        object_type,
        object_id,
        actor=principal,
        case_id=case_id,
        outcome="denied",
        request_id=request_id,
        detail={"reason": reason},
    )
    uow.commit()


def require(
    uow: UnitOfWork, principal: Principal, action: Action, *, request_id: str | None = None
) -> None:
    """A non-case action (audit, admin, opening a case): PermissionDenied if refused."""
    decision = decide(principal, action, now=utcnow())
    if not decision:
        deny(uow, principal, action, "platform", None, None, decision.reason, request_id)
        raise PermissionDenied(
            N_("{action} is not allowed for this user"), params={"action": action}
        )


def can(
    uow: UnitOfWork,
    principal: Principal,
    action: Action,
    case_id: str,
    facts: CaseAccess | None = None,
) -> bool:
    return decide(principal, action, facts or uow.access.facts(case_id), now=utcnow()).allowed


def require_case(
    uow: UnitOfWork,
    principal: Principal,
    case_id: str,
    action: Action,
    *,
    lock: bool = False,
    request_id: str | None = None,
) -> Case:
    case = uow.cases.get(case_id, for_update=lock)
    if case is not None:
        decision = decide(principal, action, uow.access.facts(case.id), now=utcnow())
        if decision:
            return case
        reason = decision.reason
    else:
        reason = "no such case"
    deny(uow, principal, action, "case", case_id, case.id if case else None, reason, request_id)
    raise NotFound(N_("no case {case_id}"), params={"case_id": case_id})


def require_exchange(
    uow: UnitOfWork,
    principal: Principal,
    x: Exchange,
    action: Action,
    *,
    request_id: str | None = None,
) -> None:
    """An action on one exchange: its parties (reads) and receiver (sign-for) are part of the
    decision. Denied: audited, and NotFound — someone else's exchange does not exist."""
    decision = decide(
        principal,
        action,
        uow.access.facts(x.case_id),
        now=utcnow(),
        parties=frozenset({x.sender_agency_id, x.receiver_agency_id}),
        receiver=x.receiver_agency_id,
    )
    if not decision:
        deny(uow, principal, action, "exchange", x.id, x.case_id, decision.reason, request_id)
        raise NotFound(N_("no exchange {exchange_id}"), params={"exchange_id": x.id})


def assign_handler(
    uow: UnitOfWork,
    principal: Principal,
    case_id: str,
    username: str,
    *,
    request_id: str | None = None,
) -> bool:
    """A department head assigns a handler of the same agency to a case."""
    case = require_case(uow, principal, case_id, Action.CASE_ASSIGN, request_id=request_id)
    user = uow.users.by_username(username)
    if user is None or user.agency_id != principal.agency_id:
        raise InvalidInput(
            N_("only a user of your own agency can be assigned"),
            problems=[Problem("username", Said(N_("no such user in this agency")), username)],
        )
    assert principal.agency_id is not None
    created = uow.access.assign(case.id, principal.agency_id, user.id, principal.user_id)
    if created:
        audit.record(
            uow,
            "case.assign",
            "user",
            user.id,
            actor=principal,
            case_id=case.id,
            request_id=request_id,
        )
    uow.commit()
    return created


def grant_access(
    uow: UnitOfWork,
    principal: Principal,
    case_id: str,
    username: str,
    scope: GrantScope,
    days: int,
    *,
    request_id: str | None = None,
) -> AccessGrant:
    """A department head of an involved agency grants a second handler of the agency, or a
    supervisor, time-limited access (at most 90 days)."""
    case = require_case(uow, principal, case_id, Action.CASE_ASSIGN, request_id=request_id)
    if not 1 <= days <= 90:
        raise InvalidInput(
            N_("a grant lasts 1 to 90 days"),
            problems=[Problem("days", Said(N_("must be 1..90")), str(days))],
        )
    user = uow.users.by_username(username)
    roles = set(user.roles) if user else set()
    same_agency = user is not None and user.agency_id == principal.agency_id
    if user is None or not (same_agency or Role.SUPERVISOR in roles):
        raise InvalidInput(
            N_("grants go to a user of your agency or to a supervisor"),
            problems=[
                Problem(
                    "username", Said(N_("not a user of this agency nor a supervisor")), username
                )
            ],
        )
    now: datetime = utcnow()
    grant = uow.access.add_grant(
        AccessGrant(
            case_id=case.id,
            user_id=user.id,
            scope=scope.value,
            granted_by=principal.user_id,
            granted_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    audit.record(
        uow,
        "access.grant",
        "user",
        user.id,
        actor=principal,
        case_id=case.id,
        request_id=request_id,
        detail={"scope": scope.value, "expires_at": grant.expires_at.isoformat()},
    )
    uow.commit()
    return grant


def visible_cases(uow: UnitOfWork, principal: Principal) -> list[Case]:
    """Cases whose progress the caller may see."""
    now = utcnow()
    candidates = (
        uow.cases.all()
        if Role.SUPERVISOR in principal.roles
        else uow.cases.involving_agency(principal.agency_id or "")
        + uow.cases.granted_to(principal.user_id)
    )
    seen: set[str] = set()
    out = []
    for case in candidates:
        if case.id in seen:
            continue
        seen.add(case.id)
        if decide(principal, Action.CASE_PROGRESS, uow.access.facts(case.id), now=now):
            out.append(case)
    return out
