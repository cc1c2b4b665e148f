"""API tokens: issue and resolve. Only a token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from casebridge.domain.agency import AgencyType, Principal, Role
from casebridge.errors import AuthenticationRequired, NotFound
from casebridge.i18n import N_
from casebridge.services import audit
from casebridge.store.models import ApiToken, User
from casebridge.store.uow import UnitOfWork

__all__ = [
    "TOKEN_PREFIX",
    "hash_token",
    "issue_token",
    "principal_for",
    "register_certificate",
    "resolve_certificate",
    "resolve_token",
]

TOKEN_PREFIX = "cbt_"  # noqa: S105 - recognisable in logs and secret scanners


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(uow: UnitOfWork, username: str, name: str = "cli") -> str:
    """Create a new token for a user and return it; it is never shown again."""
    user = uow.users.by_username(username)
    if user is None:
        raise NotFound(N_("no user named {username}"), params={"username": repr(username)})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    uow.tokens.add(ApiToken(user_id=user.id, token_hash=hash_token(token), name=name))
    audit.record(uow, "token.issue", "user", user.id, detail={"name": name})
    return token


def principal_for(user: User) -> Principal:
    agency = user.agency
    return Principal(
        user_id=user.id,
        username=user.username,
        agency_id=agency.id if agency else None,
        agency_type=AgencyType(agency.type) if agency else None,
        agency_code=agency.code if agency else None,
        roles=frozenset(Role(r) for r in user.roles),
        division_code=agency.division_code if agency else None,
    )


def register_certificate(uow: UnitOfWork, username: str, fingerprint: str) -> None:
    """Bind a client certificate (its SHA-256) to a user, typically a gateway identity."""
    user = uow.users.by_username(username)
    if user is None:
        raise NotFound(N_("no user named {username}"), params={"username": repr(username)})
    user.cert_fingerprint = fingerprint
    audit.record(
        uow, "auth.certificate_registered", "user", user.id, detail={"fingerprint": fingerprint}
    )
    uow.commit()


def resolve_certificate(uow: UnitOfWork, der: bytes) -> Principal:
    """The caller behind a client certificate the TLS layer has verified against our CA."""
    fingerprint = hashlib.sha256(der).hexdigest()
    user = uow.users.by_cert_fingerprint(fingerprint)
    if user is None or not user.active:
        raise AuthenticationRequired(N_("client certificate not registered to any user"))
    return principal_for(user)


def resolve_token(uow: UnitOfWork, token: str) -> Principal:
    """The caller behind a bearer token, or :class:`AuthenticationRequired`."""
    row = uow.tokens.active_by_hash(hash_token(token))
    if row is None or not row.user.active:
        raise AuthenticationRequired(N_("unknown, revoked or inactive API token"))
    return principal_for(row.user)
