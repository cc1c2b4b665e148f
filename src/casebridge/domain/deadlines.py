"""Counting legal periods (CPL 105) over a working-day calendar.

CPL 105: 期间以时、日、月计算。期间开始的时和日不算在期间以内 — the day of the starting event is
not counted, so an N-day period started on day D ends on D+N.

Months follow SPC-I 202 ¶1 (法释〔2021〕1号): 以月计算的期间，自本月某日至下月同日为一个月；
期限起算日为本月最后一日的，至下月最后一日为一个月；下月同日不存在的，自本月某日至下月最后一日为
一个月 — the same day-of-month N months later; from a month's last day, the target month's last
day; clamped where the day does not exist.

CPL 105: 期间的最后一日为节假日的，以节假日后的第一日为期满日期，但犯罪嫌疑人、被告人或者罪犯在押
期间，应当至期满之日为止，不得因节假日而延长 — the holiday shift of the last day never applies to
custody periods, nor while the person concerned is in custody. Periods given in hours (24 h)
are counted as whole days here, because the hub's events carry dates; the hour-exact view
belongs to the agencies' own systems.
"""

from __future__ import annotations

import calendar as _cal
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from casebridge.domain.catalog import Duration

__all__ = ["WorkCalendar", "add_duration", "due_date"]


@dataclass(frozen=True)
class WorkCalendar:
    """Official holidays (off) and make-up working days (调休上班) by date."""

    off_days: frozenset[date]
    make_up_workdays: frozenset[date]
    years: frozenset[int]  # years whose official schedule is loaded

    @classmethod
    def of(
        cls, off: Iterable[date], workdays: Iterable[date], years: Iterable[int]
    ) -> WorkCalendar:
        return cls(frozenset(off), frozenset(workdays), frozenset(years))

    def covers(self, d: date) -> bool:
        return d.year in self.years

    def is_working_day(self, d: date) -> bool:
        if d in self.make_up_workdays:
            return True
        if d in self.off_days:
            return False
        return d.weekday() < 5

    def next_working_day(self, d: date) -> date:
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d


def add_duration(start: date, duration: Duration) -> date:
    """Last day of a period started by an event on ``start`` (start day not counted)."""
    d = start + timedelta(days=duration.days)
    if duration.months:
        month0 = d.month - 1 + duration.months
        year, month = d.year + month0 // 12, month0 % 12 + 1
        last = _cal.monthrange(year, month)[1]
        from_month_end = d.day == _cal.monthrange(d.year, d.month)[1]
        d = date(year, month, last if from_month_end else min(d.day, last))
    return d


def due_date(last_day: date, calendar: WorkCalendar, *, no_holiday_shift: bool) -> date:
    """Apply CPL 105's holiday rule to a period's nominal last day."""
    if no_holiday_shift:
        return last_day
    return calendar.next_working_day(last_day)
