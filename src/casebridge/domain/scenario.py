"""Scenario files: a case's history as data, run through the procedure without a hub.

``casebridge procedure check FILE`` uses this so that anyone can check the law's arithmetic
(limits, alerts, refusals) on a hand-written history. The input is already-parsed JSON/YAML.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from casebridge.domain.catalog import Catalog, NodeKind
from casebridge.domain.deadlines import WorkCalendar
from casebridge.domain.procedure import CaseState, Event, Procedure
from casebridge.domain.supervision import SupervisionPolicy, alerts_for, evaluate_limits
from casebridge.errors import InvalidInput, Problem, Said
from casebridge.i18n import N_

__all__ = ["run_scenario"]


def _date(value: Any, where: str, problems: list[Problem]) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(Problem(where, Said(N_("not a date (YYYY-MM-DD)")), str(value)))
        return None


def _parse_events(
    raw: dict[str, Any], catalog: Catalog
) -> tuple[date, dict[str, str], list[Event]]:
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        raise InvalidInput(N_("a scenario is a mapping with as_of, persons and events"))
    as_of = _date(raw.get("as_of"), "as_of", problems)
    persons: dict[str, str] = {}
    for i, p in enumerate(raw.get("persons") or []):
        if not isinstance(p, dict) or not p.get("key"):
            problems.append(Problem(f"persons[{i}]", Said(N_("needs a key"))))
            continue
        persons[str(p["key"])] = str(p.get("name", p["key"]))
    events: list[Event] = []
    raw_events = raw.get("events")
    if not isinstance(raw_events, list) or not raw_events:
        problems.append(Problem("events", Said(N_("a scenario needs a list of events"))))
        raw_events = []
    for i, e in enumerate(raw_events):
        where = f"events[{i}]"
        if not isinstance(e, dict):
            problems.append(Problem(where, Said(N_("an event is a mapping"))))
            continue
        on = _date(e.get("date"), f"{where}.date", problems)
        node = catalog.resolve(str(e.get("node", "")))
        if node is None:
            problems.append(
                Problem(
                    f"{where}.node",
                    Said(N_("unknown node code or Chinese name")),
                    str(e.get("node")),
                )
            )
            continue
        keys = e.get("persons") or ([e["person"]] if e.get("person") else [])
        for k in keys:
            if str(k) not in persons:
                problems.append(
                    Problem(f"{where}.person", Said(N_("not declared in persons")), str(k))
                )
        sender = str(e.get("from") or node.senders[0])
        receiver = e.get("to") or (node.receivers[0] if node.receivers else None)
        if node.kind is NodeKind.FACT:
            receiver = None
        if on is None:
            continue
        events.append(
            Event(
                id=str(e.get("id") or f"e{i + 1}"),
                node=node.code,
                on=on,
                sender_type=sender,
                receiver_type=str(receiver) if receiver else None,
                persons=tuple(str(k) for k in keys),
                documents=tuple(str(d) for d in (e.get("documents") or [])),
                in_reply_to=str(e["in_reply_to"]) if e.get("in_reply_to") else None,
                fields=dict(e.get("fields") or {}),
            )
        )
    if problems or as_of is None:
        raise InvalidInput(N_("scenario is invalid"), problems=problems)
    return as_of, persons, events


def run_scenario(
    raw: dict[str, Any],
    catalog: Catalog,
    calendar: WorkCalendar,
    policy: SupervisionPolicy | None = None,
) -> dict[str, Any]:
    """Run every event in order; refused ones are reported and leave the state unchanged."""
    as_of, persons, events = _parse_events(raw, catalog)
    procedure = Procedure(catalog)
    state = CaseState()
    refused: list[dict[str, Any]] = []
    accepted: list[dict[str, Any]] = []
    for index, event in enumerate(events):
        resolved, refusals = procedure.check(state, event)
        if refusals:
            refused.append(
                {
                    "index": index,
                    "id": event.id,
                    "date": event.on,
                    "node": event.node,
                    "refusals": [r.as_dict() for r in refusals],
                }
            )
            continue
        state = procedure.apply(state, resolved)
        accepted.append(
            {
                "index": index,
                "id": event.id,
                "date": event.on,
                "node": event.node,
                "in_reply_to": resolved.in_reply_to,
            }
        )
    limits = evaluate_limits(state, catalog, calendar, as_of)
    alerts = alerts_for(state, limits, catalog, as_of, policy)
    case = state.as_dict()
    for key, p in case["persons"].items():
        p["name"] = persons.get(key, key)
    return {
        "as_of": as_of,
        "catalog_version": catalog.version,
        "state": case,
        "accepted": accepted,
        "limits": [v.as_dict() for v in limits],
        "alerts": [a.as_dict() for a in alerts],
        "refused": refused,
    }
