"""Completeness and timeliness (完整性、及时性) of the expected submissions, and the work queues."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.db.models.lookups import LessThanOrEqual

from infocity.accounts.models import Role, User
from infocity.organisations.models import Organisation

from . import clock
from .models import Status, Submission, UnlockRequest
from .scoping import submissions_visible_to, unlock_requests_visible_to


@dataclass
class Tally:
    """Counts over the submissions that were due by the day of the report (应报)."""

    label: str
    code: str = ""
    expected: int = 0
    accepted: int = 0
    on_time: int = 0
    sent: int = 0
    late: int = 0
    missing: int = 0
    cities: list[Tally] = field(default_factory=list)

    @property
    def completeness(self) -> float | None:
        return self.accepted / self.expected if self.expected else None

    @property
    def timeliness(self) -> float | None:
        return self.on_time / self.expected if self.expected else None

    def add_counts(self, expected: int, accepted: int, sent: int, on_time: int) -> None:
        self.expected += expected
        self.accepted += accepted
        self.on_time += on_time
        self.sent += sent
        self.late += sent - on_time
        self.missing += expected - sent


def completeness(submissions: QuerySet[Submission], day: datetime.date | None = None) -> tuple[Tally, list[Tally]]:
    """The national total and one tally per province (each with its cities), over submissions due by ``day``:
    completeness = accepted ÷ expected; timeliness = sent by the due date (Beijing time) ÷ expected. Counted by
    the database, one row per city, so it stays fast with thousands of cities."""
    day = day or clock.today()
    first_day = TruncDate("first_submitted_at", tzinfo=ZoneInfo(settings.TIME_ZONE))
    counts = (
        submissions.filter(period__due_on__lt=day)
        .order_by()
        .values("city_id")
        .annotate(
            expected=Count("id"),
            accepted=Count("id", filter=Q(status=Status.ACCEPTED)),
            sent=Count("id", filter=Q(first_submitted_at__isnull=False)),
            sent_in_time=Count("id", filter=LessThanOrEqual(first_day, F("period__due_on"))),
        )
    )
    by_city = {row["city_id"]: row for row in counts}
    total = Tally("合计")
    provinces: dict[int, Tally] = {}
    for city in Organisation.objects.filter(pk__in=by_city).select_related("parent"):
        province = city.parent
        assert province is not None
        if province.pk not in provinces:
            provinces[province.pk] = Tally(province.name, province.code)
        row = by_city[city.pk]
        city_tally = Tally(city.name, city.code)
        provinces[province.pk].cities.append(city_tally)
        for tally in (total, provinces[province.pk], city_tally):
            tally.add_counts(row["expected"], row["accepted"], row["sent"], row["sent_in_time"])
    ordered = sorted(provinces.values(), key=lambda t: t.code)
    for province_tally in ordered:
        province_tally.cities.sort(key=lambda t: t.code)
    return total, ordered


@dataclass
class Queue:
    """A work queue: named lists of submissions (and unlock requests) that need the user now."""

    sections: list[tuple[str, str, list[Any]]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(items) for _, _, items in self.sections)


def queue_for(user: User, limit: int = 50) -> Queue:
    day = clock.today()
    visible = (
        submissions_visible_to(user).filter(period__opens_on__lte=day).order_by("period__due_on", "city__division_id")
    )
    queue = Queue()
    # Still owed and past due. A correction reopened by an unlock is not overdue: the data was sent once.
    overdue = visible.filter(
        status__in=[Status.DRAFT, Status.CITY_APPROVED], ever_accepted=False, period__due_on__lt=day
    )
    if user.role in {Role.CITY_REPORTER, Role.CITY_APPROVER}:
        drafts = visible.filter(status=Status.DRAFT)
        queue.sections = [
            ("returned", "被退回，待修改", list(drafts.filter(returned=True)[:limit])),
            ("overdue", "已逾期", list(overdue.filter(status=Status.DRAFT, returned=False)[:limit])),
            ("due", "待填报", list(drafts.filter(returned=False, period__due_on__gte=day)[:limit])),
            ("approved", "本市已审核，待报送省级", list(visible.filter(status=Status.CITY_APPROVED)[:limit])),
        ]
        if user.role == Role.CITY_APPROVER:
            started = Q(values__isnull=False) | Q(report_sections__isnull=False)  # data, or a progress report
            ready = list(drafts.filter(started).distinct()[:limit])
            queue.sections.insert(0, ("to_approve", "已填写，待本市审核", ready))
    elif user.role == Role.PROVINCE_REVIEWER:
        returned = visible.filter(status=Status.DRAFT, returned=True, returned_by_role=Role.ANALYST)
        queue.sections = [
            ("to_review", "待我审核", list(visible.filter(status=Status.SUBMITTED)[:limit])),
            ("overdue", "本省逾期未报", list(overdue[:limit])),
            ("returned", "被监测机构退回", list(returned[:limit])),
        ]
    elif user.role == Role.ANALYST:
        unlocks = unlock_requests_visible_to(user).filter(status=UnlockRequest.Decision.PENDING)
        returned = visible.filter(
            status=Status.DRAFT, returned=True, returned_by_role__in=[Role.ANALYST, Role.PROVINCE_REVIEWER]
        )
        queue.sections = [
            ("to_accept", "待受理（省级已审核）", list(visible.filter(status=Status.PROVINCE_APPROVED)[:limit])),
            ("unlock", "待处理的解锁申请", list(unlocks[:limit])),
            ("returned", "已退回、待城市重新报送", list(returned[:limit])),
        ]
    elif user.role == Role.MINISTRY:
        queue.sections = [("overdue", "全国逾期未报", list(overdue[:limit]))]
    return queue
