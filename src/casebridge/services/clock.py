"""Dates of legal events are China Standard Time dates (UTC+8, no daylight saving)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

__all__ = ["CST", "today_cn"]

CST = timezone(timedelta(hours=8), "CST")


def today_cn(now: datetime | None = None) -> date:
    return (now or datetime.now(CST)).astimezone(CST).date()
