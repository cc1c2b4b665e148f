"""The converter adapter the exchange services plug in (CodeConverter shape)."""

from __future__ import annotations

import pytest

from casebridge.errors import InvalidInput
from casebridge.standards.converter import StandardsConverter
from casebridge.standards.registry import load_standards

STD = load_standards()


def test_inbound_uses_the_senders_dialect_and_reports_table_and_mapping_versions() -> None:
    conv = StandardsConverter()
    payload = {"case": {"title": "t", "case_ref": "r", "crime": "050204"}}
    std_payload, versions = conv.inbound("police", payload)
    assert std_payload["case"]["crime"] == "C0221"
    assert versions == {
        "crime": STD.table("crime").version,
        "police/crime": STD.dialects["police"].version,
    }


def test_outbound_speaks_the_receivers_dialect() -> None:
    conv = StandardsConverter()
    payload = {"case": {"title": "t", "case_ref": "r", "crime": "C0221"}}
    court = conv.outbound("court", payload)
    assert STD.dialects["court"].tables["crime"].inbound[court["case"]["crime"]] == ("C0221",)
    assert conv.outbound("legal_aid", payload) == payload  # no dialect: the standard


def test_without_dialects_codes_are_still_checked_against_the_standard() -> None:
    conv = StandardsConverter(agency_dialects={})
    ok, _ = conv.inbound("police", {"persons": [{"name": "n", "measure": "detention"}]})
    assert ok["persons"][0]["measure"] == "detention"
    with pytest.raises(InvalidInput) as exc:
        conv.inbound("police", {"persons": [{"name": "n", "measure": "05"}]})
    assert exc.value.problems[0].rule == "unknown"
