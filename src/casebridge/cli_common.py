"""What every `casebridge` sub-command shares: the --json flag, how JSON is printed, the
language of its messages and how errors are printed."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from casebridge.errors import CasebridgeError, ConfigError
from casebridge.i18n import DEFAULT, N_, cli_language, tr

__all__ = ["JsonFlag", "cli_lang", "print_json", "run_guarded", "say"]

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def print_json(data: Any) -> None:
    """UTF-8 JSON (Chinese stays readable), dates and paths as strings."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def cli_lang() -> str:
    """The language of this command's messages (see :func:`casebridge.i18n.cli_language`);
    English while the setting itself is wrong (:func:`run_guarded` reports it)."""
    try:
        return cli_language(os.environ)
    except ConfigError:
        return DEFAULT


def say(message: str, **params: object) -> str:
    """A marked message in the command's language, with its parameters filled in."""
    return tr(message, cli_lang(), params)


def run_guarded(call: Callable[[], object]) -> None:
    """The CLI's error contract: one clear line (and the problems, one per line) and exit 1
    for every error, 130 on Ctrl-C — never a traceback. In the user's language where the
    catalog has the message (``error:`` / ``错误：``)."""
    lang = DEFAULT
    try:
        lang = cli_language(os.environ)  # a bad CASEBRIDGE_LANG is an error like any other
        call()
    except CasebridgeError as exc:
        sys.stderr.write(tr(N_("error: {message}"), lang, {"message": exc.localized(lang)}) + "\n")
        for p in exc.problems:
            sys.stderr.write(
                f"  - {p.field}: {p.localized(lang)}" + (f" ({p.code})" if p.code else "") + "\n"
            )
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:  # last resort: still one line, with what to report
        sys.stderr.write(
            tr(
                N_("error: unexpected {kind}: {detail}"),
                lang,
                {"kind": type(exc).__name__, "detail": exc},
            )
            + "\n"
        )
        raise SystemExit(1) from None
