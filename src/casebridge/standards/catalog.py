"""Loading the node catalog and limit rules from YAML, checked against a schema.

The schema is the Pydantic models below (unknown keys are errors, so a typo in the data file
cannot silently drop a rule); cross-references are then checked by ``Catalog.build``.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from casebridge.domain.agency import AgencyType
from casebridge.domain.case import Stage
from casebridge.domain.catalog import (
    Basis,
    Catalog,
    Duration,
    Effect,
    LimitAnchor,
    LimitEffects,
    LimitRule,
    Node,
    NodeKind,
)
from casebridge.errors import InvalidInput, Problem
from casebridge.i18n import N_
from casebridge.standards import data_path

__all__ = ["load_catalog", "parse_catalog"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BasisSpec(_Strict):
    law: Literal["CPL", "SPP-R", "MPS-R", "SPC-I", "CCL", "LAL", "CL"]
    article: str = Field(pattern=r"^\d+(之[一二三四五六七八九十]+)?$")
    paragraph: int | None = Field(default=None, ge=1)
    item: int | None = Field(default=None, ge=1)

    @field_validator("article", mode="before")
    @classmethod
    def _str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    def build(self) -> Basis:
        return Basis(self.law, self.article, self.paragraph, self.item)


class DurationSpec(_Strict):
    days: int = Field(default=0, ge=0)
    months: int = Field(default=0, ge=0)

    def build(self) -> Duration:
        return Duration(self.days, self.months)


class AnchorSpec(_Strict):
    rule: str
    days_before: int = Field(ge=1)


class LimitSpec(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    responsible: str
    duration: DurationSpec | None = None
    anchor: AnchorSpec | None = None
    custody: bool = False
    per_person: bool = True
    suspendable: bool = True
    basis: list[BasisSpec] = Field(min_length=1)
    note: str = ""

    def build(self) -> LimitRule:
        return LimitRule(
            code=self.code,
            name_zh=self.name_zh,
            name_en=self.name_en,
            responsible=self.responsible,
            basis=tuple(b.build() for b in self.basis),
            duration=self.duration.build() if self.duration else None,
            anchor=LimitAnchor(self.anchor.rule, self.anchor.days_before) if self.anchor else None,
            custody=self.custody,
            per_person=self.per_person,
            suspendable=self.suspendable,
            note=self.note,
        )


class DocumentsSpec(_Strict):
    required: list[str] = []
    optional: list[str] = []
    expected: list[str] = []


class EffectSpec(_Strict):
    stage: str | None = None
    handler: Literal["receiver", "sender", "unchanged"] = "unchanged"
    measure: str | None = None
    custody: Literal["held", "released", "unchanged"] = "unchanged"
    closes_case: bool = False
    counter: str | None = None
    closes: list[str] = []


class ExtendSpec(_Strict):
    rule: str
    days: int = Field(default=0, ge=0)
    months: int = Field(default=0, ge=0)


class LimitEffectsSpec(_Strict):
    start: list[str] = []
    start_if_custody: list[str] = []
    start_if_free: list[str] = []
    stop: list[str] = []
    restart: list[str] = []
    extend: list[ExtendSpec] = []
    suspend: list[str] = []
    resume: list[str] = []


class MaxSpec(_Strict):
    count: int = Field(ge=1)
    basis: list[BasisSpec] = Field(min_length=1)


class NodeSpec(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    kind: NodeKind = NodeKind.EXCHANGE
    from_: list[AgencyType] = Field(alias="from", min_length=1)
    to: list[AgencyType] = []
    stages: list[str] = Field(min_length=1)
    starts_case: bool = False
    replies: list[str] = []
    reply_expected: bool | None = None
    standalone_reply: bool = False
    documents: DocumentsSpec = DocumentsSpec()
    fields: list[str] = []
    person_required: bool = False
    requires_measure: list[str] = []
    effect: EffectSpec = EffectSpec()
    limits: LimitEffectsSpec = LimitEffectsSpec()
    max_per_case: MaxSpec | None = None
    basis: list[BasisSpec] = Field(min_length=1)
    note: str = ""

    @field_validator("stages")
    @classmethod
    def _stages(cls, v: list[str]) -> list[str]:
        known = {s.value for s in Stage} | {"*"}
        bad = [s for s in v if s not in known]
        if bad:
            raise ValueError(f"unknown stage {bad[0]!r}; known: {', '.join(sorted(known))}")
        return v

    def build(self) -> Node:
        e, lim = self.effect, self.limits
        return Node(
            code=self.code,
            name_zh=self.name_zh,
            name_en=self.name_en,
            kind=self.kind,
            senders=tuple(a.value for a in self.from_),
            receivers=tuple(a.value for a in self.to),
            stages=tuple(self.stages),
            basis=tuple(b.build() for b in self.basis),
            starts_case=self.starts_case,
            replies=tuple(self.replies),
            reply_expected=bool(self.replies)
            if self.reply_expected is None
            else self.reply_expected,
            standalone_reply=self.standalone_reply,
            required_documents=tuple(self.documents.required),
            optional_documents=tuple(self.documents.optional),
            expected_documents=tuple(self.documents.expected),
            fields=tuple(self.fields),
            person_required=self.person_required,
            requires_measure=tuple(self.requires_measure),
            effect=Effect(
                stage=e.stage,
                handler=e.handler,
                measure=e.measure,
                custody=e.custody,
                closes_case=e.closes_case,
                counter=e.counter,
                closes=tuple(e.closes),
            ),
            limits=LimitEffects(
                start=tuple(lim.start),
                start_if_custody=tuple(lim.start_if_custody),
                start_if_free=tuple(lim.start_if_free),
                stop=tuple(lim.stop),
                restart=tuple(lim.restart),
                extend=tuple((x.rule, Duration(x.days, x.months)) for x in lim.extend),
                suspend=tuple(lim.suspend),
                resume=tuple(lim.resume),
            ),
            max_per_case=self.max_per_case.count if self.max_per_case else None,
            max_basis=tuple(b.build() for b in self.max_per_case.basis)
            if self.max_per_case
            else (),
            note=self.note,
        )


def _problems(exc: ValidationError, where: str) -> list[Problem]:
    return [
        Problem(
            f"{where}." + ".".join(str(p) for p in err["loc"]),
            err["msg"],
            rule=err["type"],
        )
        for err in exc.errors()
    ]


def parse_catalog(
    node_docs: list[tuple[str, Any]],
    limit_doc: tuple[str, Any],
    *,
    known_documents: set[str] | None = None,
) -> Catalog:
    """Build a catalog from parsed YAML documents (name, content); all problems at once."""
    problems: list[Problem] = []
    limits: list[LimitRule] = []
    lname, lcontent = limit_doc
    for i, raw in enumerate((lcontent or {}).get("limits", [])):
        try:
            limits.append(LimitSpec.model_validate(raw).build())
        except ValidationError as exc:
            problems += _problems(exc, f"{lname}:limits[{i}]")
    nodes: list[Node] = []
    versions: list[str] = []
    for name, content in node_docs:
        content = content or {}
        versions.append(str(content.get("version", "")))
        for i, raw in enumerate(content.get("nodes", [])):
            try:
                nodes.append(NodeSpec.model_validate(raw).build())
            except ValidationError as exc:
                label = raw.get("code", i) if isinstance(raw, dict) else i
                problems += _problems(exc, f"{name}:nodes[{label}]")
    if problems:
        raise InvalidInput(N_("node catalog does not match its schema"), problems=problems)
    digest = hashlib.sha256(repr((node_docs, limit_doc)).encode()).hexdigest()[:12]
    return Catalog.build(
        nodes,
        limits,
        version=f"{lcontent.get('version', '0')}+{digest}",
        known_documents=known_documents,
        known_stages={s.value for s in Stage},
        known_agency_types={a.value for a in AgencyType},
    )


def _read(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _known_documents() -> set[str]:
    """Document types of the standard table (the registry loads every document type file)."""
    from casebridge.standards.registry import load_standards

    return set(load_standards().table("document_type").entries)


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with the package (every file under data/nodes/, and limits.yaml)."""
    folder = data_path("nodes")
    files = sorted(folder.glob("*.yaml"))
    return parse_catalog(
        [(f.name, _read(f)) for f in files],
        ("limits.yaml", _read(data_path("limits.yaml"))),
        known_documents=_known_documents(),
    )
