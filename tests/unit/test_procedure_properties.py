"""Property tests: the state is a pure function of the accepted history, and a refusal
changes nothing — over random histories drawn from the whole catalog."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from casebridge.domain.procedure import CaseState, Event, Procedure
from casebridge.standards.catalog import load_catalog

CAT = load_catalog()
PROC = Procedure(CAT)
NODES = sorted(CAT.nodes)


SENDERS = sorted({a for n in CAT.nodes.values() for a in n.senders})


def draw_history(data: st.DataObject) -> list[tuple[Event, bool]]:
    """Random histories that mostly follow the rules (so that long ones get accepted) and
    sometimes break them (so that refusals are exercised): (event, accepted) pairs."""
    n = data.draw(st.integers(min_value=1, max_value=30))
    day = date(2026, 1, 5)
    state = CaseState()
    out = []
    for i in range(n):
        sender = data.draw(st.sampled_from(SENDERS))
        allowed = [x.code for x in PROC.allowed_next(state, sender)]
        if allowed and data.draw(st.integers(0, 9)) < 8:
            node = CAT.nodes[data.draw(st.sampled_from(sorted(allowed)))]
        else:
            node = CAT.nodes[data.draw(st.sampled_from(NODES))]
            sender = data.draw(st.sampled_from(node.senders))
        day += timedelta(days=data.draw(st.integers(min_value=0, max_value=20)))
        docs = node.required_documents if data.draw(st.integers(0, 9)) < 9 else ()
        persons = tuple(
            data.draw(st.lists(st.sampled_from(["p1", "p2"]), min_size=0, max_size=2, unique=True))
        )
        if node.person_required and not persons and data.draw(st.booleans()):
            persons = ("p1",)
        receiver = data.draw(st.sampled_from(node.receivers)) if node.receivers else None
        event = Event(f"e{i}", node.code, day, sender, receiver, persons=persons, documents=docs)
        resolved, refusals = PROC.check(state, event)
        if not refusals:
            state = PROC.apply(state, resolved)
        out.append((resolved, not refusals))
    return out


def snapshot(state: CaseState) -> Any:
    return copy.deepcopy(
        (state.as_dict(), state.limits, state.missing_documents, state.history, state.counters)
    )


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_replaying_accepted_history_gives_the_same_state(data: st.DataObject) -> None:
    history = draw_history(data)
    accepted = [e for e, ok in history if ok]
    state = CaseState()
    for e in accepted:
        state = PROC.apply(state, e)
    assert snapshot(PROC.replay(accepted)) == snapshot(state)
    assert snapshot(PROC.replay(accepted)) == snapshot(PROC.replay(list(accepted)))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_refused_proposal_leaves_the_state_unchanged(data: st.DataObject) -> None:
    state = CaseState()
    for e, _ in draw_history(data):
        before = snapshot(state)
        resolved, refusals = PROC.check(state, e)
        assert snapshot(state) == before  # checking never mutates
        if refusals:
            assert all(r.rule and r.message for r in refusals)
            continue
        new = PROC.apply(state, resolved)
        assert snapshot(state) == before  # applying returns a new state
        state = new
