"""What every `casebridge` sub-command shares: the --json flag and how JSON is printed."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

__all__ = ["JsonFlag", "print_json"]

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def print_json(data: Any) -> None:
    """UTF-8 JSON (Chinese stays readable), dates and paths as strings."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
