"""The unit of work: the one place that commits.

A service receives a unit of work, does its reads and writes through the repositories, and calls
:meth:`UnitOfWork.commit` once. Leaving the ``with`` block without a commit — an exception, or a
forgotten commit — rolls everything back, so a failure midway leaves no partial rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from casebridge.errors import Conflict
from casebridge.i18n import N_
from casebridge.store.db import translate_db_errors
from casebridge.store.dossier_repository import DossierRepository
from casebridge.store.repositories import (
    AccessRepository,
    AgencyRepository,
    AlertRepository,
    AuditRepository,
    CaseRepository,
    ExchangeRepository,
    TokenRepository,
    UserRepository,
)
from casebridge.store.standards_repository import CodeTableRepository

if TYPE_CHECKING:
    from casebridge.audit.signing import AuditSigner

__all__ = ["UnitOfWork", "UnitOfWorkFactory"]


def conflict_from(exc: IntegrityError) -> Conflict:
    """The :class:`Conflict` a write refused by a constraint is, naming the constraint (the
    driver's first line): the unit of work's translation, and the hub's for any it missed."""
    first = str(exc.orig).strip().splitlines()[0] if exc.orig else "constraint"
    return Conflict(N_("the write collides with existing data: {reason}"), params={"reason": first})


class UnitOfWork:
    agencies: AgencyRepository
    users: UserRepository
    tokens: TokenRepository
    audit: AuditRepository
    cases: CaseRepository
    exchanges: ExchangeRepository
    alerts: AlertRepository
    access: AccessRepository
    dossiers: DossierRepository

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        url: str,
        signer: AuditSigner | None = None,
        checkpoint_every: int = 1000,
    ) -> None:
        self._session_factory = session_factory
        self._url = url
        self._signer = signer
        self._checkpoint_every = checkpoint_every
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
        self.audit = AuditRepository(self._session, self._signer, self._checkpoint_every)
        self.cases = CaseRepository(self._session)
        self.exchanges = ExchangeRepository(self._session)
        self.alerts = AlertRepository(self._session)
        self.access = AccessRepository(self._session)
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

    @property
    def code_tables(self) -> CodeTableRepository:
        return CodeTableRepository(self.session)

    def commit(self) -> None:
        """Commit, or roll back and raise :class:`Conflict` if a constraint refuses the write
        (typically a concurrent request that won the race for the same unique key)."""
        with translate_db_errors(self._url), self.conflicts():
            self.session.commit()

    @contextmanager
    def conflicts(self) -> Iterator[None]:
        """Writes in this block that a constraint refuses roll back and raise
        :class:`Conflict`, whether the refusal comes at a flush or at the commit: a
        repository flushes to learn ids, so a concurrent request that won the race for a
        unique key is often noticed there, before the commit (once an unhandled 500)."""
        try:
            yield
        except IntegrityError as exc:
            self.session.rollback()
            raise conflict_from(exc) from exc


class UnitOfWorkFactory:
    """Makes units of work bound to one engine; the bootstrap builds exactly one."""

    def __init__(
        self, engine: Engine, signer: AuditSigner | None = None, checkpoint_every: int = 1000
    ) -> None:
        self.engine = engine
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._sessions, str(self.engine.url), self.signer, self.checkpoint_every)
