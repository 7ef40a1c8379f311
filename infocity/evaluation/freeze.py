"""Freezing a run (冻结评估输入): what the evaluation reads from the database, written down once, with its trail.

:func:`freeze_inputs` collects, for the cycle of a scheme, every demonstration city's latest accepted indicator
values of the cycle's year (for each city and frequency, the latest period in which the city has accepted data: the
annual report for annual indicators, the latest accepted quarter for quarterly ones and so on), together with the
data items each value was computed from and the submissions (id and version number) that hold them; and the expert
scores of the review round. From then on the run only reads this document: a later correction of a submission
changes later runs, never this one. :func:`freeze_scheme` writes the scheme down the same way.
"""

from __future__ import annotations

import importlib.metadata
from collections import defaultdict
from decimal import Decimal
from typing import Any

import numpy as np

from infocity.analytics.models import Basis, IndicatorValue
from infocity.analytics.services import STATUSES, _item_refs
from infocity.frameworks.models import Indicator
from infocity.organisations.models import Organisation
from infocity.reporting.models import DataValue, Period, Submission
from infocity.reporting.services import compiled_edition, cycle_cities

from . import engine
from .models import Assignment, ReviewRound, Scheme

BASIS = Basis.ACCEPTED


def code_version() -> dict[str, str]:
    """The code a run was computed with: the engine's version, numpy's and the platform's."""
    try:
        platform = importlib.metadata.version("infocity")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover — always installed by make
        platform = "unknown"
    return {"engine": engine.ENGINE_VERSION, "numpy": np.__version__, "infocity": platform}


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def target_of(indicator: Indicator) -> float | None:
    """The numeric target a distance-to-target score can use: a comparison target above 0, else None."""
    if indicator.target_kind != Indicator.TargetKind.COMPARISON or indicator.target_value is None:
        return None
    value = float(indicator.target_value)
    return value if value > 0 else None


def areas_of(scheme: Scheme) -> list[tuple[str, str]]:
    """The areas of the scheme's indicators in catalog order, (code, name): the order of the rows and columns of
    the AHP comparison of the areas, on the scheme page and in every run."""
    items = scheme.items.select_related("indicator__area").order_by("indicator__area__order", "indicator__order")
    return list(dict.fromkeys((i.indicator.area.code, i.indicator.area.name_zh) for i in items))


def freeze_scheme(scheme: Scheme) -> dict[str, Any]:
    items = list(scheme.items.select_related("indicator__area").order_by("indicator__order"))
    areas = areas_of(scheme)
    return {
        "scheme": {"id": scheme.pk, "name": scheme.name, "version": scheme.version, "status": scheme.status},
        "normalisation": scheme.normalisation,
        "weighting": scheme.weighting,
        "aggregation": scheme.aggregation,
        "expert_points": str(scheme.expert_points),
        "report_share": str(scheme.report_share),
        "min_coverage": str(scheme.min_coverage),
        "items": [
            {
                "code": i.indicator.code,
                "area": i.indicator.area.code,
                "points": str(i.points),
                "use_target": i.use_target,
            }
            for i in items
        ],
        "areas": [{"code": code, "name": name} for code, name in areas],
        "area_pairwise": scheme.area_pairwise,
        "mc": {
            "samples": scheme.mc_samples,
            "seed": scheme.mc_seed,
            "spread": str(scheme.mc_spread),
            "rank_normalisation": scheme.mc_rank_normalisation,
        },
        "awards": {
            "advanced_cities": scheme.advanced_cities,
            "advanced_min_score": str(scheme.advanced_min_score),
            "excellent_threshold": str(scheme.excellent_threshold),
            "excellent_max": scheme.excellent_max,
        },
    }


def cities_of(scheme: Scheme) -> list[Organisation]:
    """The demonstration cities of the scheme's cycle (those with submissions in it), in division-code order."""
    return cycle_cities(scheme.cycle)


def _mean(values: list[float]) -> float:
    """A mean of expert scores, rounded to 6 decimals: (80.02 + 80.07 + 94.91) / 3 is 85 exactly, not
    84.99999999999999, so an application at a threshold is judged as the marks say."""
    return round(sum(values) / len(values), 6)


def expert_scores(round_: ReviewRound | None, cities: list[Organisation]) -> dict[str, Any]:
    """Per city: the mean expert score (0–100) of its full-year report and of its applications, with the trail."""
    if round_ is None:
        return {
            "round": None,
            "report": [None] * len(cities),
            "applications": [None] * len(cities),
            "report_detail": [[] for _ in cities],
            "application_detail": [[] for _ in cities],
        }
    position = {city.pk: i for i, city in enumerate(cities)}
    report_max = sum(Decimal(str(c["max"])) for c in round_.report_criteria)
    application_max = sum(Decimal(str(c["max"])) for c in round_.application_criteria)
    report: dict[int, list[dict[str, Any]]] = defaultdict(list)
    applications: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    titles: dict[int, str] = {}
    scored = (
        Assignment.objects.filter(round=round_, submitted_at__isnull=False, total__isnull=False)
        .select_related("application")
        .order_by("pk")
    )
    for assignment in scored:
        if assignment.city_id not in position:
            continue
        assert assignment.total is not None
        if assignment.application_id:
            score = float(assignment.total * 100 / application_max)
            applications[assignment.city_id][assignment.application_id].append(score)
            titles[assignment.application_id] = assignment.application.title if assignment.application else ""
        else:
            score = float(assignment.total * 100 / report_max)
            report[assignment.city_id].append({"assignment": assignment.pk, "score": score})
    report_means: list[float | None] = [None] * len(cities)
    application_means: list[float | None] = [None] * len(cities)
    report_detail: list[list[dict[str, Any]]] = [[] for _ in cities]
    application_detail: list[list[dict[str, Any]]] = [[] for _ in cities]
    for city_id, marks in report.items():
        i = position[city_id]
        report_means[i] = _mean([m["score"] for m in marks])
        report_detail[i] = marks
    for city_id, by_application in applications.items():
        i = position[city_id]
        means = []
        for application_id, scores in sorted(by_application.items()):
            mean = _mean(scores)
            means.append(mean)
            application_detail[i].append(
                {"application": application_id, "title": titles[application_id], "score": mean, "experts": len(scores)}
            )
        application_means[i] = _mean(means)
    return {
        "round": round_.pk,
        "report": report_means,
        "applications": application_means,
        "report_detail": report_detail,
        "application_detail": application_detail,
    }


def freeze_inputs(scheme: Scheme, round_: ReviewRound | None) -> dict[str, Any]:
    """The document described in the module docstring. Each city's indicators of one frequency are read at one
    period: the latest of the cycle in which that city has any accepted value of that frequency (so a city whose
    October data is still in review is read at September rather than counted as missing)."""
    cycle = scheme.cycle
    cities = cities_of(scheme)
    items = list(scheme.items.select_related("indicator__area").order_by("indicator__order"))
    indicators = [i.indicator for i in items]
    position = {city.pk: i for i, city in enumerate(cities)}
    column = {indicator.pk: j for j, indicator in enumerate(indicators)}
    values: list[list[float | None]] = [[None] * len(indicators) for _ in cities]
    sources: list[list[dict[str, Any] | None]] = [[None] * len(indicators) for _ in cities]

    found = list(
        IndicatorValue.objects.filter(
            period__cycle=cycle, basis=BASIS, indicator__in=indicators, city__in=cities, value__isnull=False
        ).values_list("city_id", "indicator_id", "value", "period_id", "period__frequency", "period__ends_on")
    )
    latest: dict[tuple[int, str], tuple[Any, int]] = {}
    for city_id, _, _, period_id, frequency, ends_on in found:
        key = (city_id, frequency)
        if key not in latest or (ends_on, period_id) > latest[key]:
            latest[key] = (ends_on, period_id)
    chosen = {key: period_id for key, (_, period_id) in latest.items()}
    periods = {p.pk: p for p in Period.objects.filter(pk__in=set(chosen.values()))}
    cells = [(c, i, v, p) for c, i, v, p, f, _ in found if chosen[(c, f)] == p]

    held: dict[tuple[int, int], list[list[Any]]] = defaultdict(list)
    submissions = Submission.objects.filter(
        period__in=periods.values(), city__in=cities, status__in=STATUSES[BASIS]
    ).values_list("pk", "city_id", "period_id", "form__code", "version")
    for pk, city_id, period_id, form_code, version in submissions.order_by("pk"):
        held[(city_id, period_id)].append([pk, form_code, version])
    item_values: dict[tuple[int, int], dict[str, tuple[str, int]]] = defaultdict(dict)
    rows = DataValue.objects.filter(
        submission__period__in=periods.values(), submission__city__in=cities, submission__status__in=STATUSES[BASIS]
    ).values_list("submission__city_id", "submission__period_id", "submission_id", "item__code", "number", "text")
    for city_id, period_id, submission_id, code, number, text in rows:
        if chosen.get((city_id, periods[period_id].frequency)) != period_id:
            continue
        shown = text if number is None else format(number.normalize(), "f")
        item_values[(city_id, period_id)][code] = (shown, submission_id)

    compiled = compiled_edition(cycle.edition)
    used_items = {indicator.code: sorted(_item_refs(compiled, indicator.code)) for indicator in indicators}
    for city_id, indicator_id, value, period_id in cells:
        i, j = position[city_id], column[indicator_id]
        held_items = item_values[(city_id, period_id)]
        trail = {code: held_items[code] for code in used_items[indicators[j].code] if code in held_items}
        submission_ids = {s for _, s in trail.values()}
        values[i][j] = _number(value)
        sources[i][j] = {
            "period": periods[period_id].code,
            "items": {code: shown for code, (shown, _) in trail.items()},
            "submissions": [entry for entry in held[(city_id, period_id)] if entry[0] in submission_ids],
        }
    used_periods: dict[str, list[str]] = defaultdict(list)
    for period in sorted(periods.values(), key=lambda p: (p.frequency, p.ends_on)):
        used_periods[period.frequency].append(period.code)
    return {
        "cycle": {"id": cycle.pk, "name": cycle.name, "year": cycle.year},
        "basis": BASIS,
        "periods": dict(used_periods),
        "cities": [
            {"id": c.pk, "code": c.code, "name": c.name, "province": c.parent.name if c.parent else ""} for c in cities
        ],
        "indicators": [
            {
                "code": i.code,
                "name": i.name_zh,
                "area": i.area.code,
                "unit": i.unit,
                "direction": 1 if i.direction == Indicator.Direction.UP else -1,
                "target": target_of(i),
                "frequency": i.frequency,
            }
            for i in indicators
        ],
        "values": values,
        "sources": sources,
        "expert": expert_scores(round_, cities),
    }
