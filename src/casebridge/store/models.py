"""Tables of the hub's metadata database (SQLAlchemy 2, typed).

Table and column names are the glossary's code names. JSON payloads use the generic JSON type
(JSONB on PostgreSQL through the variant) so that the same migrations serve both engines.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from casebridge.store.types import UTCDateTime, new_id, utcnow

__all__ = [
    "AccessGrant",
    "Agency",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Case",
    "CaseAssignment",
    "CaseRef",
    "Charge",
    "Document",
    "Exchange",
    "LoginSession",
    "Person",
    "RaisedAlert",
    "Receipt",
    "User",
]

JSONType = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Agency(Base):
    """A police branch, detention centre, procuratorate, court, judicial bureau …"""

    __tablename__ = "agency"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # organisation code
    type: Mapped[str] = mapped_column(String(32))  # domain.agency.AgencyType
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    division_code: Mapped[str] = mapped_column(String(12))  # GB/T 2260 region
    level: Mapped[str] = mapped_column(String(16))  # national/provincial/city/county
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("agency.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="agency")


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agency.id"), default=None)
    roles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    # SHA-256 of the DER client certificate a gateway presents (mutual TLS)
    cert_fingerprint: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    agency: Mapped[Agency | None] = relationship(back_populates="users")
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a database dump grants no access."""

    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    user: Mapped[User] = relationship(back_populates="tokens")


class LoginSession(Base):
    """A browser session: only the token's SHA-256 is stored; CSRF token checked per write."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(session token)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    user: Mapped[User] = relationship()


class Case(Base):
    """A criminal case under one unified id, whatever number each agency gives it."""

    __tablename__ = "case"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(500))
    stage: Mapped[str] = mapped_column(String(32))  # domain.case.Stage
    # Handling agency and event count, kept in step with the replayed procedure state so that
    # lists can filter without replaying; the replay stays the truth.
    handler_agency_id: Mapped[str | None] = mapped_column(ForeignKey("agency.id"), default=None)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    refs: Mapped[list[CaseRef]] = relationship(back_populates="case")
    persons: Mapped[list[Person]] = relationship(back_populates="case")


class CaseRef(Base):
    """An agency's own number for a case: 案件编号, 文号, 案号."""

    __tablename__ = "case_ref"
    __table_args__ = (UniqueConstraint("agency_id", "ref", name="uq_case_ref_agency_ref"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), index=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agency.id"))
    ref: Mapped[str] = mapped_column(String(100))

    case: Mapped[Case] = relationship(back_populates="refs")


class Person(Base):
    __tablename__ = "person"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), index=True)
    key: Mapped[str] = mapped_column(String(32), default="")  # the person's key within the case
    role: Mapped[str] = mapped_column(String(32))  # domain.case.PersonRole
    name: Mapped[str] = mapped_column(String(200))
    id_type: Mapped[str | None] = mapped_column(String(16), default=None)
    id_number: Mapped[str | None] = mapped_column(String(64), default=None)
    gender: Mapped[str | None] = mapped_column(String(4), default=None)  # GB/T 2261.1
    ethnicity: Mapped[str | None] = mapped_column(String(4), default=None)  # GB/T 3304
    birth_date: Mapped[date | None] = mapped_column(Date, default=None)

    case: Mapped[Case] = relationship(back_populates="persons")
    charges: Mapped[list[Charge]] = relationship(back_populates="person")


class Charge(Base):
    __tablename__ = "charge"
    __table_args__ = (UniqueConstraint("person_id", "crime_code", name="uq_charge_person_crime"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    crime_code: Mapped[str] = mapped_column(String(32))  # standard crime code

    person: Mapped[Person] = relationship(back_populates="charges")


class Exchange(Base):
    """One instance of a collaboration node, sender → receiver, for one case."""

    __tablename__ = "exchange"
    __table_args__ = (
        UniqueConstraint("sender_agency_id", "idempotency_key", name="uq_exchange_idempotency"),
        Index("ix_exchange_receiver_created", "receiver_agency_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    node_code: Mapped[str] = mapped_column(String(64))
    sender_agency_id: Mapped[str] = mapped_column(ForeignKey("agency.id"))
    receiver_agency_id: Mapped[str] = mapped_column(ForeignKey("agency.id"))
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), index=True)
    in_reply_to_id: Mapped[str | None] = mapped_column(ForeignKey("exchange.id"), default=None)
    status: Mapped[str] = mapped_column(String(32))  # domain.exchange.ExchangeStatus
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64), default="")
    node_kind: Mapped[str] = mapped_column(String(16), default="exchange")
    occurred_on: Mapped[date | None] = mapped_column(Date, default=None)
    dossier_ref: Mapped[str | None] = mapped_column(String(400), default=None)
    table_versions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    documents: Mapped[list[Document]] = relationship(back_populates="exchange")
    receipts: Mapped[list[Receipt]] = relationship(back_populates="exchange")


class Receipt(Base):
    """签收: the receiving agency acknowledges an exchange; the sender sees it."""

    __tablename__ = "receipt"
    __table_args__ = (UniqueConstraint("exchange_id", "kind", name="uq_receipt_exchange_kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # signed_for
    agency_id: Mapped[str] = mapped_column(ForeignKey("agency.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str | None] = mapped_column(Text, default=None)

    exchange: Mapped[Exchange] = relationship(back_populates="receipts")


class CaseAssignment(Base):
    """A user assigned to handle a case inside an agency (承办人)."""

    __tablename__ = "case_assignment"
    __table_args__ = (UniqueConstraint("case_id", "user_id", name="uq_case_assignment_case_user"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), index=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agency.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    assigned_by: Mapped[str | None] = mapped_column(String(36), default=None)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AccessGrant(Base):
    """An explicit, time-limited grant of access to a case (or its dossier) to one user."""

    __tablename__ = "access_grant"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    scope: Mapped[str] = mapped_column(String(16))  # domain.access.GrantScope
    granted_by: Mapped[str] = mapped_column(String(36))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class RaisedAlert(Base):
    """Which supervision alerts the hub has already raised (each is audited once)."""

    __tablename__ = "raised_alert"
    __table_args__ = (UniqueConstraint("case_id", "key", name="uq_raised_alert_case_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    first_raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Document(Base):
    """A legal document (文书) carried by an exchange."""

    __tablename__ = "document"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange.id"), index=True)
    document_type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    page_count: Mapped[int] = mapped_column(Integer, default=0)

    exchange: Mapped[Exchange] = relationship(back_populates="documents")


class AuditEvent(Base):
    """Append-only record of an action, hash-chained over ``seq`` (see casebridge.audit)."""

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_user_id: Mapped[str | None] = mapped_column(String(36), default=None)
    agency_id: Mapped[str | None] = mapped_column(String(36), default=None)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), default=None)
    case_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    client_addr: Mapped[str | None] = mapped_column(String(64), default=None)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")

    def chained_fields(self) -> dict[str, Any]:
        """Everything the chain hash covers (all columns but the hashes themselves)."""
        return {
            "seq": self.seq,
            "id": self.id,
            "at": self.at,
            "actor_user_id": self.actor_user_id,
            "agency_id": self.agency_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "case_id": self.case_id,
            "request_id": self.request_id,
            "client_addr": self.client_addr,
            "outcome": self.outcome,
            "detail": self.detail,
            "note": self.note,
        }


class AuditHead(Base):
    """The single row that serialises appends: size, last hash and the Merkle frontier."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    frontier: Mapped[list[Any]] = mapped_column(JSONType, default=list)


class AuditCheckpoint(Base):
    """A signed Merkle tree head over the first ``size`` audit events."""

    __tablename__ = "audit_checkpoint"

    size: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    root: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(200))


from casebridge.store import dossier_models as _dossier_models  # noqa: E402, F401
from casebridge.store import standards_models as _standards_models  # noqa: E402, F401
