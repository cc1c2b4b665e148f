"""The working-day calendar from the official holiday schedules (data/holidays_cn.csv)."""

from __future__ import annotations

import csv
from datetime import date
from functools import cache
from pathlib import Path

from casebridge.domain.deadlines import WorkCalendar
from casebridge.errors import InvalidInput, Problem, Said
from casebridge.i18n import N_
from casebridge.standards import data_path

__all__ = ["load_calendar", "parse_calendar"]


def parse_calendar(lines: list[str], source: str) -> WorkCalendar:
    """Parse the CSV (comment lines start with #); every bad row is reported at once."""
    off: set[date] = set()
    work: set[date] = set()
    years: set[int] = set()
    problems: list[Problem] = []
    rows = csv.DictReader(line for line in lines if not line.startswith("#"))
    for n, row in enumerate(rows, start=1):
        try:
            d = date.fromisoformat(row["date"])
            year = int(row["year"])
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(
                Problem(f"{source}:row {n}", Said(N_("bad date or year: {error}"), error=exc))
            )
            continue
        if row.get("kind") == "off":
            off.add(d)
        elif row.get("kind") == "workday":
            work.add(d)
        else:
            problems.append(
                Problem(
                    f"{source}:row {n}.kind", Said(N_("must be off or workday")), row.get("kind")
                )
            )
            continue
        years.add(year)
    if problems:
        raise InvalidInput(
            N_("holiday calendar {source} is invalid"), problems=problems, params={"source": source}
        )
    return WorkCalendar.of(off, work, years)


@cache
def load_calendar(path: Path | None = None) -> WorkCalendar:
    p = path or data_path("holidays_cn.csv")
    return parse_calendar(p.read_text(encoding="utf-8").splitlines(), p.name)
