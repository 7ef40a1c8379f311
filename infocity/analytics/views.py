"""Dashboards (national → province → city), their CSV downloads, the analyst's outlier list and the monitoring
analysis reports. Every figure is scoped: a city sees itself and the national aggregate of accepted data, a province
its cities, the ministry and the monitoring agency everything."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infocity.accounts.models import Role, User
from infocity.accounts.permissions import role_required
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.frameworks.compute import target_text
from infocity.frameworks.models import Indicator
from infocity.organisations.models import Cohort, Organisation, OrganisationKind
from infocity.organisations.scoping import cohorts_visible_to, get_organisation_for, organisations_visible_to
from infocity.reporting.models import Period, ReportingCycle
from infocity.reporting.scoping import cycles_visible_to, submissions_visible_to
from infocity.reporting.stats import completeness
from infocity.scoping import get_visible_or_404, parse_id

from . import charts, queries, reports, services
from .models import AnalysisReport, Basis, IndicatorValue, OutlierReview
from .outliers import find_outliers
from .outliers import review as review_outlier
from .queries import fmt

ROLES = (Role.MINISTRY, Role.ANALYST, Role.PROVINCE_REVIEWER, Role.CITY_REPORTER, Role.CITY_APPROVER)
NATIONAL = {Role.MINISTRY, Role.ANALYST}
CITY = {Role.CITY_REPORTER, Role.CITY_APPROVER}
MAP_URL = "vendor/china-map-echarts-4.9.0/china-provinces.geojson"


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@dataclass
class Selection:
    """What a page shows, from the query string, checked: the cycle; the as-of period (each frequency is read at its
    latest period ending by then); the basis; the area and cohort filters; the indicator of the charts."""

    cycle: ReportingCycle
    period: Period
    periods_by_frequency: dict[str, Period]
    basis: str
    area: str
    cohort: Cohort | None
    indicator: Indicator
    periods: list[Period]
    cycles: list[ReportingCycle]

    @property
    def indicator_period(self) -> Period | None:
        return self.periods_by_frequency.get(self.indicator.frequency)

    def query(self, **overrides: Any) -> str:
        params = {
            "cycle": self.cycle.pk,
            "period": self.period.pk,
            "basis": self.basis,
            "area": self.area,
            "cohort": self.cohort.pk if self.cohort else "",
            "indicator": self.indicator.code,
        } | overrides
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def _selection(request: HttpRequest) -> Selection | None:
    user = _user(request)
    cycles = list(cycles_visible_to(user).select_related("edition").order_by("-year", "-pk"))
    cycle = next((c for c in cycles if str(c.pk) == request.GET.get("cycle")), None)
    if cycle is None:
        cycle = next((c for c in cycles if queries.default_period(c) is not None), cycles[0] if cycles else None)
    if cycle is None:
        return None
    basis = request.GET.get("basis", "")
    basis = basis if basis in Basis.values else Basis.ACCEPTED
    periods = list(queries.periods_with_values(cycle))
    period = next((p for p in periods if str(p.pk) == request.GET.get("period")), None) or queries.default_period(cycle)
    if period is None:
        return None
    areas = set(cycle.edition.areas.values_list("code", flat=True))
    area = request.GET.get("area", "") if request.GET.get("area", "") in areas else ""
    cohort_id = request.GET.get("cohort", "")
    cohort = cohorts_visible_to(user).filter(pk=parse_id(cohort_id), cycles=cycle).first() if cohort_id else None
    indicators = queries.indicators_of(cycle, area)
    indicator = indicators.filter(code=request.GET.get("indicator", "")).first() or (
        indicators.filter(target_kind=Indicator.TargetKind.COMPARISON).first() or indicators.first()
    )
    if indicator is None:
        return None
    by_frequency = queries.effective_periods(cycle, period, basis)
    return Selection(cycle, period, by_frequency, basis, area, cohort, indicator, periods, cycles)


def _scope(request: HttpRequest, param: str = "scope") -> Organisation:
    """National roles see the nation or any province they pick; a province reviewer its own province."""
    user = _user(request)
    national = services.national_scope()
    wanted = request.GET.get(param, "")
    if user.role in NATIONAL:
        if wanted and parse_id(wanted) != national.pk:
            scope = get_organisation_for(user, parse_id(wanted))
            if scope.kind != OrganisationKind.PROVINCE:
                raise Http404
            return scope
        return national
    if user.role == Role.PROVINCE_REVIEWER:
        if wanted and wanted != str(user.organisation_id):
            raise Http404
        return user.organisation
    raise PermissionDenied(_("城市用户请查看本市的监测看板。"))


def _cohort_cities(scope: Organisation, cohort: Cohort | None) -> list[int] | None:
    if cohort is None:
        return None
    return list(cohort.memberships.filter(city__path__startswith=scope.path).values_list("city_id", flat=True))


def _city_rows(selection: Selection, scope: Organisation, members: list[int] | None) -> list[dict[str, Any]]:
    period = selection.indicator_period
    if period is None:
        return []
    rows = queries.city_rows(period, selection.indicator, selection.basis, scope)
    return rows if members is None else [row for row in rows if row["city"].pk in members]


def _period_note(selection: Selection) -> str:
    """Which period each frequency is read at, e.g. "月度 2016年10月 · 季度 2016年第3季度"."""
    return " · ".join(f"{p.get_frequency_display()} {p.label}" for p in selection.periods_by_frequency.values())


@role_required(*ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    """国家 / 省级监测看板: attainment per indicator, the map (national), the cities, completeness."""
    user = _user(request)
    if user.role in CITY:
        return redirect(reverse("analytics:city", args=[user.organisation_id]) + "?" + request.GET.urlencode())
    scope = _scope(request)
    selection = _selection(request)
    if selection is None:
        return render(request, "analytics/empty.html")
    members = _cohort_cities(scope, selection.cohort)
    rows = queries.attainment_table(selection.periods_by_frequency, scope, selection.basis, selection.area, members)
    cities = _city_rows(selection, scope, members)
    is_national = scope.kind == OrganisationKind.MINISTRY
    scope_param = "" if is_national else str(scope.pk)
    query = selection.query(scope=scope_param)
    for row in rows:
        row.query = selection.query(scope=scope_param, indicator=row.indicator.code)
    indicator = selection.indicator
    period_label = selection.indicator_period.label if selection.indicator_period else "—"
    context: dict[str, Any] = {
        "selection": selection,
        "scope": scope,
        "scope_name": _("全国") if is_national else scope.name,
        "scope_param": scope_param,
        "is_national": is_national,
        "can_see_nation": user.role in NATIONAL,
        "query": query,
        "report_query": urlencode({"period": selection.period.pk, "basis": selection.basis, "scope": scope.pk}),
        "basis_label": Basis(selection.basis).label,
        "period_note": _period_note(selection),
        "selection_target": target_text(indicator),
        "indicator_period": period_label,
        "rows": rows,
        "cities": cities,
        "city_links": {c["city"].name: reverse("analytics:city", args=[c["city"].pk]) + "?" + query for c in cities},
        "indicators": queries.indicators_of(selection.cycle, selection.area),
        "areas": selection.cycle.edition.areas.all(),
        "cohorts": Cohort.objects.filter(cycles=selection.cycle, pk__in=cohorts_visible_to(user).values("pk")),
        "bases": Basis.choices,
        "attainment_chart": charts.attainment_option(
            rows, _("%(scope)s · 各指标达标城市数") % {"scope": _("全国") if is_national else scope.name}
        ),
        "cities_chart": charts.cities_bar_option(
            cities,
            indicator,
            f"{indicator.code} {indicator.name} · {_('全国') if is_national else scope.name} · {period_label}",
        ),
        "map_url": static(MAP_URL),
    }
    if is_national and selection.indicator_period is not None:
        provinces = queries.province_rows(selection.indicator_period, indicator, selection.basis)
        for province in provinces:
            province["query"] = selection.query(scope=province["scope"].pk)
        context["provinces"] = provinces
        context["province_links"] = {
            p["map_name"]: reverse("analytics:dashboard") + "?" + p["query"]
            for p in provinces
            if not p["separately_planned"]
        }
        context["map_chart"] = charts.map_option(provinces, cities, indicator, period_label)
    submissions = submissions_visible_to(user).filter(period__cycle=selection.cycle, city__path__startswith=scope.path)
    if members is not None:
        submissions = submissions.filter(city_id__in=members)
    total, tallies = completeness(submissions)
    context["completeness"] = total
    context["completeness_rows"] = tallies if is_national else (tallies[0].cities if tallies else [])
    return render(request, "analytics/dashboard.html", context)


def _city_for(request: HttpRequest, pk: int) -> Organisation:
    city = get_organisation_for(request.user, pk)
    if city.kind != OrganisationKind.CITY:
        raise Http404
    return city


def _national_basis(user: User, basis: str) -> str:
    """Outside the ministry and the agency, the national picture is accepted data only — never other provinces'
    data in review."""
    return basis if user.role in NATIONAL else Basis.ACCEPTED


@role_required(*ROLES)
def city_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    """城市监测看板: the city's indicators against targets and the nation; trends; progress toward the year end."""
    user = _user(request)
    city = _city_for(request, pk)
    selection = _selection(request)
    if selection is None:
        return render(request, "analytics/empty.html")
    national = services.national_scope()
    province = city.province()
    is_city_user = user.role in CITY
    national_basis = _national_basis(user, selection.basis)
    rows = queries.city_indicator_rows(
        selection.periods_by_frequency, city, selection.basis, national, national_basis, selection.area
    )
    for row in rows:
        row["query"] = selection.query(indicator=row["indicator"].code)
    indicator = selection.indicator
    series = _trend_series(user, city, selection)
    context = {
        "selection": selection,
        "query": selection.query(),
        "report_query": urlencode({"period": selection.period.pk, "basis": selection.basis, "scope": city.pk}),
        "basis_label": Basis(selection.basis).label,
        "period_note": _period_note(selection),
        "can_see_nation": user.role in NATIONAL,
        "can_drill_up": not is_city_user,
        "cohorts": None,
        "city": city,
        "province": province,
        "rows": rows,
        "indicators": queries.indicators_of(selection.cycle, selection.area),
        "areas": selection.cycle.edition.areas.all(),
        "bases": Basis.choices,
        "trend_chart": charts.trend_option(indicator, series),
        "national_basis": Basis(national_basis).label,
        "queries": OutlierReview.objects.filter(city=city, status=OutlierReview.Status.QUERIED)
        .select_related("period", "indicator", "reviewed_by")
        .order_by("-reviewed_at")[:20],
    }
    return render(request, "analytics/city.html", context)


def _trend_series(user: User, city: Organisation, selection: Selection) -> dict[str, list[tuple[str, Any]]]:
    """The indicator over time for the city, the nation and (except for city users) the city's province."""
    indicator, basis = selection.indicator, selection.basis
    frequency = indicator.frequency
    national_basis = _national_basis(user, basis)
    series = {
        city.name: _points(queries.trend(indicator.code, basis, city=city, frequency=frequency)),
        _("全国"): _points(
            queries.trend(indicator.code, national_basis, scope=services.national_scope(), frequency=frequency)
        ),
    }
    province = city.province()
    if province is not None and user.role not in CITY:
        series[province.name] = _points(queries.trend(indicator.code, basis, scope=province, frequency=frequency))
    return series


def _points(series: list[tuple[Period, Any]]) -> list[tuple[str, float | None]]:
    return [(period.label, queries.number(value, 2)) for period, value in series]


# --- CSV downloads --------------------------------------------------------------------------------


def _safe(value: Any) -> Any:
    """Cells that a spreadsheet would run as a formula are neutralised."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"} and not _is_number(value):
        return "'" + value
    return "" if value is None else value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv(name: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.csv") or "attachment"
    response.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with the BOM
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(v) for v in row])
    return response


@role_required(*ROLES)
def download(request: HttpRequest, table: str) -> HttpResponse:
    """The data behind each chart and table, for the same scope and filters, with the figures as shown."""
    user = _user(request)
    selection = _selection(request)
    if selection is None:
        raise Http404
    basis, indicator = selection.basis, selection.indicator
    decimals = indicator.decimals
    if table == "city":
        raw = request.GET.get("city", "")
        city = _city_for(request, parse_id(raw))
        city_rows = queries.city_indicator_rows(
            selection.periods_by_frequency,
            city,
            basis,
            services.national_scope(),
            _national_basis(user, basis),
            selection.area,
        )
        name = f"{city.name}-{selection.period.code}"
        header, data = queries.CITY_TABLE_HEADER, queries.city_table(city_rows)
    elif table == "trend":
        raw = request.GET.get("city", "")
        city = _city_for(request, parse_id(raw))
        series = _trend_series(user, city, selection)
        periods: list[str] = []
        for points in series.values():
            periods += [label for label, _value in points if label not in periods]
        name = f"{indicator.code}-{city.name}-趋势"
        header = ["报告期", *[f"{label}（{indicator.unit}）" for label in series]]
        data = [[label, *[fmt(dict(points).get(label), decimals) for points in series.values()]] for label in periods]
    elif table in {"attainment", "cities", "provinces"}:
        scope = _scope(request)
        members = _cohort_cities(scope, selection.cohort)
        if table == "attainment":
            rows = queries.attainment_table(selection.periods_by_frequency, scope, basis, selection.area, members)
            name = f"达标情况-{scope.name}-{selection.period.code}"
            header = [
                "指标代码",
                "指标",
                "单位",
                "报告期",
                "目标",
                "汇总值",
                "达标城市",
                "未达标城市",
                "无数据城市",
                "达标比例(%)",
                "参与汇总城市",
            ]
            data = [
                [
                    r.indicator.code,
                    r.indicator.name_zh,
                    r.indicator.unit,
                    r.period.label if r.period else "",
                    r.target,
                    fmt(r.value, r.indicator.decimals),
                    r.met,
                    r.not_met,
                    r.no_value,
                    fmt(r.share_percent, 1),
                    r.included,
                ]
                for r in rows
            ]
        elif table == "cities":
            cities = _city_rows(selection, scope, members)
            name = f"{indicator.code}-{scope.name}-{selection.period.code}"
            header = [
                "区划代码",
                "示范城市",
                "省级主管部门",
                f"{indicator.code} {indicator.name_zh}（{indicator.unit}）",
                "上期",
                "达标情况",
                "差距",
                "无数据原因",
            ]
            data = [
                [
                    r["code"],
                    r["city"].name,
                    r["province"],
                    fmt(r["value"], decimals),
                    fmt(r["previous"], decimals),
                    r["attainment_label"],
                    fmt(r["gap"], decimals),
                    r["reason"],
                ]
                for r in cities
            ]
        else:
            if scope.kind != OrganisationKind.MINISTRY or selection.indicator_period is None:
                raise Http404
            provinces = queries.province_rows(selection.indicator_period, indicator, basis)
            name = f"{indicator.code}-各省-{selection.period.code}"
            header = [
                "区划代码",
                "省级主管部门",
                f"{indicator.code} 汇总值",
                "达标城市",
                "未达标城市",
                "无数据城市",
                "达标比例(%)",
            ]
            data = [
                [
                    r["adcode"],
                    r["scope"].name,
                    fmt(r["value"], decimals),
                    r["met"],
                    r["not_met"],
                    r["no_value"],
                    fmt(r["share_met"] * 100 if r["share_met"] is not None else None, 1),
                ]
                for r in provinces
            ]
    else:
        raise Http404
    with transaction.atomic():
        record(
            Action.REPORT_EXPORT,
            request=request,
            detail={"report": f"analytics-{table}", "period": selection.period.code},
        )
    return _csv(name, header, data)


# --- outliers -------------------------------------------------------------------------------------


@role_required(Role.ANALYST)
def outlier_list(request: HttpRequest) -> HttpResponse:
    """异常值: values that stand out among peer cities or against their previous period, for the analyst."""
    selection = _selection(request)
    if selection is None:
        return render(request, "analytics/empty.html")
    flags = find_outliers(selection.period, Basis.PROVISIONAL)
    reviews = {
        (r.city_id, r.indicator_id): r
        for r in OutlierReview.objects.filter(period=selection.period).select_related("reviewed_by")
    }
    for flag in flags:
        flag["review"] = reviews.get((flag["city"].pk, flag["indicator"].pk))
    status = "all" if request.GET.get("status") == "all" else "open"
    if status == "open":
        flags = [f for f in flags if f["review"] is None]
    return render(request, "analytics/outliers.html", {"selection": selection, "flags": flags, "status": status})


@role_required(Role.ANALYST)
@require_POST
def outlier_review(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("value", "")
    value = get_visible_or_404(
        request.user,
        IndicatorValue.objects.select_related("period", "city", "indicator"),
        parse_id(raw),
    )
    try:
        review_outlier(
            actor=_user(request),
            value=value,
            decision=request.POST.get("decision", ""),
            note=request.POST.get("note", ""),
            request=request,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已记录处理结果。"))
    return redirect(f"{reverse('analytics:outliers')}?cycle={value.period.cycle_id}&period={value.period_id}")


# --- monitoring analysis reports ------------------------------------------------------------------


def _report_scopes(user: User) -> list[Organisation]:
    """The scopes a user may report on: the nation (national roles), provinces, cities — as far as they see."""
    visible = organisations_visible_to(user).filter(kind__in=[OrganisationKind.PROVINCE, OrganisationKind.CITY])
    if user.role in CITY:
        visible = visible.filter(pk=user.organisation_id)
    scopes = list(visible.order_by("path"))
    if user.role in NATIONAL:
        scopes.insert(0, services.national_scope())
    return scopes


def _report_periods(user: User) -> QuerySet[Period]:
    with_values = IndicatorValue.objects.values("period_id")
    return (
        Period.objects.filter(cycle__in=cycles_visible_to(user), pk__in=with_values)
        .select_related("cycle")
        .order_by("-ends_on", "frequency")
    )


@role_required(*ROLES)
def report_list(request: HttpRequest) -> HttpResponse:
    """监测分析报告: request a report for a period and scope; follow its progress; download PDF and Excel."""
    user = _user(request)
    scopes = _report_scopes(user)
    periods = _report_periods(user)
    if request.method == "POST":
        scope = next((s for s in scopes if str(s.pk) == request.POST.get("scope")), None)
        period = periods.filter(pk=parse_id(request.POST.get("period"))).first()
        basis = request.POST.get("basis", "")
        if scope is None or period is None or basis not in Basis.values:
            messages.error(request, _("请选择报告范围、报告期和数据口径。"))
        else:
            report = reports.request_report(actor=user, scope=scope, period=period, basis=basis, request=request)
            return redirect("analytics:report", pk=report.pk)
    visible = reports.reports_visible_to(user).select_related("scope", "period", "requested_by")[:50]
    return render(
        request,
        "analytics/reports.html",
        {
            "scopes": scopes,
            "periods": periods,
            "bases": Basis.choices,
            "reports": visible,
            "chosen": {k: request.GET.get(k, "") for k in ("scope", "period", "basis")},
        },
    )


@role_required(*ROLES)
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_visible_or_404(
        request.user, reports.reports_visible_to(_user(request)).select_related("scope", "period", "requested_by"), pk
    )
    template = "analytics/_report_status.html" if request.headers.get("HX-Request") else "analytics/report.html"
    return render(request, template, {"report": report})


@role_required(*ROLES)
def report_file(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    report = get_visible_or_404(
        request.user, reports.reports_visible_to(_user(request)).select_related("scope", "period"), pk
    )
    content = report.pdf if kind == "pdf" else report.xlsx if kind == "xlsx" else None
    if report.status != AnalysisReport.Status.DONE or content is None:
        raise Http404
    types = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    with transaction.atomic():
        record(Action.REPORT_EXPORT, request=request, target=report, detail={"report": "analysis", "format": kind})
    response = HttpResponse(bytes(content), content_type=types[kind])
    response["Content-Disposition"] = content_disposition_header(kind != "pdf", f"{report.filename}.{kind}") or ""
    return response
