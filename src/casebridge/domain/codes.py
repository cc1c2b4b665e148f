"""Code tables, agency dialects and the conversion of exchange payloads between them (信息转换).

Pure: the registry (casebridge.standards.registry) reads the data files and builds these objects.

A payload's coded fields are *declared* (:data:`CODED_FIELDS`: path → table), compiled once into
a walk plan; conversion walks a payload along that plan, maps each coded value through the
sender's dialect to the standard (inbound) and from the standard to the receiver's dialect
(outbound) in one pass, and never guesses: an unknown or unmapped code, or a one-to-many mapping
without an explicit disambiguator, is a problem. All problems of a payload are reported at once,
each naming the field path, the code, the table and the dialect.

Disambiguators sit next to the coded value, in the same object: ``<field>_std`` chooses the
standard code when a dialect code maps to several (inbound); ``<field>_dialect`` chooses the
receiver's code when a standard code maps to several dialect codes (outbound). They are consumed
by the conversion and do not appear in its output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from casebridge.errors import InvalidInput, Problem, Said
from casebridge.i18n import N_

__all__ = [
    "CODED_FIELDS",
    "STANDARD",
    "CodeTable",
    "ConversionPlan",
    "ConversionResult",
    "Dialect",
    "DialectTable",
    "Entry",
    "FastLookup",
    "Link",
    "build_fast_lookup",
    "compile_plan",
    "convert",
]

STANDARD = "standard"

#: Which fields of an exchange payload are coded, and with which table (PAYLOAD_CONTRACT.md).
CODED_FIELDS: tuple[tuple[str, str], ...] = (
    ("case.crime", "crime"),
    ("persons[].role", "person_role"),
    ("persons[].gender", "gender"),
    ("persons[].ethnicity", "ethnicity"),
    ("persons[].id_type", "id_type"),
    ("persons[].domicile", "division"),
    ("persons[].measure", "measure"),
    ("persons[].charges[].crime", "crime"),
    ("documents[].type", "document_type"),
)


@dataclass(frozen=True)
class Entry:
    """One code of a standard table. A retired code stays resolvable and names its successors."""

    code: str
    name_zh: str
    name_en: str = ""
    retired: bool = False
    successors: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "name_zh": self.name_zh}
        out["name_en"] = self.name_en
        out.update(self.extra)
        out["retired"] = self.retired
        if self.retired:
            out["successors"] = list(self.successors)
        return out


@dataclass(frozen=True)
class CodeTable:
    """A versioned standard code table.

    ``closed_prefixes``/``open_pattern`` serve partially loaded tables (divisions): a code under
    a loaded prefix must be listed; any other code matching the pattern is accepted unlisted.
    """

    name: str
    title_zh: str
    title_en: str
    version: str
    effective_from: str
    source: str
    entries: Mapping[str, Entry]
    closed_prefixes: tuple[str, ...] = ()
    open_pattern: str | None = None

    def get(self, code: str) -> Entry | None:
        return self.entries.get(code)

    def accepts(self, code: str) -> bool:
        if code in self.entries:
            return True
        if self.open_pattern is None or code.startswith(self.closed_prefixes or ("\0",)):
            return False
        return re.fullmatch(self.open_pattern, code) is not None

    def current(self) -> list[Entry]:
        return [e for e in self.entries.values() if not e.retired]

    def search(self, text: str) -> list[Entry]:
        """Entries whose code equals, or whose Chinese or English name contains, ``text``."""
        needle = text.strip().casefold()
        if not needle:
            return []
        return [
            e
            for e in self.entries.values()
            if e.code.casefold() == needle
            or needle in e.name_zh.casefold()
            or needle in e.name_en.casefold()
        ]


@dataclass(frozen=True)
class Link:
    """One row of a dialect mapping: dialect code ↔ standard code."""

    dialect_code: str
    dialect_name: str
    standard_code: str
    outbound_preferred: bool = False


@dataclass(frozen=True)
class DialectTable:
    """A dialect's mapping for one table, precompiled into lookup dicts both ways."""

    table: str
    links: tuple[Link, ...]
    inbound: Mapping[str, tuple[str, ...]]
    outbound: Mapping[str, tuple[str, ...]]  # the preferred code alone where one is declared
    names: Mapping[str, str]
    linked: Mapping[str, tuple[str, ...]]  # every dialect code linked to a standard code

    @classmethod
    def build(cls, table: str, links: Iterable[Link]) -> DialectTable:
        links = tuple(links)
        inbound: dict[str, list[str]] = {}
        outbound: dict[str, list[str]] = {}
        preferred: dict[str, str] = {}
        names: dict[str, str] = {}
        for link in links:
            inbound.setdefault(link.dialect_code, []).append(link.standard_code)
            outbound.setdefault(link.standard_code, []).append(link.dialect_code)
            names.setdefault(link.dialect_code, link.dialect_name)
            if link.outbound_preferred:
                preferred[link.standard_code] = link.dialect_code
        out = {s: (preferred[s],) if s in preferred else tuple(d) for s, d in outbound.items()}
        linked = {s: tuple(d) for s, d in outbound.items()}
        return cls(table, links, {d: tuple(s) for d, s in inbound.items()}, out, names, linked)


@dataclass(frozen=True)
class Dialect:
    """An agency's own code system: a mapping per table it overrides; other tables are standard."""

    name: str
    title_zh: str
    title_en: str
    version: str
    effective_from: str
    synthetic: bool
    agency_types: tuple[str, ...]
    tables: Mapping[str, DialectTable]


@dataclass(frozen=True)
class ConversionResult:
    """The converted payload and the versions of every table and mapping the conversion used."""

    payload: dict[str, Any]
    table_versions: dict[str, str]
    mapping_versions: dict[str, str]


# --- compiled plan -------------------------------------------------------------------------

#: A plan node for one object: key → table name (coded leaf) | ("list", node) | ("obj", node);
#: the key None holds the node's disambiguator keys (payload keys are always strings).
PlanNode = dict[str | None, Any]

#: Per table, dialect code → target code for every code that converts without a question
#: (no ambiguity, no problem); anything else takes the slow path, which explains itself.
FastLookup = dict[str, dict[str, str]]


@dataclass(frozen=True)
class ConversionPlan:
    root: PlanNode
    tables: tuple[str, ...]


def compile_plan(fields: Iterable[tuple[str, str]] = CODED_FIELDS) -> ConversionPlan:
    """Turn ``a.b[].c`` paths into a nested plan once, so conversion never re-parses paths."""
    root: PlanNode = {None: frozenset()}
    tables: list[str] = []
    for path, table in fields:
        node = root
        parts = path.split(".")
        for part in parts[:-1]:
            key, is_list = (part[:-2], True) if part.endswith("[]") else (part, False)
            kind = "list" if is_list else "obj"
            child = node.setdefault(key, (kind, {None: frozenset()}))
            if not isinstance(child, tuple) or child[0] != kind:
                raise ValueError(f"conflicting declaration at {path}")
            node = child[1]
        leaf = parts[-1]
        node[leaf] = table
        node[None] = node[None] | {f"{leaf}_std", f"{leaf}_dialect"}
        if table not in tables:
            tables.append(table)
    return ConversionPlan(root, tuple(tables))


def build_fast_lookup(
    plan: ConversionPlan,
    standard: Mapping[str, CodeTable],
    source: Dialect | None,
    target: Dialect | None,
) -> FastLookup:
    """Compose source → standard → target into one dict per table, for the unambiguous codes."""
    fast: FastLookup = {}
    for table in plan.tables:
        src = source.tables.get(table) if source else None
        dst = target.tables.get(table) if target else None
        if src is None:
            pairs = [(c, c) for c in standard[table].entries]
        else:
            pairs = [(d, s[0]) for d, s in src.inbound.items() if len(s) == 1]
        lookup: dict[str, str] = {}
        for code, std in pairs:
            if dst is None:
                lookup[code] = std
            elif len(out := dst.outbound.get(std, ())) == 1:
                lookup[code] = out[0]
        fast[table] = lookup
    return fast


def _copy(value: Any) -> Any:
    """Copy JSON data (faster than copy.deepcopy) so the output never aliases the input."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class _Run:
    """State of one conversion: the dialects and the problems and versions collected so far."""

    __slots__ = ("fast", "problems", "source", "standard", "target", "used")

    def __init__(
        self,
        standard: Mapping[str, CodeTable],
        source: Dialect | None,
        target: Dialect | None,
        fast: FastLookup,
    ) -> None:
        self.standard = standard
        self.source = source
        self.target = target
        self.fast = fast
        self.problems: list[Problem] = []
        self.used: set[str] = set()

    def problem(
        self, path: str, code: Any, table: str, dialect: str, rule: str, message: Said, **extra: Any
    ) -> None:
        self.problems.append(
            Problem(
                path,
                message,
                code=None if code is None else str(code),
                rule=rule,
                extra={"table": table, "dialect": dialect, **extra},
            )
        )

    def walk(self, node: PlanNode, obj: dict[str, Any], path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        disamb = node[None]
        plain = disamb.isdisjoint(obj)  # no disambiguator here: the fast path is exact
        fast = self.fast
        for key, value in obj.items():
            spec = node.get(key)
            if spec is None:
                if key not in disamb:  # disambiguators are consumed by their coded field
                    out[key] = _copy(value)
            elif spec.__class__ is str:
                self.used.add(spec)
                hit = fast[spec].get(value) if plain and value.__class__ is str else None
                if hit is not None:
                    out[key] = hit
                else:
                    out[key] = self.code(spec, obj, key, value, f"{path}{key}")
            elif spec[0] == "obj":
                if isinstance(value, dict):
                    out[key] = self.walk(spec[1], value, f"{path}{key}.")
                else:
                    self.shape(f"{path}{key}", N_("must be an object, got {got}"), value)
            elif isinstance(value, list):
                items = []
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        items.append(self.walk(spec[1], item, f"{path}{key}[{i}]."))
                    else:
                        self.shape(f"{path}{key}[{i}]", N_("must be an object, got {got}"), item)
                out[key] = items
            else:
                self.shape(f"{path}{key}", N_("must be a list, got {got}"), value)
        return out

    def shape(self, path: str, template: str, value: Any) -> None:
        self.problems.append(
            Problem(
                path,
                Said(template, got=type(value).__name__),
                rule="shape",
            )
        )

    def code(self, table: str, obj: dict[str, Any], key: str, value: Any, path: str) -> Any:
        if value is None:
            return None
        src = self.source.name if self.source else STANDARD
        if not isinstance(value, str):
            self.problem(
                path, value, table, src, "not-a-string", Said(N_("a code must be a string"))
            )
            return value
        std = self.inbound(table, obj, key, value, path)
        if std is None:
            return value
        return self.outbound(table, obj, key, std, path)

    def inbound(self, table: str, obj: dict[str, Any], key: str, code: str, path: str) -> Any:
        mapping = self.source.tables.get(table) if self.source else None
        if mapping is None:
            if self.standard[table].accepts(code):
                return code
            self.problem(
                path,
                code,
                table,
                STANDARD,
                "unknown",
                Said(N_("{code} is not a code of table {table}"), code=repr(code), table=table),
            )
            return None
        assert self.source is not None
        name = self.source.name
        candidates = mapping.inbound.get(code)
        if candidates is None:
            self.problem(
                path,
                code,
                table,
                name,
                "unmapped",
                Said(
                    N_("{code} of dialect {dialect} has no mapping"), code=repr(code), dialect=name
                ),
            )
            return None
        chosen = obj.get(f"{key}_std")
        if len(candidates) == 1 and chosen in (None, candidates[0]):
            return candidates[0]
        if chosen is None:
            self.problem(
                path,
                code,
                table,
                name,
                "ambiguous",
                Said(
                    N_(
                        "{code} of dialect {dialect} maps to {count} standard codes; "
                        "choose one with {field}"
                    ),
                    code=repr(code),
                    dialect=name,
                    count=len(candidates),
                    field=f"{key}_std",
                ),
                candidates=list(candidates),
                candidate_names=[self.standard[table].entries[c].name_zh for c in candidates],
            )
            return None
        if chosen not in candidates:
            self.problem(
                f"{path}_std",
                chosen,
                table,
                name,
                "bad-disambiguator",
                Said(
                    N_("{chosen} is not one of the standard codes {code} maps to"),
                    chosen=repr(chosen),
                    code=repr(code),
                ),
                candidates=list(candidates),
            )
            return None
        return chosen

    def outbound(self, table: str, obj: dict[str, Any], key: str, std: str, path: str) -> Any:
        mapping = self.target.tables.get(table) if self.target else None
        if mapping is None:
            return std
        assert self.target is not None
        name = self.target.name
        candidates = mapping.outbound.get(std)
        if candidates is None:
            self.problem(
                path,
                std,
                table,
                name,
                "unmapped",
                Said(
                    N_("standard {table} code {code} has no code in dialect {dialect}"),
                    table=table,
                    code=repr(std),
                    dialect=name,
                ),
            )
            return std
        chosen = obj.get(f"{key}_dialect")
        if chosen is None:
            if len(candidates) == 1:
                return candidates[0]
            self.problem(
                path,
                std,
                table,
                name,
                "ambiguous",
                Said(
                    N_(
                        "standard {table} code {code} maps to {count} codes of dialect "
                        "{dialect}; choose one with {field}"
                    ),
                    table=table,
                    code=repr(std),
                    count=len(candidates),
                    dialect=name,
                    field=f"{key}_dialect",
                ),
                candidates=list(candidates),
                candidate_names=[mapping.names[c] for c in candidates],
            )
            return std
        linked = mapping.linked.get(std, ())
        if chosen in linked:
            return chosen
        self.problem(
            f"{path}_dialect",
            chosen,
            table,
            name,
            "bad-disambiguator",
            Said(
                N_("{chosen} is not a code of dialect {dialect} for standard {table} code {code}"),
                chosen=repr(chosen),
                dialect=name,
                table=table,
                code=repr(std),
            ),
            candidates=list(linked),
        )
        return std


def convert(
    payload: Mapping[str, Any],
    plan: ConversionPlan,
    standard: Mapping[str, CodeTable],
    source: Dialect | None,
    target: Dialect | None,
    fast: FastLookup | None = None,
) -> ConversionResult:
    """Convert ``payload`` from ``source`` to ``target`` (None = the standard), all at once.

    ``fast`` is :func:`build_fast_lookup` for the same arguments (callers cache it).
    Raises InvalidInput listing every problem; never mutates ``payload``.
    """
    if not isinstance(payload, Mapping):
        raise InvalidInput(
            N_("payload must be a JSON object"),
            problems=[Problem("", Said(N_("payload must be a JSON object")), rule="shape")],
        )
    if fast is None:
        fast = build_fast_lookup(plan, standard, source, target)
    run = _Run(standard, source, target, fast)
    out = run.walk(plan.root, dict(payload), "")
    if run.problems:
        raise InvalidInput(
            N_("conversion {source} → {target} failed: {count} problem(s)"),
            problems=run.problems,
            params={
                "source": source.name if source else STANDARD,
                "target": target.name if target else STANDARD,
                "count": len(run.problems),
            },
        )
    used = sorted(run.used)
    mappings: dict[str, str] = {}
    for dialect in (source, target):
        if dialect is not None:
            for t in used:
                if t in dialect.tables:
                    mappings[f"{dialect.name}/{t}"] = dialect.version
    return ConversionResult(out, {t: standard[t].version for t in used}, mappings)
