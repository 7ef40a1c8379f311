"""异常值: values that stand out among peer cities or against their own previous period, and the analyst's
decision on each (explained with a note, or sent back to the city as a query)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse

from infocity.accounts.models import Role, User
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.reporting.models import Notification, Period
from infocity.reporting.services import clean_text

from . import methods
from .models import IndicatorValue, OutlierReview

METHOD_LABELS = {"z": "z 分数", "modified_z": "修正 z 分数", "change": "环比变化"}
CITY_ROLES = (Role.CITY_REPORTER, Role.CITY_APPROVER)


def find_outliers(period: Period, basis: str, cities: list[int] | None = None) -> list[dict[str, Any]]:
    """Every flagged value of the period: peers are the cities reporting the same indicator in the period."""
    rows = IndicatorValue.objects.filter(period=period, basis=basis, value__isnull=False).select_related(
        "city", "city__parent", "indicator"
    )
    by_indicator: dict[int, list[IndicatorValue]] = {}
    for row in rows:
        by_indicator.setdefault(row.indicator_id, []).append(row)
    found: list[dict[str, Any]] = []
    for values in by_indicator.values():
        indicator = values[0].indicator
        current = {iv.pk: float(iv.value) for iv in values if iv.value is not None}
        previous = {iv.pk: float(iv.previous_value) for iv in values if iv.previous_value is not None}
        flags: dict[int, list[methods.Flag]] = {}
        for flag in methods.outliers(current, previous):
            flags.setdefault(flag.key, []).append(flag)
        for iv in values:
            if iv.pk in flags and (cities is None or iv.city_id in cities):
                found.append(
                    {
                        "value": iv,
                        "city": iv.city,
                        "indicator": indicator,
                        "flags": [
                            {"method": f.method, "label": METHOD_LABELS[f.method], "score": f.score, "detail": f.detail}
                            for f in flags[iv.pk]
                        ],
                    }
                )
    found.sort(key=lambda f: (f["indicator"].order, f["city"].code))
    return found


def review(
    *, actor: User, value: IndicatorValue, decision: str, note: str, request: HttpRequest | None = None
) -> OutlierReview:
    """Record the analyst's decision on a flagged value; a query is sent to the city's users as a notification.
    A value is decided once: a second decision (e.g. from another tab) is refused, never overwrites."""
    if actor.role != Role.ANALYST:
        raise ValidationError("只有监测分析人员可以处理异常值。")
    if decision not in OutlierReview.Status.values:
        raise ValidationError("请选择“已说明”或“向城市发出询问”。")
    note = clean_text(note)
    if not note:
        raise ValidationError("请填写说明：为什么这个数值是合理的，或需要城市核实什么。")
    try:
        with transaction.atomic():
            decided = OutlierReview.objects.create(
                period=value.period,
                city=value.city,
                indicator=value.indicator,
                status=decision,
                note=note,
                reviewed_by=actor,
            )
            if decision == OutlierReview.Status.QUERIED:
                _query_city(decided, value)
            record(
                Action.OUTLIER_REVIEW,
                actor=actor,
                request=request,
                target=decided,
                detail={
                    "decision": decision,
                    "indicator": value.indicator.code,
                    "period": value.period.code,
                    "city": value.city.code,
                    "value": str(value.value),
                },
            )
    except IntegrityError:
        existing = OutlierReview.objects.filter(period=value.period, city=value.city, indicator=value.indicator).first()
        who = existing.reviewed_by if existing else ""
        raise ValidationError(f"该数值已由 {who} 处理过，请刷新页面查看处理结果。") from None
    return decided


def _query_city(decided: OutlierReview, value: IndicatorValue) -> None:
    url = reverse("analytics:city", args=[value.city_id]) + f"?cycle={value.period.cycle_id}&period={value.period_id}"
    title = f"数据询问：{value.period.label} {value.indicator.code} {value.indicator.name_zh} 数值异常，请核实"
    body = f"数值 {value.value}（{value.indicator.unit}）。监测分析人员的问题：{decided.note}"
    for user in User.objects.filter(organisation_id=value.city_id, role__in=CITY_ROLES, is_active=True):
        Notification.objects.get_or_create(
            user=user, event_key=f"outlier:{decided.pk}", defaults={"title": title[:200], "body": body, "url": url}
        )
