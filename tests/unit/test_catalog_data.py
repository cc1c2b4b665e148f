"""The shipped node catalog covers the whole procedure, and its data is coherent and lawful.

These tests read only the package's own data files (nodes/*.yaml, limits.yaml and the document
type tables), never /work/shared.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pytest

from casebridge.domain.catalog import LAWS, Catalog
from casebridge.domain.deadlines import WorkCalendar
from casebridge.domain.procedure import CaseState, Event, Procedure
from casebridge.domain.supervision import LimitView, evaluate_limits
from casebridge.standards import data_path
from casebridge.standards.catalog import load_catalog, parse_catalog

NO_HOLIDAYS = WorkCalendar.of([], [], [2026])


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _codes(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [r["code"] for r in csv.DictReader(line for line in fh if not line.startswith("#"))]


def _documents(catalog: Catalog) -> set[str]:
    out: set[str] = set()
    for n in catalog.nodes.values():
        out |= {*n.required_documents, *n.optional_documents, *n.expected_documents}
    return out


# ---------------------------------------------------------------- coverage and coherence


def test_catalog_has_at_least_120_nodes(catalog: Catalog) -> None:
    assert len(catalog.nodes) >= 120


def test_every_node_cites_a_basis_with_a_known_law_code(catalog: Catalog) -> None:
    bad = [
        n.code
        for n in catalog.nodes.values()
        if not n.basis or any(b.law not in LAWS for b in (*n.basis, *n.max_basis))
    ]
    assert bad == []


def test_every_limit_rule_cites_a_basis_with_a_known_law_code(catalog: Catalog) -> None:
    bad = [
        r.code
        for r in catalog.limits.values()
        if not r.basis or any(b.law not in LAWS for b in r.basis)
    ]
    assert bad == []


def test_at_least_30_nodes_are_replies_to_another_node(catalog: Catalog) -> None:
    replies = [code for code in catalog.nodes if catalog.is_reply(code)]
    assert len(replies) >= 30


def test_every_reply_names_existing_requests(catalog: Catalog) -> None:
    for reply, requests in catalog.reply_to.items():
        assert reply in catalog.nodes
        for req in requests:
            assert reply in catalog.nodes[req].replies


def test_every_reply_can_travel_back_to_its_request_sender(catalog: Catalog) -> None:
    """A reply goes from the request's receiver to its sender; otherwise it could never match."""
    broken = []
    for req in catalog.nodes.values():
        for code in req.replies:
            rep = catalog.nodes[code]
            if not (set(rep.senders) & set(req.receivers)) or not (
                set(rep.receivers) & set(req.senders)
            ):
                broken.append(f"{req.code}->{code}")
    assert broken == []


def test_standalone_replies_are_replies_and_facts_neither_ask_nor_answer(
    catalog: Catalog,
) -> None:
    nodes = catalog.nodes.values()
    assert [n.code for n in nodes if n.standalone_reply and not catalog.is_reply(n.code)] == []
    facts = [n for n in nodes if n.kind == "fact"]
    assert [n.code for n in facts if n.replies or catalog.is_reply(n.code)] == []


def test_chinese_and_english_names_are_unique(catalog: Catalog) -> None:
    zh = [n.name_zh for n in catalog.nodes.values()]
    en = [n.name_en for n in catalog.nodes.values()]
    assert len(set(zh)) == len(zh)
    assert len(set(en)) == len(en)


def test_every_started_limit_can_be_stopped_by_some_node(catalog: Catalog) -> None:
    """A limit nothing can stop always ends overdue (anchored limits stop with their anchor)."""
    started: set[str] = set()
    stopped: set[str] = set()
    for n in catalog.nodes.values():
        lim = n.limits
        started |= {*lim.start, *lim.start_if_custody, *lim.start_if_free, *lim.restart}
        stopped |= {*lim.stop, *lim.restart}
    anchored = {c for c, r in catalog.limits.items() if r.anchor is not None}
    assert started - stopped - anchored == set()


def test_every_limit_rule_is_used_by_a_node(catalog: Catalog) -> None:
    used: set[str] = set()
    for n in catalog.nodes.values():
        lim = n.limits
        used |= {*lim.start, *lim.start_if_custody, *lim.start_if_free, *lim.restart}
    assert set(catalog.limits) - used == set()


def test_only_custody_periods_are_marked_custody(catalog: Catalog) -> None:
    custody = {c for c, r in catalog.limits.items() if r.custody}
    assert custody == {
        "detention_to_arrest_request",
        "arrest_review_detained",
        "investigative_custody",
        "custody_extension_request_due",
        "supervisory_detention_decision_due",
    }


# ---------------------------------------------------------------- document types


def test_node_document_table_does_not_redefine_standard_codes() -> None:
    nodes_table = _codes(data_path("document_types_nodes.csv"))
    assert len(set(nodes_table)) == len(nodes_table)
    standard = data_path("document_types.csv")
    if standard.exists():
        assert set(nodes_table) & set(_codes(standard)) == set()


def test_catalog_document_codes_exist_in_the_document_type_tables(catalog: Catalog) -> None:
    standard = data_path("document_types.csv")
    if not standard.exists():
        pytest.skip(
            "document_types.csv (standards area) is not in this tree yet; it arrives in main "
            "from the standards branch"
        )
    known = set(_codes(standard)) | set(_codes(data_path("document_types_nodes.csv")))
    assert _documents(catalog) - known == set()


def test_catalog_loads_when_documents_are_checked_against_both_tables() -> None:
    standard = data_path("document_types.csv")
    if not standard.exists():
        pytest.skip("document_types.csv (standards area) is not in this tree yet")
    import yaml

    known = set(_codes(standard)) | set(_codes(data_path("document_types_nodes.csv")))
    files = sorted(data_path("nodes").glob("*.yaml"))
    cat = parse_catalog(
        [(f.name, yaml.safe_load(f.read_text(encoding="utf-8"))) for f in files],
        ("limits.yaml", yaml.safe_load(data_path("limits.yaml").read_text(encoding="utf-8"))),
        known_documents=known,
    )
    assert len(cat.nodes) >= 120


def test_node_document_table_covers_every_code_the_standard_table_lacks(
    catalog: Catalog,
) -> None:
    """Without the standards table, the node table must at least hold the codes it adds."""
    nodes_table = set(_codes(data_path("document_types_nodes.csv")))
    standard = data_path("document_types.csv")
    if standard.exists():
        missing = _documents(catalog) - nodes_table - set(_codes(standard))
        assert missing == set()
    else:
        assert {"filing_decision", "case_withdrawal_order", "service_receipt"} <= nodes_table


# ---------------------------------------------------------------- behaviour of the data


def _replay(
    catalog: Catalog, steps: Iterable[tuple[str, str, str, str | None, tuple[str, ...]]]
) -> CaseState:
    """Propose (day, node, sender, receiver, persons) steps in order; every one must pass."""
    proc = Procedure(catalog)
    state = CaseState()
    for i, (day, node, sender, receiver, persons) in enumerate(steps):
        spec = catalog.nodes[node]
        ev = Event(
            id=f"e{i}",
            node=node,
            on=date.fromisoformat(day),
            sender_type=sender,
            receiver_type=receiver,
            persons=persons,
            documents=spec.required_documents,
        )
        state, _ = proc.propose(state, ev)
    return state


def _view(catalog: Catalog, state: CaseState, rule: str, as_of: str) -> LimitView:
    views = evaluate_limits(state, catalog, NO_HOLIDAYS, date.fromisoformat(as_of))
    return [v for v in views if v.rule == rule][-1]


ARREST = [
    ("2026-03-02", "detention_executed", "police", None, ("p1",)),
    ("2026-03-05", "arrest_request", "police", "procuratorate", ("p1",)),
    ("2026-03-10", "arrest_approved", "procuratorate", "police", ("p1",)),
]


def test_provincial_extensions_add_two_plus_two_months_to_investigative_custody(
    catalog: Catalog,
) -> None:
    state = _replay(
        catalog,
        [
            *ARREST,
            ("2026-04-30", "custody_extension_request", "police", "procuratorate", ("p1",)),
            ("2026-05-06", "custody_extension_approved", "procuratorate", "police", ("p1",)),
            (
                "2026-06-01",
                "custody_extension_provincial_request",
                "police",
                "procuratorate",
                ("p1",),
            ),
            (
                "2026-06-05",
                "custody_extension_provincial_approved",
                "procuratorate",
                "police",
                ("p1",),
            ),
            ("2026-08-01", "custody_extension_further_request", "police", "procuratorate", ("p1",)),
            (
                "2026-08-03",
                "custody_extension_further_approved",
                "procuratorate",
                "police",
                ("p1",),
            ),
        ],
    )
    # CPL 156: 2026-05-10; +1 month (CPL 156) 06-10; +2 months (CPL 158) 08-10; +2 (CPL 159) 10-10
    assert _view(catalog, state, "investigative_custody", "2026-08-03").due == date(2026, 10, 10)
    request_due = _view(catalog, state, "custody_extension_request_due", "2026-08-03")
    assert request_due.due == date(2026, 10, 3)  # seven days before expiry (MPS-R 150)


def test_another_serious_crime_restarts_investigative_custody(catalog: Catalog) -> None:
    state = _replay(
        catalog,
        [
            *ARREST,
            ("2026-04-01", "custody_recalculation_notice", "police", "procuratorate", ("p1",)),
        ],
    )
    views = [v for v in evaluate_limits(state, catalog, NO_HOLIDAYS, date(2026, 4, 1))]
    custody = [v for v in views if v.rule == "investigative_custody"]
    assert [v.status for v in custody] == ["met", "running"]
    assert custody[-1].due == date(2026, 6, 1)  # CPL 160 ¶1: counted afresh under CPL 156


def test_police_statement_answers_the_request_to_explain_non_filing(catalog: Catalog) -> None:
    state = _replay(
        catalog,
        [
            ("2026-03-02", "filing_reason_request", "procuratorate", "police", ()),
            ("2026-03-06", "filing_reason_statement", "police", "procuratorate", ()),
            ("2026-03-10", "filing_notice", "procuratorate", "police", ()),
            ("2026-03-20", "case_filed_notice", "police", "procuratorate", ()),
        ],
    )
    assert state.stage == "investigation"
    assert not state.open_requests
    statuses = {
        v.rule: v.status for v in evaluate_limits(state, catalog, NO_HOLIDAYS, date(2026, 4, 1))
    }
    assert statuses == {"filing_reason_reply_due": "met", "filing_after_notice_due": "met"}


def test_a_review_decision_without_a_review_request_is_refused(catalog: Catalog) -> None:
    proc = Procedure(catalog)
    state = _replay(catalog, ARREST)
    _, refusals = proc.check(
        state,
        Event(
            id="x",
            node="arrest_review_decision",
            on=date(2026, 3, 12),
            sender_type="procuratorate",
            receiver_type="police",
            persons=("p1",),
            documents=("review_decision",),
        ),
    )
    assert [r.rule for r in refusals] == ["reply_to_nothing"]


def test_a_receipt_may_be_sent_without_a_request_to_answer(catalog: Catalog) -> None:
    proc = Procedure(catalog)
    state = _replay(catalog, ARREST)
    _, refusals = proc.check(
        state,
        Event(
            id="r",
            node="receipt",
            on=date(2026, 3, 11),
            sender_type="detention_centre",
            receiver_type="police",
        ),
    )
    assert refusals == []


def test_a_third_return_for_supplementary_inquiry_is_refused_naming_spp_r_346(
    catalog: Catalog,
) -> None:
    back_and_forth = [
        (
            "2026-03-02",
            "supervisory_transfer_for_prosecution",
            "supervisory_commission",
            "procuratorate",
            (),
        ),
        (
            "2026-03-10",
            "return_for_supplementary_inquiry",
            "procuratorate",
            "supervisory_commission",
            (),
        ),
        (
            "2026-04-01",
            "resubmission_after_supplementary_inquiry",
            "supervisory_commission",
            "procuratorate",
            (),
        ),
        (
            "2026-04-10",
            "return_for_supplementary_inquiry",
            "procuratorate",
            "supervisory_commission",
            (),
        ),
        (
            "2026-05-01",
            "resubmission_after_supplementary_inquiry",
            "supervisory_commission",
            "procuratorate",
            (),
        ),
    ]
    state = _replay(catalog, back_and_forth)
    _, refusals = Procedure(catalog).check(
        state,
        Event(
            id="third",
            node="return_for_supplementary_inquiry",
            on=date(2026, 5, 10),
            sender_type="procuratorate",
            receiver_type="supervisory_commission",
            documents=("supplementary_inquiry_return_decision",),
        ),
    )
    assert [r.rule for r in refusals] == ["max_per_case"]
    assert [(b.law, b.article) for b in refusals[0].basis] == [("SPP-R", "346")]


def test_time_to_decide_measures_for_a_liuzhi_suspect_is_not_counted_in_review(
    catalog: Catalog,
) -> None:
    state = _replay(
        catalog,
        [
            (
                "2026-03-02",
                "supervisory_transfer_for_prosecution",
                "supervisory_commission",
                "procuratorate",
                (),
            ),
            ("2026-03-02", "supervisory_case_detention", "procuratorate", None, ("p1",)),
            ("2026-03-09", "supervisory_case_arrest_decision", "procuratorate", "police", ("p1",)),
        ],
    )
    decision = _view(catalog, state, "supervisory_detention_decision_due", "2026-03-09")
    assert (decision.due, decision.status) == (date(2026, 3, 12), "met")  # CPL 170 ¶2: 10 days
    review = _view(catalog, state, "prosecution_review", "2026-03-09")
    assert review.due == date(2026, 4, 9)  # one month (CPL 172) plus the 7 days not counted


def test_reading_the_file_in_second_instance_does_not_count_in_the_trial_period(
    catalog: Catalog,
) -> None:
    state = _replay(
        catalog,
        [
            ("2026-03-02", "public_prosecution", "procuratorate", "court", ()),
            ("2026-03-05", "prosecution_accepted", "court", "procuratorate", ()),
            ("2026-04-01", "first_instance_judgment_delivery", "court", "procuratorate", ()),
            ("2026-04-05", "protest", "procuratorate", "court", ()),
            ("2026-04-10", "file_review_notice", "court", "procuratorate", ()),
            ("2026-04-30", "file_review_completed", "procuratorate", "court", ()),
        ],
    )
    trial = _view(catalog, state, "second_instance_trial", "2026-04-30")
    assert trial.due == date(
        2026, 6, 25
    )  # 2026-06-05 (CPL 243) + 20 days of file reading (CPL 235)
