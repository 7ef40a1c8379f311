"""The evaluation pages over HTTP: who may reach what (404 for another's object, 403 for another role), the forms
refusing bad input without changing anything, the blind review as rendered, the expert's access to the files of
what they review, the run's progress partial, and the whole path from a run to a certificate downloaded by the city."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from infocity.accounts.models import User
from infocity.evaluation import services
from infocity.evaluation.models import Assignment, Award, EvaluationRun, ReviewRound, Scheme
from infocity.progress import services as progress
from infocity.progress.models import Attachment
from infocity.reporting.models import ReportingCycle

from .conftest import Cast, signed_in
from .test_analytics import in_time
from .test_api_tokens import world as world  # the 2016 cycle fixture
from .test_evaluation_workflow import experts, full_year_report, marks_for, monitoring, runnable_scheme
from .test_progress import png


def client(user: User) -> Client:
    return signed_in(user)


def text(response: Any) -> str:
    return str(response.content.decode())


@pytest.fixture
def stage(cast: Cast, world: ReportingCycle) -> dict[str, Any]:
    """Accepted data for three cities, their full-year reports sent, an approved scheme, an open review round with
    the Beijing expert on Hangzhou's report and the Guangdong expert on Jiaxing's."""
    monitoring(cast)
    beijing, guangdong, _zhejiang = experts(cast)
    reports = {city: full_year_report(cast, city) for city in ("hangzhou", "jiaxing", "guangzhou")}
    scheme = runnable_scheme(cast, world)
    submitted = services.submit_scheme(actor=cast.users["analyst"], scheme=scheme, expected_version=scheme.version)
    scheme = services.decide_scheme(
        actor=cast.users["ministry"], scheme=submitted, approve=True, expected_version=submitted.version
    )
    review = services.create_round(actor=cast.users["analyst"], cycle=world)
    mine = services.assign(actor=cast.users["analyst"], review=review, expert=beijing, report=reports["hangzhou"])
    other = services.assign(actor=cast.users["analyst"], review=review, expert=guangdong, report=reports["jiaxing"])
    return {"scheme": scheme, "review": review, "mine": mine, "other": other, "reports": reports,
            "beijing": beijing, "guangdong": guangdong}  # fmt: skip


def test_only_the_analyst_and_the_ministry_reach_the_evaluation(cast: Cast, stage: dict[str, Any]) -> None:
    scheme, review = stage["scheme"], stage["review"]
    for username in ("analyst", "ministry"):
        c = client(cast.users[username])
        assert c.get("/evaluation/").status_code == 200
        page = c.get(f"/evaluation/schemes/{scheme.pk}/")
        assert page.status_code == 200 and "熵权法" in text(page) and "Saaty" in text(page)
        assert c.get(f"/evaluation/rounds/{review.pk}/").status_code == 200
    for username in ("city-hz", "province-zj", "enterprise", "auditor", "expert"):
        c = client(cast.users[username])
        assert c.get("/evaluation/").status_code == 403, username
        assert c.get(f"/evaluation/schemes/{scheme.pk}/").status_code == 403, username
    # Experts have their own page; others do not.
    assert client(stage["beijing"]).get("/evaluation/reviews/").status_code == 200
    assert client(cast.users["analyst"]).get("/evaluation/reviews/").status_code == 403
    # The ministry reads but does not edit.
    assert client(cast.users["ministry"]).post(f"/evaluation/schemes/{scheme.pk}/save/", {}).status_code == 403


def test_bad_scheme_input_is_refused_and_changes_nothing(cast: Cast, world: ReportingCycle) -> None:
    scheme = services.create_scheme(actor=cast.users["analyst"], cycle=world)
    first = scheme.items.order_by("pk").first()
    assert first is not None
    c = client(cast.users["analyst"])
    before = (scheme.version, first.points)
    for bad in ({f"points-{first.pk}": "abc"}, {f"points-{first.pk}": "-3"}, {"expert_points": "１٠٠٠"},
                {"pw-0-1": "11"}, {"normalisation": "magic"}, {"mc_samples": "9999999"}):  # fmt: skip
        response = c.post(f"/evaluation/schemes/{scheme.pk}/save/", {"version": scheme.version, **bad}, follow=True)
        assert response.status_code == 200
        assert any(m.level_tag == "error" for m in response.context["messages"]), bad
        first.refresh_from_db()
        scheme.refresh_from_db()
        assert (scheme.version, first.points) == before, bad
    # A stale version is refused with what to do.
    response = c.post(f"/evaluation/schemes/{scheme.pk}/save/", {"version": 999, "name": "x"}, follow=True)
    assert "刷新页面" in text(response)
    # A good save, with AHP judgements over the areas: the CR is shown.
    response = c.post(
        f"/evaluation/schemes/{scheme.pk}/save/",
        {"version": scheme.version, "name": scheme.name, "weighting": "ahp", "normalisation": "target",
         "aggregation": "arithmetic", "expert_points": "30", "report_share": "50", "min_coverage": "50",
         "mc_samples": "500", "mc_seed": "7", "mc_spread": "0.2", "advanced_cities": "3", "advanced_min_score": "60",
         "excellent_threshold": "85", "excellent_max": "5", "pw-0-1": "3", "pw-0-2": "1/3"},
        follow=True,
    )  # fmt: skip
    assert "评估方案已保存" in text(response)
    scheme.refresh_from_db()
    assert scheme.weighting == "ahp" and scheme.area_pairwise[0][1] == 3.0 and scheme.area_pairwise[1][0] == 1 / 3
    assert 'data-testid="ahp-cr"' in text(response)


def test_experts_see_only_their_assignments_and_score_blind(cast: Cast, stage: dict[str, Any]) -> None:
    mine, other = stage["mine"], stage["other"]
    beijing = client(stage["beijing"])
    page = beijing.get(f"/evaluation/reviews/{mine.pk}/")
    assert page.status_code == 200 and "杭州市" in text(page) and 'data-testid="score-form"' in text(page)
    assert beijing.get(f"/evaluation/reviews/{other.pk}/").status_code == 404
    assert beijing.post(f"/evaluation/reviews/{other.pk}/save/", {"action": "submit"}).status_code == 404
    # A mark above the criterion's maximum: refused, nothing stored.
    marks = {f"mark-{code}": value for code, value in marks_for(mine, 80).items()}
    first = next(iter(marks))
    response = beijing.post(
        f"/evaluation/reviews/{mine.pk}/save/",
        {**marks, first: "1000", "comment": "好", "action": "submit", "version": mine.version},
        follow=True,
    )
    assert "之间" in text(response)
    assert Assignment.objects.get(pk=mine.pk).marks == {}
    response = beijing.post(
        f"/evaluation/reviews/{mine.pk}/save/",
        {**marks, "comment": "材料翔实。", "action": "submit", "version": mine.version},
        follow=True,
    )
    assert "评分已提交" in text(response)
    scored = Assignment.objects.get(pk=mine.pk)
    assert scored.total == Decimal("80.00") and scored.submitted_at is not None
    # Blind: the analyst's round page shows progress, not the mark; the other expert's page does not show it.
    analyst = client(cast.users["analyst"])
    round_page = text(analyst.get(f"/evaluation/rounds/{stage['review'].pk}/"))
    assert "1 / 2" in round_page and "80.0" not in round_page and "评审结束后可见" in round_page
    review_page = text(analyst.get(f"/evaluation/reviews/{mine.pk}/"))
    assert 'data-testid="blind"' in review_page and "80" not in review_page.split('data-testid="score-card"')[1]
    # Closing needs the acknowledgement of the missing score; then the mark is visible.
    response = analyst.post(f"/evaluation/rounds/{stage['review'].pk}/act/", {"action": "close"}, follow=True)
    assert "缺评按未评处理" in text(response)
    assert ReviewRound.objects.get(pk=stage["review"].pk).status == ReviewRound.Status.OPEN
    analyst.post(f"/evaluation/rounds/{stage['review'].pk}/act/", {"action": "close", "accept_missing": "on"})
    assert ReviewRound.objects.get(pk=stage["review"].pk).closed
    assert "80.0" in text(analyst.get(f"/evaluation/rounds/{stage['review'].pk}/"))


def test_an_expert_reads_the_files_of_what_they_review_only(cast: Cast, stage: dict[str, Any]) -> None:
    reports = stage["reports"]
    files = {}
    for city, reporter in (("hangzhou", "city-hz"), ("guangzhou", "city-gz")):
        report = reports[city]
        report.status = "draft"  # attach while it is a draft (the city's own step), then restore
        report.save(update_fields=["status"])
        with in_time(report):
            files[city] = progress.add_attachment(actor=cast.users[reporter], submission=report, filename="现场.png",
                                                  file=io.BytesIO(png()))  # fmt: skip
        report.status = "submitted"
        report.save(update_fields=["status"])
    beijing = client(stage["beijing"])
    assert beijing.get(f"/progress/files/{files['hangzhou'].pk}/").status_code == 200
    assert beijing.get(f"/progress/files/{files['guangzhou'].pk}/").status_code == 404
    assert client(stage["guangdong"]).get(f"/progress/files/{files['hangzhou'].pk}/").status_code == 404
    assert Attachment.objects.count() == 2


def test_from_a_run_to_the_certificate_the_city_downloads(cast: Cast, stage: dict[str, Any]) -> None:
    mine = stage["mine"]
    services.save_marks(actor=stage["beijing"], assignment=mine, marks=marks_for(mine, 92), comment="优秀。",
                        submit=True, expected_version=mine.version)  # fmt: skip
    services.close_round(actor=cast.users["analyst"], review=stage["review"], accept_missing=True)
    analyst = client(cast.users["analyst"])
    response = analyst.post("/evaluation/runs/new/", {"scheme": stage["scheme"].pk, "round": stage["review"].pk})
    run = EvaluationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/evaluation/runs/{run.pk}/"
    page = text(analyst.get(f"/evaluation/runs/{run.pk}/"))
    assert 'data-testid="ranking"' in page and 'data-echarts="interval-chart"' in page and run.fingerprint in page
    # The progress partial while running; a finished run asks htmx to reload the page.
    finished = analyst.get(f"/evaluation/runs/{run.pk}/", HTTP_HX_REQUEST="true")
    assert finished["HX-Refresh"] == "true"
    queued = EvaluationRun.objects.create(scheme=run.scheme, requested_by=cast.users["analyst"], stage="排队等待计算")
    partial = analyst.get(f"/evaluation/runs/{queued.pk}/", HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in text(partial) and "<html" not in text(partial)
    # A city's explanation links the submission version its value came from.
    hangzhou = cast.orgs["hangzhou"]
    explanation = text(analyst.get(f"/evaluation/runs/{run.pk}/cities/{hangzhou.pk}/"))
    assert "/reporting/submissions/" in explanation and "进展报告专家评分" in explanation
    assert analyst.get(f"/evaluation/runs/{run.pk}/cities/{cast.orgs['ningbo'].pk}/").status_code == 404
    # Reproduce.
    response = analyst.post(f"/evaluation/runs/{run.pk}/act/", {"action": "reproduce"}, follow=True)
    assert "复算一致" in text(response)
    # Acceptance: conditional without a comment is refused for that city; then everyone passes.
    assert run.result is not None
    cities = [c["id"] for c in run.result["cities"]] + [u["city"]["id"] for u in run.result["unranked"]]
    response = analyst.post(f"/evaluation/runs/{run.pk}/act/",
                            {"action": "decide", f"decision-{cities[0]}": "conditional"}, follow=True)  # fmt: skip
    assert "须写明验收意见" in text(response) and not run.decisions.exists()
    analyst.post(f"/evaluation/runs/{run.pk}/act/",
                 {"action": "decide", **{f"decision-{c}": "pass" for c in cities}})  # fmt: skip
    assert run.decisions.count() == len(cities)
    analyst.post(f"/evaluation/runs/{run.pk}/act/", {"action": "propose"})
    awards = list(Award.objects.filter(run=run))
    assert awards and all(a.status == Award.Status.PROPOSED for a in awards)
    # The analyst cannot confirm; the ministry confirms and publishes.
    analyst.post(f"/evaluation/runs/{run.pk}/act/", {"action": "confirm", "keep": [a.pk for a in awards]})
    assert not EvaluationRun.objects.get(pk=run.pk).confirmed_at
    ministry = client(cast.users["ministry"])
    ministry.post(f"/evaluation/runs/{run.pk}/act/", {"action": "confirm", "keep": [a.pk for a in awards]})
    # Nothing is public before the ministry publishes.
    public = text(Client().get("/results/"))
    assert 'data-testid="no-results"' in public and "杭州市" not in public and "广州市" not in public
    ministry.post(f"/evaluation/runs/{run.pk}/act/", {"action": "publish"})
    run.refresh_from_db()
    assert run.confirmed_at and run.published_at
    city_award = Award.objects.filter(run=run, kind=Award.Kind.ADVANCED_CITY).order_by("position").first()
    assert city_award is not None
    # The winning city sees its award on its home page and downloads the certificate; another city gets 404.
    winner = city_award.city
    reporter = next(u for u in cast.users.values() if u.organisation_id == winner.pk and u.role == "city_reporter")
    home = text(client(reporter).get("/"))
    assert 'data-testid="city-awards"' in home and city_award.number in home
    certificate = client(reporter).get(f"/evaluation/awards/{city_award.pk}/certificate.pdf")
    assert certificate.status_code == 200 and certificate.content.startswith(b"%PDF")
    others = [u for u in cast.users.values() if u.role == "city_reporter" and u.organisation_id != winner.pk]
    assert client(others[0]).get(f"/evaluation/awards/{city_award.pk}/certificate.pdf").status_code == 404
    # The published results are public: ranking and confirmed awards, no marks, comments or contact details.
    public = text(Client().get("/results/2016/"))
    assert winner.name in public and 'data-testid="public-awards"' in public and city_award.get_kind_display() in public
    assert "优秀。" not in public and "张某某" not in public and "0571" not in public
    assert Client().get("/results/2015/").status_code == 404


def test_a_trial_run_of_a_draft_scheme_cannot_be_accepted(cast: Cast, world: ReportingCycle) -> None:
    monitoring(cast)
    scheme = runnable_scheme(cast, world)
    analyst = client(cast.users["analyst"])
    analyst.post("/evaluation/runs/new/", {"scheme": scheme.pk, "round": ""})
    run = EvaluationRun.objects.get()
    assert not run.official and run.status == EvaluationRun.Status.DONE
    page = text(analyst.get(f"/evaluation/runs/{run.pk}/"))
    assert "试算" in page and 'data-testid="acceptance-form"' not in page
    assert Scheme.objects.get(pk=scheme.pk).status == Scheme.Status.DRAFT
    assert analyst.post("/evaluation/runs/new/", {"scheme": 999999}).status_code == 404
    assert 'data-testid="no-results"' in text(Client().get("/results/"))  # a trial run is never public
