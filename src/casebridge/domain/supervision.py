"""Legal time limits as of a date, and the supervision alerts they and the state raise.

Alerts are derived, never stored as truth: the same history and the same "today" give the same
alerts. The hub remembers only which alerts it has already raised, to audit each once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from casebridge.domain.catalog import Basis, Catalog
from casebridge.domain.deadlines import WorkCalendar, add_duration, due_date
from casebridge.domain.procedure import CASE_LEVEL, CaseState, LimitState
from casebridge.errors import Said
from casebridge.i18n import N_

__all__ = ["Alert", "LimitView", "SupervisionPolicy", "alerts_for", "evaluate_limits"]


class _Name(str):
    """A catalog name in an alert: ``中文 / English`` for English readers (as the alerts have
    always said it), the catalog's own Chinese name alone for Chinese readers."""

    zh: str
    en: str

    def __new__(cls, zh: str, en: str) -> _Name:
        name = super().__new__(cls, f"{zh} / {en}")
        name.zh, name.en = zh, en
        return name

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]  # copy, pickle
        return (self.zh, self.en)

    def localized(self, lang: str) -> str:
        return self.zh if lang == "zh_Hans" else str(self)


@dataclass(frozen=True)
class SupervisionPolicy:
    """Deployment-tunable thresholds (not law: the platform's choice, configurable)."""

    due_soon_days: int = 3


@dataclass(frozen=True)
class LimitView:
    id: str
    rule: str
    name_zh: str
    name_en: str
    person: str | None
    basis: tuple[Basis, ...]
    start: date
    due: date
    nominal_last_day: date
    status: str  # running | suspended | met | overdue
    responsible_agency_type: str | None
    responsible_agency_id: str | None
    custody: bool
    holiday_shift: bool
    stopped_on: date | None
    calendar_incomplete: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "person": self.person,
            "basis": [b.as_dict() for b in self.basis],
            "start": self.start,
            "due": self.due,
            "nominal_last_day": self.nominal_last_day,
            "status": self.status,
            "responsible_agency_type": self.responsible_agency_type,
            "responsible_agency_id": self.responsible_agency_id,
            "custody": self.custody,
            "holiday_shift": self.holiday_shift,
            "stopped_on": self.stopped_on,
            "calendar_incomplete": self.calendar_incomplete,
        }


@dataclass(frozen=True)
class Alert:
    key: str  # stable identity: the same situation keeps the same key
    kind: str  # due_soon | overdue | reply_missing | custody_without_basis | repeated_returns
    #            | documents_missing
    severity: str  # info | warning | high | critical
    message: str
    basis: tuple[Basis, ...]
    responsible_agency_type: str | None
    responsible_agency_id: str | None = None
    person: str | None = None
    due: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "basis": [b.as_dict() for b in self.basis],
            "responsible_agency_type": self.responsible_agency_type,
            "responsible_agency_id": self.responsible_agency_id,
            "person": self.person,
            "due": self.due,
        }


def _last_day(
    lim: LimitState, catalog: Catalog, views: dict[str, LimitView], state: CaseState
) -> tuple[date, bool]:
    """Nominal last day, and whether it is anchored on another limit (no holiday shift)."""
    rule = catalog.limits[lim.rule]
    if rule.anchor is not None:
        anchor = next(
            (
                views[o.id]
                for o in reversed(state.limits)
                if o.rule == rule.anchor.rule and o.person == lim.person and o.id in views
            ),
            None,
        )
        base = anchor.due if anchor else lim.start
        return date.fromordinal(base.toordinal() - rule.anchor.days_before), True
    assert rule.duration is not None
    last = add_duration(lim.start, rule.duration)
    for extra in lim.extensions:
        last = add_duration(last, extra)
    return date.fromordinal(last.toordinal() + lim.suspended_days), False


def evaluate_limits(
    state: CaseState, catalog: Catalog, calendar: WorkCalendar, as_of: date
) -> list[LimitView]:
    views: dict[str, LimitView] = {}
    # Anchored limits need their anchor's view first: plain ones, then anchored ones.
    ordered = sorted(state.limits, key=lambda lim: catalog.limits[lim.rule].anchor is not None)
    for lim in ordered:
        rule = catalog.limits[lim.rule]
        last, anchored = _last_day(lim, catalog, views, state)
        no_shift = anchored or rule.custody or lim.in_custody_at_start
        due = due_date(last, calendar, no_holiday_shift=no_shift)
        if lim.stopped_on is not None:
            status = "met" if lim.stopped_on <= due else "overdue"
        elif lim.suspended_since is not None:
            status = "suspended"
        else:
            status = "overdue" if as_of > due else "running"
        views[lim.id] = LimitView(
            id=lim.id,
            rule=lim.rule,
            name_zh=rule.name_zh,
            name_en=rule.name_en,
            person=lim.person if lim.person != CASE_LEVEL else None,
            basis=rule.basis,
            start=lim.start,
            due=due,
            nominal_last_day=last,
            status=status,
            responsible_agency_type=lim.responsible_type,
            responsible_agency_id=lim.responsible_id,
            custody=rule.custody,
            holiday_shift=not no_shift,
            stopped_on=lim.stopped_on,
            calendar_incomplete=not no_shift and not calendar.covers(last),
        )
    return [views[lim.id] for lim in state.limits]


def alerts_for(
    state: CaseState,
    limits: list[LimitView],
    catalog: Catalog,
    as_of: date,
    policy: SupervisionPolicy | None = None,
) -> list[Alert]:
    policy = policy or SupervisionPolicy()
    out: list[Alert] = []
    by_start: dict[str, list[LimitView]] = {}
    lim_states = {lim.id: lim for lim in state.limits}
    for v in limits:
        by_start.setdefault(lim_states[v.id].started_by, []).append(v)
        who = v.responsible_agency_type
        if v.status == "overdue":
            name = _Name(v.name_zh, v.name_en)
            late = (
                Said(
                    N_("{name}: met late on {stopped_on}, due {due}"),
                    name=name,
                    stopped_on=v.stopped_on,
                    due=v.due,
                )
                if v.stopped_on
                else Said(N_("{name}: overdue since {due}"), name=name, due=v.due)
            )
            out.append(
                Alert(
                    key=f"overdue:{v.id}",
                    kind="overdue",
                    severity="critical" if v.custody else "high",
                    message=late,
                    basis=v.basis,
                    responsible_agency_type=who,
                    responsible_agency_id=v.responsible_agency_id,
                    person=v.person,
                    due=v.due,
                )
            )
            person = state.persons.get(v.person or "")
            if v.custody and v.stopped_on is None and person is not None and person.in_custody:
                out.append(
                    Alert(
                        key=f"custody_without_basis:{v.id}",
                        kind="custody_without_basis",
                        severity="critical",
                        message=Said(
                            N_("person {person} is in custody after {name} expired on {due}"),
                            person=v.person,
                            name=v.name_zh,
                            due=v.due,
                        ),
                        basis=v.basis,
                        responsible_agency_type=who,
                        responsible_agency_id=v.responsible_agency_id,
                        person=v.person,
                        due=v.due,
                    )
                )
        elif v.status == "running" and (v.due - as_of).days <= policy.due_soon_days:
            out.append(
                Alert(
                    key=f"due_soon:{v.id}",
                    kind="due_soon",
                    severity="warning",
                    message=Said(
                        N_("{name}: due {due}"), name=_Name(v.name_zh, v.name_en), due=v.due
                    ),
                    basis=v.basis,
                    responsible_agency_type=who,
                    responsible_agency_id=v.responsible_agency_id,
                    person=v.person,
                    due=v.due,
                )
            )
    for req in state.open_requests.values():
        overdue = [v for v in by_start.get(req.exchange_id, []) if v.status == "overdue"]
        node = catalog.nodes[req.node]
        if node.reply_expected and overdue and not any(v.stopped_on for v in overdue):
            out.append(
                Alert(
                    key=f"reply_missing:{req.exchange_id}",
                    kind="reply_missing",
                    severity="high",
                    message=Said(
                        N_("no reply to {name} of {on}"),
                        name=_Name(node.name_zh, node.name_en),
                        on=req.on,
                    ),
                    basis=overdue[0].basis,
                    responsible_agency_type=req.receiver_type,
                    responsible_agency_id=req.receiver_id,
                    due=overdue[0].due,
                )
            )
    counted: set[str] = set()
    for node in catalog.nodes.values():
        key = node.effect.counter or (node.code if node.max_per_case is not None else None)
        if (
            node.max_per_case
            and key
            and key not in counted
            and (state.counters.get(key, 0) >= node.max_per_case)
        ):
            counted.add(key)
            out.append(
                Alert(
                    key=f"repeated_returns:{key}",
                    kind="repeated_returns",
                    severity="warning",
                    message=Said(
                        N_("{name} has been used {count} times, the legal maximum"),
                        name=_Name(node.name_zh, node.name_en),
                        count=state.counters[key],
                    ),
                    basis=node.max_basis or node.basis,
                    responsible_agency_type=state.handler_type,
                    responsible_agency_id=state.handler_id,
                )
            )
    for event_id, node_code, doc, sender_type in state.missing_documents:
        node = catalog.nodes[node_code]
        out.append(
            Alert(
                key=f"documents_missing:{event_id}:{doc}",
                kind="documents_missing",
                severity="warning",
                message=Said(
                    N_("{name} arrived without {doc}"),
                    name=_Name(node.name_zh, node.name_en),
                    doc=doc,
                ),
                basis=node.basis,
                responsible_agency_type=sender_type,
            )
        )
    return out
