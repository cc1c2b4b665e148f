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
from casebridge.i18n import DEFAULT, N_, cli_language, tr, translate

__all__ = ["JsonFlag", "cli_lang", "help_texts", "localized", "print_json", "run_guarded", "say"]

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


# The words of Typer's help screen itself (panel titles, the [default: …] label, …).
_HELP_SCREEN = (
    "ARGUMENTS_PANEL_TITLE",
    "OPTIONS_PANEL_TITLE",
    "COMMANDS_PANEL_TITLE",
    "ERRORS_PANEL_TITLE",
    "DEFAULT_STRING",
    "REQUIRED_LONG_STRING",
    "ABORTED_TEXT",
    "ENVVAR_STRING",
    "RANGE_STRING",
    "DEPRECATED_STRING",
)


def _walk(command: Any) -> Any:
    """Every command of a click tree (Typer's groups keep theirs in ``commands``)."""
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _walk(sub)


def _params(command: Any) -> list[Any]:
    """A command's parameters with its --help option, which click makes (and caches) on
    first use: made here, so that its text can be translated too."""
    ctx = command.context_class(command, info_name=command.name, **command.context_settings)
    helper = command.get_help_option(ctx)
    return [*command.params, *([helper] if helper is not None else [])]


def help_texts(command: Any) -> list[str]:
    """The English --help texts of a command tree and of the help screen, each once: what
    the catalog must translate (tests/unit/test_i18n.py checks it does)."""
    import typer.rich_utils as screen

    texts: list[str] = []
    for cmd in _walk(command):
        texts += [t for t in (cmd.help, cmd.short_help) if t]
        texts += [p.help for p in _params(cmd) if getattr(p, "help", None)]
    texts += [getattr(screen, name) for name in _HELP_SCREEN]
    return list(dict.fromkeys(texts))


def localized(app: typer.Typer) -> Any:
    """``app`` as a click command whose --help speaks the command line's language.

    Help texts stay plain English strings in the code (Typer reads them at import, before
    the language is known); the catalog holds their translations under the English text, so
    they are swapped here, once, before the command runs. English costs nothing.
    """
    import typer.main

    command = typer.main.get_command(app)
    lang = cli_lang()
    if lang == DEFAULT:
        return command
    import typer.rich_utils as screen

    for cmd in _walk(command):
        cmd.help = translate(cmd.help, lang) if cmd.help else cmd.help
        cmd.short_help = translate(cmd.short_help, lang) if cmd.short_help else cmd.short_help
        for param in _params(cmd):
            if getattr(param, "help", None):
                param.help = translate(param.help, lang)
    for name in _HELP_SCREEN:
        setattr(screen, name, translate(getattr(screen, name), lang))
    return command
