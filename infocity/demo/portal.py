"""The public side of the demonstration (演示数据), through the portal services only: the ministry publishes the
2015 comparison year and the 2016 data as of the first half and as of the annual figures, and publishes every
typical application whose full-year report the agency has accepted to the showcase. Supply–demand posts are added
by :func:`load_board_demo`."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from infocity.accounts.models import User
from infocity.portal import services as portal
from infocity.reporting import clock
from infocity.reporting.models import Period

RELEASES = [
    ("2015-M12", datetime.date(2016, 8, 1), "2015 年全年监测数据（对比数据），供与 2016 年对照。"),
    ("2016-H1", datetime.date(2016, 9, 20), "2016 年上半年已受理的监测数据。"),
    ("2016-A", datetime.date(2016, 12, 5), "2016 年年度监测数据，含截至 10 月的月度、截至三季度的季度和上半年数据。"),
]
SHOWCASE_DAY = datetime.date(2016, 12, 5)


def _at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(10), tzinfo=ZoneInfo("Asia/Shanghai"))


def load_portal_demo() -> dict[str, int]:
    ministry = User.objects.get(username="ministry")
    releases = 0
    for code, day, note in RELEASES:
        period = Period.objects.filter(code=code).first()
        if period is not None and portal.releasable_periods(period.cycle).filter(pk=period.pk).exists():
            with clock.at(_at(day)):
                portal.publish_release(actor=ministry, period=period, note="【演示数据】" + note, demo=True)
            releases += 1
    items = 0
    with clock.at(_at(SHOWCASE_DAY)):
        for application in portal.showcase_candidates().order_by("pk"):
            portal.publish_application(actor=ministry, application=application)
            items += 1
    return {"releases": releases, "showcase": items}
