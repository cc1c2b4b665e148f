"""Tables holding the standard code tables and dialect mappings that `casebridge init` loads.

A (table, version) and a (dialect, version) are loaded once and never rewritten: a new version
is new rows, so what an old exchange was converted with stays on record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casebridge.store.models import Base, JSONType
from casebridge.store.types import UTCDateTime, new_id, utcnow

__all__ = ["CodeEntryRow", "CodeMappingRow", "CodeTableRow", "DialectRow"]


class CodeTableRow(Base):
    """One version of a standard code table (罪名, 性别, 民族 …)."""

    __tablename__ = "code_table"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32))
    effective_from: Mapped[str] = mapped_column(String(10))
    title_zh: Mapped[str] = mapped_column(String(100))
    title_en: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(Text)
    entry_count: Mapped[int] = mapped_column(default=0)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CodeEntryRow(Base):
    __tablename__ = "code_entry"
    __table_args__ = (
        UniqueConstraint("table_name", "table_version", "code"),
        Index("ix_code_entry_lookup", "table_name", "code"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    table_name: Mapped[str] = mapped_column(String(32))
    table_version: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    successors: Mapped[list[str]] = mapped_column(JSONType, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class DialectRow(Base):
    """One version of an agency dialect (its own code system)."""

    __tablename__ = "code_dialect"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32))
    effective_from: Mapped[str] = mapped_column(String(10))
    title_zh: Mapped[str] = mapped_column(String(100))
    title_en: Mapped[str] = mapped_column(String(100))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    agency_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CodeMappingRow(Base):
    __tablename__ = "code_mapping"
    __table_args__ = (
        UniqueConstraint(
            "dialect", "dialect_version", "table_name", "dialect_code", "standard_code"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    dialect: Mapped[str] = mapped_column(String(32))
    dialect_version: Mapped[str] = mapped_column(String(32))
    table_name: Mapped[str] = mapped_column(String(32))
    dialect_code: Mapped[str] = mapped_column(String(64))
    dialect_name: Mapped[str] = mapped_column(String(200))
    standard_code: Mapped[str] = mapped_column(String(64))
    outbound_preferred: Mapped[bool] = mapped_column(Boolean, default=False)
