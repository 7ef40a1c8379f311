"""Reading the analytics for a scope: what dashboards, downloads and the report show. Every function takes the
scope it may read; the views decide the scope from the user (a city sees itself, a province its cities)."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import F, QuerySet

from infocity.frameworks.compute import target_text
from infocity.frameworks.models import Indicator
from infocity.organisations.models import Organisation, OrganisationKind
from infocity.reporting.models import Period, ReportingCycle

from .methods import Progress, assess_progress
from .models import AggregateValue, Attainment, Basis, IndicatorValue
from .services import aggregate_for_cities

CENTRES = Path(settings.BASE_DIR) / "infocity/static/vendor/china-map-echarts-4.9.0/city-centres.json"


@cache
def city_centres() -> dict[str, list[float]]:
    data: dict[str, list[float]] = json.loads(CENTRES.read_text(encoding="utf-8"))
    return data


def centre_of(city: Organisation) -> list[float] | None:
    centres = city_centres()
    name = city.name
    for candidate in (name, name.removesuffix("市"), name.removesuffix("地区"), name[:2]):
        if candidate in centres:
            return centres[candidate]
    return None


def number(value: Decimal | None, places: int = 1) -> float | None:
    return None if value is None else round(float(value), places)


@dataclass
class IndicatorRow:
    indicator: Indicator
    period: Period | None
    target: str
    value: Decimal | None
    met: int = 0
    not_met: int = 0
    no_value: int = 0
    included: int = 0

    @property
    def assessed(self) -> int:
        return self.met + self.not_met

    query: str = ""

    @property
    def share_met(self) -> float | None:
        return self.met / self.assessed if self.assessed else None

    @property
    def share_percent(self) -> float | None:
        return None if self.share_met is None else self.share_met * 100


def periods_with_values(cycle: ReportingCycle, basis: str = Basis.PROVISIONAL) -> QuerySet[Period]:
    """The cycle's periods with at least one computed indicator value on the basis (accepted data is also
    provisional data, so the provisional basis lists every period with any value)."""
    # Read from the national aggregates (one row per indicator and period) rather than every city's values.
    ids = AggregateValue.objects.filter(
        period__cycle=cycle, basis=basis, scope__parent__isnull=True, value__isnull=False
    ).values("period_id")
    return cycle.periods.filter(pk__in=ids).order_by("ends_on", "frequency")


def default_period(cycle: ReportingCycle) -> Period | None:
    """The latest-ending period with accepted values."""
    return periods_with_values(cycle, Basis.ACCEPTED).order_by("-ends_on", "frequency").first()


def effective_periods(cycle: ReportingCycle, as_of: Period, basis: str = Basis.ACCEPTED) -> dict[str, Period]:
    """The period each frequency is read at "as of" a period: the latest of the cycle with values on the basis that
    ends by the as-of period's end (as of 2016-M10 on accepted data: M10, Q3, H1 — no annual data yet)."""
    periods: dict[str, Period] = {}
    for period in periods_with_values(cycle, basis).filter(ends_on__lte=as_of.ends_on).order_by("ends_on", "pk"):
        periods[period.frequency] = period
    periods[as_of.frequency] = as_of
    return periods


def indicators_of(cycle: ReportingCycle, area: str = "") -> QuerySet[Indicator]:
    indicators = Indicator.objects.filter(edition=cycle.edition).select_related("area").order_by("order")
    return indicators.filter(area__code=area) if area else indicators


def attainment_table(
    periods: dict[str, Period], scope: Organisation, basis: str, area: str = "", cities: list[int] | None = None
) -> list[IndicatorRow]:
    """One row per indicator, each at its frequency's period: the scope's aggregate and how many of its cities met
    the target (over ``cities`` only — a cohort — when given)."""
    any_period = next(iter(periods.values()))
    aggregates: dict[tuple[int, int], AggregateValue] = {}
    for period in periods.values():
        if cities is None:
            found = AggregateValue.objects.filter(period=period, scope=scope, basis=basis)
            aggregates |= {(period.pk, a.indicator_id): a for a in found}
        else:
            aggregates |= {(period.pk, k): a for k, a in aggregate_for_cities(period, cities, basis).items()}
    rows = []
    for indicator in indicators_of(any_period.cycle, area):
        at = periods.get(indicator.frequency)
        aggregate = aggregates.get((at.pk, indicator.pk)) if at else None
        rows.append(
            IndicatorRow(
                indicator=indicator,
                period=at,
                target=target_text(indicator),
                value=aggregate.value if aggregate else None,
                met=aggregate.met if aggregate else 0,
                not_met=aggregate.not_met if aggregate else 0,
                no_value=aggregate.no_value if aggregate else 0,
                included=aggregate.cities_included if aggregate else 0,
            )
        )
    return rows


def province_rows(period: Period, indicator: Indicator, basis: str) -> list[dict[str, Any]]:
    """Each provincial authority's aggregate for the map (计划单列市 are shown at their city's point)."""
    rows = []
    aggregates = AggregateValue.objects.filter(
        period=period, indicator=indicator, basis=basis, scope__kind=OrganisationKind.PROVINCE
    ).select_related("scope", "scope__division")
    for aggregate in aggregates:
        scope = aggregate.scope
        assessed = aggregate.met + aggregate.not_met
        rows.append(
            {
                "scope": scope,
                "adcode": scope.division_id,
                "map_name": _map_name(scope),
                "value": aggregate.value,
                "met": aggregate.met,
                "not_met": aggregate.not_met,
                "no_value": aggregate.no_value,
                "share_met": aggregate.met / assessed if assessed else None,
                "separately_planned": bool(scope.division and scope.division.separately_planned),
            }
        )
    return sorted(rows, key=lambda r: r["adcode"] or "")


def map_name(name: str) -> str:
    """A province's name as the map data spells it (浙江, 内蒙古, 广西 …)."""
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _map_name(scope: Organisation) -> str:
    return map_name(scope.division.name if scope.division else scope.name)


def city_rows(period: Period, indicator: Indicator, basis: str, scope: Organisation) -> list[dict[str, Any]]:
    values = (
        IndicatorValue.objects.filter(
            period=period, indicator=indicator, basis=basis, city__path__startswith=scope.path
        )
        .select_related("city", "city__parent")
        .order_by("city__division_id")
    )
    return [
        {
            "city": iv.city,
            "code": iv.city.code,
            "province": iv.city.parent.name if iv.city.parent else "",
            "value": iv.value,
            "previous": iv.previous_value,
            "attainment": iv.attainment,
            "attainment_label": Attainment(iv.attainment).label,
            "gap": iv.gap,
            "reason": iv.missing_reason,
            "centre": centre_of(iv.city),
        }
        for iv in values
    ]


def trend(indicator_code: str, basis: str, *, city: Organisation | None = None, scope: Organisation | None = None,
          frequency: str) -> list[tuple[Period, Decimal | None]]:  # fmt: skip
    """The indicator over time (every cycle), for a city or a scope's aggregate."""
    if city is not None:
        rows = IndicatorValue.objects.filter(city=city, indicator__code=indicator_code, basis=basis)
    else:
        rows = AggregateValue.objects.filter(scope=scope, indicator__code=indicator_code, basis=basis)  # type: ignore[assignment]
    rows = rows.filter(period__frequency=frequency).select_related("period").order_by("period__ends_on")
    seen: dict[datetime.date, tuple[Period, Decimal | None]] = {}
    for row in rows:
        seen[row.period.ends_on] = (row.period, row.value)
    return list(seen.values())


def progress(indicator: Indicator, series: list[tuple[datetime.date, Decimal | None]], year: int) -> Progress | None:
    """Progress toward the indicator's target by the end of ``year`` from that year's values (by period end)."""
    if indicator.target_kind != Indicator.TargetKind.COMPARISON or indicator.target_value is None:
        return None
    points = [(ends_on, float(value)) for ends_on, value in series if value is not None and ends_on.year == year]
    return assess_progress(
        points,
        float(indicator.target_value),
        indicator.target_operator,
        datetime.date(year, 12, 31),
        higher_is_better=indicator.direction == Indicator.Direction.UP,
    )


def city_indicator_rows(
    periods: dict[str, Period],
    city: Organisation,
    basis: str,
    national: Organisation,
    national_basis: str | None = None,
    area: str = "",
) -> list[dict[str, Any]]:
    """A city's indicators, each at its frequency's period: target, attainment, the national aggregate and
    progress toward the year-end target."""
    ids = [p.pk for p in periods.values()]
    values = {
        (iv.period_id, iv.indicator_id): iv
        for iv in IndicatorValue.objects.filter(period_id__in=ids, city=city, basis=basis)
    }
    national_values = {
        (a.period_id, a.indicator_id): a.value
        for a in AggregateValue.objects.filter(period_id__in=ids, scope=national, basis=national_basis or basis)
    }
    any_period = next(iter(periods.values()))
    year = any_period.cycle.year
    # The year's values of every indicator in one query (for the progress assessment), by period end.
    series: dict[str, dict[datetime.date, Decimal | None]] = {}
    this_year = IndicatorValue.objects.filter(
        city=city,
        basis=basis,
        period__ends_on__year=year,
        period__ends_on__lte=max(p.ends_on for p in periods.values()),  # nothing after the chosen period
        period__frequency=F("indicator__frequency"),
    ).values_list("indicator__code", "period__ends_on", "value")
    for code, ends_on, number in this_year.order_by("period__ends_on"):
        series.setdefault(code, {})[ends_on] = number
    rows = []
    for indicator in indicators_of(any_period.cycle, area):
        period = periods.get(indicator.frequency)
        key = (period.pk if period else 0, indicator.pk)
        iv = values.get(key)
        rows.append(
            {
                "indicator": indicator,
                "period": period,
                "target": target_text(indicator),
                "value": iv.value if iv else None,
                "reason": iv.missing_reason if iv else "未报送",
                "attainment": iv.attainment if iv else Attainment.NO_VALUE,
                "attainment_label": Attainment(iv.attainment).label if iv else Attainment.NO_VALUE.label,
                "gap": iv.gap if iv else None,
                "national": national_values.get(key),
                "progress": progress(indicator, sorted(series.get(indicator.code, {}).items()), year),
            }
        )
    return rows


def fmt(value: Decimal | float | None, places: int) -> str:
    """A number as the pages show it (Django's floatformat: half up, fixed places) — the CSV, PDF and Excel
    report the same figures as the screen."""
    if value is None:
        return ""
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    return str(number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


CITY_TABLE_HEADER = ["指标代码", "指标", "单位", "报告期", "目标", "本市", "达标情况", "差距", "全国", "进展评估"]


def city_table(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """A city's indicator rows as the CSV download and the Excel report write them (same rounding as the page)."""
    return [
        [r["indicator"].code, r["indicator"].name_zh, r["indicator"].unit, r["period"].label if r["period"] else "",
         r["target"], fmt(r["value"], r["indicator"].decimals), r["attainment_label"],
         fmt(r["gap"], r["indicator"].decimals), fmt(r["national"], r["indicator"].decimals),
         r["progress"].label if r["progress"] else ""]
        for r in rows
    ]  # fmt: skip
