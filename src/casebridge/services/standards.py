"""Use cases of the data standards: load the tables into the database, convert, validate.

The tables themselves come from the package (casebridge.standards.registry, cached and pure);
`load_standard_tables` records each (table, version) and (dialect, version) in the database
once, so the versions that conversions report can be looked up later.
"""

from __future__ import annotations

from typing import Any

from casebridge.domain.codes import ConversionResult
from casebridge.domain.validators import Validation
from casebridge.standards.registry import Standards, load_standards
from casebridge.store.standards_models import CodeTableRow, DialectRow
from casebridge.store.uow import UnitOfWork

__all__ = ["convert_payload", "load_standard_tables", "validate"]


def catalogue(std: Standards | None = None) -> dict[str, list[dict[str, Any]]]:
    """The tables (with version and source) and the dialects: what `codes list` and
    `GET /api/v1/codes` both show."""
    std = std or load_standards()
    return {
        "tables": [
            {
                "table": t.name,
                "title_zh": t.title_zh,
                "title_en": t.title_en,
                "version": t.version,
                "effective_from": t.effective_from,
                "source": t.source,
                "codes": len(t.entries),
            }
            for t in std.tables.values()
        ],
        "dialects": [
            {
                "dialect": d.name,
                "title_zh": d.title_zh,
                "title_en": d.title_en,
                "version": d.version,
                "effective_from": d.effective_from,
                "synthetic": d.synthetic,
                "agency_types": list(d.agency_types),
                "tables": sorted(d.tables),
            }
            for d in std.dialects.values()
        ],
    }


def load_standard_tables(uow: UnitOfWork, std: Standards | None = None) -> dict[str, int]:
    """Insert every table and dialect version not yet stored; return what was created."""
    std = std or load_standards()
    repo = uow.code_tables
    created: dict[str, int] = {}

    def bump(what: str, n: int) -> None:
        if n:
            created[what] = created.get(what, 0) + n

    for name, table in sorted(std.tables.items()):
        if repo.has_table_version(name, table.version):
            continue
        entries = [
            {
                "table_name": name,
                "table_version": table.version,
                "code": e.code,
                "name_zh": e.name_zh,
                "name_en": e.name_en,
                "retired": e.retired,
                "successors": list(e.successors),
                "extra": dict(e.extra),
            }
            for e in table.entries.values()
        ]
        repo.add_table(
            CodeTableRow(
                name=name,
                version=table.version,
                effective_from=table.effective_from,
                title_zh=table.title_zh,
                title_en=table.title_en,
                source=table.source,
                entry_count=len(entries),
            ),
            entries,
        )
        bump("code_tables", 1)
        bump("code_entries", len(entries))
    for name, d in sorted(std.dialects.items()):
        if repo.has_dialect_version(name, d.version):
            continue
        mappings = [
            {
                "dialect": name,
                "dialect_version": d.version,
                "table_name": t,
                "dialect_code": lk.dialect_code,
                "dialect_name": lk.dialect_name,
                "standard_code": lk.standard_code,
                "outbound_preferred": lk.outbound_preferred,
            }
            for t, dt in sorted(d.tables.items())
            for lk in dt.links
        ]
        repo.add_dialect(
            DialectRow(
                name=name,
                version=d.version,
                effective_from=d.effective_from,
                title_zh=d.title_zh,
                title_en=d.title_en,
                synthetic=d.synthetic,
                agency_types=list(d.agency_types),
            ),
            mappings,
        )
        bump("dialects", 1)
        bump("dialect_mappings", len(mappings))
    return created


def convert_payload(
    payload: dict[str, Any], source: str | None, target: str | None
) -> ConversionResult:
    """Convert between dialects ("standard" or None = the standard); InvalidInput lists all."""
    return load_standards().convert(payload, source, target)


def validate(kind: str, text: str) -> Validation:
    return load_standards().validate(kind, text)
