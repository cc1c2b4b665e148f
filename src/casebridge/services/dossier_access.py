"""The access policy applied to dossier versions (see ``domain.access.decide_dossier``)."""

from __future__ import annotations

from casebridge.domain.access import Action, decide_dossier
from casebridge.domain.agency import Principal
from casebridge.errors import NotFound
from casebridge.i18n import N_
from casebridge.services.access import deny
from casebridge.store.dossier_models import DossierVersion
from casebridge.store.types import utcnow
from casebridge.store.uow import UnitOfWork

__all__ = ["dossier_ref", "require_dossier"]


def dossier_ref(dossier_id: str, root: str) -> str:
    """How an exchange names the dossier version it carries."""
    return f"{dossier_id}@{root}"


def require_dossier(
    uow: UnitOfWork,
    principal: Principal,
    dossier_id: str,
    root: str | None,
    action: Action,
    *,
    request_id: str | None = None,
) -> DossierVersion:
    """The version, if the caller may read (or write) it; else NotFound, audited."""
    version = (
        uow.dossiers.version(dossier_id, root) if root else uow.dossiers.latest_version(dossier_id)
    )
    if version is not None:
        creator = uow.users.get(version.created_by_user_id) if version.created_by_user_id else None
        carried = [
            (uow.access.facts(x.case_id), frozenset({x.sender_agency_id, x.receiver_agency_id}))
            for x in uow.exchanges.carrying(dossier_ref(dossier_id, version.merkle_root))
        ]
        decision = decide_dossier(
            principal,
            action,
            creator_agency=creator.agency_id if creator else None,
            carried_by=carried,
            now=utcnow(),
        )
        if decision:
            return version
        reason = decision.reason
    else:
        reason = "no such dossier version"
    deny(uow, principal, action, "dossier", dossier_id, None, reason, request_id)
    if root:
        raise NotFound(
            N_("no dossier {dossier_id} version {root}"),
            params={"dossier_id": dossier_id, "root": root},
        )
    raise NotFound(N_("no dossier {dossier_id}"), params={"dossier_id": dossier_id})
