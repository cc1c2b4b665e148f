"""FastAPI dependencies: the container, a unit of work, and the authenticated caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from casebridge.bootstrap import Container
from casebridge.domain.agency import Principal
from casebridge.errors import AuthenticationRequired
from casebridge.services.auth import resolve_token
from casebridge.store.uow import UnitOfWork

__all__ = ["CurrentPrincipal", "Uow", "container", "current_principal", "unit_of_work"]

_bearer = HTTPBearer(auto_error=False, description="API token (`casebridge admin token USER`)")


def container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def unit_of_work(c: Annotated[Container, Depends(container)]) -> Iterator[UnitOfWork]:
    with c.uow() as uow:
        yield uow


def current_principal(
    request: Request,
    c: Annotated[Container, Depends(container)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationRequired("send `Authorization: Bearer <API token>`")
    with c.uow() as uow:
        principal = resolve_token(uow, credentials.credentials)
    request.state.principal = principal
    return principal


Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
