"""The public site (公众门户): the programme and its calendar, the published monitoring figures with the map, a page
per demonstration city — and the ministry's page for publishing monitoring data. Public pages read only what the
ministry has published: live :class:`Release` rows, published evaluation runs and their confirmed awards."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from infocity.accounts.models import Role, User
from infocity.accounts.permissions import role_required
from infocity.analytics import charts
from infocity.analytics.models import Attainment
from infocity.analytics.queries import centre_of, map_name
from infocity.demo.models import demo_data_loaded
from infocity.evaluation.models import EvaluationRun
from infocity.evaluation.public_views import published_runs
from infocity.evaluation.services import published_awards
from infocity.frameworks.models import Frequency, Indicator
from infocity.organisations.models import Division, Organisation, OrganisationKind
from infocity.reporting.models import Period, ReportingCycle
from infocity.scoping import parse_id

from . import services
from .models import Release, ReleasedValue
from .services import PortalError

MAP_URL = "vendor/china-map-echarts-4.9.0/china-provinces.geojson"
# The guide's calendar (三（二）、三（三）), shown beside the cycle's own deadlines.
MILESTONES = [
    (gettext_lazy("7月底"), gettext_lazy("建成信息消费监测试运行平台，选取部分城市先行开展监测")),
    (gettext_lazy("8月上旬"), gettext_lazy("示范城市报送上半年示范工作进展情况")),
    (gettext_lazy("年底前"), gettext_lazy("扩大监测范围，示范城市按时准确填报监测信息")),
    (gettext_lazy("11月底"), gettext_lazy("示范城市报送全年示范工作进展情况和信息消费典型应用")),
    (gettext_lazy("12月"), gettext_lazy("开展年度评估、经验总结和成果验收，召开总结会，表彰先进城市和优秀应用")),
]


def _provinces() -> dict[str, Division]:
    return Division.objects.filter(level=Division.Level.PROVINCE).in_bulk()


def _province_of(city: Organisation, provinces: dict[str, Division]) -> Division | None:
    """The province a city lies in, by its division code (宁波 in 浙江, though its authority is separately planned)."""
    return provinces.get(city.division_id[:2] + "0000") if city.division_id else None


def _release_for(request: HttpRequest) -> Release | None:
    """The release the page shows: ?release=ID among live ones, else the latest."""
    wanted = parse_id(request.GET.get("release"))
    if wanted:
        return services.live_releases().filter(pk=wanted).first() or services.latest_release()
    return services.latest_release()


def _city_values(release: Release) -> dict[int, list[ReleasedValue]]:
    by_city: dict[int, list[ReleasedValue]] = defaultdict(list)
    for value in release.values.filter(city__isnull=False).select_related("indicator"):
        by_city[value.city_id or 0].append(value)
    return by_city


def share_met(values: list[ReleasedValue]) -> tuple[int, int]:
    """(met, assessed) over a city's published indicators with a target and a value."""
    met = sum(1 for v in values if v.attainment == Attainment.MET)
    return met, met + sum(1 for v in values if v.attainment == Attainment.NOT_MET)


def _map(release: Release, indicator: Indicator) -> dict[str, Any]:
    """The ECharts map of one published indicator: provinces shaded by the share of their cities meeting the
    target, cities as points coloured by attainment (the analytics dashboard's map, over published rows only)."""
    values = release.values.filter(indicator=indicator, city__isnull=False).select_related("city")
    divisions = _provinces()
    cities: list[dict[str, Any]] = []
    tallies: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for v in values:
        assert v.city is not None
        cities.append({"city": v.city, "centre": centre_of(v.city), "value": v.value, "attainment": v.attainment})
        province = _province_of(v.city, divisions)
        if province and v.attainment in {Attainment.MET, Attainment.NOT_MET}:
            tallies[province.code][1] += 1
            tallies[province.code][0] += v.attainment == Attainment.MET
    provinces = [
        {"map_name": map_name(divisions[code].name), "share_met": met / assessed, "separately_planned": False}
        for code, (met, assessed) in tallies.items()
    ]
    return charts.map_option(provinces, cities, indicator, release.period.label)


def _latest_run() -> EvaluationRun | None:
    """The published evaluation of the latest year."""
    run: EvaluationRun | None = published_runs().order_by("-scheme__cycle__year", "-published_at").first()
    return run


def _cycle_calendar() -> tuple[ReportingCycle | None, list[Period]]:
    cycle = ReportingCycle.objects.order_by("-year", "-pk").first()
    if cycle is None:
        return None, []
    shown = {Frequency.HALF_YEARLY, Frequency.ANNUAL, Frequency.PROGRESS}
    return cycle, list(cycle.periods.filter(frequency__in=shown).order_by("due_on", "frequency"))


@login_not_required
def home(request: HttpRequest) -> HttpResponse:
    """门户首页: the programme, its calendar and the headline published results."""
    release = _release_for(request)
    context: dict[str, Any] = {"release": release, "milestones": MILESTONES, "demo": demo_data_loaded()}
    context["cycle"], context["calendar"] = _cycle_calendar()
    if release is not None:
        totals = list(
            release.values.filter(city__isnull=True).select_related("indicator__area", "indicator__edition", "period")
        )
        totals.sort(key=lambda v: v.indicator.order)
        mapped = [t.indicator for t in totals if t.assessed]
        chosen = request.GET.get("indicator", "")
        indicator = next((i for i in mapped if i.code == chosen), mapped[0] if mapped else None)
        context.update(
            totals=totals,
            mapped=mapped,
            indicator=indicator,
            city_count=release.values.filter(city__isnull=False).values("city").distinct().count(),
            map_url=static(MAP_URL),
            map_chart=_map(release, indicator) if indicator else None,
            releases=services.live_releases().order_by("-period__ends_on"),
        )
    run = _latest_run()
    if run is not None and run.result:
        result = run.result
        top = sorted(range(len(result["cities"])), key=lambda i: result["ranks"][i])[:5]
        context["run"] = run
        context["top"] = [{"rank": result["ranks"][i], "city": result["cities"][i], "score": result["scores"][i]}
                          for i in top]  # fmt: skip
        context["award_count"] = published_awards().filter(run=run).count()
    context["showcase"] = services.live_showcase().order_by("-published_at")[:3]
    return render(request, "portal/home.html", context)


@login_not_required
def cities(request: HttpRequest) -> HttpResponse:
    """示范城市: every city with published figures, its share of targets met, rank and awards."""
    release = _release_for(request)
    rows: list[dict[str, Any]] = []
    ranks: dict[str, int] = {}
    run = _latest_run()
    if run is not None and run.result:
        ranks = {c["code"]: run.result["ranks"][i] for i, c in enumerate(run.result["cities"])}
    award_counts: dict[int, int] = defaultdict(int)
    for city_id in published_awards().values_list("city_id", flat=True):
        award_counts[city_id] += 1
    if release is not None:
        divisions = _provinces()
        by_city = _city_values(release)
        orgs = Organisation.objects.in_bulk(list(by_city))
        for city_id, values in by_city.items():
            city = orgs[city_id]
            met, assessed = share_met(values)
            province = _province_of(city, divisions)
            rows.append(
                {"city": city, "province": province.name if province else "", "met": met, "assessed": assessed,
                 "share": met / assessed * 100 if assessed else None, "rank": ranks.get(city.code),
                 "awards": award_counts.get(city.pk, 0)}
            )  # fmt: skip
    rows.sort(key=lambda r: r["city"].division_id or "")
    context = {
        "release": release,
        "rows": rows,
        "run": run,
        "releases": services.live_releases().order_by("-period__ends_on"),
        "demo": demo_data_loaded(),
    }
    return render(request, "portal/cities.html", context)


@login_not_required
def city(request: HttpRequest, code: str) -> HttpResponse:
    """One demonstration city: its published indicators with attainment, rank and awards, showcase items."""
    place = get_object_or_404(Organisation, kind=OrganisationKind.CITY, division_id=code)
    release = _release_for(request)
    values = []
    if release is not None:
        values = list(
            release.values.filter(city=place).select_related("indicator__area", "period").order_by("indicator__order")
        )
        totals = {
            v.indicator_id: v
            for v in release.values.filter(city__isnull=True, indicator_id__in=[x.indicator_id for x in values])
        }
        for v in values:
            v.total = totals.get(v.indicator_id)  # type: ignore[attr-defined]
    awards = list(published_awards().filter(city=place).select_related("run__scheme__cycle", "application"))
    showcase = list(services.live_showcase().filter(city=place))
    rank = None
    run = _latest_run()
    if run is not None and run.result:
        for i, c in enumerate(run.result["cities"]):
            if c["code"] == code:
                rank = {
                    "rank": run.result["ranks"][i],
                    "score": run.result["scores"][i],
                    "of": len(run.result["cities"]),
                }
    if not values and not awards and not showcase and rank is None:
        raise Http404  # nothing about this city has been published
    met, assessed = share_met(values)
    context = {
        "place": place, "release": release, "values": values, "awards": awards, "showcase": showcase,
        "rank": rank, "run": run, "met": met, "assessed": assessed,
        "province": getattr(_province_of(place, _provinces()), "name", ""),
        "releases": services.live_releases().filter(values__city=place).distinct().order_by("-period__ends_on"),
        "demo": demo_data_loaded(),
    }  # fmt: skip
    return render(request, "portal/city.html", context)


# --- the ministry publishes monitoring data ---------------------------------------------------------


@role_required(Role.MINISTRY)
def releases(request: HttpRequest) -> HttpResponse:
    """数据发布: the releases so far, and the accepted data of a period previewed before it is published."""
    cycles = ReportingCycle.objects.order_by("-year", "name")
    cycle = cycles.filter(pk=parse_id(request.GET.get("cycle"))).first()
    cycle = cycle or cycles.first()
    periods = list(services.releasable_periods(cycle)) if cycle else []
    published = set(Release.objects.filter(withdrawn_at__isnull=True).values_list("period_id", flat=True))
    period = next((p for p in periods if str(p.pk) == request.GET.get("period")), None)
    context: dict[str, Any] = {
        "cycles": cycles, "cycle": cycle, "periods": periods, "period": period, "published": published,
        "all_releases": Release.objects.select_related("cycle", "period", "published_by", "withdrawn_by").annotate(
            count=Count("values")
        ),
    }  # fmt: skip
    if period is not None:
        context["preview"] = services.release_preview(period)
    return render(request, "portal/releases.html", context)


@role_required(Role.MINISTRY)
@require_POST
def release_publish(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    period = get_object_or_404(Period, pk=parse_id(request.POST.get("period")))
    try:
        release = services.publish_release(
            actor=user, period=period, note=request.POST.get("note", ""), request=request
        )
    except PortalError as error:
        messages.error(request, str(error))
        return redirect(f"{reverse('portal:releases')}?cycle={period.cycle_id}&period={period.pk}")
    messages.success(
        request, _("已发布%(period)s的监测数据（%(n)s 项），公众门户和开放数据即时可见。")
        % {"period": period.label, "n": release.values.count()},
    )  # fmt: skip
    return redirect("portal:releases")


@role_required(Role.MINISTRY)
@require_POST
def release_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    release = get_object_or_404(Release, pk=pk)
    try:
        services.withdraw_release(actor=user, release=release, reason=request.POST.get("reason", ""), request=request)
    except PortalError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("已撤回该次发布，公众门户和开放数据不再显示其数据。"))
    return redirect("portal:releases")
