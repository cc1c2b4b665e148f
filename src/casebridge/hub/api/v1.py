"""`/api/v1`: the hub's versioned JSON API (foundation routes; later issues add their routers)."""

from __future__ import annotations

from fastapi import APIRouter

from casebridge.domain.access import Action
from casebridge.errors import NotFound
from casebridge.hub.api.policy import policy
from casebridge.hub.api.schemas import AgencyOut, MeOut
from casebridge.hub.deps import CurrentPrincipal, Uow
from casebridge.i18n import N_

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")


@router.get("/me", tags=["identity"], openapi_extra=policy(Action.REFERENCE))
def me(principal: CurrentPrincipal) -> MeOut:
    """Who the API token belongs to: user, agency and roles."""
    return MeOut(
        user_id=principal.user_id,
        username=principal.username,
        agency_id=principal.agency_id,
        agency_type=principal.agency_type,
        agency_code=principal.agency_code,
        roles=sorted(principal.roles),
    )


@router.get("/agencies", tags=["registry"], openapi_extra=policy(Action.REFERENCE))
def list_agencies(
    principal: CurrentPrincipal, uow: Uow, type: str | None = None
) -> list[AgencyOut]:
    """Agencies registered on the platform (the registry every exchange is addressed through)."""
    return [AgencyOut.model_validate(a) for a in uow.agencies.list(type_=type)]


@router.get("/agencies/{agency_id}", tags=["registry"], openapi_extra=policy(Action.REFERENCE))
def get_agency(agency_id: str, principal: CurrentPrincipal, uow: Uow) -> AgencyOut:
    agency = uow.agencies.get(agency_id)
    if agency is None:
        raise NotFound(N_("no agency {agency}"), params={"agency": agency_id})
    return AgencyOut.model_validate(agency)
