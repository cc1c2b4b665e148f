"""The unit of work: the one place that commits.

A service receives a unit of work, does its reads and writes through the repositories, and calls
:meth:`UnitOfWork.commit` once. Leaving the ``with`` block without a commit — an exception, or a
forgotten commit — rolls everything back, so a failure midway leaves no partial rows.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from casebridge.store.db import translate_db_errors
from casebridge.store.dossier_repository import DossierRepository
from casebridge.store.repositories import (
    AgencyRepository,
    AuditRepository,
    TokenRepository,
    UserRepository,
)

__all__ = ["UnitOfWork", "UnitOfWorkFactory"]


class UnitOfWork:
    agencies: AgencyRepository
    users: UserRepository
    tokens: TokenRepository
    audit: AuditRepository
    dossiers: DossierRepository

    def __init__(self, session_factory: sessionmaker[Session], url: str) -> None:
        self._session_factory = session_factory
        self._url = url
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    def __enter__(self) -> Self:
        self._session = self._session_factory()
        self.agencies = AgencyRepository(self._session)
        self.users = UserRepository(self._session)
        self.tokens = TokenRepository(self._session)
        self.audit = AuditRepository(self._session)
        self.dossiers = DossierRepository(self._session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            session.rollback()  # a no-op after commit(); undoes everything otherwise
        finally:
            session.close()
            self._session = None

    def commit(self) -> None:
        with translate_db_errors(self._url):
            self.session.commit()


class UnitOfWorkFactory:
    """Makes units of work bound to one engine; the bootstrap builds exactly one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._sessions, str(self.engine.url))
