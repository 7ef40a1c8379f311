"""The standard reporting calendar (填报日历): the periods of a year and their open, due and expiry dates.

The ministry can change any date afterwards; these are the defaults a new cycle starts from.
- monthly data opens on the 1st of the next month, is due on the 10th, closes on the 25th;
- quarterly data opens on the 1st of the next month, is due on the 15th, closes at the end of that month;
- H1 data opens on 1 July and is due on 5 August, with the H1 progress report (guide 三(三)); closes 31 August;
  H2 data opens on 1 January of the next year, is due on 20 January, closes at the end of February;
- annual data is reported with the full-year progress report: opens 1 November, due 30 November (guide 三(三)),
  closes 15 December, in time for the December evaluation.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodSpec:
    frequency: str
    code: str
    label: str
    starts_on: datetime.date
    ends_on: datetime.date
    opens_on: datetime.date
    due_on: datetime.date
    expires_on: datetime.date


def _month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def standard_periods(year: int, frequencies: set[str]) -> list[PeriodSpec]:
    periods: list[PeriodSpec] = []
    if "M" in frequencies:
        for month in range(1, 13):
            ny, nm = _next_month(year, month)
            periods.append(
                PeriodSpec("M", f"{year}-M{month:02d}", f"{year}年{month}月", datetime.date(year, month, 1),
                           _month_end(year, month), datetime.date(ny, nm, 1), datetime.date(ny, nm, 10),
                           datetime.date(ny, nm, 25))
            )  # fmt: skip
    if "Q" in frequencies:
        for quarter in range(1, 5):
            last = quarter * 3
            ny, nm = _next_month(year, last)
            periods.append(
                PeriodSpec("Q", f"{year}-Q{quarter}", f"{year}年第{quarter}季度", datetime.date(year, last - 2, 1),
                           _month_end(year, last), datetime.date(ny, nm, 1), datetime.date(ny, nm, 15),
                           _month_end(ny, nm))
            )  # fmt: skip
    if "H" in frequencies:
        periods.append(
            PeriodSpec("H", f"{year}-H1", f"{year}年上半年", datetime.date(year, 1, 1), datetime.date(year, 6, 30),
                       datetime.date(year, 7, 1), datetime.date(year, 8, 5), datetime.date(year, 8, 31))
        )  # fmt: skip
        periods.append(
            PeriodSpec("H", f"{year}-H2", f"{year}年下半年", datetime.date(year, 7, 1), datetime.date(year, 12, 31),
                       datetime.date(year + 1, 1, 1), datetime.date(year + 1, 1, 20), _month_end(year + 1, 2))
        )  # fmt: skip
    if "A" in frequencies:
        periods.append(
            PeriodSpec("A", f"{year}-A", f"{year}年度", datetime.date(year, 1, 1), datetime.date(year, 12, 31),
                       datetime.date(year, 11, 1), datetime.date(year, 11, 30), datetime.date(year, 12, 15))
        )  # fmt: skip
    if "R" in frequencies:  # progress reports: the first half by early August, the year by the end of November
        periods.append(
            PeriodSpec("R", f"{year}-R1", f"{year}年上半年进展", datetime.date(year, 1, 1), datetime.date(year, 6, 30),
                       datetime.date(year, 7, 1), datetime.date(year, 8, 5), datetime.date(year, 8, 31))
        )  # fmt: skip
        periods.append(
            PeriodSpec("R", f"{year}-R2", f"{year}年全年进展", datetime.date(year, 1, 1), datetime.date(year, 12, 31),
                       datetime.date(year, 10, 15), datetime.date(year, 11, 30), datetime.date(year, 12, 15))
        )  # fmt: skip
    return sorted(periods, key=lambda p: (p.starts_on, p.ends_on))
