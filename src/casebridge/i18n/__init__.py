"""User-facing text in Simplified Chinese and English (Babel message catalogs).

Strings are marked with ``N_`` where they are defined (so that ``pybabel extract`` finds them)
and translated where they are shown, for the language the user asked for. The catalogs are the
``.po`` files under ``locales/``, read with Babel at first use (nothing generated is committed).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

__all__ = ["DEFAULT", "LANGUAGES", "N_", "content_language", "negotiate", "translate"]

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
