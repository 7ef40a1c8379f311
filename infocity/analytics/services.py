"""Keeping indicator values and aggregates current (指标计算).

When a submission moves in or out of the data an indicator reads — sent to the province, returned, accepted,
unlocked — :func:`recompute` recomputes that city's indicators for that period (and the next period, whose
"previous period" it is), and adjusts the province's and the nation's running sums by the difference. Nothing is
rebuilt wholesale in normal operation; :func:`rebuild` exists for bulk loads and framework changes.

Aggregates follow the indicator's own formula over summed parts: A02 for a province is (Σ users ≥ 20M) ÷
(Σ fixed broadband users) × 100 over the cities that reported both — never an average of the cities' percentages.
Items that are not additive (scores, yes/no, percentages) enter as their mean over those cities.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from infocity.frameworks.compute import Attainment as TargetStatus
from infocity.frameworks.compute import CompiledEdition, assess_target
from infocity.frameworks.formula import Missing, Result, Value, references, to_decimal, to_fraction
from infocity.frameworks.models import DataItem, Indicator
from infocity.organisations.models import Organisation, OrganisationKind
from infocity.reporting.models import DataValue, Period, Status, Submission
from infocity.reporting.services import compiled_edition

from .models import AggregatePart, AggregateValue, Attainment, Basis, IndicatorValue

STATUSES: dict[str, list[str]] = {
    Basis.ACCEPTED: [Status.ACCEPTED],
    Basis.PROVISIONAL: [Status.SUBMITTED, Status.PROVINCE_APPROVED, Status.ACCEPTED],
}
ATTAINMENT = {
    TargetStatus.MET: Attainment.MET,
    TargetStatus.NOT_MET: Attainment.NOT_MET,
    TargetStatus.NO_VALUE: Attainment.NO_VALUE,
    TargetStatus.NO_TARGET: Attainment.NO_TARGET,
}

_state = threading.local()


@contextmanager
def deferred() -> Iterator[None]:
    """Suspend incremental updates (for a bulk load, which calls :func:`rebuild` once at the end)."""
    _state.deferred = True
    try:
        yield
    finally:
        _state.deferred = False


def is_deferred() -> bool:
    return bool(getattr(_state, "deferred", False))


def item_method(item: DataItem) -> str:
    """How an item is aggregated over cities: summed, or (scores, yes/no, percentages) averaged."""
    if item.value_type in {DataItem.Type.BOOLEAN, DataItem.Type.PERCENT} or item.unit == "分":
        return "mean"
    return "sum"


def previous_period(period: Period) -> Period | None:
    """The previous comparable period: same frequency, the latest that ends before this one starts."""
    return (
        Period.objects.filter(frequency=period.frequency, ends_on__lt=period.starts_on)
        .order_by("-ends_on", "-pk")
        .first()
    )


def next_periods(period: Period) -> list[Period]:
    nxt = (
        Period.objects.filter(frequency=period.frequency, starts_on__gt=period.ends_on)
        .order_by("starts_on")
        .values_list("starts_on", flat=True)
        .first()
    )
    return list(Period.objects.filter(frequency=period.frequency, starts_on=nxt)) if nxt else []


def _values(city_id: int, period: Period, basis: str) -> dict[str, Value | None]:
    rows = DataValue.objects.filter(
        submission__city_id=city_id, submission__period=period, submission__status__in=STATUSES[basis]
    ).values_list("item__code", "item__value_type", "number", "text")
    values: dict[str, Value | None] = {}
    for code, value_type, number, text in rows:
        if number is not None:
            values[code] = bool(number) if value_type == DataItem.Type.BOOLEAN else Fraction(number)
        elif text:
            values[code] = text
    return values


def _item_refs(compiled: CompiledEdition, code: str, seen: set[str] | None = None) -> set[str]:
    """The data items an indicator reads in the current period, through other indicators too."""
    seen = seen if seen is not None else set()
    tree = next(c.tree for c in compiled.indicators if c.indicator.code == code)
    found: set[str] = set()
    for ref, previous in references(tree):
        if previous:
            continue
        if ref in compiled.items:
            found.add(ref)
        elif ref not in seen:
            seen.add(ref)
            found |= _item_refs(compiled, ref, seen)
    return found


LIMIT = Decimal(10) ** 17  # what DecimalField(max_digits=24, decimal_places=6) can hold
OUT_OF_RANGE = "数值超出可计算范围，请核实填报数据"


def _decimal(value: Result | None) -> Decimal | None:
    """A result as stored; None for no value — and for a value too large to store (see OUT_OF_RANGE)."""
    if value is None or isinstance(value, Missing | str):
        return None
    if isinstance(value, bool):
        return Decimal(int(value))
    exact = Fraction(value)
    return to_decimal(exact) if abs(exact) < LIMIT else None


def _in_range(value: Result | None) -> Result | None:
    """A computed result too large to store counts as no value, with the reason (never a failed save)."""
    if value is None or isinstance(value, Missing | str | bool):
        return value
    return value if abs(Fraction(value)) < LIMIT else Missing(OUT_OF_RANGE)


def _bounded(value: Decimal | None) -> Decimal | None:
    return value if value is not None and abs(value) < LIMIT else None


def _indicators(compiled: CompiledEdition, period: Period) -> list[Indicator]:
    return [c.indicator for c in compiled.indicators if c.indicator.frequency == period.frequency]


def _taking_part(submissions: QuerySet[Submission]) -> QuerySet[Submission]:
    """The submissions that put a city into a period's figures: sent to the province at least once (or accepted),
    with values. A draft the city is still typing is not part of any figure — the same rule for the incremental
    update and the rebuild."""
    sent = Q(first_submitted_at__isnull=False) | Q(ever_accepted=True) | Q(status__in=STATUSES[Basis.PROVISIONAL])
    return submissions.filter(sent, values__isnull=False)


def national_scope() -> Organisation:
    """The nation is the root of the organisation tree (the ministry)."""
    return Organisation.objects.get(parent__isnull=True, kind=OrganisationKind.MINISTRY)


def _scopes(city: Organisation) -> list[Organisation]:
    """Where a city's values are summed: its provincial authority and the nation."""
    province = city.province()
    return [scope for scope in (province, national_scope()) if scope is not None]


def _compute_city(
    city: Organisation,
    period: Period,
    basis: str,
    compiled: CompiledEdition,
    indicators: list[Indicator],
    before: Period | None,
) -> list[IndicatorValue]:
    """One city's indicator values for one period on one basis (not saved)."""
    values = _values(city.pk, period, basis)
    previous_values = _values(city.pk, before, basis) if before else {}
    results = compiled.compute(values, previous_values if before else None)
    previous_results = compiled.compute(previous_values) if previous_values else {}
    rows = []
    for indicator in indicators:
        result = _in_range(results.get(indicator.code))
        previous = _in_range(previous_results.get(indicator.code))
        assessment = assess_target(indicator, result if result is not None else Missing("无数据"), previous)
        refs = _item_refs(compiled, indicator.code)
        parts = (
            {code: str(_decimal(values[code])) for code in refs}
            if refs and all(isinstance(values.get(code), Fraction | bool) for code in refs)
            else {}
        )
        rows.append(
            IndicatorValue(
                period=period,
                city=city,
                indicator=indicator,
                basis=basis,
                value=_decimal(result),
                missing_reason=result.reason[:200] if isinstance(result, Missing) else "",
                previous_value=_decimal(previous),
                attainment=ATTAINMENT[assessment.status],
                gap=_bounded(assessment.gap),
                parts=parts,
            )
        )
    return rows


def _same(old: dict[int, IndicatorValue], fresh: dict[int, IndicatorValue]) -> bool:
    """Whether freshly computed indicator values equal the stored ones in everything stored."""
    fields = ("value", "missing_reason", "previous_value", "attainment", "gap", "parts")
    return old.keys() == fresh.keys() and all(
        all(getattr(old[key], name) == getattr(fresh[key], name) for name in fields) for key in old
    )


@transaction.atomic
def recompute(city: Organisation, period: Period, *, follow: bool = True, force: bool = False) -> int:
    """Recompute one city's indicators for one period on both bases and move its contribution in the province's
    and the nation's aggregates by the difference; then the next period's (its "previous period" changed).
    Returns the number of indicator values written.

    A basis on which the city's values for this period came out unchanged is not rewritten, nor are its aggregates
    (they are summed from those values' parts): an acceptance of data as sent leaves the provisional basis alone.
    The next periods are always recomputed, since they may read this period's raw values through ``prev()``
    beyond what its stored values show. ``follow=False`` (the next period's recomputation, whose previous period
    changed) and ``force=True`` (a repair) always rewrite."""
    compiled = compiled_edition(period.cycle.edition)
    indicators = _indicators(compiled, period)
    if not indicators:
        return 0
    scopes = _scopes(city)
    # Aggregates are shared by every city of a scope: recomputations queue on the scopes' rows, so concurrent
    # acceptances in one province add up instead of overwriting each other.
    list(Organisation.objects.select_for_update().filter(pk__in=[s.pk for s in scopes]).order_by("pk"))
    before = previous_period(period)
    reported = _taking_part(Submission.objects.filter(city=city, period=period)).exists()
    written = 0
    for basis in (Basis.ACCEPTED, Basis.PROVISIONAL):
        new = _compute_city(city, period, basis, compiled, indicators, before) if reported else []
        existing = IndicatorValue.objects.filter(period=period, city=city, basis=basis)
        old = {iv.indicator_id: iv for iv in existing}
        fresh = {row.indicator_id: row for row in new}
        if follow and not force and _same(old, fresh):
            continue
        part_deltas: dict[tuple[int, str], tuple[Decimal, int]] = {}
        count_deltas: dict[tuple[int, str], int] = {}
        for indicator_id in set(old) | set(fresh):
            before_row, row = old.get(indicator_id), fresh.get(indicator_id)
            old_parts = before_row.parts if before_row else {}
            new_parts = row.parts if row else {}
            for code in set(old_parts) | set(new_parts):
                delta = Decimal(new_parts.get(code, "0")) - Decimal(old_parts.get(code, "0"))
                count = int(code in new_parts) - int(code in old_parts)
                if delta or count:
                    part_deltas[(indicator_id, code)] = (delta, count)
            was = before_row.attainment if before_row else None
            now = row.attainment if row else None
            if was != now:
                if was is not None:
                    count_deltas[(indicator_id, was)] = count_deltas.get((indicator_id, was), 0) - 1
                if now is not None:
                    count_deltas[(indicator_id, now)] = count_deltas.get((indicator_id, now), 0) + 1
        existing.delete()
        IndicatorValue.objects.bulk_create(new)
        written += len(new)
        for scope in scopes:
            _apply(period, scope, basis, indicators, part_deltas, count_deltas, compiled, before)
    if follow:
        for nxt in next_periods(period):
            if Submission.objects.filter(city=city, period=nxt).exists():
                written += recompute(city, nxt, follow=False)
            else:
                # The city is not in the next period, but the scopes' aggregates there read this period's sums
                # through prev(): recompute them from their unchanged parts.
                next_compiled = compiled_edition(nxt.cycle.edition)
                next_indicators = _indicators(next_compiled, nxt)
                for basis in (Basis.ACCEPTED, Basis.PROVISIONAL):
                    for scope in scopes:
                        if AggregateValue.objects.filter(period=nxt, scope=scope, basis=basis).exists():
                            _apply(nxt, scope, basis, next_indicators, {}, {}, next_compiled, previous_period(nxt))
    return written


COUNT_COLUMNS = {Attainment.MET: "met", Attainment.NOT_MET: "not_met", Attainment.NO_VALUE: "no_value"}


def _apply(
    period: Period,
    scope: Organisation,
    basis: str,
    indicators: list[Indicator],
    part_deltas: dict[tuple[int, str], tuple[Decimal, int]],
    count_deltas: dict[tuple[int, str], int],
    compiled: CompiledEdition,
    before: Period | None,
) -> None:
    """Apply one city's changes to a scope's running sums, then recompute the scope's aggregate of every
    indicator from its summed parts (the caller holds the scope's lock)."""
    part_rows = AggregatePart.objects.filter(period=period, scope=scope, basis=basis, indicator__in=indicators)
    parts = {(p.indicator_id, p.item_code): p for p in part_rows}
    for (indicator_id, code), (delta, count) in part_deltas.items():
        part = parts.setdefault(
            (indicator_id, code),
            AggregatePart(period=period, scope=scope, indicator_id=indicator_id, basis=basis, item_code=code),
        )
        part.total += delta
        part.cities += count
    old_aggregates = AggregateValue.objects.filter(period=period, scope=scope, basis=basis, indicator__in=indicators)
    if not IndicatorValue.objects.filter(period=period, basis=basis, city__path__startswith=scope.path).exists():
        # The last city left the scope's figures for this period: the scope has none either (as after a rebuild).
        part_rows.delete()
        old_aggregates.delete()
        return
    counts = {a.indicator_id: (a.met, a.not_met, a.no_value) for a in old_aggregates}
    aggregates = _aggregates(period, scope, basis, indicators, list(parts.values()), compiled, before)
    for aggregate in aggregates:
        met, not_met, no_value = counts.get(aggregate.indicator_id, (0, 0, 0))
        aggregate.met = met + count_deltas.get((aggregate.indicator_id, Attainment.MET), 0)
        aggregate.not_met = not_met + count_deltas.get((aggregate.indicator_id, Attainment.NOT_MET), 0)
        aggregate.no_value = no_value + count_deltas.get((aggregate.indicator_id, Attainment.NO_VALUE), 0)
    part_rows.delete()
    AggregatePart.objects.bulk_create([p for p in parts.values() if p.cities or p.total])
    old_aggregates.delete()
    AggregateValue.objects.bulk_create(aggregates)


def _aggregates(
    period: Period,
    scope: Organisation,
    basis: str,
    indicators: list[Indicator],
    parts: list[AggregatePart],
    compiled: CompiledEdition,
    before: Period | None,
) -> list[AggregateValue]:
    """Each indicator's value for a scope from its summed parts (counts are filled in by the caller)."""
    previous_values = _scope_values(before, scope, basis, compiled) if before is not None else None
    by_indicator: dict[int, dict[str, Value | None]] = {}
    included: dict[int, int] = {}
    for part in parts:
        if part.cities > 0:
            by_indicator.setdefault(part.indicator_id, {})[part.item_code] = _mean_or_sum(
                compiled, part.item_code, part
            )
            included[part.indicator_id] = max(included.get(part.indicator_id, 0), part.cities)
    rows = []
    for indicator in indicators:
        values = by_indicator.get(indicator.pk)
        result = (
            compiled.compute(values, previous_values, only={indicator.code}).get(indicator.code) if values else None
        )
        rows.append(
            AggregateValue(
                period=period,
                scope=scope,
                indicator=indicator,
                basis=basis,
                value=_decimal(result),
                cities_included=included.get(indicator.pk, 0),
            )
        )
    return rows


def _mean_or_sum(compiled: CompiledEdition, code: str, part: AggregatePart) -> Fraction:
    item = compiled.items.get(code)
    total = Fraction(part.total)
    return total / part.cities if item is not None and item_method(item) == "mean" else total


def _scope_values(
    period: Period, scope: Organisation, basis: str, compiled: CompiledEdition
) -> dict[str, Value | None]:
    """A scope's aggregated items in a period, for ``prev()`` in aggregate formulas."""
    values: dict[str, Value | None] = {}
    for part in AggregatePart.objects.filter(period=period, scope=scope, basis=basis, cities__gt=0):
        values.setdefault(part.item_code, _mean_or_sum(compiled, part.item_code, part))
    return values


@transaction.atomic
def rebuild(periods: Iterable[Period] | None = None) -> int:
    """Recompute everything in one pass (after a bulk load or a change of method): every city's values, then each
    scope's sums and aggregates. Returns the number of city values written."""
    _refresh_statistics()
    selected = sorted(periods if periods is not None else Period.objects.all(), key=lambda p: (p.ends_on, p.pk))
    ids = [p.pk for p in selected]
    IndicatorValue.objects.filter(period_id__in=ids).delete()
    AggregatePart.objects.filter(period_id__in=ids).delete()
    AggregateValue.objects.filter(period_id__in=ids).delete()
    nation = national_scope()
    written = 0
    for period in selected:  # in time order, so a period's "previous period" aggregates exist already
        compiled = compiled_edition(period.cycle.edition)
        indicators = _indicators(compiled, period)
        if not indicators:
            continue
        before = previous_period(period)
        city_ids = _taking_part(Submission.objects.filter(period=period)).values_list("city_id", flat=True)
        cities = list(Organisation.objects.filter(pk__in=set(city_ids)).select_related("parent"))
        for basis in (Basis.ACCEPTED, Basis.PROVISIONAL):
            rows = [row for city in cities for row in _compute_city(city, period, basis, compiled, indicators, before)]
            IndicatorValue.objects.bulk_create(rows, batch_size=1000)
            written += len(rows)
            scope_of = {city.pk: _scopes_cached(city, nation) for city in cities}
            sums: dict[tuple[int, int, str], AggregatePart] = {}
            counts: dict[tuple[int, int], list[int]] = {}
            for row in rows:
                for scope in scope_of[row.city_id]:
                    for code, value in row.parts.items():
                        part = sums.setdefault(
                            (scope.pk, row.indicator_id, code),
                            AggregatePart(period=period, scope=scope, indicator_id=row.indicator_id, basis=basis,
                                          item_code=code),
                        )  # fmt: skip
                        part.total += Decimal(value)
                        part.cities += 1
                    tally = counts.setdefault((scope.pk, row.indicator_id), [0, 0, 0])
                    position = {Attainment.MET: 0, Attainment.NOT_MET: 1, Attainment.NO_VALUE: 2}.get(
                        Attainment(row.attainment)
                    )
                    if position is not None:
                        tally[position] += 1
            AggregatePart.objects.bulk_create(sums.values(), batch_size=1000)
            scopes = {scope.pk: scope for scope_list in scope_of.values() for scope in scope_list}
            for scope in scopes.values():
                parts = [p for (scope_id, _i, _c), p in sums.items() if scope_id == scope.pk]
                aggregates = _aggregates(period, scope, basis, indicators, parts, compiled, before)
                for aggregate in aggregates:
                    aggregate.met, aggregate.not_met, aggregate.no_value = counts.get(
                        (scope.pk, aggregate.indicator_id), [0, 0, 0]
                    )
                AggregateValue.objects.bulk_create(aggregates)
    return written


def _refresh_statistics() -> None:
    """After a bulk load PostgreSQL's planner still believes the reporting tables are small (it plans nested scans
    that take minutes); ANALYZE first — inside the transaction it also counts the rows this transaction inserted."""
    if connection.vendor != "postgresql":
        return
    tables = [DataValue._meta.db_table, Submission._meta.db_table, Period._meta.db_table, DataItem._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))


def _scopes_cached(city: Organisation, nation: Organisation) -> list[Organisation]:
    province = city.parent if city.parent is not None and city.parent.kind == OrganisationKind.PROVINCE else None
    return [scope for scope in (province, nation) if scope is not None]


def value_as_fraction(value: Decimal | None) -> Fraction | None:
    converted = to_fraction(value)
    return converted if isinstance(converted, Fraction) else None


def aggregate_for_cities(period: Period, city_ids: list[int], basis: str) -> dict[int, AggregateValue]:
    """Aggregates over any set of cities (a cohort within a scope), computed on reading from the cities' stored
    parts with the same method as the kept aggregates. Indicators comparing with the previous period get no
    aggregate here (the set's previous-period sums are not kept)."""
    compiled = compiled_edition(period.cycle.edition)
    indicators = _indicators(compiled, period)
    sums: dict[tuple[int, str], AggregatePart] = {}
    counts: dict[int, list[int]] = {}
    for row in IndicatorValue.objects.filter(period=period, basis=basis, city_id__in=city_ids).only(
        "indicator_id", "parts", "attainment"
    ):
        for code, value in row.parts.items():
            part = sums.setdefault(
                (row.indicator_id, code),
                AggregatePart(period=period, indicator_id=row.indicator_id, basis=basis, item_code=code),
            )
            part.total += Decimal(value)
            part.cities += 1
        position = {Attainment.MET: 0, Attainment.NOT_MET: 1, Attainment.NO_VALUE: 2}.get(Attainment(row.attainment))
        if position is not None:
            counts.setdefault(row.indicator_id, [0, 0, 0])[position] += 1
    aggregates = _aggregates(period, national_scope(), basis, indicators, list(sums.values()), compiled, None)
    for aggregate in aggregates:
        aggregate.met, aggregate.not_met, aggregate.no_value = counts.get(aggregate.indicator_id, [0, 0, 0])
    return {aggregate.indicator_id: aggregate for aggregate in aggregates}
