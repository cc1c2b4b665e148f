"""`/api/v1/auth`: password login for browsers (session cookie + CSRF token), logout."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from casebridge.domain.access import Action
from casebridge.hub.api.policy import policy
from casebridge.hub.deps import SESSION_COOKIE, CurrentPrincipal, Uow, container, request_id
from casebridge.services import login as svc

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LoginOut(BaseModel):
    username: str
    csrf_token: str
    expires_at: datetime


@router.post("/login", response_model=LoginOut, openapi_extra=policy(Action.PUBLIC))
def login(body: LoginIn, request: Request, response: Response, uow: Uow) -> LoginOut:
    """Check the password (argon2id); repeated failures lock the account. Sets an HttpOnly,
    SameSite=Strict session cookie; send the returned CSRF token with every write."""
    s = container(request).settings
    result = svc.login(
        uow,
        body.username,
        body.password,
        svc.LoginPolicy(s.lockout_threshold, s.lockout_minutes, s.session_hours),
        client_addr=request.client.host if request.client else None,
        request_id=request_id(request),
    )
    response.set_cookie(
        SESSION_COOKIE,
        result.session_token,
        max_age=s.session_hours * 3600,
        httponly=True,
        secure=s.cookie_secure,
        samesite="strict",
        path="/",
    )
    return LoginOut(
        username=result.principal.username,
        csrf_token=result.csrf_token,
        expires_at=result.expires_at,
    )


@router.post("/logout", status_code=204, openapi_extra=policy(Action.REFERENCE))
def logout(request: Request, response: Response, principal: CurrentPrincipal, uow: Uow) -> None:
    """End the browser session."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        svc.logout(uow, token, principal)
    response.delete_cookie(SESSION_COOKIE, path="/")
