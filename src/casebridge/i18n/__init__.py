"""User-facing text in Simplified Chinese and English (Babel message catalogs).

Strings are marked with ``N_`` where they are defined (so that ``pybabel extract`` finds them)
and translated where they are shown, for the language the user asked for. The catalogs are the
``.po`` files under ``locales/``, read with Babel at first use (nothing generated is committed).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "N_",
    "accept_language",
    "cli_language",
    "content_language",
    "negotiate",
    "tr",
    "translate",
]

DEFAULT = "en"
LANGUAGES = ("en", "zh_Hans")
_LOCALES = Path(__file__).with_name("locales")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


@cache
def _catalog(lang: str) -> Catalog | None:
    path = _LOCALES / lang / "LC_MESSAGES" / "casebridge.po"
    if not path.exists():
        return None
    from babel.messages.pofile import read_po  # here: English needs no catalog, CLIs start faster

    with path.open("rb") as fh:
        return read_po(fh, locale=lang.replace("_Hans", ""))


def translate(message: str, lang: str) -> str:
    if lang == DEFAULT:
        return message
    catalog = _catalog(lang)
    entry = catalog.get(message) if catalog is not None else None
    text = entry.string if entry is not None else None
    return text if isinstance(text, str) and text else message


def negotiate(accept_language: str | None) -> str:
    """Pick the language from an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            # Traditional-script requests get Simplified rather than English: closer to intent.
            return "zh_Hans"
        if tag.startswith("en") or tag == "*":
            return "en"
    return DEFAULT


def content_language(lang: str) -> str:
    return "zh-Hans" if lang == "zh_Hans" else "en"


def accept_language(lang: str) -> str:
    """The Accept-Language a client sends to get the hub's messages in ``lang``."""
    return "zh-CN,zh;q=0.9,en;q=0.5" if lang == "zh_Hans" else "en"


def _from_tag(tag: str) -> str | None:
    tag = tag.strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh_Hans"
    if tag.startswith("en") or tag in ("c", "posix"):
        return "en"
    return None


def cli_language(environ: Mapping[str, str]) -> str:
    """The command line's language: ``CASEBRIDGE_LANG`` (``en`` or ``zh_Hans``) if set, else
    the POSIX locale (the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set, as the C
    library reads them), else English. An officer whose desktop is in Chinese gets Chinese
    without a flag; scripts set ``CASEBRIDGE_LANG=en`` (or use ``--json``) to pin the text.
    """
    explicit = environ.get("CASEBRIDGE_LANG", "").strip()
    if explicit:
        lang = _from_tag(explicit)
        if lang is None:
            from casebridge.errors import ConfigError

            raise ConfigError(
                f"setting CASEBRIDGE_LANG: {explicit!r} is not a supported language "
                f"(use one of {', '.join(LANGUAGES)})"
            )
        return lang
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(var, "").strip()
        if value:
            return _from_tag(value.split(".")[0].split("@")[0]) or DEFAULT
    return DEFAULT


def tr(message: str, lang: str, params: Mapping[str, Any] | None = None) -> str:
    """``message`` (a marked template) in ``lang``, with ``params`` filled in; a parameter
    that can say itself in a language (``localized(lang)``, e.g. a page reference) does."""
    text = translate(message, lang)
    if not params:
        return text
    values = {k: v.localized(lang) if hasattr(v, "localized") else v for k, v in params.items()}
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):  # a broken translation: English, never a crash
        return message.format(**values)
