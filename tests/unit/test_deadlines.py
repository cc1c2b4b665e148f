"""CPL 105 period arithmetic and the holiday rule, on the shipped official calendar."""

from __future__ import annotations

from datetime import date

import pytest

from casebridge.domain.catalog import Duration
from casebridge.domain.deadlines import add_duration, due_date
from casebridge.standards.calendar import load_calendar, parse_calendar

CAL = load_calendar()


@pytest.mark.parametrize(
    ("start", "duration", "last"),
    [
        (date(2026, 3, 5), Duration(days=7), date(2026, 3, 12)),  # start day not counted
        (date(2026, 3, 2), Duration(days=3), date(2026, 3, 5)),
        (date(2026, 3, 10), Duration(months=2), date(2026, 5, 10)),  # same day, two months on
        (date(2026, 1, 31), Duration(months=1), date(2026, 2, 28)),  # clamped to month end
        (date(2024, 1, 31), Duration(months=1), date(2024, 2, 29)),
        (date(2026, 1, 30), Duration(months=1), date(2026, 2, 28)),  # 下月同日不存在
        (date(2026, 2, 28), Duration(months=1), date(2026, 3, 31)),  # from a month's last day
        (date(2026, 4, 30), Duration(months=1), date(2026, 5, 31)),
        (date(2026, 11, 30), Duration(months=3), date(2027, 2, 28)),
    ],
)
def test_add_duration(start: date, duration: Duration, last: date) -> None:
    assert add_duration(start, duration) == last


def test_calendar_knows_official_days_and_make_up_workdays() -> None:
    assert not CAL.is_working_day(date(2026, 10, 1))  # 国庆节
    assert CAL.is_working_day(date(2026, 10, 10))  # Saturday, make-up working day
    assert not CAL.is_working_day(date(2026, 3, 7))  # ordinary Saturday
    assert CAL.is_working_day(date(2026, 3, 9))
    assert CAL.covers(date(2026, 12, 31))
    assert not CAL.covers(date(2027, 1, 1))


def test_non_custody_last_day_on_holiday_moves_to_next_working_day() -> None:
    last = add_duration(date(2026, 9, 16), Duration(days=15))
    assert last == date(2026, 10, 1)
    assert due_date(last, CAL, no_holiday_shift=False) == date(2026, 10, 8)


def test_custody_last_day_on_holiday_does_not_move() -> None:
    last = add_duration(date(2026, 9, 24), Duration(days=7))
    assert due_date(last, CAL, no_holiday_shift=True) == date(2026, 10, 1)


def test_bad_calendar_rows_are_all_reported() -> None:
    from casebridge.errors import InvalidInput

    lines = [
        "date,kind,holiday_zh,holiday_en,year,source",
        "2026-13-01,off,x,x,2026,s",
        "2026-01-02,holiday,x,x,2026,s",
    ]
    with pytest.raises(InvalidInput) as err:
        parse_calendar(lines, "t.csv")
    assert [p.field for p in err.value.problems] == ["t.csv:row 1", "t.csv:row 2.kind"]
