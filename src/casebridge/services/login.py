"""Passwords (argon2id), login with lockout, and browser sessions with CSRF tokens.

Every attempt is audited: success, failure, an attempt on a locked account, and the lock
itself. Failures are committed before the error is raised — a lock that rolled back with the
failed request would never lock.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from casebridge.domain.agency import Principal
from casebridge.errors import AuthenticationRequired, InvalidInput, NotFound, Problem, Said
from casebridge.i18n import N_
from casebridge.services import audit
from casebridge.services.auth import principal_for
from casebridge.store.models import LoginSession, User
from casebridge.store.types import utcnow
from casebridge.store.uow import UnitOfWork

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "LoginPolicy",
    "LoginResult",
    "login",
    "logout",
    "resolve_session",
    "set_password",
]

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()  # argon2id, the library's RFC 9106 defaults


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so that timing does not reveal
    usernames. Made on first use, not at import: one argon2 hash takes 64 MiB for a
    moment, and every hub worker would carry that peak from start-up."""
    return _hasher.hash("casebridge-no-such-user")


@dataclass(frozen=True)
class LoginPolicy:
    threshold: int = 10
    lock_minutes: int = 15
    session_hours: int = 8


@dataclass(frozen=True)
class LoginResult:
    session_token: str
    csrf_token: str
    expires_at: datetime
    principal: Principal


def set_password(uow: UnitOfWork, username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            N_("password too short"),
            problems=[
                Problem("password", Said(N_("at least {n} characters"), n=MIN_PASSWORD_LENGTH))
            ],
        )
    user = uow.users.by_username(username)
    if user is None:
        raise NotFound(N_("no user named {username}"), params={"username": repr(username)})
    user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(uow, "auth.password_set", "user", user.id)
    uow.commit()


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class _Attempt:
    """One login attempt: where it came from, for each event it leaves in the audit log."""

    uow: UnitOfWork
    client_addr: str | None
    request_id: str | None

    def record(
        self,
        action: str,
        user_id: str | None,
        *,
        actor: Principal | None = None,
        outcome: str = "ok",
        detail: dict[str, object] | None = None,
    ) -> None:
        audit.record(
            self.uow,
            action,
            "user",
            user_id,
            actor=actor,
            outcome=outcome,
            detail=detail,
            client_addr=self.client_addr,
            request_id=self.request_id,
        )

    def refuse_if_locked(self, user: User, now: datetime, actor: Principal) -> None:
        """An attempt on a locked account (until after ``now``): audited and refused."""
        until = user.locked_until
        if until is None or until <= now:
            return
        self.record(
            "auth.login",
            user.id,
            actor=actor,
            outcome="locked",
            detail={"locked_until": until.isoformat()},
        )
        self.uow.commit()
        raise AuthenticationRequired(
            N_("account locked until {until}"),
            params={"until": until.isoformat(timespec="minutes")},
        )


def login(
    uow: UnitOfWork,
    username: str,
    password: str,
    policy: LoginPolicy,
    *,
    client_addr: str | None = None,
    request_id: str | None = None,
) -> LoginResult:
    now = utcnow()
    attempt = _Attempt(uow, client_addr, request_id)
    user = uow.users.by_username(username)
    if user is None or user.password_hash is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password + "x")
        attempt.record(
            "auth.login",
            None,
            outcome="failed",
            detail={"username": username, "reason": "unknown user"},
        )
        uow.commit()
        raise AuthenticationRequired(N_("wrong username or password"))
    actor = principal_for(user)
    attempt.refuse_if_locked(user, now, actor)
    password_hash = user.password_hash
    ok = True
    try:
        _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError, VerificationError):
        ok = False
    # The counters are read-modify-write: re-read the user under a row lock (after the slow
    # hash, so the lock is short). Parallel guesses once all read the same count, each wrote
    # count + 1, and the lockout never came.
    locked = uow.users.locked(user.id)
    assert locked is not None  # a user is never deleted
    user = locked
    attempt.refuse_if_locked(user, now, actor)  # a parallel guess?
    if not ok:
        user.failed_logins += 1
        attempt.record(
            "auth.login",
            user.id,
            actor=actor,
            outcome="failed",
            detail={"failed_logins": user.failed_logins},
        )
        if user.failed_logins >= policy.threshold:
            user.locked_until = now + timedelta(minutes=policy.lock_minutes)
            user.failed_logins = 0
            attempt.record(
                "auth.lock",
                user.id,
                actor=actor,
                outcome="locked",
                detail={
                    "locked_until": user.locked_until.isoformat(),
                    "after_failures": policy.threshold,
                },
            )
        uow.commit()
        raise AuthenticationRequired(N_("wrong username or password")) from None
    if _hasher.check_needs_rehash(password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + timedelta(hours=policy.session_hours)
    uow.session.add(
        LoginSession(
            id=_session_id(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    attempt.record("auth.login", user.id, actor=actor)
    uow.commit()
    return LoginResult(token, csrf, expires, actor)


def resolve_session(uow: UnitOfWork, token: str) -> tuple[Principal, str]:
    """The caller behind a session cookie, and the session's CSRF token."""
    row = uow.session.get(LoginSession, _session_id(token))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise AuthenticationRequired(N_("session expired; log in again"))
    if not row.user.active:
        raise AuthenticationRequired(N_("account disabled"))
    return principal_for(row.user), row.csrf_token


def logout(uow: UnitOfWork, token: str, principal: Principal) -> None:
    row = uow.session.get(LoginSession, _session_id(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(uow, "auth.logout", "user", principal.user_id, actor=principal)
        uow.commit()
