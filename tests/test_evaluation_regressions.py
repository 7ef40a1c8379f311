"""Regressions from the review of the evaluation: awards follow acceptance changes, stale acceptance forms are
refused, a mean at the threshold qualifies, AHP judgements apply to the areas they were entered for, indicators given
0 points never receive points, a zero mark counts, huge numbers are refused without a 500, and an expert reads only
the current files of what they review."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from infocity.evaluation import services
from infocity.evaluation.freeze import freeze_scheme
from infocity.evaluation.models import AcceptanceDecision, Assignment, Award, EvaluationRun
from infocity.frameworks.models import Area
from infocity.progress import services as progress
from infocity.reporting.models import ReportingCycle

from .conftest import Cast, signed_in
from .test_analytics import in_time
from .test_api_tokens import world as world  # the 2016 cycle fixture
from .test_evaluation_workflow import (
    add_expert,
    application,
    approve,
    decide,
    experts,
    full_year_report,
    give,
    marks_for,
    monitoring,
    runnable_scheme,
)
from .test_progress import png

D = AcceptanceDecision.Decision


def client(user: Any) -> Client:
    return signed_in(user)


def official_run(cast: Cast, world: ReportingCycle, **rules: str) -> EvaluationRun:
    analyst = cast.users["analyst"]
    monitoring(cast)
    beijing, _gd, _zj = experts(cast)
    reports = {c: full_year_report(cast, c) for c in ("hangzhou", "jiaxing", "guangzhou")}
    review = services.create_round(actor=analyst, cycle=world)
    for city, total in (("hangzhou", 90), ("jiaxing", 50), ("guangzhou", 80)):
        give(cast, review, beijing, total, report=reports[city])
    for title, total in (("杭州市智慧社区", 92), ("嘉兴市智慧社区", 60), ("广州市智慧社区", 75)):
        give(cast, review, beijing, total, application=application(title))
    review = services.close_round(actor=analyst, review=review)
    scheme = runnable_scheme(cast, world, **rules)
    return services.request_run(actor=analyst, scheme=approve(cast, scheme), review=review)


def test_changing_an_acceptance_after_the_proposal_withdraws_it(cast: Cast, world: ReportingCycle) -> None:
    run = official_run(cast, world, advanced_cities="1", advanced_min_score="0", excellent_threshold="90")
    for city in ("hangzhou", "jiaxing", "guangzhou", "ningbo"):
        decide(cast, run, city, D.PASS)
    services.propose_awards(actor=cast.users["analyst"], run=run)
    proposed = list(Award.objects.filter(run=run).values_list("city__name", flat=True))
    assert proposed == ["杭州市", "杭州市"]
    decide(cast, run, "hangzhou", D.FAIL, "数据造假，验收不通过。")
    run.refresh_from_db()
    assert run.awards_proposed_at is None and not Award.objects.filter(run=run).exists()
    with pytest.raises(services.EvaluationWorkflowError, match="尚未生成表彰建议"):
        services.confirm_awards(actor=cast.users["ministry"], run=run, keep=[])
    services.propose_awards(actor=cast.users["analyst"], run=run)
    assert "杭州市" not in set(Award.objects.filter(run=run).values_list("city__name", flat=True))


def test_a_stale_acceptance_form_changes_nothing(cast: Cast, world: ReportingCycle) -> None:
    run = official_run(cast, world)
    analyst = client(cast.users["analyst"])
    hz, gz = cast.orgs["hangzhou"].pk, cast.orgs["guangzhou"].pk
    page = analyst.get(f"/evaluation/runs/{run.pk}/").content.decode()
    assert f'name="version-{hz}" value="0"' in page
    decide(cast, run, "hangzhou", D.FAIL, "全年进展报告不完整。")  # a colleague, meanwhile
    response = analyst.post(
        f"/evaluation/runs/{run.pk}/act/",
        {"action": "decide", f"decision-{hz}": "pass", f"version-{hz}": "0",
         f"decision-{gz}": "pass", f"version-{gz}": "0"},
        follow=True,
    )  # fmt: skip
    assert "已被他人修改" in response.content.decode()
    assert AcceptanceDecision.objects.get(run=run, city_id=hz).decision == D.FAIL
    assert not AcceptanceDecision.objects.filter(run=run, city_id=gz).exists()  # all or nothing


def test_a_mean_exactly_at_the_threshold_qualifies(cast: Cast, world: ReportingCycle) -> None:
    analyst = cast.users["analyst"]
    monitoring(cast)
    beijing, guangdong, _zj = experts(cast)
    sichuan = add_expert(cast, "expert-sc", "四川研究院", "510000")
    for city in ("hangzhou", "jiaxing", "guangzhou"):
        full_year_report(cast, city)
    review = services.create_round(actor=analyst, cycle=world)
    app = application("杭州市智慧社区")
    for expert, total in ((beijing, "80.02"), (guangdong, "80.07"), (sichuan, "94.91")):  # mean 85.00
        a = services.assign(actor=analyst, review=review, expert=expert, application=app)
        left, marks = Decimal(total), {}
        for c in services.criteria_of(a):
            marks[str(c["code"])] = str(min(Decimal(str(c["max"])), left))
            left -= min(Decimal(str(c["max"])), left)
        services.save_marks(actor=expert, assignment=a, marks=marks, comment="好。", submit=True,
                            expected_version=a.version)  # fmt: skip
    review = services.close_round(actor=analyst, review=review, accept_missing=True)
    run = services.request_run(actor=analyst, scheme=approve(cast, runnable_scheme(cast, world)), review=review)
    for city in ("hangzhou", "jiaxing", "guangzhou", "ningbo"):
        decide(cast, run, city, D.PASS)
    services.propose_awards(actor=analyst, run=run)
    assert Award.objects.filter(run=run, application=app).exists()


def test_ahp_judgements_apply_to_the_areas_they_were_entered_for(cast: Cast, world: ReportingCycle) -> None:
    Area.objects.filter(edition=world.edition, code="A").update(order=99)  # areas listed in another order
    scheme = services.create_scheme(actor=cast.users["analyst"], cycle=world)
    entered = [code for code, _ in services.scheme_areas(scheme)]
    assert entered[-1] == "A"
    assert [a["code"] for a in freeze_scheme(scheme)["areas"]] == entered


def test_indicators_given_no_points_never_receive_points(cast: Cast, world: ReportingCycle) -> None:
    analyst = cast.users["analyst"]
    monitoring(cast)  # only A02, A03, A05 have values
    scheme = runnable_scheme(cast, world)
    items = {i.indicator.code: i for i in scheme.items.select_related("indicator")}
    targets = [i.pk for i in items.values() if i.use_target]
    scheme = services.save_scheme(actor=analyst, scheme=scheme, settings={}, points={items["A02"].pk: "0"},
                                  use_target=targets, pairwise=None, expected_version=scheme.version)  # fmt: skip
    run = services.request_run(actor=analyst, scheme=scheme, review=None)
    assert run.result is not None
    assert dict(zip([c["code"] for c in run.result["columns"]], run.result["weights"], strict=True))["A02"] == 0
    scheme = services.save_scheme(actor=analyst, scheme=scheme, settings={}, use_target=targets, pairwise=None,
                                  points={items[c].pk: "0" for c in ("A02", "A03", "A05")},
                                  expected_version=scheme.version)  # fmt: skip
    run = services.request_run(actor=analyst, scheme=scheme, review=None)
    assert run.status == EvaluationRun.Status.FAILED and run.error  # nothing left with points: no ranking


def test_a_zero_mark_counts_in_the_round_s_mean(cast: Cast, world: ReportingCycle) -> None:
    analyst = cast.users["analyst"]
    monitoring(cast)
    beijing, guangdong, _ = experts(cast)
    report = full_year_report(cast, "hangzhou")
    review = services.create_round(actor=analyst, cycle=world)
    for expert, total in ((beijing, 0), (guangdong, 80)):
        a = services.assign(actor=analyst, review=review, expert=expert, report=report)
        services.save_marks(actor=expert, assignment=a, marks=marks_for(a, total), comment="x", submit=True,
                            expected_version=a.version)  # fmt: skip
    services.close_round(actor=analyst, review=review)
    page = client(analyst).get(f"/evaluation/rounds/{review.pk}/").content.decode()
    assert "40.0" in page.split('data-testid="assignments"')[1]


def test_huge_numbers_and_ids_are_refused_without_a_500(cast: Cast, world: ReportingCycle) -> None:
    scheme = services.create_scheme(actor=cast.users["analyst"], cycle=world)
    c = client(cast.users["analyst"])
    for field in ("mc_samples", "expert_points"):
        response = c.post(f"/evaluation/schemes/{scheme.pk}/save/",
                          {"version": scheme.version, "name": "x", field: "1" * 5000}, follow=True)  # fmt: skip
        assert response.status_code == 200 and "之间" in response.content.decode()
    big = "9" * 25
    for url in (f"/evaluation/schemes/{big}/", f"/evaluation/runs/{big}/", f"/evaluation/reviews/{big}/",
                f"/evaluation/awards/{big}/certificate.pdf", f"/results/{big}/"):  # fmt: skip
        assert c.get(url).status_code == 404, url


def test_saving_marks_of_a_withdrawn_assignment_is_refused(cast: Cast, world: ReportingCycle) -> None:
    monitoring(cast)
    beijing, _gd, _zj = experts(cast)
    report = full_year_report(cast, "hangzhou")
    review = services.create_round(actor=cast.users["analyst"], cycle=world)
    a = services.assign(actor=cast.users["analyst"], review=review, expert=beijing, report=report)
    stale = Assignment.objects.get(pk=a.pk)
    services.unassign(actor=cast.users["analyst"], assignment=a)
    with pytest.raises(services.EvaluationWorkflowError, match="已被监测机构撤销"):
        services.save_marks(actor=beijing, assignment=stale, marks={}, comment="", submit=False,
                            expected_version=None)  # fmt: skip


def test_an_expert_reads_only_current_files_of_the_report(cast: Cast, world: ReportingCycle) -> None:
    monitoring(cast)
    beijing, _gd, _zj = experts(cast)
    report = full_year_report(cast, "hangzhou")
    report.status = "draft"
    report.save(update_fields=["status"])
    with in_time(report):
        kept = progress.add_attachment(actor=cast.users["city-hz"], submission=report, filename="a.png",
                                       file=io.BytesIO(png()))  # fmt: skip
        gone = progress.add_attachment(actor=cast.users["city-hz"], submission=report, filename="b.png",
                                       file=io.BytesIO(png(41, 31)))  # fmt: skip
        progress.remove_attachment(actor=cast.users["city-hz"], attachment=gone)
    report.status = "submitted"
    report.save(update_fields=["status"])
    review = services.create_round(actor=cast.users["analyst"], cycle=world)
    services.assign(actor=cast.users["analyst"], review=review, expert=beijing, report=report)
    expert = client(beijing)
    assert expert.get(f"/progress/files/{kept.pk}/").status_code == 200
    assert expert.get(f"/progress/files/{gone.pk}/").status_code == 404


def test_an_interrupted_run_says_so_and_method_names_are_translated(
    cast: Cast, world: ReportingCycle, settings: Any
) -> None:
    import datetime

    from django.utils import timezone

    scheme = services.create_scheme(actor=cast.users["analyst"], cycle=world)
    stuck = EvaluationRun.objects.create(
        scheme=scheme, requested_by=cast.users["analyst"], status=EvaluationRun.Status.RUNNING, stage="计算"
    )
    EvaluationRun.objects.filter(pk=stuck.pk).update(
        requested_at=timezone.now() - datetime.timedelta(minutes=settings.BULK_STALLED_MINUTES + 1)
    )
    c = client(cast.users["analyst"])
    page = c.get(f"/evaluation/runs/{stuck.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="run-stalled"' in page and "hx-trigger" not in page
    c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = c.get(f"/evaluation/schemes/{scheme.pk}/").content.decode()
    assert "Entropy weight method" in english or "entropy weight method" in english
