"""Load the standard code tables and the agency dialects from the package's data files.

``load_standards()`` is cached and pure (reads only package data): the CLI works without a
database, the hub and services share one immutable copy, and the conversion plan and lookup
dicts are built once per process. `casebridge init` stores the same tables in the database
(services.standards) so that their versions are on record.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from casebridge.domain.codes import (
    STANDARD,
    CodeTable,
    ConversionPlan,
    ConversionResult,
    Dialect,
    DialectTable,
    Entry,
    FastLookup,
    Link,
    build_fast_lookup,
    compile_plan,
    convert,
)
from casebridge.domain.validators import (
    VALIDATORS,
    Validation,
    validate_id_number,
)
from casebridge.errors import InvalidInput, NotFound, Problem, Said
from casebridge.i18n import N_
from casebridge.standards import data_path

__all__ = ["Standards", "load_standards", "read_csv"]


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of a data CSV; lines starting with '#' (source notes) are skipped."""
    with data_path(name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@dataclass(frozen=True)
class _Divisions:
    """The division table as a set for the ID validator (partial: see CodeTable.accepts)."""

    table: CodeTable

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.table.accepts(code)


class Standards:
    """All standard tables and dialects of this release, with conversion and validation."""

    def __init__(self, tables: Mapping[str, CodeTable], dialects: Mapping[str, Dialect]) -> None:
        self.tables = dict(tables)
        self.dialects = dict(dialects)
        self.plan: ConversionPlan = compile_plan()
        self._by_agency_type = {t: d.name for d in dialects.values() for t in d.agency_types}
        self._divisions = _Divisions(self.tables["division"])
        self._fast: dict[tuple[str | None, str | None], FastLookup] = {}

    def table(self, name: str) -> CodeTable:
        try:
            return self.tables[name]
        except KeyError:
            raise NotFound(
                N_("no code table {name}; known: {known}"),
                params={"name": repr(name), "known": ", ".join(sorted(self.tables))},
            ) from None

    def entry(self, table: str, code: str) -> Entry:
        entry = self.table(table).get(code)
        if entry is None:
            raise NotFound(
                N_("no code {code} in table {table}"), params={"code": repr(code), "table": table}
            )
        return entry

    def describe(self, table: str, entry: Entry) -> dict[str, object]:
        """An entry as data, with its successors' names when retired (for people and the API)."""
        out = entry.as_dict()
        if entry.retired:
            entries = self.table(table).entries
            out["successor_names"] = [entries[c].name_zh for c in entry.successors]
        return out

    def dialect(self, name: str | None) -> Dialect | None:
        """The named dialect; None or "standard" means the standard itself."""
        if name is None or name == STANDARD:
            return None
        try:
            return self.dialects[name]
        except KeyError:
            known = ", ".join([STANDARD, *sorted(self.dialects)])
            raise InvalidInput(
                N_("unknown dialect {name}"),
                problems=[
                    Problem(
                        "dialect",
                        Said(N_("unknown dialect; known: {known}"), known=known),
                        name,
                        "unknown",
                    )
                ],
                params={"name": repr(name)},
            ) from None

    def dialect_for_agency_type(self, agency_type: str) -> str | None:
        return self._by_agency_type.get(str(agency_type))

    def convert(
        self, payload: Mapping[str, Any], source: str | None, target: str | None
    ) -> ConversionResult:
        src, dst = self.dialect(source), self.dialect(target)
        key = (src.name if src else None, dst.name if dst else None)
        fast = self._fast.get(key)
        if fast is None:
            fast = self._fast[key] = build_fast_lookup(self.plan, self.tables, src, dst)
        return convert(payload, self.plan, self.tables, src, dst, fast)

    def to_standard(self, payload: Mapping[str, Any], dialect: str | None) -> ConversionResult:
        return self.convert(payload, dialect, None)

    def from_standard(self, payload: Mapping[str, Any], dialect: str | None) -> ConversionResult:
        return self.convert(payload, None, dialect)

    def validate(self, kind: str, text: str) -> Validation:
        if kind == "id-number":
            return validate_id_number(text, divisions=self._divisions)
        try:
            return VALIDATORS[kind](text)
        except KeyError:
            raise NotFound(
                N_("no validator {kind}; known: {known}"),
                params={"kind": repr(kind), "known": ", ".join(sorted(VALIDATORS))},
            ) from None

    def search(self, text: str, table: str | None = None) -> list[tuple[str, Entry]]:
        names = [table] if table else sorted(self.tables)
        hits = [(n, e) for n in names for e in self.table(n).search(text)]
        needle = text.strip()
        # exact code or name first, then current before retired, then shorter names
        hits.sort(key=lambda h: (needle not in (h[1].code, h[1].name_zh), h[1].retired))
        return hits


def _meta(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "title_zh": spec["title_zh"],
        "title_en": spec["title_en"],
        "version": str(spec["version"]),
        "effective_from": str(spec["effective_from"]),
        "source": " ".join(str(spec["source"]).split()),
    }


def _entries_inline(spec: dict[str, Any]) -> dict[str, Entry]:
    out = {}
    for row in spec["entries"]:
        extra = {k: str(v) for k, v in row.items() if k not in ("code", "name_zh", "name_en")}
        out[str(row["code"])] = Entry(str(row["code"]), row["name_zh"], row["name_en"], extra=extra)
    return out


def _crime_entries() -> dict[str, Entry]:
    code_of = {r["name_zh"]: r["code"] for r in read_csv("crime_codes.csv")}
    entries: dict[str, Entry] = {}
    source_rows = read_csv("crimes_source.csv")
    doc_of = {
        r["name_source"]: (r["name_source_doc"], r["name_effective_from"]) for r in source_rows
    }
    for r in source_rows:
        code = code_of[r["name_zh"]]
        extra = {
            k: r[k]
            for k in (
                "chapter",
                "chapter_name",
                "section",
                "article",
                "provisions",
                "name_source_doc",
                "name_effective_from",
                "note",
            )
        }
        entries[code] = Entry(code, r["name_zh"], "", extra=extra)
    successors: dict[str, list[str]] = {}
    retired_by: dict[str, str] = {}
    for r in read_csv("crimes_source_history.csv"):
        new = [] if r["new_name"].startswith("(") else r["new_name"].split("+")
        for old in r["old_name"].split("+"):
            successors.setdefault(old, []).extend(code_of[n] for n in new)
            retired_by[old] = r["name_source"]
    for old, succ in successors.items():
        code = code_of[old]
        if code in entries:
            raise ValueError(f"retired crime {old} is also current")
        entries[code] = Entry(
            code,
            old,
            "",
            retired=True,
            successors=tuple(dict.fromkeys(succ)),
            extra={
                "retired_by": retired_by[old],
                "retired_by_doc": doc_of.get(retired_by[old], ("", ""))[0],
                "retired_from": doc_of.get(retired_by[old], ("", ""))[1],
            },
        )
    return entries


#: The standard document types, then those the node catalog (procedure area) adds, if shipped.
DOCUMENT_TYPE_FILES = ("document_types.csv", "document_types_nodes.csv")


def _csv_entries(name: str) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    if name == "ethnicity":
        for r in read_csv("ethnicity_gbt3304.csv"):
            en = r["enum_name_en"].replace("_", " ").title()
            out[r["code"]] = Entry(r["code"], r["name_zh"], en, extra={"alpha2": r["alpha2"]})
    elif name == "division":
        for r in read_csv("fujian_divisions_nbs2023.csv"):
            extra = {"level": r["level"], "parent_code": r["parent_code"]}
            out[r["code"]] = Entry(r["code"], r["name"], "", extra=extra)
    elif name == "document_type":
        for file in DOCUMENT_TYPE_FILES:
            if file != DOCUMENT_TYPE_FILES[0] and not data_path(file).exists():
                continue
            for r in read_csv(file):
                if r["code"] in out:
                    raise ValueError(f"document type {r['code']} is defined twice ({file})")
                extra = {"sender": r["sender"], "basis": r["basis"], "file": file}
                out[r["code"]] = Entry(r["code"], r["name_zh"], r["name_en"], extra=extra)
    elif name == "crime":
        out = _crime_entries()
    return out


def _load_tables() -> dict[str, CodeTable]:
    specs = yaml.safe_load(data_path("tables.yaml").read_text(encoding="utf-8"))
    tables: dict[str, CodeTable] = {}
    for name, spec in specs.items():
        entries = _entries_inline(spec) if "entries" in spec else _csv_entries(name)
        tables[name] = CodeTable(
            name=name,
            entries=entries,
            closed_prefixes=tuple(spec.get("closed_prefixes", ())),
            open_pattern=spec.get("open_pattern"),
            **_meta(spec),
        )
    return tables


def _load_dialect(file: str) -> Dialect:
    spec = yaml.safe_load(data_path(f"dialects/{file}").read_text(encoding="utf-8"))
    tables: dict[str, DialectTable] = {}
    for table, tspec in spec["tables"].items():
        rows = read_csv(f"dialects/{tspec['file']}") if "file" in tspec else tspec["mappings"]
        links = [
            Link(
                str(r["dialect_code"]),
                str(r["dialect_name"]),
                str(r["standard_code"]),
                str(r.get("outbound_preferred") or "") == "y",
            )
            for r in rows
        ]
        tables[table] = DialectTable.build(table, links)
    return Dialect(
        name=spec["name"],
        title_zh=spec["title_zh"],
        title_en=spec["title_en"],
        version=str(spec["version"]),
        effective_from=str(spec["effective_from"]),
        synthetic=bool(spec["synthetic"]),
        agency_types=tuple(spec["agency_types"]),
        tables=tables,
    )


DIALECT_FILES = ("police.yaml", "procuratorate.yaml", "court.yaml")


@functools.cache
def load_standards() -> Standards:
    """The standards of this release (cached: built once per process)."""
    tables = _load_tables()
    dialects = {d.name: d for d in map(_load_dialect, DIALECT_FILES)}
    for d in dialects.values():  # a mapping to a code the standard lacks is a data bug
        for t, dt in d.tables.items():
            bad = [lk.standard_code for lk in dt.links if lk.standard_code not in tables[t].entries]
            if bad:
                raise ValueError(f"dialect {d.name} table {t}: unknown standard codes {bad[:5]}")
    return Standards(tables, dialects)
