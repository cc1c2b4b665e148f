"""Recording audit events from services (the security issue adds chaining and checkpoints)."""

from __future__ import annotations

from typing import Any

from casebridge.domain.agency import Principal
from casebridge.store.models import AuditEvent
from casebridge.store.uow import UnitOfWork

__all__ = ["record"]


def record(
    uow: UnitOfWork,
    action: str,
    object_type: str,
    object_id: str | None = None,
    *,
    actor: Principal | None = None,
    case_id: str | None = None,
    outcome: str = "ok",
    request_id: str | None = None,
    client_addr: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction: it commits or vanishes with the action."""
    return uow.audit.append(
        AuditEvent(
            actor_user_id=actor.user_id if actor else None,
            agency_id=actor.agency_id if actor else None,
            action=action,
            object_type=object_type,
            object_id=object_id,
            case_id=case_id,
            outcome=outcome,
            request_id=request_id,
            client_addr=client_addr,
            detail=detail or {},
        )
    )
