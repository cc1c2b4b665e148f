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
    "Agency",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Case",
    "CaseRef",
    "Charge",
    "Document",
    "Exchange",
    "Person",
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


class Case(Base):
    """A criminal case under one unified id, whatever number each agency gives it."""

    __tablename__ = "case"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(500))
    stage: Mapped[str] = mapped_column(String(32))  # domain.case.Stage
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    documents: Mapped[list[Document]] = relationship(back_populates="exchange")


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
    """Append-only record of an action; the security issue adds the hash chain over `seq`."""

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


from casebridge.store import dossier_models as _dossier_models  # noqa: E402, F401
