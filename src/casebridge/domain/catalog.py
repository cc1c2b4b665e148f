"""The collaboration-node catalog as a domain model: nodes, limit rules, legal bases.

The legal procedure is *data* (standards/data/nodes/*.yaml); this module holds its typed form
and the cross-reference checks that make a catalog coherent (every reply, limit and document
named exists). Loading and schema checks of the files live in ``casebridge.standards.catalog``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from casebridge.errors import InvalidInput, Problem, Said
from casebridge.i18n import N_

__all__ = [
    "LAWS",
    "Basis",
    "Catalog",
    "Duration",
    "Effect",
    "LimitAnchor",
    "LimitEffects",
    "LimitRule",
    "Node",
    "NodeKind",
]

# Law codes used in legal bases (the list); names for display.
LAWS: Mapping[str, tuple[str, str]] = {
    "CPL": ("中华人民共和国刑事诉讼法（2018）", "Criminal Procedure Law (2018)"),
    "SPP-R": ("人民检察院刑事诉讼规则（2019）", "SPP Rules of Criminal Procedure (2019)"),
    "MPS-R": ("公安机关办理刑事案件程序规定（2020）", "MPS Provisions on Criminal Cases (2020)"),
    "SPC-I": (
        "最高人民法院关于适用《刑事诉讼法》的解释（2021）",
        "SPC Interpretation of the CPL (2021)",
    ),
    "CCL": ("中华人民共和国社区矫正法", "Community Corrections Law"),
    "LAL": ("中华人民共和国法律援助法", "Legal Aid Law"),
    "CL": ("中华人民共和国刑法", "Criminal Law"),
}


@dataclass(frozen=True)
class Basis:
    """A legal basis: law code, article, optional paragraph (款) and item (项)."""

    law: str
    article: str
    paragraph: int | None = None
    item: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"law": self.law, "article": self.article}
        if self.paragraph is not None:
            out["paragraph"] = self.paragraph
        if self.item is not None:
            out["item"] = self.item
        return out

    def __str__(self) -> str:
        s = f"{self.law} {self.article}"
        if self.paragraph is not None:
            s += f"({self.paragraph})"
        return s


class NodeKind(StrEnum):
    EXCHANGE = "exchange"  # sent from one agency to another
    FACT = "fact"  # recorded by one agency (detention executed, appraisal started, …)


@dataclass(frozen=True)
class Duration:
    days: int = 0
    months: int = 0

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in (("days", self.days), ("months", self.months)) if v}


@dataclass(frozen=True)
class LimitAnchor:
    """A limit due a fixed number of days before another limit's due date (MPS 148)."""

    rule: str
    days_before: int


@dataclass(frozen=True)
class LimitRule:
    code: str
    name_zh: str
    name_en: str
    responsible: str  # "sender" | "receiver" of the starting exchange, or an agency type
    basis: tuple[Basis, ...]
    duration: Duration | None = None
    anchor: LimitAnchor | None = None
    custody: bool = False  # a custody period: CPL 105 ¶2 last-day holiday shift never applies
    per_person: bool = True
    suspendable: bool = True  # e.g. psychiatric appraisal time does not count (CPL 149)
    note: str = ""


@dataclass(frozen=True)
class LimitEffects:
    start: tuple[str, ...] = ()
    start_if_custody: tuple[str, ...] = ()  # only for persons in custody when it happens
    start_if_free: tuple[str, ...] = ()  # only for persons not in custody
    stop: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()  # stop the running one and start afresh (CPL 175 ¶3)
    extend: tuple[tuple[str, Duration], ...] = ()
    suspend: tuple[str, ...] = ()  # "*" = every suspendable limit of the person
    resume: tuple[str, ...] = ()


@dataclass(frozen=True)
class Effect:
    """What an accepted exchange does to the case and to the persons it concerns."""

    stage: str | None = None
    handler: str = "unchanged"  # "receiver" | "sender" | "unchanged"
    measure: str | None = None  # compulsory measure the persons are now under ("none" clears)
    custody: str = "unchanged"  # "held" | "released" | "unchanged"
    closes_case: bool = False
    counter: str | None = None  # per-case counter incremented (e.g. supplementary_investigation)
    closes: tuple[str, ...] = ()  # open requests of these nodes are settled by this one


@dataclass(frozen=True)
class Node:
    code: str
    name_zh: str
    name_en: str
    kind: NodeKind
    senders: tuple[str, ...]
    receivers: tuple[str, ...]
    stages: tuple[str, ...]  # "*" = any open stage
    basis: tuple[Basis, ...]
    starts_case: bool = False
    replies: tuple[str, ...] = ()  # answers this node allows or expects
    reply_expected: bool = False  # an open request is tracked until answered
    standalone_reply: bool = False  # may also be sent without in_reply_to
    required_documents: tuple[str, ...] = ()
    optional_documents: tuple[str, ...] = ()
    expected_documents: tuple[str, ...] = ()  # not refused when absent, but alerted
    fields: tuple[str, ...] = ()
    person_required: bool = False
    effect: Effect = field(default_factory=Effect)
    limits: LimitEffects = field(default_factory=LimitEffects)
    max_per_case: int | None = None
    max_basis: tuple[Basis, ...] = ()
    requires_measure: tuple[str, ...] = ()  # person must be under one of these measures
    note: str = ""


@dataclass(frozen=True)
class Catalog:
    nodes: Mapping[str, Node]
    limits: Mapping[str, LimitRule]
    version: str
    reply_to: Mapping[str, tuple[str, ...]]  # reply node → request nodes it may answer
    by_name_zh: Mapping[str, str]

    @classmethod
    def build(
        cls,
        nodes: Iterable[Node],
        limits: Iterable[LimitRule],
        version: str,
        *,
        known_documents: set[str] | None = None,
        known_stages: set[str] | None = None,
        known_agency_types: set[str] | None = None,
    ) -> Catalog:
        """Assemble and cross-check; every inconsistency is reported at once."""
        problems: list[Problem] = []
        node_map: dict[str, Node] = {}
        for n in nodes:
            if n.code in node_map:
                problems.append(Problem(f"nodes.{n.code}", Said(N_("duplicate node code")), n.code))
            node_map[n.code] = n
        limit_map: dict[str, LimitRule] = {}
        for rule in limits:
            if rule.code in limit_map:
                problems.append(
                    Problem(f"limits.{rule.code}", Said(N_("duplicate limit code")), rule.code)
                )
            limit_map[rule.code] = rule
            if (rule.duration is None) == (rule.anchor is None):
                problems.append(
                    Problem(
                        f"limits.{rule.code}", Said(N_("needs exactly one of duration or anchor"))
                    )
                )
            if (
                rule.anchor
                and rule.anchor.rule not in limit_map
                and rule.anchor.rule not in {r.code for r in limits}
            ):
                problems.append(
                    Problem(
                        f"limits.{rule.code}.anchor", Said(N_("unknown limit")), rule.anchor.rule
                    )
                )
            if not rule.basis:
                problems.append(
                    Problem(f"limits.{rule.code}.basis", Said(N_("a limit needs its basis")))
                )
        reply_to: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for n in node_map.values():
            where = f"nodes.{n.code}"
            if not n.basis:
                problems.append(
                    Problem(f"{where}.basis", Said(N_("every node cites its legal basis")))
                )
            for b in (*n.basis, *n.max_basis):
                if b.law not in LAWS:
                    problems.append(Problem(f"{where}.basis", Said(N_("unknown law code")), b.law))
            if n.name_zh in names:
                problems.append(
                    Problem(f"{where}.name_zh", Said(N_("duplicate Chinese name")), n.name_zh)
                )
            names[n.name_zh] = n.code
            for r in n.replies:
                if r not in node_map:
                    problems.append(Problem(f"{where}.replies", Said(N_("unknown node")), r))
                reply_to.setdefault(r, []).append(n.code)
            for c in n.effect.closes:
                if c not in node_map:
                    problems.append(Problem(f"{where}.effect.closes", Said(N_("unknown node")), c))
            lim = n.limits
            named = [*lim.start, *lim.start_if_custody, *lim.start_if_free, *lim.stop]
            named += [*lim.restart, *(c for c, _ in lim.extend)]
            named += [c for c in (*lim.suspend, *lim.resume) if c != "*"]
            for code in named:
                if code not in limit_map:
                    problems.append(
                        Problem(f"{where}.limits", Said(N_("unknown limit rule")), code)
                    )
            docs = (*n.required_documents, *n.optional_documents, *n.expected_documents)
            if known_documents is not None:
                for d in docs:
                    if d not in known_documents:
                        problems.append(
                            Problem(f"{where}.documents", Said(N_("unknown document type")), d)
                        )
            if known_stages is not None:
                for s in (*n.stages, *([n.effect.stage] if n.effect.stage else [])):
                    if s != "*" and s not in known_stages:
                        problems.append(Problem(f"{where}.stages", Said(N_("unknown stage")), s))
            if known_agency_types is not None:
                for a in (*n.senders, *n.receivers):
                    if a not in known_agency_types:
                        problems.append(Problem(f"{where}", Said(N_("unknown agency type")), a))
            if n.kind is NodeKind.EXCHANGE and not n.receivers:
                problems.append(
                    Problem(f"{where}.to", Said(N_("an exchange needs receiver types")))
                )
        if problems:
            raise InvalidInput(
                N_("node catalog {version} is inconsistent"),
                problems=problems,
                params={"version": version},
            )
        return cls(
            nodes=node_map,
            limits=limit_map,
            version=version,
            reply_to={k: tuple(v) for k, v in reply_to.items()},
            by_name_zh=names,
        )

    def resolve(self, code_or_name: str) -> Node | None:
        """A node by code or by its exact Chinese name (scenario files accept both)."""
        if code_or_name in self.nodes:
            return self.nodes[code_or_name]
        code = self.by_name_zh.get(code_or_name)
        return self.nodes[code] if code else None

    def is_reply(self, code: str) -> bool:
        return code in self.reply_to
