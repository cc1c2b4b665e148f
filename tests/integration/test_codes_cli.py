"""`casebridge codes …` as a user runs it (subprocess): the acceptance lines of issue 3."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from casebridge.standards.registry import load_standards


def codes(
    *args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CASEBRIDGE_")}
    return subprocess.run(
        [sys.executable, "-m", "casebridge.cli", "codes", *args],
        env={**base, "CASEBRIDGE_VAR_DIR": str(cwd / "var"), **(env or {})},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_search_finds_theft_with_article_264(tmp_path: Path) -> None:
    r = codes("search", "盗窃", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    hits = json.loads(r.stdout)
    theft = [h for h in hits if h["name_zh"] == "盗窃罪"]
    assert len(theft) == 1
    assert theft[0]["article"] == "264"
    assert theft[0]["table"] == "crime"
    assert len(hits) > 1  # other names containing 盗窃 are found too


def test_list_crime_gives_483_current_crimes_plus_retired_ones_marked(tmp_path: Path) -> None:
    r = codes("list", "crime", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    current = [c for c in out["codes"] if not c["retired"]]
    retired = [c for c in out["codes"] if c["retired"]]
    assert len(current) == out["current"] == 483
    assert retired
    assert len(retired) == out["retired"]
    assert all("successors" in c for c in retired)
    assert out["version"] == load_standards().table("crime").version


def test_validate_id_number_gives_birth_date_and_gender(tmp_path: Path) -> None:
    r = codes("validate", "id-number", "11010519491231002X", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["valid"] is True
    assert out["birth_date"] == "1949-12-31"
    assert out["gender"] == "2"


def test_validate_id_number_with_wrong_check_character_names_the_expected_one(
    tmp_path: Path,
) -> None:
    r = codes("validate", "id-number", "110105194912310021", "--json", cwd=tmp_path)
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["valid"] is False
    assert out["expected_check_char"] == "X"
    assert "expected X" in out["reasons"][0]
    assert r.stderr.startswith("error: invalid id-number")


def test_validate_court_case_number_gives_its_parts(tmp_path: Path) -> None:
    r = codes("validate", "court-case-number", "（2022）闽0102刑初123号", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["valid"] is True
    assert (out["year"], out["court_code"], out["type"], out["sequence"]) == (
        2022,
        "闽0102",
        "刑初",
        123,
    )
    assert out["type_name_en"] == "criminal first instance"


@pytest.mark.parametrize(
    "number", ["（2022）闽0102刑初号", "（2022）闽0102民初123号", "闽0102刑初123"]
)
def test_malformed_court_case_number_is_invalid_with_the_reason(
    tmp_path: Path, number: str
) -> None:
    r = codes("validate", "court-case-number", number, "--json", cwd=tmp_path)
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["valid"] is False
    assert out["reasons"]


def _police_payload() -> dict[str, Any]:
    person = {
        "key": "p1",
        "name": "张三",
        "role": "suspect",
        "gender": "M",
        "ethnicity": "01",
        "id_type": "resident_id_card",
        "id_number": "11010519491231002X",
        "domicile": "350102",
        "measure": "05",
        "charges": [{"crime": "050204"}, {"crime": "020100", "crime_std": "C0014"}],
    }
    return {
        "case": {"title": "张三盗窃案", "case_ref": "A1", "crime": "050204"},
        "persons": [person, {**copy.deepcopy(person), "key": "p2", "gender": "F", "measure": "02"}],
        "documents": [{"type": "prosecution_opinion", "title": "起诉意见书", "pages": 3}],
    }


def test_convert_police_to_court_converts_every_coded_field(tmp_path: Path) -> None:
    payload = _police_payload()
    r = codes(
        "convert", "--from", "police", "--to", "court", "--json",
        cwd=tmp_path, stdin=json.dumps(payload, ensure_ascii=False),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    std = load_standards()
    expected = std.convert(payload, "police", "court").payload
    assert out["payload"] == expected
    court = std.dialects["court"].tables
    p1 = out["payload"]["persons"][0]
    assert court["crime"].inbound[out["payload"]["case"]["crime"]] == ("C0221",)
    assert [court["crime"].inbound[c["crime"]] for c in p1["charges"]] == [("C0221",), ("C0014",)]
    assert court["person_role"].inbound[p1["role"]] == ("suspect",)
    assert (p1["gender"], p1["measure"]) == ("1", "detention")
    assert out["table_versions"]["crime"] == std.table("crime").version


def test_convert_with_unmapped_and_ambiguous_codes_exits_1_listing_every_problem(
    tmp_path: Path,
) -> None:
    payload = _police_payload()
    payload["case"]["crime"] = "999999"
    del payload["persons"][0]["charges"][1]["crime_std"]
    payload["persons"][1]["measure"] = "77"
    r = codes(
        "convert", "--from", "police", "--to", "court", "--json",
        cwd=tmp_path, stdin=json.dumps(payload, ensure_ascii=False),
    )  # fmt: skip
    assert r.returncode == 1
    problems = json.loads(r.stdout)["problems"]
    assert {(p["field"], p["rule"]) for p in problems} == {
        ("case.crime", "unmapped"),
        ("persons[0].charges[1].crime", "ambiguous"),
        ("persons[1].measure", "unmapped"),
    }
    assert all({"table", "dialect", "code"} <= set(p) for p in problems)
    assert r.stderr.startswith("error: conversion police → court failed: 3 problem(s)")
    assert r.stderr.count("\n  - ") == 3


def test_convert_without_json_prints_the_payload_and_reads_a_file(tmp_path: Path) -> None:
    f = tmp_path / "payload.json"
    f.write_text(json.dumps(_police_payload(), ensure_ascii=False), encoding="utf-8")
    r = codes("convert", "--from", "police", "--to", "standard", "--file", str(f), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["case"]["crime"] == "C0221"


def test_convert_refuses_text_that_is_not_json_in_one_line(tmp_path: Path) -> None:
    r = codes("convert", "--from", "police", "--to", "court", cwd=tmp_path, stdin="{nope")
    assert r.returncode == 1
    assert r.stderr.startswith("error: payload is not valid JSON")
    assert "Traceback" not in r.stderr


def test_show_unknown_code_is_one_error_line(tmp_path: Path) -> None:
    r = codes("show", "crime", "C9999", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip() == "error: no code 'C9999' in table crime"


def test_show_a_retired_crime_names_its_successor(tmp_path: Path) -> None:
    crime = load_standards().table("crime")
    old = next(e for e in crime.entries.values() if e.name_zh == "偷税罪")
    r = codes("show", "crime", old.code, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["retired"] is True
    assert [crime.entries[c].name_zh for c in out["successors"]] == ["逃税罪"]
    assert out["successor_names"] == ["逃税罪"]


def test_list_without_a_table_lists_tables_and_synthetic_dialects(tmp_path: Path) -> None:
    r = codes("list", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {t["table"] for t in out["tables"]} == set(load_standards().tables)
    assert all(d["synthetic"] for d in out["dialects"])


def test_codes_commands_work_the_same_after_init(db_url: str, tmp_path: Path) -> None:
    env = {"CASEBRIDGE_DATABASE_URL": db_url}
    base = {k: v for k, v in os.environ.items() if not k.startswith("CASEBRIDGE_")}
    init = subprocess.run(
        [sys.executable, "-m", "casebridge.cli", "init", "--json"],
        env={**base, "CASEBRIDGE_VAR_DIR": str(tmp_path / "var"), **env},
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    created = json.loads(init.stdout)["created"]
    assert created["code_tables"] == len(load_standards().tables)
    r = codes("search", "盗窃", "--json", cwd=tmp_path, env=env)
    assert any(h["name_zh"] == "盗窃罪" for h in json.loads(r.stdout))
