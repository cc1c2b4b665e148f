"""The CLI as a user runs it: a subprocess, one clear line on failure, --json on success."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # The machine's language settings do not leak in: English unless a test asks otherwise.
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CASEBRIDGE_") and k not in ("LC_ALL", "LC_MESSAGES", "LANG")
    }
    return subprocess.run(
        [sys.executable, "-m", "casebridge.cli", *args],
        env={**base, "LANG": "C.UTF-8", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_init_twice_changes_nothing_the_second_time(db_url: str, tmp_path: Path) -> None:
    env = {"CASEBRIDGE_DATABASE_URL": db_url, "CASEBRIDGE_VAR_DIR": str(tmp_path / "var")}
    first = run_cli("init", "--json", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["changed"] is True
    tokens_before = (tmp_path / "var" / "demo-tokens.json").read_text()

    second = run_cli("init", "--json", env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout)
    assert out["changed"] is False
    assert out["created"] == {}
    assert (tmp_path / "var" / "demo-tokens.json").read_text() == tokens_before


def test_bad_setting_is_one_line_and_nonzero(tmp_path: Path) -> None:
    r = run_cli("init", env={"CASEBRIDGE_PORT": "eighty"}, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0
    assert r.stderr.startswith("error: invalid setting CASEBRIDGE_PORT")
    assert "Traceback" not in r.stderr


def test_unknown_setting_is_one_line_and_nonzero(tmp_path: Path) -> None:
    r = run_cli("db", "upgrade", env={"CASEBRIDGE_DATABSE_URL": "x"}, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0
    assert "unknown setting CASEBRIDGE_DATABSE_URL" in r.stderr


def test_a_bad_page_hashing_choice_stops_even_the_gateway_commands(tmp_path: Path) -> None:
    """The dossier commands load no settings, but read CASEBRIDGE_SHA256: a bad value is
    one line naming it, in the reader's language, before anything is done."""
    r = run_cli("dossier", "pack", str(tmp_path), env={"CASEBRIDGE_SHA256": "fast"}, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0
    assert "invalid setting CASEBRIDGE_SHA256: must be auto, hashlib, simd (got 'fast')" in r.stderr
    zh = run_cli(
        "dossier", "pack", str(tmp_path),
        env={"CASEBRIDGE_SHA256": "fast", "CASEBRIDGE_LANG": "zh_Hans"}, cwd=tmp_path,
    )  # fmt: skip
    assert zh.returncode == 1
    assert "CASEBRIDGE_SHA256" in zh.stderr
    assert "invalid setting" not in zh.stderr  # said in Chinese
    assert not list(tmp_path.iterdir())  # nothing written


def test_unreachable_database_is_one_line_and_nonzero(tmp_path: Path) -> None:
    env = {"CASEBRIDGE_DATABASE_URL": "postgresql+psycopg://u:pw@127.0.0.1:1/none"}
    r = run_cli("init", env=env, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0
    assert r.stderr.startswith("error: database postgresql+psycopg://u:***@127.0.0.1:1/none")
    assert "pw@" not in r.stderr


def test_unwritable_sqlite_location_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = {"CASEBRIDGE_DATABASE_URL": f"sqlite:///{blocker}/sub/cb.db"}
    r = run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "Traceback" not in r.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {"CASEBRIDGE_VAR_DIR": str(tmp_path / "var")}
    r = run_cli("serve", env=env, cwd=tmp_path)
    assert r.returncode == 1
    assert "casebridge db upgrade" in r.stderr


def test_admin_token_issues_a_working_token(tmp_path: Path) -> None:
    env = {"CASEBRIDGE_VAR_DIR": str(tmp_path / "var")}
    assert run_cli("init", env=env, cwd=tmp_path).returncode == 0
    r = run_cli("admin", "token", "court.handler", "--json", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["token"].startswith("cbt_")
    missing = run_cli("admin", "token", "nobody", env=env, cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: no user named 'nobody'"


def test_nodes_list_json_gives_catalog_with_bases(tmp_path: Path) -> None:
    r = run_cli("nodes", "list", "--json", env={}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    nodes = json.loads(r.stdout)
    assert len(nodes) >= 120
    assert all(n["basis"] and n["basis"][0]["law"] for n in nodes)
    assert sum(1 for n in nodes if n["reply_to"]) >= 30


def test_procedure_check_scenario_file(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "as_of: 2026-03-20\n"
        "persons: [{key: p1, name: 张三}]\n"
        "events:\n"
        "  - {date: 2026-03-02, node: 执行拘留, person: p1}\n"
        "  - {date: 2026-03-05, node: 提请批准逮捕, person: p1, documents: [arrest_request]}\n"
        "  - {date: 2026-03-13, node: 批准逮捕, person: p1,"
        " documents: [arrest_approval_decision]}\n",
        encoding="utf-8",
    )
    r = run_cli("procedure", "check", str(scenario), "--json", env={}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) >= {"state", "limits", "alerts", "refused"}
    custody = next(v for v in out["limits"] if v["rule"] == "investigative_custody")
    assert custody["due"] == "2026-05-13"
    [overdue] = [a for a in out["alerts"] if a["kind"] == "overdue"]
    assert overdue["responsible_agency_type"] == "procuratorate"
    assert overdue["basis"][0] == {"law": "CPL", "article": "91", "paragraph": 3}


def test_procedure_check_bad_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"as_of": "2026-03-20", "events": [{"date": "x", "node": "nope"}]}')
    r = run_cli("procedure", "check", str(bad), "--json", env={}, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("error: scenario is invalid")
    assert "events[0].date" in r.stderr
    assert "events[0].node" in r.stderr


def test_audit_verify_names_the_tampered_event(tmp_path: Path) -> None:
    import sqlite3

    env = {"CASEBRIDGE_VAR_DIR": str(tmp_path / "var")}
    assert run_cli("init", env=env, cwd=tmp_path).returncode == 0
    ok = run_cli("audit", "verify", "--json", env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    db = sqlite3.connect(tmp_path / "var" / "casebridge.db")
    with db:
        db.execute("UPDATE audit_event SET object_id = 'forged' WHERE seq = 4")
    db.close()
    bad = run_cli("audit", "verify", env=env, cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: audit log verification failed at event #4")
    assert "was altered" in bad.stderr
