"""Repositories: every query of the metadata database lives here, never in services or routes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from casebridge.audit.chain import event_hash
from casebridge.audit.merkle import leaf_hash, push, root_from_frontier
from casebridge.audit.store import checkpoint_message, decode_frontier, encode_frontier
from casebridge.domain.access import CaseAccess, Grant, GrantScope
from casebridge.store.models import (
    AccessGrant,
    Agency,
    ApiToken,
    AuditCheckpoint,
    AuditEvent,
    AuditHead,
    Base,
    Case,
    CaseAssignment,
    CaseRef,
    Exchange,
    Person,
    RaisedAlert,
    Receipt,
    User,
)
from casebridge.store.types import new_id, utcnow

if TYPE_CHECKING:
    from casebridge.audit.signing import AuditSigner

__all__ = [
    "AccessRepository",
    "AgencyRepository",
    "AlertRepository",
    "AuditRepository",
    "CaseRepository",
    "ExchangeRepository",
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

    def locked(self, user_id: str) -> User | None:
        """The user re-read under a row lock (FOR UPDATE; on SQLite :func:`lock_on_sqlite`):
        for read-modify-write of its login counters by parallel requests."""
        stmt = select(User).where(User.id == user_id)
        table = cast(Table, User.__table__)
        if not lock_on_sqlite(self.session, table, table.c.id == user_id, ["failed_logins"]):
            stmt = stmt.with_for_update()
        return self.session.scalar(stmt.execution_options(populate_existing=True))

    def by_username(self, username: str) -> User | None:
        return self.session.scalar(select(User).where(User.username == username))

    def list(self) -> Sequence[User]:
        return self.session.scalars(select(User).order_by(User.username)).all()

    def by_cert_fingerprint(self, fingerprint: str) -> User | None:
        return self.session.scalar(select(User).where(User.cert_fingerprint == fingerprint))


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


def lock_on_sqlite(session: Session, table: Table, where: Any, keep: Sequence[str]) -> bool:
    """SQLite's stand-in for ``SELECT … FOR UPDATE``; True if it applied (SQLite), False
    elsewhere (the caller adds FOR UPDATE).

    SQLite has no row locks, and its driver opens a transaction only at the first write, so a
    row read first comes from a snapshot another connection (a thread, a hub process) can
    overtake: two requests then act on the same state, and one's update is lost or collides.
    A no-op update of the row (``keep``: columns set to themselves, so that no ``onupdate``
    fires) makes this transaction the database's one writer, waiting ``busy_timeout`` for
    another; what it reads next is current and stays so until it commits.
    """
    if session.get_bind().dialect.name != "sqlite":
        return False
    session.execute(update(table).where(where).values({c: table.c[c] for c in keep}))
    return True


class AuditRepository:
    """Append-only: there is deliberately no update or delete here.

    Appends are serialised on the single ``audit_head`` row (locked FOR UPDATE on PostgreSQL;
    on SQLite by writing it first, :func:`lock_on_sqlite`): each event's hash covers its
    predecessor's, the Merkle frontier grows in O(log n), and every ``checkpoint_every``
    events a signed tree head is stored.
    """

    def __init__(
        self, session: Session, signer: AuditSigner | None = None, checkpoint_every: int = 1000
    ) -> None:
        self.session = session
        self.signer = signer
        self.checkpoint_every = checkpoint_every

    def _lock_head(self) -> bool:
        """On SQLite, take the write lock before the head is read (see :func:`lock_on_sqlite`):
        without it two appends could take the same sequence number, and one request failed
        with a UNIQUE error."""
        head_t = cast(Table, AuditHead.__table__)
        return lock_on_sqlite(self.session, head_t, head_t.c.id == 1, ["last_seq"])

    def head(self, *, lock: bool = False) -> AuditHead:
        stmt = select(AuditHead).where(AuditHead.id == 1)
        if lock and not self._lock_head():
            stmt = stmt.with_for_update()
        head = self.session.scalar(stmt)
        if head is None:  # pragma: no cover - created by migration 0005
            raise RuntimeError("audit_head row missing: run `casebridge db upgrade`")
        return head

    def append(self, event: AuditEvent) -> AuditEvent:
        """Chain and insert one event. Core statements, not the ORM unit of work: an audit
        append rides on every request, so it must cost a few SQL round trips, no more."""
        head_t = cast(Table, AuditHead.__table__)
        event_t = cast(Table, AuditEvent.__table__)
        stmt = select(head_t).where(head_t.c.id == 1)
        if not self._lock_head():
            stmt = stmt.with_for_update()
        head = self.session.execute(stmt).one()
        event.seq = head.last_seq + 1
        event.id = event.id or new_id()
        event.at = event.at or utcnow()
        event.outcome = event.outcome or "ok"
        event.detail = event.detail or {}
        event.prev_hash = head.last_hash
        event.hash = event_hash(head.last_hash, event.chained_fields())
        frontier = push(decode_frontier(head.frontier), leaf_hash(bytes.fromhex(event.hash)))
        size = head.size + 1
        # Statements without inline values compile once and are reused from the cache.
        self.session.execute(
            insert(event_t),
            {**event.chained_fields(), "prev_hash": event.prev_hash, "hash": event.hash},
        )
        self.session.execute(
            update(head_t).where(head_t.c.id == 1),
            {
                "size": size,
                "last_seq": event.seq,
                "last_hash": event.hash,
                "frontier": encode_frontier(frontier),
            },
        )
        if self.signer is not None and size % self.checkpoint_every == 0:
            self._checkpoint(size, root_from_frontier(frontier))
        return event

    def checkpoint_now(self) -> AuditCheckpoint | None:
        """Sign the current tree head (no-op if it is already signed or the log is empty)."""
        if self.signer is None:
            raise RuntimeError("no audit signing key configured")
        head = self.head(lock=True)
        if head.size == 0:
            return None
        existing = self.session.get(AuditCheckpoint, head.size)
        if existing is not None:
            return existing
        return self._checkpoint(head.size, root_from_frontier(decode_frontier(head.frontier)))

    def _checkpoint(self, size: int, root: bytes) -> AuditCheckpoint:
        assert self.signer is not None
        at = utcnow()
        cp = AuditCheckpoint(
            size=size,
            root=root.hex(),
            signed_at=at,
            key_id=self.signer.key_id,
            public_key=self.signer.public_pem,
            signature=self.signer.sign(checkpoint_message(size, root.hex(), at)),
        )
        self.session.add(cp)
        self.session.flush()
        return cp

    def iter_all(self, batch: int = 5000) -> Iterator[AuditEvent]:
        """Every event in chain order, in batches (bounded memory for verification)."""
        last = -1
        while True:
            rows = self.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seq > last)
                .order_by(AuditEvent.seq)
                .limit(batch)
            ).all()
            if not rows:
                return
            yield from rows
            last = rows[-1].seq
            self.session.expunge_all()

    def hashes_upto(self, size: int) -> list[str]:
        return list(
            self.session.scalars(select(AuditEvent.hash).order_by(AuditEvent.seq).limit(size))
        )

    def for_case(self, case_id: str) -> Sequence[AuditEvent]:
        return self.session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)
        ).all()

    def position(self, seq: int) -> int:
        """Leaf index of an event: how many events precede it in the chain."""
        stmt = select(func.count()).select_from(AuditEvent).where(AuditEvent.seq < seq)
        return int(self.session.scalar(stmt) or 0)

    def checkpoints(self) -> Sequence[AuditCheckpoint]:
        return self.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size)).all()

    def list(self, *, limit: int = 100) -> Sequence[AuditEvent]:
        return self.session.scalars(select(AuditEvent).order_by(AuditEvent.seq).limit(limit)).all()


class CaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, case: Case) -> Case:
        self.session.add(case)
        self.session.flush()
        return case

    def get(self, case_id: str, *, for_update: bool = False) -> Case | None:
        """``for_update`` locks the row so that two exchanges for one case are checked
        against the procedure one after the other, never against the same state (FOR UPDATE;
        on SQLite the database's write lock, :func:`lock_on_sqlite`)."""
        stmt = select(Case).where(Case.id == case_id)
        if for_update:
            table = cast(Table, Case.__table__)
            keep = ["event_count", "updated_at"]
            if not lock_on_sqlite(self.session, table, table.c.id == case_id, keep):
                stmt = stmt.with_for_update()
            stmt = stmt.execution_options(populate_existing=True)
        return self.session.scalar(stmt)

    def ref(self, agency_id: str, ref: str) -> CaseRef | None:
        """An agency's own case number, whichever case it was given to."""
        return self.session.scalar(
            select(CaseRef).where(CaseRef.agency_id == agency_id, CaseRef.ref == ref)
        )

    def person(self, case_id: str, key: str) -> Person | None:
        return self.session.scalar(
            select(Person).where(Person.case_id == case_id, Person.key == key)
        )

    def persons(self, case_id: str) -> Sequence[Person]:
        return self.session.scalars(
            select(Person).where(Person.case_id == case_id).order_by(Person.key)
        ).all()

    def involving_agency(self, agency_id: str) -> list[Case]:
        """Cases an exchange has brought to or from this agency."""
        ids = select(Exchange.case_id).where(
            (Exchange.sender_agency_id == agency_id) | (Exchange.receiver_agency_id == agency_id)
        )
        return list(
            self.session.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.created_at))
        )

    def all(self) -> list[Case]:
        return list(self.session.scalars(select(Case).order_by(Case.created_at)))

    def granted_to(self, user_id: str) -> list[Case]:
        ids = select(AccessGrant.case_id).where(
            AccessGrant.user_id == user_id, AccessGrant.revoked_at.is_(None)
        )
        return list(self.session.scalars(select(Case).where(Case.id.in_(ids))))


class ExchangeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, exchange: Exchange) -> Exchange:
        self.session.add(exchange)
        self.session.flush()
        return exchange

    def get(self, exchange_id: str) -> Exchange | None:
        return self.session.get(Exchange, exchange_id)

    def by_idempotency_key(self, sender_agency_id: str, key: str) -> Exchange | None:
        return self.session.scalar(
            select(Exchange).where(
                Exchange.sender_agency_id == sender_agency_id, Exchange.idempotency_key == key
            )
        )

    def for_case(self, case_id: str) -> Sequence[Exchange]:
        """The case's history in acceptance order: the input of the procedure replay."""
        return self.session.scalars(
            select(Exchange)
            .where(Exchange.case_id == case_id)
            .order_by(Exchange.created_at, Exchange.id)
        ).all()

    def inbox(self, receiver_agency_id: str, *, status: str | None = None) -> Sequence[Exchange]:
        stmt = (
            select(Exchange)
            .where(
                Exchange.receiver_agency_id == receiver_agency_id,
                Exchange.node_kind == "exchange",
            )
            .order_by(Exchange.created_at, Exchange.id)
        )
        if status is not None:
            stmt = stmt.where(Exchange.status == status)
        return self.session.scalars(stmt).all()

    def carrying(self, dossier_ref: str) -> Sequence[Exchange]:
        """Exchanges that carried a dossier version."""
        return self.session.scalars(
            select(Exchange).where(Exchange.dossier_ref == dossier_ref)
        ).all()

    def replies_to(self, exchange_id: str) -> Sequence[Exchange]:
        return self.session.scalars(
            select(Exchange)
            .where(Exchange.in_reply_to_id == exchange_id)
            .order_by(Exchange.created_at)
        ).all()

    def add_receipt(self, receipt: Receipt) -> Receipt:
        self.session.add(receipt)
        self.session.flush()
        return receipt

    def receipt(self, exchange_id: str, kind: str) -> Receipt | None:
        return self.session.scalar(
            select(Receipt).where(Receipt.exchange_id == exchange_id, Receipt.kind == kind)
        )


class AccessRepository:
    """The facts the access policy decides on, and the assignments and grants that feed it."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def facts(self, case_id: str) -> CaseAccess:
        parties = self.session.execute(
            select(Exchange.sender_agency_id, Exchange.receiver_agency_id).where(
                Exchange.case_id == case_id
            )
        ).all()
        agencies = frozenset(a for row in parties for a in row)
        regions = frozenset(
            self.session.scalars(select(Agency.division_code).where(Agency.id.in_(agencies)))
        )
        assigned = frozenset(
            self.session.scalars(
                select(CaseAssignment.user_id).where(CaseAssignment.case_id == case_id)
            )
        )
        grants = tuple(
            Grant(g.user_id, GrantScope(g.scope), g.expires_at)
            for g in self.session.scalars(
                select(AccessGrant).where(
                    AccessGrant.case_id == case_id, AccessGrant.revoked_at.is_(None)
                )
            )
        )
        return CaseAccess(agencies, assigned, grants, regions)

    def assign(self, case_id: str, agency_id: str, user_id: str, by: str | None) -> bool:
        """Assign once; True if this created the assignment."""
        exists = self.session.scalar(
            select(CaseAssignment.id).where(
                CaseAssignment.case_id == case_id, CaseAssignment.user_id == user_id
            )
        )
        if exists:
            return False
        self.session.add(
            CaseAssignment(case_id=case_id, agency_id=agency_id, user_id=user_id, assigned_by=by)
        )
        self.session.flush()
        return True

    def add_grant(self, grant: AccessGrant) -> AccessGrant:
        self.session.add(grant)
        self.session.flush()
        return grant


class AlertRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def raised_keys(self, case_id: str) -> set[str]:
        return set(
            self.session.scalars(select(RaisedAlert.key).where(RaisedAlert.case_id == case_id))
        )

    def add(self, alert: RaisedAlert) -> RaisedAlert:
        self.session.add(alert)
        self.session.flush()
        return alert


def count_rows(session: Session) -> dict[str, int]:
    """Rows per table: lets tests and `init` prove what a run did or did not change."""
    out: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        out[table.name] = int(session.scalar(select(func.count()).select_from(table)) or 0)
    return out
