"""The annual evaluation prepared by the demonstration data of `make run` (loaded once for this module, with the
fixture of the analytics demo tests): the 2016 default scheme is approved, the expert review is closed with every
assignment scored and no expert reviewing a city of their own province, a few typical applications are excellent,
and the analyst can run an official evaluation on it straight away."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from infocity.accounts.models import User
from infocity.evaluation import services
from infocity.evaluation.models import (
    APPLICATION_COLUMN,
    REPORT_COLUMN,
    AcceptanceDecision,
    Assignment,
    Award,
    EvaluationRun,
    ReviewRound,
    Scheme,
)
from infocity.reporting.models import ReportingCycle

from .test_analytics_demo import demo  # noqa: F401 — the module-scoped demonstration data

pytestmark = pytest.mark.usefixtures("demo", "db")


def cycle_2016() -> ReportingCycle:
    return ReportingCycle.objects.get(year=2016)


def the_round() -> ReviewRound:
    return ReviewRound.objects.get(cycle=cycle_2016())


def maximum(criteria: list[dict[str, object]]) -> Decimal:
    return sum((Decimal(str(c["max"])) for c in criteria), Decimal(0))


def test_the_2016_default_scheme_is_approved_by_the_ministry() -> None:
    scheme = Scheme.objects.get(cycle=cycle_2016())
    assert scheme.status == Scheme.Status.APPROVED
    assert scheme.created_by == User.objects.get(username="analyst")
    assert scheme.approved_by == User.objects.get(username="ministry")
    assert not services.scheme_problems(scheme)
    # Nothing beyond the review is done for the analyst: no run, decision or award.
    assert not EvaluationRun.objects.exists()
    assert not AcceptanceDecision.objects.exists()
    assert not Award.objects.exists()


def test_the_review_round_is_closed_with_every_assignment_scored() -> None:
    review = the_round()
    assert review.status == ReviewRound.Status.CLOSED
    assert review.closed_by == User.objects.get(username="analyst")
    reports = set(services.full_year_reports(review.cycle).values_list("pk", flat=True))
    applications = set(services.reviewable_applications(review.cycle).values_list("pk", flat=True))
    assert reports and applications
    assignments = list(Assignment.objects.filter(round=review).select_related("expert"))
    assert len(assignments) == 2 * (len(reports) + len(applications))
    experts: dict[tuple[str, int], set[str]] = defaultdict(set)
    for a in assignments:
        experts[(a.kind, a.application_id or a.submission_id or 0)].add(a.expert.username)
        assert a.submitted_at is not None and a.total is not None
        assert a.comment.startswith("【演示数据】")
        criteria = review.application_criteria if a.application_id else review.report_criteria
        assert set(a.marks) == {c["code"] for c in criteria}
        for criterion in criteria:
            assert Decimal(0) <= Decimal(a.marks[criterion["code"]]) <= Decimal(str(criterion["max"]))
        assert a.total == sum(Decimal(v) for v in a.marks.values())
    assert {key for key in experts if key[0] == "report"} == {("report", pk) for pk in reports}
    assert {key for key in experts if key[0] == "application"} == {("application", pk) for pk in applications}
    assert all(len(names) == 2 for names in experts.values())
    # The load is spread over all five demonstration experts.
    assert {a.expert.username for a in assignments} == {f"expert{n}" for n in range(1, 6)}


def test_no_expert_reviews_a_city_of_their_own_province() -> None:
    for a in Assignment.objects.filter(round=the_round()).select_related("expert__organisation", "city"):
        assert a.expert.organisation is not None and a.expert.organisation.division_id
        assert str(a.expert.organisation.division_id)[:2] != a.city.code[:2], (a.expert.username, a.city.name)
        assert not services.conflict(a.expert, a.city)


def test_marks_follow_the_development_level_and_a_few_applications_are_excellent() -> None:
    review = the_round()
    report_max, application_max = maximum(review.report_criteria), maximum(review.application_criteria)
    reports: dict[str, list[float]] = defaultdict(list)
    applications: dict[int, list[float]] = defaultdict(list)
    for a in Assignment.objects.filter(round=review).select_related("city"):
        assert a.total is not None
        if a.application_id:
            applications[a.application_id].append(float(a.total * 100 / application_max))
        else:
            region = "east" if a.city.code[:2] in {"31", "32", "33", "35", "37", "44"} else "other"
            reports[region].append(float(a.total * 100 / report_max))
    means = [sum(scores) / len(scores) for scores in applications.values()]
    excellent = [m for m in means if m >= 85]
    scheme = Scheme.objects.get(cycle=review.cycle)
    assert 1 <= len(excellent) <= scheme.excellent_max
    assert len(excellent) < len(means) / 4  # a few, not most
    east, other = (sum(s) / len(s) for s in (reports["east"], reports["other"]))
    assert east > other + 5


def test_the_analyst_runs_an_official_evaluation_on_the_demo_data() -> None:
    analyst = User.objects.get(username="analyst")
    review = the_round()
    scheme = Scheme.objects.get(cycle=review.cycle, status=Scheme.Status.APPROVED)
    run = services.request_run(actor=analyst, scheme=scheme, review=review)
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.DONE, run.error
    assert run.official
    result = run.result
    assert result is not None and run.inputs is not None
    ranked = len(result["cities"])
    assert ranked >= 10
    uncertainty = result["uncertainty"]
    assert uncertainty and uncertainty["samples"] == scheme.mc_samples
    assert len(uncertainty["p5"]) == len(uncertainty["p95"]) == ranked
    assert all(lo <= hi for lo, hi in zip(uncertainty["p5"], uncertainty["p95"], strict=True))
    codes = [c["code"] for c in result["columns"]]
    assert REPORT_COLUMN in codes and APPLICATION_COLUMN in codes
    details = [entry for city in run.inputs["expert"]["application_detail"] for entry in city]
    assert any(entry["score"] >= float(scheme.excellent_threshold) for entry in details)
