"""Procedure state of a case, derived by replaying its accepted exchanges, and the checks a
proposed exchange must pass before the hub accepts it.

The state is a pure function of the history: ``replay(events)`` always gives the same state,
and ``check`` never changes the state it is given (property tests prove both). Every refusal
names its rule and the legal basis it rests on.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from casebridge.domain.catalog import Basis, Catalog, Duration, Node, NodeKind
from casebridge.errors import N_, InvalidInput, Problem, Said

__all__ = [
    "CaseState",
    "Event",
    "LimitState",
    "OpenRequest",
    "PersonState",
    "Procedure",
    "ProcedureRefused",
    "Refusal",
]

CASE_LEVEL = ""  # person key of limits that concern the whole case


@dataclass(frozen=True)
class Event:
    """One accepted (or proposed) exchange or fact, as the procedure sees it."""

    id: str
    node: str
    on: date
    sender_type: str
    receiver_type: str | None = None
    sender_id: str | None = None
    receiver_id: str | None = None
    persons: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    in_reply_to: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Refusal:
    rule: str
    message: str
    basis: tuple[Basis, ...] = ()

    def as_problem(self) -> Problem:
        return Problem(
            field="node",
            message=self.message,
            rule=self.rule,
            extra={"basis": [b.as_dict() for b in self.basis]},
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "message": self.message,
            "basis": [b.as_dict() for b in self.basis],
        }


def _joined(parts: Sequence[str], sep: str) -> str:
    """``parts`` joined by ``sep``; any part that is a :class:`Said` is said in the reader's
    language (the joining template is not marked: it has nothing to translate)."""
    if not any(isinstance(p, Said) for p in parts):
        return sep.join(parts)
    template = sep.join(f"{{p{i}}}" for i in range(len(parts)))
    return Said(template, **{f"p{i}": p for i, p in enumerate(parts)})


def _either(codes: Sequence[str]) -> str:
    """``a or b or c`` in the reader's language (the codes themselves are never translated)."""
    out = codes[0] if codes else ""
    for code in codes[1:]:
        out = Said(N_("{first} or {second}"), first=out, second=code)
    return out


class ProcedureRefused(InvalidInput):
    """A proposed exchange breaks a rule of procedure; nothing was changed."""

    code = "procedure-refused"
    title = N_("Refused by the rules of procedure")

    def __init__(self, node: str, refusals: list[Refusal]) -> None:
        rules = _joined(
            [
                f"{r.rule} ({'; '.join(map(str, r.basis))})"
                if r.basis
                else Said(N_("{rule} (platform rule)"), rule=r.rule)
                for r in refusals
            ],
            ", ",
        )
        super().__init__(
            N_("{node} refused: {rules}"),
            problems=[r.as_problem() for r in refusals],
            params={"node": node, "rules": rules},
        )
        self.refusals = refusals


@dataclass
class PersonState:
    key: str
    measure: str | None = None
    in_custody: bool = False
    custody_holder: str | None = None
    detention_date: date | None = None
    arrest_date: date | None = None
    released_on: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "measure": self.measure,
            "in_custody": self.in_custody,
            "custody_holder": self.custody_holder,
            "detention_date": self.detention_date,
            "arrest_date": self.arrest_date,
            "released_on": self.released_on,
        }


@dataclass
class OpenRequest:
    exchange_id: str
    node: str
    on: date
    sender_type: str
    receiver_type: str | None
    sender_id: str | None
    receiver_id: str | None
    persons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "exchange_id": self.exchange_id,
            "node": self.node,
            "on": self.on,
            "sender_type": self.sender_type,
            "receiver_type": self.receiver_type,
            "persons": list(self.persons),
        }


@dataclass
class LimitState:
    id: str
    rule: str
    person: str
    start: date
    started_by: str
    responsible_type: str | None
    responsible_id: str | None
    in_custody_at_start: bool
    extensions: list[Duration] = field(default_factory=list)
    suspended_since: date | None = None
    suspended_days: int = 0
    stopped_on: date | None = None
    stopped_by: str | None = None

    @property
    def running(self) -> bool:
        return self.stopped_on is None


@dataclass
class CaseState:
    stage: str | None = None
    handler_type: str | None = None
    handler_id: str | None = None
    closed: bool = False
    counters: dict[str, int] = field(default_factory=dict)
    persons: dict[str, PersonState] = field(default_factory=dict)
    open_requests: dict[str, OpenRequest] = field(default_factory=dict)
    limits: list[LimitState] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    missing_documents: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.stage is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "handler_agency_type": self.handler_type,
            "handler_agency_id": self.handler_id,
            "closed": self.closed,
            "counters": dict(self.counters),
            "open_requests": [r.as_dict() for r in self.open_requests.values()],
            "persons": {k: p.as_dict() for k, p in sorted(self.persons.items())},
        }


def _party_matches(
    want_type: str | None, want_id: str | None, got_type: str | None, got_id: str | None
) -> bool:
    if want_id is not None and got_id is not None:
        return want_id == got_id
    return want_type == got_type


class Procedure:
    """Checks and applies events against a catalog. Stateless apart from the catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # -- checking -----------------------------------------------------------------------------

    def check(self, state: CaseState, event: Event) -> tuple[Event, list[Refusal]]:
        """Refusals for ``event`` in ``state`` (empty: acceptable), and the event with its
        ``in_reply_to`` resolved. Never modifies ``state``."""
        node = self.catalog.nodes.get(event.node)
        if node is None:
            return event, [
                Refusal(
                    "unknown_node",
                    Said(N_("no collaboration node {node}"), node=repr(event.node)),
                )
            ]
        refusals: list[Refusal] = []
        if state.closed:
            refusals.append(Refusal("case_closed", Said(N_("the case is closed")), node.basis))
        if not state.exists and not node.starts_case:
            refusals.append(
                Refusal(
                    "no_case",
                    Said(
                        N_("{node} cannot open a case; it needs one that exists at the hub"),
                        node=node.code,
                    ),
                    node.basis,
                )
            )
        refusals += self._check_parties(node, event)
        if state.exists and "*" not in node.stages and state.stage not in node.stages:
            refusals.append(
                Refusal(
                    "stage",
                    Said(
                        N_("{node} is allowed at stage {stages}, the case is at {stage}"),
                        node=node.code,
                        stages=", ".join(node.stages),
                        stage=state.stage,
                    ),
                    node.basis,
                )
            )
        event, reply_refusals = self._resolve_reply(state, node, event)
        refusals += reply_refusals
        if node.max_per_case is not None:
            key = node.effect.counter or node.code
            done = state.counters.get(key, 0)
            if done >= node.max_per_case:
                refusals.append(
                    Refusal(
                        "max_per_case",
                        Said(
                            N_(
                                "{node} may happen at most {max} times per case; "
                                "it has happened {done} times"
                            ),
                            node=node.code,
                            max=node.max_per_case,
                            done=done,
                        ),
                        node.max_basis or node.basis,
                    )
                )
        missing = [d for d in node.required_documents if d not in event.documents]
        for doc in missing:
            refusals.append(
                Refusal(
                    "documents_required",
                    Said(N_("{node} requires document {doc}"), node=node.code, doc=repr(doc)),
                    node.basis,
                )
            )
        if node.person_required and not event.persons:
            refusals.append(
                Refusal(
                    "person_required",
                    Said(N_("{node} concerns a person; name one"), node=node.code),
                    node.basis,
                )
            )
        if node.requires_measure:
            for key in event.persons:
                p = state.persons.get(key)
                measure = p.measure if p else None
                if measure not in node.requires_measure:
                    refusals.append(
                        Refusal(
                            "measure",
                            Said(
                                N_("{node} needs person {person} under {measures}, not {measure}"),
                                node=node.code,
                                person=key,
                                measures=_either(node.requires_measure),
                                measure=measure or Said(N_("no measure")),
                            ),
                            node.basis,
                        )
                    )
        return event, refusals

    def _check_parties(self, node: Node, event: Event) -> list[Refusal]:
        out = []
        if event.sender_type not in node.senders:
            out.append(
                Refusal(
                    "sender_type",
                    Said(
                        N_("{node} is sent by {senders}, not {sender}"),
                        node=node.code,
                        senders=", ".join(node.senders),
                        sender=event.sender_type,
                    ),
                    node.basis,
                )
            )
        if node.kind is NodeKind.EXCHANGE and event.receiver_type not in node.receivers:
            out.append(
                Refusal(
                    "receiver_type",
                    Said(
                        N_("{node} goes to {receivers}, not {receiver}"),
                        node=node.code,
                        receivers=", ".join(node.receivers),
                        receiver=event.receiver_type,
                    ),
                    node.basis,
                )
            )
        return out

    def _resolve_reply(
        self, state: CaseState, node: Node, event: Event
    ) -> tuple[Event, list[Refusal]]:
        if not self.catalog.is_reply(node.code):
            if event.in_reply_to is not None:
                return event, [
                    Refusal(
                        "not_a_reply",
                        Said(N_("{node} is not a reply to another node"), node=node.code),
                        node.basis,
                    )
                ]
            return event, []
        answers = self.catalog.reply_to[node.code]
        if event.in_reply_to is not None:
            req = state.open_requests.get(event.in_reply_to)
            if req is None:
                return event, [
                    Refusal(
                        "reply_to_nothing",
                        Said(
                            N_("{request} is not an open request of this case"),
                            request=event.in_reply_to,
                        ),
                        node.basis,
                    )
                ]
            if req.node not in answers or not self._reverses(req, event):
                return event, [
                    Refusal(
                        "reply_mismatch",
                        Said(
                            N_("{node} does not answer {request} sent to this agency"),
                            node=node.code,
                            request=req.node,
                        ),
                        node.basis,
                    )
                ]
            return event, []
        candidates = [
            r
            for r in state.open_requests.values()
            if r.node in answers
            and self._reverses(r, event)
            and (not event.persons or not r.persons or set(event.persons) & set(r.persons))
        ]
        if len(candidates) == 1:
            return replace(event, in_reply_to=candidates[0].exchange_id), []
        if not candidates:
            if node.standalone_reply:
                return event, []
            return event, [
                Refusal(
                    "reply_to_nothing",
                    Said(
                        N_("{node} answers {requests}, and no such request is open"),
                        node=node.code,
                        requests=_either(answers),
                    ),
                    node.basis,
                )
            ]
        return event, [
            Refusal(
                "reply_ambiguous",
                Said(
                    N_(
                        "{node} could answer {count} open requests ({requests}); "
                        "name one in in_reply_to"
                    ),
                    node=node.code,
                    count=len(candidates),
                    requests=", ".join(c.exchange_id for c in candidates),
                ),
                node.basis,
            )
        ]

    @staticmethod
    def _reverses(req: OpenRequest, event: Event) -> bool:
        back_to_sender = event.receiver_type is None or _party_matches(
            req.sender_type, req.sender_id, event.receiver_type, event.receiver_id
        )
        return back_to_sender and _party_matches(
            req.receiver_type, req.receiver_id, event.sender_type, event.sender_id
        )

    # -- applying ----------------------------------------------------------------------------

    def propose(self, state: CaseState, event: Event) -> tuple[CaseState, Event]:
        """Check and apply; raise :class:`ProcedureRefused` (state untouched) if refused."""
        resolved, refusals = self.check(state, event)
        if refusals:
            raise ProcedureRefused(event.node, refusals)
        return self.apply(state, resolved), resolved

    def replay(self, events: Iterable[Event]) -> CaseState:
        state = CaseState()
        for e in events:
            state = self.apply(state, e)
        return state

    def apply(self, state: CaseState, event: Event) -> CaseState:
        """The state after an accepted event (a new object; the input is left as it was)."""
        node = self.catalog.nodes[event.node]
        s = copy.deepcopy(state)
        eff = node.effect
        if not s.exists:
            s.stage = eff.stage or next((x for x in node.stages if x != "*"), "investigation")
        elif eff.stage:
            s.stage = eff.stage
        if eff.handler == "receiver" and event.receiver_type:
            s.handler_type, s.handler_id = event.receiver_type, event.receiver_id
        elif eff.handler == "sender" or s.handler_type is None:
            s.handler_type, s.handler_id = event.sender_type, event.sender_id
        if eff.closes_case:
            s.closed = True
        counter = eff.counter or (node.code if node.max_per_case is not None else None)
        if counter:
            s.counters[counter] = s.counters.get(counter, 0) + 1
        for key in event.persons:
            p = s.persons.setdefault(key, PersonState(key))
            if eff.measure is not None:
                p.measure = None if eff.measure == "none" else eff.measure
                if eff.measure == "detention":
                    p.detention_date = event.on
                elif eff.measure == "arrest":
                    p.arrest_date = event.on
            if eff.custody == "held":
                p.in_custody, p.custody_holder, p.released_on = True, "detention_centre", None
            elif eff.custody == "released":
                p.in_custody, p.custody_holder, p.released_on = False, None, event.on
        if event.in_reply_to:
            s.open_requests.pop(event.in_reply_to, None)
        for rid in [r.exchange_id for r in s.open_requests.values() if r.node in eff.closes]:
            del s.open_requests[rid]
        if node.replies:
            s.open_requests[event.id] = OpenRequest(
                event.id,
                node.code,
                event.on,
                event.sender_type,
                event.receiver_type,
                event.sender_id,
                event.receiver_id,
                event.persons,
            )
        self._apply_limits(s, node, event)
        for doc in node.expected_documents:
            if doc not in event.documents:
                s.missing_documents.append((event.id, node.code, doc, event.sender_type))
        s.history.append(event.id)
        return s

    def _targets(self, s: CaseState, code: str, event: Event) -> list[LimitState]:
        rule = self.catalog.limits[code]
        keys = set(event.persons) if rule.per_person and event.persons else None
        return [
            lim
            for lim in s.limits
            if lim.rule == code and lim.running and (keys is None or lim.person in keys)
        ]

    def _stop(self, s: CaseState, lim: LimitState, event: Event) -> None:
        lim.stopped_on, lim.stopped_by = event.on, event.id
        if lim.suspended_since is not None:
            lim.suspended_days += (event.on - lim.suspended_since).days
            lim.suspended_since = None
        for other in s.limits:  # a deadline anchored on this one is moot once it stops
            rule = self.catalog.limits[other.rule]
            if (
                other.running
                and rule.anchor is not None
                and rule.anchor.rule == lim.rule
                and other.person == lim.person
            ):
                other.stopped_on, other.stopped_by = event.on, event.id

    def _start(self, s: CaseState, code: str, event: Event) -> None:
        rule = self.catalog.limits[code]
        keys = list(event.persons) if rule.per_person and event.persons else [CASE_LEVEL]
        for key in keys:
            if any(lim.rule == code and lim.person == key and lim.running for lim in s.limits):
                continue  # already running: a repeated notice does not restart the clock
            rtype: str | None
            rid: str | None
            if rule.responsible == "sender":
                rtype, rid = event.sender_type, event.sender_id
            elif rule.responsible == "receiver":
                rtype, rid = event.receiver_type, event.receiver_id
            else:
                rtype, rid = rule.responsible, None
            person = s.persons.get(key)
            s.limits.append(
                LimitState(
                    id=f"{event.id}:{code}:{key or 'case'}",
                    rule=code,
                    person=key,
                    start=event.on,
                    started_by=event.id,
                    responsible_type=rtype,
                    responsible_id=rid,
                    in_custody_at_start=bool(person and person.in_custody),
                )
            )

    def _apply_limits(self, s: CaseState, node: Node, event: Event) -> None:
        eff = node.limits
        for code in (*eff.stop, *eff.restart):
            for lim in self._targets(s, code, event):
                self._stop(s, lim, event)
        for code, extra in eff.extend:
            for lim in self._targets(s, code, event):
                lim.extensions.append(extra)
        for code in eff.suspend:
            for lim in s.limits:
                rule = self.catalog.limits[lim.rule]
                hit = lim.rule == code or (code == "*" and rule.suspendable)
                mine = not event.persons or lim.person in event.persons or lim.person == CASE_LEVEL
                if hit and mine and lim.running and lim.suspended_since is None:
                    lim.suspended_since = event.on
        for code in eff.resume:
            for lim in s.limits:
                hit = lim.rule == code or code == "*"
                mine = not event.persons or lim.person in event.persons or lim.person == CASE_LEVEL
                if hit and mine and lim.running and lim.suspended_since is not None:
                    lim.suspended_days += (event.on - lim.suspended_since).days
                    lim.suspended_since = None
        for code in (*eff.restart, *eff.start):
            self._start(s, code, event)
        for code, custody in [(c, True) for c in eff.start_if_custody] + [
            (c, False) for c in eff.start_if_free
        ]:
            held = [k for k in event.persons if s.persons[k].in_custody == custody]
            if held:
                self._start(s, code, replace(event, persons=tuple(held)))

    # -- guidance ------------------------------------------------------------------------------

    def allowed_next(
        self, state: CaseState, agency_type: str, agency_id: str | None = None
    ) -> list[Node]:
        """Nodes this agency could send now (documents aside): the UI's "what can I do"."""
        out = []
        for node in self.catalog.nodes.values():
            if agency_type not in node.senders:
                continue
            probe = Event(
                id="probe",
                node=node.code,
                on=date.min,
                sender_type=agency_type,
                sender_id=agency_id,
                receiver_type=node.receivers[0] if node.receivers else None,
                documents=node.required_documents,
            )
            ignore = {"person_required", "measure"}
            if self.catalog.is_reply(node.code):
                # The receiver of a reply is the request's sender: let the reply check find it.
                probe = replace(probe, receiver_type=None)
                ignore.add("receiver_type")
            _, refusals = self.check(state, probe)
            if not [r for r in refusals if r.rule not in ignore]:
                out.append(node)
        return out
