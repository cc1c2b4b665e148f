"""The commands beyond `casebridge dossier` speak the user's language too (the desktop's
locale, or CASEBRIDGE_LANG), while codes, identifiers and command names stay as they are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.test_cli import run_cli

SCENARIO = (
    "as_of: 2026-03-20\n"
    "persons: [{key: p1, name: 张三}]\n"
    "events:\n"
    "  - {date: 2026-03-02, node: 执行拘留, person: p1}\n"
)

EXPECTED = {
    "en": {
        "intact": "audit log intact: ",
        "bad_date": "error: --as-of 'nope' is not a date (YYYY-MM-DD)",
        "invalid": "id-number '110105194912310021': INVALID",
        "invalid_error": "error: invalid id-number",
        "no_node": "error: no collaboration node 'nope'; see `casebridge nodes list`",
        "stages": "  stages: ",
        "as_of": "as of 2026-03-20: stage ",
    },
    "zh_Hans": {
        "intact": "审计日志完整：",
        "bad_date": "错误：--as-of 'nope' 不是日期（格式 YYYY-MM-DD）",
        "invalid": "id-number '110105194912310021'：无效",
        "invalid_error": "错误：id-number 无效",
        "no_node": "错误：没有协同节点 'nope'；请查看 `casebridge nodes list`",
        "stages": "  诉讼阶段：",
        "as_of": "截至 2026-03-20：诉讼阶段 ",
    },
}


@pytest.mark.parametrize(("lang", "locale"), [("en", "en_US.UTF-8"), ("zh_Hans", "zh_CN.UTF-8")])
def test_audit_alerts_and_procedure_follow_the_desktop_locale(
    tmp_path: Path, lang: str, locale: str
) -> None:
    env = {"CASEBRIDGE_VAR_DIR": str(tmp_path / "var")}
    assert run_cli("init", env=env, cwd=tmp_path).returncode == 0
    said = EXPECTED[lang]
    env["LC_MESSAGES"] = locale
    ok = run_cli("audit", "verify", env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(said["intact"])
    bad = run_cli("alerts", "--as-of", "nope", env=env, cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.strip() == said["bad_date"]
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    checked = run_cli("procedure", "check", str(scenario), env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(said["as_of"])


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_codes_and_nodes_speak_the_language_of_casebridge_lang(tmp_path: Path, lang: str) -> None:
    env = {"CASEBRIDGE_VAR_DIR": str(tmp_path / "var"), "CASEBRIDGE_LANG": lang}
    said = EXPECTED[lang]
    invalid = run_cli("codes", "validate", "id-number", "110105194912310021", env=env, cwd=tmp_path)
    assert invalid.returncode == 1
    assert invalid.stdout.startswith(said["invalid"])
    assert invalid.stderr.startswith(said["invalid_error"])
    missing = run_cli("nodes", "show", "nope", env=env, cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == said["no_node"]
    node = run_cli("nodes", "show", "批准逮捕", env=env, cwd=tmp_path)
    assert node.returncode == 0, node.stderr
    assert said["stages"] in node.stdout


@pytest.mark.parametrize(
    ("lang", "refused"),
    [
        ("en", "refused event 0 arrest_request: arrest_request requires document"),
        ("zh_Hans", "已拒绝 事件 0 arrest_request：arrest_request 须附文书"),
    ],
)
def test_a_refusal_shows_its_rule_and_legal_basis(tmp_path: Path, lang: str, refused: str) -> None:
    """A refusal's rule and basis, in brackets, used to vanish: Rich read them as a style tag."""
    env = {"CASEBRIDGE_VAR_DIR": str(tmp_path / "var"), "CASEBRIDGE_LANG": lang}
    assert run_cli("init", env=env, cwd=tmp_path).returncode == 0  # CASEBRIDGE_LANG is no setting
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "as_of: 2026-03-20\n"
        "persons: [{key: p1, name: 张三}]\n"
        "events:\n"
        "  - {date: 2026-03-05, node: 提请批准逮捕, person: p1}\n",  # no documents
        encoding="utf-8",
    )
    checked = run_cli("procedure", "check", str(scenario), env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    [line] = [x for x in checked.stdout.splitlines() if x.startswith(refused)]
    assert line.endswith("[documents_required; CPL 87; CPL 91(1)]"), line


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_help_speaks_the_command_lines_language(tmp_path: Path, lang: str) -> None:
    from casebridge.i18n import translate

    env = {"CASEBRIDGE_LANG": lang, "COLUMNS": "200"}
    for args, text in [
        (("--help",), "Print the version."),
        (("dossier", "pull", "--help"), "Folder to receive the dossier into."),
    ]:
        shown = run_cli(*args, env=env, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert translate(text, lang) in shown.stdout
        assert translate("Options", lang) in shown.stdout
    if lang != "en":
        assert "Folder to receive the dossier into." not in shown.stdout
    # `casebridge dossier …` through the executable's fast path (casebridge.entry) too
    import subprocess
    import sys

    fast = subprocess.run(
        [sys.executable, "-m", "casebridge.entry", "dossier", "pull", "--help"],
        env={**os.environ, "LANG": "C.UTF-8", **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert fast.returncode == 0, fast.stderr
    assert translate("Folder to receive the dossier into.", lang) in fast.stdout
