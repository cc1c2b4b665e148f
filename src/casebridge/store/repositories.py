"""Repositories: every query of the metadata database lives here, never in services or routes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casebridge.store.models import Agency, ApiToken, AuditEvent, Base, User

__all__ = [
    "AgencyRepository",
    "AuditRepository",
    "TokenRepository",
    "UserRepository",
    "count_rows",
]


class AgencyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, agency: Agency) -> Agency:
        self.session.add(agency)
        self.session.flush()
        return agency

    def get(self, agency_id: str) -> Agency | None:
        return self.session.get(Agency, agency_id)

    def by_code(self, code: str) -> Agency | None:
        return self.session.scalar(select(Agency).where(Agency.code == code))

    def list(self, *, type_: str | None = None) -> Sequence[Agency]:
        stmt = select(Agency).order_by(Agency.division_code, Agency.type, Agency.code)
        if type_ is not None:
            stmt = stmt.where(Agency.type == type_)
        return self.session.scalars(stmt).all()


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user

    def get(self, user_id: str) -> User | None:
        return self.session.get(User, user_id)

    def by_username(self, username: str) -> User | None:
        return self.session.scalar(select(User).where(User.username == username))

    def list(self) -> Sequence[User]:
        return self.session.scalars(select(User).order_by(User.username)).all()


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        self.session.flush()
        return token

    def active_by_hash(self, token_hash: str) -> ApiToken | None:
        return self.session.scalar(
            select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
        )

    def count_for_user(self, user_id: str) -> int:
        stmt = select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id)
        return int(self.session.scalar(stmt) or 0)


class AuditRepository:
    """Append-only: there is deliberately no update or delete here."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, event: AuditEvent) -> AuditEvent:
        self.session.add(event)
        self.session.flush()
        return event

    def list(self, *, limit: int = 100) -> Sequence[AuditEvent]:
        return self.session.scalars(select(AuditEvent).order_by(AuditEvent.seq).limit(limit)).all()


def count_rows(session: Session) -> dict[str, int]:
    """Rows per table: lets tests and `init` prove what a run did or did not change."""
    out: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        out[table.name] = int(session.scalar(select(func.count()).select_from(table)) or 0)
    return out
