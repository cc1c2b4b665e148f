"""Queries on the standard code tables and dialect mappings stored by `casebridge init`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from casebridge.store.standards_models import (
    CodeEntryRow,
    CodeMappingRow,
    CodeTableRow,
    DialectRow,
)
from casebridge.store.types import new_id

__all__ = ["CodeTableRepository"]


class CodeTableRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def has_table_version(self, name: str, version: str) -> bool:
        stmt = select(CodeTableRow.id).where(
            CodeTableRow.name == name, CodeTableRow.version == version
        )
        return self.session.scalar(stmt) is not None

    def has_dialect_version(self, name: str, version: str) -> bool:
        stmt = select(DialectRow.id).where(DialectRow.name == name, DialectRow.version == version)
        return self.session.scalar(stmt) is not None

    def add_table(self, row: CodeTableRow, entries: list[dict[str, Any]]) -> None:
        """One table version and its entries; bulk insert (≈550 crime rows) in one statement."""
        self.session.add(row)
        if entries:
            self.session.execute(insert(CodeEntryRow), [{"id": new_id(), **e} for e in entries])
        self.session.flush()

    def add_dialect(self, row: DialectRow, mappings: list[dict[str, Any]]) -> None:
        self.session.add(row)
        if mappings:
            self.session.execute(insert(CodeMappingRow), [{"id": new_id(), **m} for m in mappings])
        self.session.flush()

    def tables(self) -> Sequence[CodeTableRow]:
        return self.session.scalars(select(CodeTableRow).order_by(CodeTableRow.name)).all()

    def entries(self, name: str, version: str) -> Sequence[CodeEntryRow]:
        stmt = (
            select(CodeEntryRow)
            .where(CodeEntryRow.table_name == name, CodeEntryRow.table_version == version)
            .order_by(CodeEntryRow.code)
        )
        return self.session.scalars(stmt).all()

    def dialects(self) -> Sequence[DialectRow]:
        return self.session.scalars(select(DialectRow).order_by(DialectRow.name)).all()

    def mapping_count(self, dialect: str, version: str) -> int:
        stmt = select(func.count()).where(
            CodeMappingRow.dialect == dialect, CodeMappingRow.dialect_version == version
        )
        return int(self.session.scalar(stmt) or 0)
