"""Pages of the annual evaluation: the overview, schemes, review rounds, the expert's scoring, runs with their
results and per-city explanations, acceptance, awards and certificates. Every change goes through
:mod:`infocity.evaluation.services`; every object is fetched from what the user may see (else 404)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from infocity.accounts.models import Role, User
from infocity.accounts.permissions import role_required
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.organisations.models import Organisation
from infocity.progress.content import sections_of
from infocity.progress.models import Attachment, TypicalApplication
from infocity.progress.sections import AREAS, SECTIONS
from infocity.reporting.models import ReportingCycle, Submission
from infocity.scoping import get_visible_or_404, parse_id

from . import engine, services
from .models import (
    AGGREGATION_LABELS,
    NORMALISATION_LABELS,
    WEIGHTING_LABELS,
    AcceptanceDecision,
    Assignment,
    Award,
    EvaluationRun,
    Scheme,
)
from .services import EvaluationWorkflowError

STAFF = (Role.ANALYST, Role.MINISTRY)
SAATY = ["1/9", "1/7", "1/5", "1/3", "1", "3", "5", "7", "9"]


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _version(request: HttpRequest) -> int | None:
    return parse_id(request.POST.get("version")) or None


def _refused(request: HttpRequest, error: Exception) -> None:
    messages.error(request, str(error))


# --- overview -------------------------------------------------------------------------------------


@role_required(*STAFF)
def index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    cycles = list(ReportingCycle.objects.order_by("-year", "-pk"))
    cycle = next((c for c in cycles if c.pk == parse_id(request.GET.get("cycle"))), cycles[0] if cycles else None)
    context: dict[str, Any] = {"cycles": cycles, "cycle": cycle, "is_analyst": services.is_analyst(user)}
    if cycle is not None:
        rounds = list(services.rounds_visible_to(user).filter(cycle=cycle))
        context.update(
            schemes=services.schemes_visible_to(user).filter(cycle=cycle).select_related("approved_by"),
            rounds=[(r, services.round_progress(r)) for r in rounds],
            closed_rounds=[r for r in rounds if r.closed],
            runnable=services.schemes_visible_to(user).filter(cycle=cycle).exclude(status=Scheme.Status.PENDING),
            runs=services.runs_visible_to(user).filter(scheme__cycle=cycle).select_related("scheme", "round",
                                                                                            "requested_by"),
        )  # fmt: skip
    return render(request, "evaluation/index.html", context)


@role_required(Role.ANALYST)
@require_POST
def scheme_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    cycle = ReportingCycle.objects.filter(pk=parse_id(request.POST.get("cycle"))).first()
    based_on = None
    if request.POST.get("based_on"):
        based_on = get_visible_or_404(user, services.schemes_visible_to(user), parse_id(request.POST.get("based_on")))
        cycle = based_on.cycle
    if cycle is None:
        messages.error(request, "请选择填报周期。")
        return redirect("evaluation:index")
    try:
        scheme = services.create_scheme(actor=user, cycle=cycle, based_on=based_on, request=request)
    except EvaluationWorkflowError as error:
        _refused(request, error)
        return redirect(f"{reverse('evaluation:index')}?cycle={cycle.pk}")
    messages.success(request, "已新建评估方案草稿。")
    return redirect("evaluation:scheme", scheme.pk)


# --- schemes --------------------------------------------------------------------------------------


def _scheme_context(user: User, scheme: Scheme) -> dict[str, Any]:
    items = list(scheme.items.select_related("indicator__area").order_by("indicator__area__order", "indicator__order"))
    areas = services.scheme_areas(scheme)
    groups = []
    for code, name in areas:
        members = [i for i in items if i.indicator.area.code == code]
        groups.append({"code": code, "name": name, "items": members, "points": sum(i.points for i in members)})
    total = sum((i.points for i in items), Decimal(0))
    pairwise = scheme.area_pairwise if len(scheme.area_pairwise) == len(areas) else [[1.0] * len(areas)] * len(areas)
    triangle = []
    for a in range(len(areas)):
        for b in range(a + 1, len(areas)):
            triangle.append({"a": areas[a], "b": areas[b], "name": f"pw-{a}-{b}", "value": _saaty(pairwise[a][b])})
    ahp = None
    if scheme.weighting == "ahp" and len(areas) > 0:
        result = engine.analyse_pairwise(pairwise)
        ahp = {"cr": result.cr, "ok": result.cr < engine.CONSISTENCY_LIMIT,
               "weights": [(areas[k][1], float(w) * 100) for k, w in enumerate(result.weights)]}  # fmt: skip
    editable = scheme.status == Scheme.Status.DRAFT and services.is_analyst(user)
    return {
        "scheme": scheme, "groups": groups, "total": total, "grand_total": total + scheme.expert_points,
        "problems": services.scheme_problems(scheme), "editable": editable, "triangle": triangle, "saaty": SAATY,
        "ahp": ahp, "normalisations": NORMALISATION_LABELS, "weightings": WEIGHTING_LABELS,
        "aggregations": AGGREGATION_LABELS, "is_analyst": services.is_analyst(user),
        "is_ministry": services.is_ministry(user),
    }  # fmt: skip


def _saaty(value: float) -> str:
    """The Saaty scale label nearest a stored judgement."""
    for label in SAATY:
        number = 1 / int(label[2:]) if label.startswith("1/") else int(label)
        if abs(number - value) < 1e-6:
            return label
    return "1"


def _saaty_value(label: str) -> float:
    if label not in SAATY:
        raise EvaluationWorkflowError("两两比较的判断值应取 1/9、1/7、1/5、1/3、1、3、5、7、9 之一。")
    return 1 / int(label[2:]) if label.startswith("1/") else float(label)


@role_required(*STAFF)
def scheme_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    scheme = get_visible_or_404(user, services.schemes_visible_to(user).select_related("cycle"), pk)
    return render(request, "evaluation/scheme.html", _scheme_context(user, scheme))


@role_required(Role.ANALYST)
@require_POST
def scheme_save(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    scheme = get_visible_or_404(user, services.schemes_visible_to(user), pk)
    post = request.POST
    points = {parse_id(key[len("points-") :]): value for key, value in post.items() if key.startswith("points-")}
    use_target = [parse_id(v) for v in post.getlist("use_target")]
    areas = services.scheme_areas(scheme)
    try:
        pairwise = None
        if any(key.startswith("pw-") for key in post):
            n = len(areas)
            matrix = [[1.0] * n for _ in range(n)]
            for a in range(n):
                for b in range(a + 1, n):
                    value = _saaty_value(post.get(f"pw-{a}-{b}", "1"))
                    matrix[a][b], matrix[b][a] = value, 1 / value
            pairwise = matrix
        fields: dict[str, Any] = {key: post.get(key, "") for key in (
            "name", "description", "normalisation", "weighting", "aggregation", "expert_points", "report_share",
            "min_coverage", "mc_samples", "mc_seed", "mc_spread", "advanced_cities", "advanced_min_score",
            "excellent_threshold", "excellent_max",
        )}  # fmt: skip
        fields["mc_rank_normalisation"] = post.get("mc_rank_normalisation") == "on"
        services.save_scheme(
            actor=user, scheme=scheme, settings=fields, points=points, use_target=use_target, pairwise=pairwise,
            expected_version=_version(request), request=request,
        )  # fmt: skip
    except EvaluationWorkflowError as error:
        _refused(request, error)
    else:
        messages.success(request, "评估方案已保存。")
    return redirect("evaluation:scheme", scheme.pk)


@role_required(*STAFF)
@require_POST
def scheme_action(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    scheme = get_visible_or_404(user, services.schemes_visible_to(user), pk)
    action = request.POST.get("action", "")
    try:
        if action == "submit":
            services.submit_scheme(actor=user, scheme=scheme, expected_version=_version(request), request=request)
            messages.success(request, "方案已提交部级审批。")
        elif action in {"approve", "return"}:
            services.decide_scheme(
                actor=user, scheme=scheme, approve=action == "approve", note=request.POST.get("note", ""),
                expected_version=_version(request), request=request,
            )  # fmt: skip
            messages.success(request, "方案已批准。" if action == "approve" else "方案已退回监测机构修改。")
        else:
            messages.error(request, "未知的操作。")
    except EvaluationWorkflowError as error:
        _refused(request, error)
    return redirect("evaluation:scheme", scheme.pk)


# --- review rounds (analyst) ----------------------------------------------------------------------


@role_required(Role.ANALYST)
@require_POST
def round_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    cycle = ReportingCycle.objects.filter(pk=parse_id(request.POST.get("cycle"))).first()
    if cycle is None:
        messages.error(request, "请选择填报周期。")
        return redirect("evaluation:index")
    try:
        review = services.create_round(actor=user, cycle=cycle, name=request.POST.get("name", ""), request=request)
    except EvaluationWorkflowError as error:
        _refused(request, error)
        return redirect(f"{reverse('evaluation:index')}?cycle={cycle.pk}")
    return redirect("evaluation:round", review.pk)


@role_required(*STAFF)
def round_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    review = get_visible_or_404(user, services.rounds_visible_to(user).select_related("cycle"), pk)
    assignments = list(
        review.assignments.select_related("expert__organisation", "city", "application", "submission__period")
    )
    items: dict[tuple[str, int], dict[str, Any]] = {}
    for a in assignments:
        key = ("application", a.application_id) if a.application_id else ("report", a.submission_id or 0)
        entry = items.setdefault(key, {"kind": key[0], "city": a.city, "application": a.application,
                                       "submission": a.submission, "assignments": []})  # fmt: skip
        entry["assignments"].append({"a": a, "visible": services.marks_visible(user, a)})
    for entry in items.values():
        totals = [
            x["a"].total
            for x in entry["assignments"]
            if x["visible"] and x["a"].submitted_at and x["a"].total is not None
        ]
        entry["mean"] = sum(totals) / len(totals) if totals else None
    return render(request, "evaluation/round.html", {
        "review": review, "progress": services.round_progress(review), "items": list(items.values()),
        "experts": services.experts(),
        "reports": services.full_year_reports(review.cycle).order_by("city__division_id"),
        "applications": services.reviewable_applications(review.cycle).order_by("submission__city__division_id", "pk"),
        "is_analyst": services.is_analyst(user),
    })  # fmt: skip


@role_required(Role.ANALYST)
@require_POST
def round_action(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    review = get_visible_or_404(user, services.rounds_visible_to(user), pk)
    action = request.POST.get("action", "")
    try:
        if action == "assign":
            expert = services.experts().filter(pk=parse_id(request.POST.get("expert"))).first()
            if expert is None:
                raise EvaluationWorkflowError("请选择评审专家。")
            target = request.POST.get("target", "")
            kind, _, raw = target.partition("-")
            report = application = None
            if kind == "report":
                report = services.full_year_reports(review.cycle).filter(pk=parse_id(raw)).first()
            elif kind == "application":
                application = services.reviewable_applications(review.cycle).filter(pk=parse_id(raw)).first()
            if report is None and application is None:
                raise EvaluationWorkflowError("请选择要评审的进展报告或典型应用。")
            services.assign(actor=user, review=review, expert=expert, report=report, application=application,
                            request=request)  # fmt: skip
            messages.success(request, "已分配评审任务。")
        elif action == "auto":
            per_item = parse_id(request.POST.get("per_item")) or 0
            made = services.auto_assign(actor=user, review=review, per_item=per_item, request=request)
            messages.success(request, f"已自动分配 {made} 项评审任务（已回避同省专家）。")
        elif action == "unassign":
            assignment = get_visible_or_404(user, Assignment.objects.filter(round=review),
                                            parse_id(request.POST.get("assignment")))  # fmt: skip
            services.unassign(actor=user, assignment=assignment, request=request)
            messages.success(request, "已撤销该评审任务。")
        elif action == "close":
            services.close_round(actor=user, review=review, accept_missing=request.POST.get("accept_missing") == "on",
                                 request=request)  # fmt: skip
            messages.success(request, "专家评审已结束，评分对监测机构和专家公开，可用于评估。")
        else:
            messages.error(request, "未知的操作。")
    except EvaluationWorkflowError as error:
        _refused(request, error)
    return redirect("evaluation:round", review.pk)


# --- the expert's side ----------------------------------------------------------------------------


@role_required(Role.EXPERT)
def my_reviews(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    assignments = (
        services.assignments_visible_to(user)
        .select_related("round", "city", "application", "submission__period")
        .order_by("round__status", "-round__created_at", "city__division_id", "pk")
    )
    return render(request, "evaluation/my_reviews.html", {"assignments": assignments})


@role_required(Role.EXPERT, *STAFF)
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """The material of one assignment with the scoring form (the expert) or the marks (after the round closed)."""
    user = _user(request)
    assignment = get_visible_or_404(
        user,
        services.assignments_visible_to(user).select_related("round", "city", "application", "submission__period"),
        pk,
    )
    report: Submission | None = assignment.submission
    application: TypicalApplication | None = assignment.application
    sections: list[dict[str, Any]] = []
    applications: list[TypicalApplication] = []
    if report is not None:
        stored = sections_of(report)
        sections = [{"section": s, "html": stored[s.key]} for s in SECTIONS]
        applications = list(TypicalApplication.objects.filter(submission=report, endorsed_at__isnull=False))
    files = Attachment.objects.none()
    if application is not None:
        files = Attachment.objects.filter(application=application, removed_at__isnull=True, inline=False)
    elif report is not None:
        files = Attachment.objects.filter(
            submission=report, removed_at__isnull=True, inline=False, application__isnull=True
        )
    criteria = [{**c, "value": assignment.marks.get(str(c["code"]), "")} for c in services.criteria_of(assignment)]
    peers = []
    if assignment.round.closed:
        same = Assignment.objects.filter(round=assignment.round, submission=assignment.submission,
                                         application=assignment.application).exclude(pk=assignment.pk)  # fmt: skip
        peers = [p for p in same.order_by("pk") if services.marks_visible(user, p)]
    return render(request, "evaluation/review.html", {
        "assignment": assignment, "report": report, "application": application, "sections": sections,
        "applications": applications, "files": files, "criteria": criteria, "peers": peers,
        "areas": {a.code: a.name_zh for a in AREAS}, "max_total": sum(Decimal(str(c["max"])) for c in criteria),
        "mine": assignment.expert_id == user.pk,
        "editable": assignment.expert_id == user.pk and not assignment.round.closed,
    })  # fmt: skip


@role_required(Role.EXPERT)
@require_POST
def review_save(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    assignment = get_visible_or_404(user, services.assignments_visible_to(user), pk)
    marks = {key[len("mark-") :]: value for key, value in request.POST.items() if key.startswith("mark-")}
    submit = request.POST.get("action") == "submit"
    try:
        services.save_marks(
            actor=user, assignment=assignment, marks=marks, comment=request.POST.get("comment", ""), submit=submit,
            expected_version=parse_id(request.POST.get("version")) if request.POST.get("version") else None,
            request=request,
        )  # fmt: skip
    except EvaluationWorkflowError as error:
        _refused(request, error)
        return redirect("evaluation:review", assignment.pk)
    messages.success(request, "评分已提交。评审结束前你仍可修改。" if submit else "评分已暂存。")
    return redirect("evaluation:my_reviews" if submit else "evaluation:review", *([] if submit else [assignment.pk]))


# --- runs -----------------------------------------------------------------------------------------


@role_required(Role.ANALYST)
@require_POST
def run_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    scheme = get_visible_or_404(user, services.schemes_visible_to(user), parse_id(request.POST.get("scheme")))
    review = None
    if request.POST.get("round"):
        review = get_visible_or_404(user, services.rounds_visible_to(user), parse_id(request.POST.get("round")))
    try:
        run = services.request_run(actor=user, scheme=scheme, review=review, request=request)
    except EvaluationWorkflowError as error:
        _refused(request, error)
        return redirect(f"{reverse('evaluation:index')}?cycle={scheme.cycle_id}")
    return redirect("evaluation:run", run.pk)


def _run(request: HttpRequest, pk: int) -> EvaluationRun:
    user = _user(request)
    return get_visible_or_404(user, services.runs_visible_to(user).select_related("scheme__cycle", "round"), pk)


def _rows(run: EvaluationRun) -> list[dict[str, Any]]:
    """One row per ranked city, in rank order, with everything the results table shows."""
    result = run.result
    assert result is not None
    decisions = {d.city_id: d for d in run.decisions.select_related("decided_by")}
    area_names = {a["code"]: a["name"] for a in (run.scheme_snapshot or {}).get("areas", [])}
    area_names["X"] = "专家评审"
    columns = result["columns"]
    expert_index = {c["kind"]: k for k, c in enumerate(columns) if c["kind"] in {"report", "applications"}}
    rows = []
    for i, city in enumerate(result["cities"]):
        uncertainty = result["uncertainty"]
        rows.append({
            "index": i, "city": city, "score": result["scores"][i], "rank": result["ranks"][i],
            "median": uncertainty["median"][i] if uncertainty else None,
            "p5": uncertainty["p5"][i] if uncertainty else None,
            "p95": uncertainty["p95"][i] if uncertainty else None,
            "areas": [(area_names.get(code, code), result["area_scores"][i][k] if result["area_scores"] else None)
                      for k, code in enumerate(result["area_codes"])],
            "report": result["normalised"][i][expert_index["report"]] if "report" in expert_index else None,
            "applications": (result["normalised"][i][expert_index["applications"]]
                             if "applications" in expert_index else None),
            "flagged": result["flagged"][i],
            "missing": sum(result["missing"][i]),
            "decision": decisions.get(city["id"]),
            "suggested": services.suggested_decision(result["scores"][i], result["flagged"][i]),
        })  # fmt: skip
    rows.sort(key=lambda r: (r["rank"], r["city"]["code"]))
    for entry in result.get("unranked", []):
        city = entry["city"]
        rows.append({
            "city": city, "score": None, "rank": None, "median": None, "p5": None, "p95": None,
            "areas": [(area_names.get(code, code), None) for code in result["area_codes"]],
            "flagged": True, "missing": None, "coverage": entry["coverage"], "unranked": True,
            "decision": decisions.get(city["id"]),
            "suggested": AcceptanceDecision.Decision.CONDITIONAL,
        })  # fmt: skip
    return rows


def _interval_chart(rows: list[dict[str, Any]], samples: int) -> dict[str, Any]:
    """Each city's 90 % rank interval (a floating bar from p5 to p95) and its median rank (a dot)."""
    names = [r["city"]["name"] for r in rows]
    return {
        "title": {"text": f"名次的不确定性（{samples} 次权重扰动）", "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0, "data": ["90% 区间", "中位名次", "名次"]},
        "grid": {"left": 80, "right": 40, "top": 40, "bottom": 56},
        "xAxis": {"type": "value", "min": 1, "max": max(len(rows), 1), "name": "名次", "minInterval": 1},
        "yAxis": {"type": "category", "data": names, "inverse": True},
        "series": [
            {"name": "起点", "type": "bar", "stack": "interval", "silent": True,
             "itemStyle": {"color": "transparent"}, "data": [r["p5"] - 0.4 for r in rows]},
            {"name": "90% 区间", "type": "bar", "stack": "interval", "itemStyle": {"color": "#9ec5fe"},
             "data": [r["p95"] - r["p5"] + 0.8 for r in rows]},
            {"name": "中位名次", "type": "scatter", "symbolSize": 8, "itemStyle": {"color": "#0d6efd"},
             "data": [r["median"] for r in rows]},
            {"name": "名次", "type": "scatter", "symbol": "diamond", "symbolSize": 9, "itemStyle": {"color": "#dc3545"},
             "data": [r["rank"] for r in rows]},
        ],
    }  # fmt: skip


@role_required(*STAFF)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    run = _run(request, pk)
    # A run silent this long was interrupted (the worker stopped): say so, a new run can be started.
    stalled_before = timezone.now() - datetime.timedelta(minutes=settings.BULK_STALLED_MINUTES)
    context: dict[str, Any] = {"run": run, "is_analyst": services.is_analyst(user),
                               "is_ministry": services.is_ministry(user),
                               "stalled": not run.finished and run.requested_at < stalled_before}  # fmt: skip
    if request.headers.get("HX-Request"):
        if not run.finished:
            return render(request, "evaluation/_run_status.html", context)
        # Finished: the whole page changes (results, chart), so htmx reloads it.
        response = HttpResponse("")
        response["HX-Refresh"] = "true"
        return response
    if run.status == EvaluationRun.Status.DONE and run.result is not None:
        rows = _rows(run)
        uncertainty = run.result["uncertainty"]
        context.update(
            rows=rows,
            chart=_interval_chart([r for r in rows if r["rank"]], uncertainty["samples"]) if uncertainty else None,
            chart_height=max(320, 22 * sum(1 for r in rows if r["rank"]) + 100),
            area_headers=[name for name, _ in rows[0]["areas"]] if rows else [],
            awards=list(run.awards.select_related("city", "application").order_by("-kind", "position", "pk")),
            agreement=[
                {**a, "label": AGGREGATION_LABELS.get(a["method"], a["label"])} for a in run.result["agreement"]
            ],
            decided=sum(1 for r in rows if r["decision"]),
            proposal=services.proposal_token(run),
            ranked=sum(1 for r in rows if r["rank"]),
            decisions=AcceptanceDecision.Decision.choices,
        )
    return render(request, "evaluation/run.html", context)


@role_required(*STAFF)
def run_city(request: HttpRequest, pk: int, city: int) -> HttpResponse:
    """Why a city scored what it did: each part's score, weight and contribution against the cohort, down to the
    submitted data items and the submission versions they came from."""
    run = _run(request, pk)
    if run.result is None or run.inputs is None:
        messages.error(request, "该评估尚未完成。")
        return redirect("evaluation:run", run.pk)
    result, inputs = run.result, run.inputs
    i = next((k for k, c in enumerate(result["cities"]) if c["id"] == city), None)
    if i is None:
        raise Http404
    raw_index = next(k for k, c in enumerate(inputs["cities"]) if c["id"] == city)
    explanation = result["explanation"]
    area_names = {a["code"]: a["name"] for a in (run.scheme_snapshot or {}).get("areas", [])} | {"X": "专家评审"}
    indicators = {entry["code"]: entry for entry in inputs["indicators"]}
    parts = []
    for j, column in enumerate(result["columns"]):
        source = None
        raw = None
        if column["kind"] == "indicator":
            raw = inputs["values"][raw_index][column["index"]]
            source = inputs["sources"][raw_index][column["index"]]
        parts.append({
            "column": column, "area": area_names.get(column["area"], column["area"]),
            "indicator": indicators.get(column["code"]), "raw": raw, "source": source,
            "normalised": result["normalised"][i][j], "missing": result["missing"][i][j],
            "weight": explanation["effective_weights"][i][j] * 100,
            "nominal": result["weights"][j] * 100,
            "contribution": explanation["contributions"][i][j], "mean": explanation["cohort_mean"][j],
            "difference": explanation["difference"][i][j],
        })  # fmt: skip
    parts.sort(key=lambda p: -(p["difference"] or 0))
    expert = inputs.get("expert") or {}
    uncertainty = result["uncertainty"]
    return render(request, "evaluation/city.html", {
        "run": run, "city": result["cities"][i], "score": result["scores"][i], "rank": result["ranks"][i],
        "count": len(result["cities"]), "parts": parts, "exact": explanation["exact"],
        "mean_score": sum(s for s in result["scores"]) / len(result["scores"]),
        "median": uncertainty["median"][i] if uncertainty else None,
        "p5": uncertainty["p5"][i] if uncertainty else None, "p95": uncertainty["p95"][i] if uncertainty else None,
        "report_detail": (expert.get("report_detail") or [[]] * len(inputs["cities"]))[raw_index],
        "application_detail": (expert.get("application_detail") or [[]] * len(inputs["cities"]))[raw_index],
        # A missing part contributes nothing and its weight went to the city's other parts: it is shown in the
        # table, but it did not "lower" the score the way a low value does.
        "raised": [p for p in parts if p["difference"] > 0.005 and not p["missing"]][:5],
        "lowered": [p for p in reversed(parts) if p["difference"] < -0.005 and not p["missing"]][:5],
        "missing_parts": [p for p in parts if p["missing"]],
        "flagged": result["flagged"][i],
    })  # fmt: skip


@role_required(*STAFF)
@require_POST
def run_action(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    run = _run(request, pk)
    action = request.POST.get("action", "")
    try:
        if action == "reproduce":
            outcome = services.reproduce(actor=user, run=run, request=request)
            if outcome["fingerprint_ok"] and outcome["result_ok"]:
                messages.success(
                    request,
                    f"复算一致：由冻结的数据、方案和代码版本重新计算，结果逐位相同（{outcome['result_hash'][:12]}…）。",
                )
            elif not outcome["fingerprint_ok"]:
                messages.error(
                    request, "冻结记录的校验值不符：冻结的数据、方案或代码版本在存储后被改动过，请联系系统管理员核查。"
                )
            else:
                messages.error(
                    request,
                    f"复算结果与存档不一致。计算代码版本：存档 {outcome['code_then']}，当前 {outcome['code_now']}。",
                )
        elif action == "decide":
            cities = services.evaluated_cities(run) if run.result else []
            organisations = Organisation.objects.in_bulk([c["id"] for c in cities])
            entries = []
            for city in cities:
                decision = request.POST.get(f"decision-{city['id']}", "")
                if not decision or city["id"] not in organisations:
                    continue
                raw_version = request.POST.get(f"version-{city['id']}")
                entries.append({
                    "city": organisations[city["id"]], "decision": decision,
                    "comment": request.POST.get(f"comment-{city['id']}", ""),
                    "expected_version": None if raw_version is None else parse_id(raw_version),
                })  # fmt: skip
            before = run.awards_proposed_at
            services.decide_acceptances(actor=user, run=run, entries=entries, request=request)
            messages.success(request, f"已保存 {len(entries)} 个城市的验收结论。")
            run.refresh_from_db()
            if before and not run.awards_proposed_at:
                messages.warning(request, "验收结论有变更，原表彰建议已撤回，请重新生成表彰建议。")
        elif action == "propose":
            awards = services.propose_awards(actor=user, run=run, request=request)
            messages.success(request, f"已按方案规则生成 {len(awards)} 项表彰建议，等待部级确认。")
        elif action == "confirm":
            keep = [parse_id(v) for v in request.POST.getlist("keep")]
            services.confirm_awards(actor=user, run=run, keep=keep, proposal=request.POST.get("proposal"),
                                    request=request)  # fmt: skip
            messages.success(request, "表彰名单已确认，证书已编号。")
        elif action == "publish":
            services.publish(actor=user, run=run, request=request)
            messages.success(request, "评估结果和表彰名单已发布。")
        else:
            messages.error(request, "未知的操作。")
    except EvaluationWorkflowError as error:
        _refused(request, error)
    return redirect("evaluation:run", run.pk)


@role_required(*STAFF, Role.CITY_REPORTER, Role.CITY_APPROVER)
def certificate(request: HttpRequest, pk: int) -> HttpResponseBase:
    from .certificates import certificate_filename, render_certificate

    user = _user(request)
    award: Award = get_visible_or_404(
        user,
        services.awards_visible_to(user)
        .filter(status=Award.Status.CONFIRMED)
        .select_related("run__scheme__cycle", "city", "application"),
        pk,
    )
    data = render_certificate(award)
    record(Action.CERTIFICATE_DOWNLOAD, actor=user, request=request, target=award.run, detail={"award": award.pk})
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, certificate_filename(award)) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response
