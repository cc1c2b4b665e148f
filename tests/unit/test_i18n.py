"""Bilingual user-facing text: the catalog covers every marked string; negotiation works."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

import casebridge
from casebridge.domain.dossier import PageRef
from casebridge.errors import ConfigError, CorruptData, Problem, Said
from casebridge.i18n import cli_language, negotiate, tr, translate

SRC = Path(casebridge.__file__).parent


def marked_strings() -> set[str]:
    return {
        msg
        for _, _, msg, _, _ in extract_from_dir(
            str(SRC), method_map=[("**.py", "python")], keywords={"N_": None}
        )
        if isinstance(msg, str)
    }


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_translation_keeps_the_placeholders_of_its_message() -> None:
    """A translation that loses or renames a ``{field}`` would fail where it is shown, on an
    error path; caught here instead."""
    wrong = {
        m: translate(m, "zh_Hans")
        for m in marked_strings()
        if _fields(translate(m, "zh_Hans")) != _fields(m)
    }
    assert wrong == {}


def test_a_broken_translation_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    import casebridge.i18n as i18n

    monkeypatch.setattr(i18n, "translate", lambda message, lang: "译文丢了 {y}")
    assert tr("page {x} is bad", "zh_Hans", {"x": 1}) == "page 1 is bad"


def test_every_marked_string_has_a_chinese_translation() -> None:
    marked = marked_strings()
    assert len(marked) >= 15
    missing = sorted(m for m in marked if translate(m, "zh_Hans") == m)
    assert missing == [], "add these to locales/zh_Hans/LC_MESSAGES/casebridge.po"


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("en;q=0.5, zh-Hans;q=0.9", "zh_Hans"),
        ("zh-TW", "zh_Hans"),
        ("fr-FR", "en"),
        ("garbage;q=x", "en"),
    ],
)
def test_language_negotiation(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


def test_translate_falls_back_to_english() -> None:
    assert translate("Not found", "zh_Hans") == "未找到"
    assert translate("Not found", "en") == "Not found"
    assert translate("no such message", "zh_Hans") == "no such message"


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh_Hans"),
        ({"LANG": "zh_TW.UTF-8"}, "zh_Hans"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "C.UTF-8"}, "zh_Hans"),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL first, as the C library
        ({"CASEBRIDGE_LANG": "en", "LC_ALL": "zh_CN.UTF-8"}, "en"),
        ({"CASEBRIDGE_LANG": "zh_Hans"}, "zh_Hans"),
        ({"CASEBRIDGE_LANG": "zh-CN"}, "zh_Hans"),
    ],
)
def test_the_command_lines_language(environ: dict[str, str], lang: str) -> None:
    assert cli_language(environ) == lang


def test_an_unsupported_casebridge_lang_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="CASEBRIDGE_LANG: 'fr' is not a supported language"):
        cli_language({"CASEBRIDGE_LANG": "fr", "LANG": "zh_CN.UTF-8"})


def test_an_error_naming_a_page_says_it_in_either_language() -> None:
    ref = PageRef("A-1", 2, "卷二", 1, "起诉意见书", 7, "0007.jpg")
    exc = CorruptData("{ref}: received bytes do not match the manifest's hash", params={"ref": ref})
    assert exc.message == (
        "dossier A-1, volume 2 «卷二», document 1 «起诉意见书», page 7 (0007.jpg): "
        "received bytes do not match the manifest's hash"
    )
    assert exc.localized("en") == exc.message
    assert exc.localized("zh_Hans") == (
        "电子卷宗 A-1，第 2 卷《卷二》，第 1 份材料《起诉意见书》，第 7 页（0007.jpg）："
        "收到的字节与清单中的哈希值不符"
    )
    problem = Problem("page", Said("{ref}: bytes do not match the manifest", ref=ref))
    assert problem.message.startswith("dossier A-1, volume 2")
    assert problem.localized("zh_Hans").endswith("第 7 页（0007.jpg）：内容与清单不符")
    assert problem == Problem("page", str(problem.message))  # the template is not identity


def test_every_help_text_of_the_command_line_has_a_chinese_translation() -> None:
    """--help texts stay English strings in the code (Typer reads them at import); the catalog
    holds them under their English text, and ``localized`` swaps them in."""
    import typer.main

    from casebridge.cli import app
    from casebridge.cli_common import help_texts
    from casebridge.i18n import _catalog

    catalog = _catalog("zh_Hans")
    assert catalog is not None
    texts = help_texts(typer.main.get_command(app))
    assert len(texts) >= 90
    missing = [t for t in texts if not (catalog.get(t) and catalog.get(t).string)]
    assert missing == [], "add these to locales/zh_Hans/LC_MESSAGES/casebridge.po"
    wrong = [t for t in texts if _fields(translate(t, "zh_Hans")) != _fields(t)]
    assert wrong == []
