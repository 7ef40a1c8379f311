"""The reporting calendar's idea of today.

In production this is simply today. A demonstration instance can pin it (``REPORTING_TODAY=2016-12-05``) so the
2016 cycle shipped with the demo data is "current": periods open, fall due and expire as they did in 2016. The
demonstration loader also replays past events at their historical moments (:func:`at`). Only the reporting
calendar reads this clock; audit events always carry the real time.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.utils import timezone

_moment: ContextVar[datetime.datetime | None] = ContextVar("reporting_moment", default=None)


def today() -> datetime.date:
    moment = _moment.get()
    if moment is not None:
        return timezone.localtime(moment).date()
    pinned = settings.REPORTING_TODAY
    if pinned:
        return datetime.date.fromisoformat(pinned)
    return timezone.localdate()


def now() -> datetime.datetime:
    """The current moment on the reporting calendar (today's date with the real time of day)."""
    moment = _moment.get()
    if moment is not None:
        return moment
    real = timezone.localtime()
    pinned = settings.REPORTING_TODAY
    if not pinned:
        return real
    day = datetime.date.fromisoformat(pinned)
    return real.replace(year=day.year, month=day.month, day=day.day)


@contextmanager
def at(moment: datetime.datetime) -> Iterator[None]:
    """Act as if it were ``moment`` (used to replay the demonstration history)."""
    token = _moment.set(moment)
    try:
        yield
    finally:
        _moment.reset(token)
