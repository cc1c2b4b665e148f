"""The procedure core on scenario data: the issue's acceptance cases and the refusals."""

from __future__ import annotations

from typing import Any

import pytest

from casebridge.domain.procedure import CaseState, Event, Procedure
from casebridge.domain.scenario import run_scenario
from casebridge.errors import InvalidInput
from casebridge.standards.calendar import load_calendar
from casebridge.standards.catalog import load_catalog

CAT = load_catalog()
CAL = load_calendar()
P1 = [{"key": "p1", "name": "张三"}]


def run(events: list[dict[str, Any]], as_of: str = "2026-03-20") -> dict[str, Any]:
    return run_scenario({"as_of": as_of, "persons": P1, "events": events}, CAT, CAL)


def limit(result: dict[str, Any], rule: str) -> dict[str, Any]:
    [found] = [v for v in result["limits"] if v["rule"] == rule]
    return found


def arrest_line(approved_on: str) -> list[dict[str, Any]]:
    return [
        {"date": "2026-03-02", "node": "执行拘留", "person": "p1"},
        {
            "date": "2026-03-05",
            "node": "提请批准逮捕",
            "person": "p1",
            "documents": ["arrest_request"],
        },
        {
            "date": approved_on,
            "node": "批准逮捕",
            "person": "p1",
            "documents": ["arrest_approval_decision"],
        },
    ]


def test_arrest_approved_in_time_meets_the_seven_day_limit() -> None:
    r = run(arrest_line("2026-03-10"))
    assert r["refused"] == []
    review = limit(r, "arrest_review_detained")
    assert (str(review["due"]), review["status"]) == ("2026-03-12", "met")
    assert review["basis"][0] == {"law": "CPL", "article": "91", "paragraph": 3}
    assert review["responsible_agency_type"] == "procuratorate"
    assert limit(r, "detention_to_arrest_request")["status"] == "met"


def test_investigative_custody_runs_two_months_and_extension_request_is_due_7_days_before() -> None:
    r = run(arrest_line("2026-03-10"))
    custody = limit(r, "investigative_custody")
    assert (str(custody["start"]), str(custody["due"])) == ("2026-03-10", "2026-05-10")
    assert custody["status"] == "running"
    assert custody["basis"] == [{"law": "CPL", "article": "156"}]
    ext = limit(r, "custody_extension_request_due")
    assert str(ext["due"]) == "2026-05-03"
    assert {"law": "MPS-R", "article": "148"} in ext["basis"]
    assert r["state"]["persons"]["p1"]["measure"] == "arrest"
    assert r["state"]["persons"]["p1"]["in_custody"] is True


def test_late_approval_raises_overdue_alert_against_the_procuratorate() -> None:
    r = run(arrest_line("2026-03-13"))
    review = limit(r, "arrest_review_detained")
    assert review["status"] == "overdue"
    overdue = [a for a in r["alerts"] if a["kind"] == "overdue"]
    assert len(overdue) == 1
    assert overdue[0]["responsible_agency_type"] == "procuratorate"
    assert overdue[0]["basis"][0]["article"] == "91"


def test_no_decision_yet_after_the_limit_is_overdue_and_reply_missing() -> None:
    r = run(arrest_line("2026-03-10")[:2], as_of="2026-03-14")
    assert limit(r, "arrest_review_detained")["status"] == "overdue"
    kinds = {a["kind"] for a in r["alerts"]}
    assert {"overdue", "reply_missing", "custody_without_basis"} <= kinds


def test_due_soon_warning_before_the_limit() -> None:
    r = run(arrest_line("2026-03-10")[:2], as_of="2026-03-10")
    assert [a["kind"] for a in r["alerts"]] == ["due_soon"]


def test_non_custody_limit_on_a_holiday_moves_custody_limit_does_not() -> None:
    free = run(
        [
            {
                "date": "2026-09-16",
                "node": "提请批准逮捕",
                "person": "p1",
                "documents": ["arrest_request"],
            }
        ],
        as_of="2026-09-20",
    )
    not_detained = limit(free, "arrest_review_not_detained")
    assert str(not_detained["nominal_last_day"]) == "2026-10-01"
    assert str(not_detained["due"]) == "2026-10-08"
    held = run(
        [
            {"date": "2026-09-21", "node": "执行拘留", "person": "p1"},
            {
                "date": "2026-09-24",
                "node": "提请批准逮捕",
                "person": "p1",
                "documents": ["arrest_request"],
            },
        ],
        as_of="2026-09-25",
    )
    detained = limit(held, "arrest_review_detained")
    assert str(detained["due"]) == "2026-10-01"
    assert detained["holiday_shift"] is False


def prosecution_with_returns(n: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "date": "2026-04-01",
            "node": "transfer_for_prosecution",
            "person": "p1",
            "documents": ["prosecution_opinion"],
        },
    ]
    day = 2
    for _ in range(n):
        events.append(
            {
                "date": f"2026-04-{day:02d}",
                "node": "退回补充侦查",
                "documents": [
                    "supplementary_investigation_return_decision",
                    "supplementary_investigation_outline",
                ],
            }
        )
        events.append(
            {
                "date": f"2026-04-{day + 1:02d}",
                "node": "resubmission_after_supplementary_investigation",
                "person": "p1",
                "documents": ["prosecution_opinion"],
            }
        )
        day += 2
    return events


def test_third_return_for_supplementary_investigation_is_refused_naming_cpl_175() -> None:
    r = run(prosecution_with_returns(3), as_of="2026-04-30")
    assert len(r["refused"]) == 2  # the third return, and the resubmission that answers nothing
    third = r["refused"][0]
    assert third["node"] == "return_for_supplementary_investigation"
    [ref] = third["refusals"]
    assert ref["rule"] == "max_per_case"
    assert ref["basis"] == [{"law": "CPL", "article": "175", "paragraph": 3}]
    assert r["state"]["counters"] == {"supplementary_investigation": 2}
    assert any(a["kind"] == "repeated_returns" for a in r["alerts"])


def test_review_period_restarts_after_resubmission() -> None:
    r = run(prosecution_with_returns(1), as_of="2026-04-10")
    reviews = [v for v in r["limits"] if v["rule"] == "prosecution_review"]
    assert [(str(v["start"]), v["status"]) for v in reviews] == [
        ("2026-04-01", "met"),
        ("2026-04-03", "running"),
    ]
    assert str(reviews[1]["due"]) == "2026-05-06"  # 05-03 is in the May Day block: moved


@pytest.mark.parametrize(
    ("event", "rule"),
    [
        (
            {
                "date": "2026-03-05",
                "node": "批准逮捕",
                "person": "p1",
                "documents": ["arrest_approval_decision"],
            },
            "no_case",
        ),
        ({"date": "2026-03-05", "node": "提请批准逮捕", "person": "p1"}, "documents_required"),
        (
            {
                "date": "2026-03-05",
                "node": "提请批准逮捕",
                "person": "p1",
                "from": "court",
                "documents": ["arrest_request"],
            },
            "sender_type",
        ),
        (
            {
                "date": "2026-03-05",
                "node": "提请批准逮捕",
                "person": "p1",
                "to": "court",
                "documents": ["arrest_request"],
            },
            "receiver_type",
        ),
    ],
)
def test_refusals_name_their_rule_and_basis(event: dict[str, Any], rule: str) -> None:
    r = run([event])
    [refused] = r["refused"]
    assert rule in [x["rule"] for x in refused["refusals"]]
    assert all(x["basis"] for x in refused["refusals"])
    assert r["state"]["stage"] is None  # nothing changed


def test_reply_to_nothing_is_refused() -> None:
    r = run(
        [
            {"date": "2026-03-02", "node": "执行拘留", "person": "p1"},
            {
                "date": "2026-03-03",
                "node": "批准逮捕",
                "person": "p1",
                "documents": ["arrest_approval_decision"],
                "from": "procuratorate",
                "to": "police",
            },
        ]
    )
    rules = [x["rule"] for x in r["refused"][0]["refusals"]]
    assert "reply_to_nothing" in rules


def test_wrong_stage_is_refused() -> None:
    r = run(
        [
            *arrest_line("2026-03-10"),
            {"date": "2026-03-11", "node": "提起公诉", "documents": ["indictment"]},
        ]
    )
    assert "stage" in [x["rule"] for x in r["refused"][0]["refusals"]]


def test_refused_check_leaves_state_untouched() -> None:
    proc = Procedure(CAT)
    state = proc.replay(
        [
            Event(
                "e1",
                "detention_executed",
                __import__("datetime").date(2026, 3, 2),
                "police",
                persons=("p1",),
            )
        ]
    )
    before = (state.as_dict(), list(state.limits))
    _, refusals = proc.check(
        state,
        Event(
            "e2",
            "public_prosecution",
            __import__("datetime").date(2026, 3, 3),
            "procuratorate",
            "court",
        ),
    )
    assert refusals
    assert (state.as_dict(), list(state.limits)) == before
    assert isinstance(state, CaseState)


def test_bad_scenario_reports_every_problem() -> None:
    with pytest.raises(InvalidInput) as err:
        run_scenario(
            {
                "as_of": "someday",
                "persons": P1,
                "events": [
                    {"date": "x", "node": "执行拘留", "person": "p1"},
                    {"date": "2026-03-02", "node": "no such node"},
                    {"date": "2026-03-02", "node": "执行拘留", "person": "p9"},
                ],
            },
            CAT,
            CAL,
        )
    fields = [p.field for p in err.value.problems]
    assert fields == ["as_of", "events[0].date", "events[1].node", "events[2].person"]
