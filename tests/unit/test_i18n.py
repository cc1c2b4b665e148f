"""Bilingual user-facing text: the catalog covers every marked string; negotiation works."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

import casebridge
from casebridge.i18n import negotiate, translate

SRC = Path(casebridge.__file__).parent


def marked_strings() -> set[str]:
    return {
        msg
        for _, _, msg, _, _ in extract_from_dir(
            str(SRC), method_map=[("**.py", "python")], keywords={"N_": None}
        )
        if isinstance(msg, str)
    }


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
