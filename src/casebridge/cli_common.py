"""What every `casebridge` sub-command shares: the --json flag and how JSON is printed."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from casebridge.errors import CasebridgeError

__all__ = ["JsonFlag", "print_json", "run_guarded"]

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def print_json(data: Any) -> None:
    """UTF-8 JSON (Chinese stays readable), dates and paths as strings."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def run_guarded(call: Callable[[], object]) -> None:
    """The CLI's error contract: one clear line (and the problems, one per line) and exit 1
    for every error, 130 on Ctrl-C — never a traceback."""
    try:
        call()
    except CasebridgeError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        for p in exc.problems:
            sys.stderr.write(
                f"  - {p.field}: {p.message}" + (f" ({p.code})" if p.code else "") + "\n"
            )
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:  # last resort: still one line, with what to report
        sys.stderr.write(f"error: unexpected {type(exc).__name__}: {exc}\n")
        raise SystemExit(1) from None
