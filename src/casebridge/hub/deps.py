"""FastAPI dependencies: the container, a unit of work, and the authenticated caller."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from casebridge.bootstrap import Container
from casebridge.domain.agency import Principal
from casebridge.errors import AuthenticationRequired, PermissionDenied
from casebridge.hub.tls import client_cert_der
from casebridge.i18n import N_
from casebridge.services.auth import resolve_certificate, resolve_token
from casebridge.services.login import resolve_session
from casebridge.store.uow import UnitOfWork

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "CurrentPrincipal",
    "Uow",
    "container",
    "current_principal",
    "request_id",
    "unit_of_work",
]

_bearer = HTTPBearer(auto_error=False, description="API token (`casebridge admin token USER`)")


def request_id(request: Request) -> str | None:
    """The request id the middleware gave this request (for audit events)."""
    rid: str | None = getattr(request.state, "request_id", None)
    return rid


def container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def unit_of_work(c: Annotated[Container, Depends(container)]) -> Iterator[UnitOfWork]:
    with c.uow() as uow:
        yield uow


SESSION_COOKIE = "cb_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = {"GET", "HEAD", "OPTIONS"}


def current_principal(
    request: Request,
    c: Annotated[Container, Depends(container)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Scripts and gateways send a bearer token; browsers a session cookie, and on every
    state-changing request the session's CSRF token in `X-CSRF-Token`."""
    cookie = request.cookies.get(SESSION_COOKIE)
    with c.uow() as uow:
        if credentials is not None and credentials.scheme.lower() == "bearer":
            principal = resolve_token(uow, credentials.credentials)
        elif (der := client_cert_der(request.scope)) is not None:
            principal = resolve_certificate(uow, der)
        elif cookie:
            principal, csrf = resolve_session(uow, cookie)
            sent = request.headers.get(CSRF_HEADER, "")
            if request.method not in _SAFE and not hmac.compare_digest(sent, csrf):
                raise PermissionDenied(
                    N_("missing or wrong {header} header"), params={"header": CSRF_HEADER}
                )
        else:
            raise AuthenticationRequired(
                N_("send `Authorization: Bearer <API token>` or log in (session cookie)")
            )
    request.state.principal = principal
    return principal


Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
