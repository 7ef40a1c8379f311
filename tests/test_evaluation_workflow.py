"""The annual evaluation's service layer (年度评估): the scheme's lifecycle with its approval, the blind expert review
with conflicts of interest, frozen runs that reproduce exactly whatever happens to the data afterwards and name
their sources, acceptance decisions and the award lists the ministry confirms and publishes."""

from __future__ import annotations

import copy
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from infocity.accounts.models import Role, User
from infocity.accounts.services import create_account
from infocity.analytics.models import Basis, IndicatorValue
from infocity.audit.models import Action, AuditEvent
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
    SchemeItem,
)
from infocity.evaluation.services import EvaluationWorkflowError
from infocity.organisations.models import Division, Organisation, OrganisationKind
from infocity.organisations.services import create_organisation
from infocity.progress import demo_text
from infocity.progress import services as progress
from infocity.progress.models import TypicalApplication
from infocity.reporting import services as reporting
from infocity.reporting.models import ReportingCycle, Status, Submission, SubmissionVersion

from .conftest import PASSWORD, Cast
from .test_analytics import PEOPLE, accept, fresh, in_time, monthly, slot
from .test_api_tokens import world as world  # the 2016 cycle fixture

D = AcceptanceDecision.Decision
CITY_NAMES = {"hangzhou": ("杭州市", "浙江省"), "jiaxing": ("嘉兴市", "浙江省"), "guangzhou": ("广州市", "广东省")}
APPLICATION = {
    "area": "C", "organisation": "电信分公司", "organisation_kind": "enterprise",
    "description": "<p>覆盖全市社区的线上服务平台。</p>", "investment": "1250.5", "users_served": "320000",
    "results": "<p>日均服务 1.2 万人次。</p>", "contact_name": "张某某", "contact_phone": "0571-5555-0101",
    "contact_email": "zhang@example.cn",
}  # fmt: skip


# --- the world: accepted monitoring data, full-year reports, experts ---------------------------------------------


def monitoring(cast: Cast) -> None:
    """Accepted November figures (form M) for three cities: the monthly indicators A02, A03 and A05 get values;
    every other indicator has none and drops out of the runs (its points go to A02, A03, A05)."""
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200, ftth=7000, lte=12000))
    accept(cast, "jiaxing", "2016-M11", monthly(3000, 1000, ftth=2000, lte=11000))
    accept(cast, "guangzhou", "2016-M11", monthly(40000, 18000, ftth=30000, lte=9000))


def full_year_report(cast: Cast, city: str, applications: tuple[str, ...] = ()) -> Submission:
    """The city writes its 2016-R2 progress report with its typical applications (entered by the city, so
    endorsed; a full-year report needs at least one), approves it and sends it to the province."""
    submission = slot(cast, city, "2016-R2", "P")
    reporter, approver, _province = PEOPLE[city]
    name, province = CITY_NAMES[city]
    applications = applications or (f"{name}智慧社区",)
    with in_time(submission):
        progress.save_report(
            actor=cast.users[reporter],
            submission=submission,
            sections=demo_text.progress_report(name, province, "Y", 2016),
            base_version=submission.version,
        )
        for title in applications:
            progress.save_application(
                actor=cast.users[reporter], submission=submission, data={**APPLICATION, "title": title}
            )
        current = fresh(submission)
        approved = reporting.approve_city(
            actor=cast.users[approver], submission=current, expected_version=current.version
        )
        sent = reporting.submit(actor=cast.users[approver], submission=approved, expected_version=approved.version)
    assert sent.status == Status.SUBMITTED
    return sent


def add_expert(cast: Cast, username: str, institution: str, division: str) -> User:
    """An expert whose institution is in the province ``division`` (GB/T 2260 code)."""
    organisation = create_organisation(
        actor=None,
        kind=OrganisationKind.INSTITUTION,
        name=institution,
        parent=cast.orgs["ministry"],
        division=Division.objects.get(code=division),
    )
    cast.users[username] = create_account(
        actor=None,
        username=username,
        full_name=username,
        organisation=organisation,
        role=Role.EXPERT,
        password=PASSWORD,
        must_change_password=False,
    )
    return cast.users[username]


def experts(cast: Cast) -> tuple[User, User, User]:
    """The cast's expert (institution in Beijing) plus one in Zhejiang and one in Guangdong."""
    return (
        cast.users["expert"],
        add_expert(cast, "expert-gd", "广东研究院", "440000"),
        add_expert(cast, "expert-zj", "浙江研究院", "330000"),
    )


def application(title: str) -> TypicalApplication:
    return TypicalApplication.objects.get(title=title)


def marks_for(assignment: Assignment, total: int) -> dict[str, str]:
    """Marks per criterion adding up to ``total`` out of 100 (every criterion scaled alike)."""
    return {
        str(c["code"]): str(Decimal(str(c["max"])) * Decimal(total) / 100) for c in services.criteria_of(assignment)
    }


def score(cast: Cast, assignment: Assignment, total: int, username: str | None = None) -> Assignment:
    expert = cast.users[username] if username else assignment.expert
    current = Assignment.objects.get(pk=assignment.pk)
    return services.save_marks(
        actor=expert,
        assignment=current,
        marks=marks_for(current, total),
        comment="材料翔实，成效明显。",
        submit=True,
        expected_version=current.version,
    )


def give(cast: Cast, review: ReviewRound, expert: User, total: int, **target: Any) -> Assignment:
    """Assign one report or application to the expert and submit their score."""
    assignment = services.assign(actor=cast.users["analyst"], review=review, expert=expert, **target)
    return score(cast, assignment, total)


def approve(cast: Cast, scheme: Scheme) -> Scheme:
    submitted = services.submit_scheme(actor=cast.users["analyst"], scheme=scheme, expected_version=scheme.version)
    return services.decide_scheme(
        actor=cast.users["ministry"], scheme=submitted, approve=True, expected_version=submitted.version
    )


def item(scheme: Scheme, code: str) -> SchemeItem:
    return scheme.items.get(indicator__code=code)


def refused(match: str) -> Any:
    return pytest.raises(EvaluationWorkflowError, match=match)


def position(run: EvaluationRun, city: Organisation) -> int:
    assert run.result is not None
    return next(i for i, c in enumerate(run.result["cities"]) if c["id"] == city.pk)


def column(run: EvaluationRun, code: str) -> int:
    assert run.inputs is not None
    return next(j for j, c in enumerate(run.inputs["indicators"]) if c["code"] == code)


def row(run: EvaluationRun, city: Organisation) -> int:
    assert run.inputs is not None
    return next(i for i, c in enumerate(run.inputs["cities"]) if c["id"] == city.pk)


# --- 1. schemes -------------------------------------------------------------------------------------------------


def test_scheme_lifecycle_edit_submit_return_approve(cast: Cast, world: ReportingCycle) -> None:
    analyst, ministry = cast.users["analyst"], cast.users["ministry"]
    for outsider in ("ministry", "expert", "city-hz", "province-zj"):
        with refused("只有监测机构分析员"):
            services.create_scheme(actor=cast.users[outsider], cycle=world)
    assert not Scheme.objects.exists()

    scheme = services.create_scheme(actor=analyst, cycle=world)
    assert (scheme.status, scheme.version) == (Scheme.Status.DRAFT, 1)
    assert (scheme.normalisation, scheme.weighting, scheme.aggregation) == ("target", "explicit", "arithmetic")
    assert scheme.expert_points == 30 and scheme.report_share == 50
    items = list(scheme.items.select_related("indicator__area"))
    assert len(items) == 39  # every indicator of the 2016 edition
    by_area: dict[str, list[Decimal]] = {}
    for entry in items:
        by_area.setdefault(entry.indicator.area.code, []).append(entry.points)
    for code, points in by_area.items():
        # Each area's points are shared equally by its indicators, to the cent, and add up to the area's points.
        assert max(points) - min(points) <= Decimal("0.01"), code
        assert sum(points, Decimal(0)) == services.AREA_POINTS_2016[code], code
    total = sum((entry.points for entry in items), Decimal(0))
    assert total == 70
    assert not services.scheme_problems(scheme)
    assert scheme.area_pairwise == [[1.0] * 7 for _ in range(7)]

    # The analyst edits methods and points (keyed by scheme item), guarded by the version.
    a02, a03 = item(scheme, "A02"), item(scheme, "A03")
    moved = a02.points + a03.points
    saved = services.save_scheme(
        actor=analyst,
        scheme=scheme,
        settings={"normalisation": "minmax", "aggregation": "geometric", "mc_samples": "500", "name": "方案甲"},
        points={a02.pk: "2.00", a03.pk: str(moved - Decimal("2.00"))},
        use_target=[a02.pk],
        pairwise=None,
        expected_version=1,
    )
    assert saved.version == 2
    scheme.refresh_from_db()
    assert (scheme.normalisation, scheme.aggregation, scheme.weighting) == ("minmax", "geometric", "explicit")
    assert (scheme.mc_samples, scheme.name, scheme.version) == (500, "方案甲", 2)
    assert item(scheme, "A02").points == Decimal("2.00") and item(scheme, "A02").use_target
    assert item(scheme, "A03").points == moved - 2 and not item(scheme, "A03").use_target

    # A stale version (another tab) is refused and changes nothing.
    with refused("已被他人修改"):
        services.save_scheme(
            actor=analyst,
            scheme=scheme,
            settings={"normalisation": "zscore", "aggregation": "arithmetic", "expert_points": "10"},
            points={a02.pk: "9"},
            use_target=[],
            pairwise=None,
            expected_version=1,
        )
    scheme.refresh_from_db()
    assert (scheme.normalisation, scheme.aggregation, scheme.version) == ("minmax", "geometric", 2)
    assert scheme.expert_points == Decimal(30)
    assert item(scheme, "A02").points == Decimal("2.00")
    # Only the analyst edits; bad input is refused without a trace.
    for outsider in ("ministry", "expert"):
        with refused("只有监测机构分析员"):
            services.save_scheme(actor=cast.users[outsider], scheme=scheme, settings={"name": "改"}, points={},
                                 use_target=[], pairwise=None, expected_version=2)  # fmt: skip
    with refused("Z 分数"):  # a geometric mean of z-scores would take logarithms of negative numbers
        services.save_scheme(actor=analyst, scheme=scheme, settings={"normalisation": "zscore"}, points={},
                             use_target=[], pairwise=None, expected_version=2)  # fmt: skip
    with refused("分值应在 0 至 100"):
        services.save_scheme(actor=analyst, scheme=scheme, settings={}, points={a02.pk: "101"}, use_target=[],
                             pairwise=None, expected_version=2)  # fmt: skip
    scheme.refresh_from_db()
    assert (scheme.name, scheme.normalisation, scheme.version) == ("方案甲", "minmax", 2)

    # Points plus expert points must make 100.
    scheme = services.save_scheme(actor=analyst, scheme=scheme, settings={"expert_points": "40"}, points={},
                                  use_target=[], pairwise=None, expected_version=2)  # fmt: skip
    with refused("应为 100 分"):
        services.submit_scheme(actor=analyst, scheme=scheme, expected_version=scheme.version)
    assert Scheme.objects.get(pk=scheme.pk).status == Scheme.Status.DRAFT

    # AHP over the seven areas with contradictory judgements (A ≫ B ≫ C ≫ A): saved, but refused at submission.
    contradictory = [[1.0] * 7 for _ in range(7)]
    for i, j, a in ((0, 1, 9.0), (1, 2, 9.0), (0, 2, 1 / 9)):
        contradictory[i][j], contradictory[j][i] = a, 1 / a
    scheme = services.save_scheme(actor=analyst, scheme=scheme, settings={"weighting": "ahp", "expert_points": "30"},
                                  points={}, use_target=[], pairwise=contradictory,
                                  expected_version=scheme.version)  # fmt: skip
    assert scheme.area_pairwise[0][1] == 9.0
    with refused("一致性") as inconsistent:
        services.submit_scheme(actor=analyst, scheme=scheme, expected_version=scheme.version)
    assert "CR" in str(inconsistent.value)
    assert Scheme.objects.get(pk=scheme.pk).status == Scheme.Status.DRAFT
    with refused("互反"):  # not even a reciprocal matrix: refused when saving
        broken = copy.deepcopy(contradictory)
        broken[1][0] = 5.0
        services.save_scheme(actor=analyst, scheme=scheme, settings={}, points={}, use_target=[], pairwise=broken,
                             expected_version=scheme.version)  # fmt: skip
    # Back to explicit points: the scheme can be submitted.
    scheme = services.save_scheme(actor=analyst, scheme=scheme, settings={"weighting": "explicit"}, points={},
                                  use_target=[], pairwise=[[1.0] * 7 for _ in range(7)],
                                  expected_version=scheme.version)  # fmt: skip
    with refused("只有监测机构分析员"):
        services.submit_scheme(actor=ministry, scheme=scheme)
    pending = services.submit_scheme(actor=analyst, scheme=scheme, expected_version=scheme.version)
    assert pending.status == Scheme.Status.PENDING and pending.submitted_at is not None
    with refused("只有草稿状态"):
        services.save_scheme(actor=analyst, scheme=pending, settings={"name": "改"}, points={}, use_target=[],
                             pairwise=None, expected_version=pending.version)  # fmt: skip
    with refused("等待部级审批"):
        services.request_run(actor=analyst, scheme=pending, review=None)

    # The ministry decides: only the ministry; a return needs a note.
    with refused("只有部级管理员"):
        services.decide_scheme(actor=analyst, scheme=pending, approve=True)
    with refused("退回意见"):
        services.decide_scheme(actor=ministry, scheme=pending, approve=False, note="  ")
    assert Scheme.objects.get(pk=scheme.pk).status == Scheme.Status.PENDING
    returned = services.decide_scheme(actor=ministry, scheme=pending, approve=False, note="专家评审分值请论证。",
                                      expected_version=pending.version)  # fmt: skip
    assert returned.status == Scheme.Status.DRAFT and returned.review_note == "专家评审分值请论证。"
    pending = services.submit_scheme(actor=analyst, scheme=returned, expected_version=returned.version)
    assert pending.review_note == ""
    with refused("已被他人修改"):
        services.decide_scheme(actor=ministry, scheme=pending, approve=True, expected_version=pending.version - 1)
    approved = services.decide_scheme(actor=ministry, scheme=pending, approve=True, note="同意。",
                                      expected_version=pending.version)  # fmt: skip
    assert approved.status == Scheme.Status.APPROVED
    assert approved.approved_by == ministry and approved.approved_at is not None

    # An approved scheme never changes; a revision is a new draft copying it.
    with refused("只有草稿状态"):
        services.save_scheme(actor=analyst, scheme=approved, settings={"name": "改"}, points={}, use_target=[],
                             pairwise=None, expected_version=approved.version)  # fmt: skip
    with refused("只有草稿状态"):
        services.submit_scheme(actor=analyst, scheme=approved)
    with refused("不在待审批状态"):
        services.decide_scheme(actor=ministry, scheme=approved, approve=False, note="再议")
    assert Scheme.objects.get(pk=scheme.pk).name == "方案甲"
    revision = services.create_scheme(actor=analyst, cycle=world, based_on=approved)
    assert revision.status == Scheme.Status.DRAFT and revision.based_on == approved and revision.version == 1
    assert (revision.normalisation, revision.aggregation) == ("minmax", "geometric")
    assert item(revision, "A02").points == Decimal("2.00") and not item(revision, "A03").use_target

    events = Counter(
        AuditEvent.objects.filter(object_type=Scheme._meta.label, object_id=str(scheme.pk)).values_list(
            "action", flat=True
        )
    )
    # created + 4 saves that went through; refused attempts leave no trace.
    assert events == {
        Action.SCHEME_SAVE: 5,
        Action.SCHEME_SUBMIT: 2,
        Action.SCHEME_RETURN: 1,
        Action.SCHEME_APPROVE: 1,
    }
    approval = AuditEvent.objects.get(action=Action.SCHEME_APPROVE, object_id=str(scheme.pk))
    assert approval.actor == ministry


def test_default_scheme_gives_exactly_70_points_to_the_indicators(cast: Cast, world: ReportingCycle) -> None:
    scheme = services.create_scheme(actor=cast.users["analyst"], cycle=world)
    assert sum(entry.points for entry in scheme.items.all()) == 70


# --- 2. expert review -------------------------------------------------------------------------------------------


def test_assignments_respect_conflicts_and_marks_stay_blind_until_the_round_closes(
    cast: Cast, world: ReportingCycle
) -> None:
    analyst = cast.users["analyst"]
    beijing, guangdong, zhejiang = experts(cast)
    hz = full_year_report(cast, "hangzhou")
    gz = full_year_report(cast, "guangzhou")
    with refused("只有监测机构分析员"):
        services.create_round(actor=cast.users["ministry"], cycle=world)
    review = services.create_round(actor=analyst, cycle=world)
    assert review.status == ReviewRound.Status.OPEN and review.name == "2016 年度专家评审"
    with refused("进行中的评审轮次"):
        services.create_round(actor=analyst, cycle=world)

    first = services.assign(actor=analyst, review=review, expert=beijing, report=hz)
    assert (first.city, first.kind, first.expert, first.submission) == (cast.orgs["hangzhou"], "report", beijing, hz)
    # Conflicts of interest: a Zhejiang institution never reviews a Zhejiang city (and Guangdong likewise).
    with refused("回避"):
        services.assign(actor=analyst, review=review, expert=zhejiang, report=hz)
    with refused("回避"):
        services.assign(actor=analyst, review=review, expert=guangdong, report=gz)
    assert services.conflict(zhejiang, cast.orgs["ningbo"])  # 计划单列市 宁波 is in Zhejiang too
    assert not services.conflict(beijing, cast.orgs["hangzhou"])
    with refused("已分配"):
        services.assign(actor=analyst, review=review, expert=beijing, report=hz)
    # Only full-year reports that have left the city; only experts; only the analyst.
    half_year = slot(cast, "hangzhou", "2016-R1", "P")
    with refused("全年进展报告"):
        services.assign(actor=analyst, review=review, expert=beijing, report=half_year)
    with refused("全年进展报告"):
        services.assign(actor=analyst, review=review, expert=beijing, report=slot(cast, "hangzhou", "2016-M11"))
    with refused("全年进展报告"):  # 嘉兴 has not sent its report
        services.assign(actor=analyst, review=review, expert=beijing, report=slot(cast, "jiaxing", "2016-R2", "P"))
    with refused("评审专家"):
        services.assign(actor=analyst, review=review, expert=cast.users["province-gd"], report=hz)
    with refused("只有监测机构分析员"):
        services.assign(actor=cast.users["ministry"], review=review, expert=guangdong, report=hz)
    second = services.assign(actor=analyst, review=review, expert=guangdong, report=hz)
    third = services.assign(actor=analyst, review=review, expert=zhejiang, report=gz)
    assert Assignment.objects.filter(round=review).count() == 3
    assert AuditEvent.objects.filter(action=Action.REVIEW_ASSIGN).count() == 3
    assert set(services.assignments_visible_to(beijing)) == {first}
    assert services.assignments_visible_to(cast.users["city-hz"]).count() == 0

    # Marks: each between 0 and the criterion's maximum, numbers only; a refused save stores nothing.
    progress_max = next(c["max"] for c in review.report_criteria if c["code"] == "progress")
    assert progress_max == 30
    for bad, message in (({"progress": "30.5"}, "应在 0 至 30"), ({"progress": "很好"}, "应为数字"),
                         ({"progress": "-1"}, "应在 0 至 30"), ({"targets": "NaN"}, "应在 0 至 30")):  # fmt: skip
        with refused(message):
            services.save_marks(actor=beijing, assignment=first, marks=bad, comment="", submit=False,
                                expected_version=0)  # fmt: skip
    first.refresh_from_db()
    assert (first.marks, first.total, first.version, first.saved_at) == ({}, None, 0, None)
    # A draft may be partial; submitting needs every criterion and a comment.
    draft = services.save_marks(actor=beijing, assignment=first, marks={"progress": "25"}, comment="",
                                submit=False, expected_version=0)  # fmt: skip
    assert draft.marks == {"progress": "25.00"} and draft.total is None and draft.submitted_at is None
    with refused("请为“目标完成情况”打分"):
        services.save_marks(actor=beijing, assignment=first, marks={"progress": "25"}, comment="好",
                            submit=True, expected_version=1)  # fmt: skip
    full = {"progress": "25", "targets": "27.5", "features": "16", "replicable": "18"}
    with refused("评审意见"):
        services.save_marks(actor=beijing, assignment=first, marks=full, comment="  ", submit=True,
                            expected_version=1)  # fmt: skip
    with refused("已被他人修改"):
        services.save_marks(actor=beijing, assignment=first, marks=full, comment="好", submit=True,
                            expected_version=0)  # fmt: skip
    first.refresh_from_db()
    assert first.submitted_at is None and first.version == 1
    # Nobody else scores this assignment: not another expert, not the analyst.
    for other in (guangdong, analyst):
        with refused("不是分配给你"):
            services.save_marks(actor=other, assignment=first, marks=full, comment="好", submit=True,
                                expected_version=1)  # fmt: skip
    submitted = services.save_marks(actor=beijing, assignment=first, marks=full, comment="进展扎实。", submit=True,
                                    expected_version=1)  # fmt: skip
    assert submitted.total == Decimal("86.50") and submitted.submitted_at is not None
    assert submitted.marks == {"progress": "25.00", "targets": "27.50", "features": "16.00", "replicable": "18.00"}
    score(cast, third, 70)

    # Blind review while the round is open: only the expert who gave the marks sees them.
    first = Assignment.objects.select_related("round").get(pk=first.pk)
    assert services.marks_visible(beijing, first)
    for user in (guangdong, zhejiang, analyst, cast.users["ministry"], cast.users["city-hz"]):
        assert not services.marks_visible(user, first), user.username

    # Closing with a missing score needs the acknowledgement.
    with refused("1 项评审任务未提交评分"):
        services.close_round(actor=analyst, review=review)
    with refused("只有监测机构分析员"):
        services.close_round(actor=cast.users["ministry"], review=review, accept_missing=True)
    assert ReviewRound.objects.get(pk=review.pk).status == ReviewRound.Status.OPEN
    closed = services.close_round(actor=analyst, review=review, accept_missing=True)
    assert closed.closed and closed.closed_by == analyst and closed.closed_at is not None
    event = AuditEvent.objects.get(action=Action.REVIEW_CLOSE, object_id=str(review.pk))
    assert event.actor == analyst

    first = Assignment.objects.select_related("round").get(pk=first.pk)
    for user in (beijing, guangdong, zhejiang, analyst, cast.users["ministry"]):
        assert services.marks_visible(user, first), user.username
    assert not services.marks_visible(cast.users["city-hz"], first)  # never the city under review
    # After closing nothing changes any more.
    with refused("评审已结束"):
        score(cast, second, 80)
    with refused("评审已结束"):
        services.save_marks(actor=beijing, assignment=first, marks={**full, "progress": "30"}, comment="改",
                            submit=True, expected_version=first.version)  # fmt: skip
    with refused("已结束"):
        services.assign(actor=analyst, review=review, expert=zhejiang, report=gz)
    with refused("已结束"):
        services.unassign(actor=analyst, assignment=second)
    with refused("已结束"):
        services.close_round(actor=analyst, review=review, accept_missing=True)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.total == Decimal("86.50") and second.marks == {} and second.submitted_at is None
    # A new round can start once this one is closed.
    assert services.create_round(actor=analyst, cycle=world, name="复评").status == ReviewRound.Status.OPEN


def test_automatic_assignment_avoids_conflicts_and_spreads_the_load(cast: Cast, world: ReportingCycle) -> None:
    analyst = cast.users["analyst"]
    panel = experts(cast)
    full_year_report(cast, "hangzhou", ("杭州应用甲", "杭州应用乙"))
    full_year_report(cast, "jiaxing", ("嘉兴应用",))
    full_year_report(cast, "guangzhou", ("广州应用",))
    targets = 3 + 4  # three reports, four applications
    review = services.create_round(actor=analyst, cycle=world)
    with refused("只有监测机构分析员"):
        services.auto_assign(actor=cast.users["ministry"], review=review)
    with refused("1 至 9"):
        services.auto_assign(actor=analyst, review=review, per_item=0)

    assert services.auto_assign(actor=analyst, review=review, per_item=1) == targets
    assignments = list(Assignment.objects.filter(round=review).select_related("expert__organisation", "city"))
    assert len(assignments) == targets
    assert all(not services.conflict(a.expert, a.city) for a in assignments)
    assert all(services.province_code(a.expert.organisation) != services.province_code(a.city) for a in assignments)
    load = Counter(a.expert_id for a in assignments)
    assert set(load) == {e.pk for e in panel}  # everyone gets work …
    assert max(load.values()) - min(load.values()) <= 1  # … and nobody more than one item more than another
    assert {a.application_id for a in assignments if a.application_id} == set(
        TypicalApplication.objects.values_list("pk", flat=True)
    )

    # Topping up to two experts each: every item has two experts without a conflict; asking for three finds no
    # third expert without a conflict for any item, so nothing is made.
    assert services.auto_assign(actor=analyst, review=review, per_item=2) == targets
    assert services.auto_assign(actor=analyst, review=review, per_item=3) == 0
    assignments = list(Assignment.objects.filter(round=review).select_related("expert__organisation", "city"))
    assert len(assignments) == 2 * targets
    assert all(not services.conflict(a.expert, a.city) for a in assignments)
    per_target = Counter((a.submission_id, a.application_id) for a in assignments)
    assert set(per_target.values()) == {2}
    assert len({(a.expert_id, a.submission_id, a.application_id) for a in assignments}) == 2 * targets
    progress_now = services.round_progress(review)
    assert progress_now["assigned"] == 2 * targets and progress_now["done"] == 0
    assert not progress_now["unassigned_reports"].exists() and not progress_now["unassigned_applications"].exists()


def test_a_submitted_score_revised_into_an_incomplete_draft_counts_as_missing(
    cast: Cast, world: ReportingCycle
) -> None:
    analyst = cast.users["analyst"]
    beijing = cast.users["expert"]
    hz = full_year_report(cast, "hangzhou")
    review = services.create_round(actor=analyst, cycle=world)
    assignment = give(cast, review, beijing, 80, report=hz)
    revised = services.save_marks(actor=beijing, assignment=assignment, marks={"progress": "20"}, comment="",
                                  submit=False, expected_version=assignment.version)  # fmt: skip
    assert revised.total is None
    # The revision is no longer a complete submitted score: it must count as missing when the round closes.
    assert revised.submitted_at is None, "an incomplete score is still marked as submitted"
    assert services.round_progress(review)["done"] == 0


# --- 3. runs ----------------------------------------------------------------------------------------------------


def runnable_scheme(cast: Cast, cycle: ReportingCycle, **settings: str) -> Scheme:
    """The 2016 default scheme, with the minimum data coverage lowered to 0: the test data covers three monthly
    indicators only, far below the default 50 % of the points a city needs to be ranked."""
    scheme = services.create_scheme(actor=cast.users["analyst"], cycle=cycle)
    return services.save_scheme(
        actor=cast.users["analyst"],
        scheme=scheme,
        settings={"min_coverage": "0", **settings},
        points={},
        use_target=[],
        pairwise=None,
        expected_version=scheme.version,
    )


def check_result(run: EvaluationRun) -> None:
    """The shape and the invariants of a finished run's result."""
    assert run.status == EvaluationRun.Status.DONE, run.error
    assert run.progress == 100 and run.finished_at is not None and not run.error
    assert len(run.fingerprint) == 64 and len(run.result_hash) == 64
    result = run.result
    assert result is not None
    n = len(result["cities"])
    scores, ranks = result["scores"], result["ranks"]
    assert len(scores) == len(ranks) == n >= 2
    assert all(s is not None and 0 <= s <= 100 for s in scores)
    # Competition ranking: 1 + the number of strictly higher scores (without ties a permutation of 1…n).
    assert ranks == [1 + sum(other > s for other in scores) for s in scores]
    if len(set(scores)) == n:
        assert sorted(ranks) == list(range(1, n + 1))
    uncertainty = result["uncertainty"]
    assert uncertainty is not None and uncertainty["samples"] == run.scheme_snapshot["mc"]["samples"]  # type: ignore[index]
    for i in range(n):
        assert 1 <= uncertainty["p5"][i] <= uncertainty["median"][i] <= uncertainty["p95"][i] <= n
    assert {a["method"] for a in result["agreement"]} == {"arithmetic", "geometric", "topsis"} - {
        run.scheme.aggregation
    }
    for agreement in result["agreement"]:
        assert -1 <= agreement["spearman"] <= 1 and -1 <= agreement["kendall"] <= 1
        assert len(agreement["ranks"]) == n and all(1 <= r <= n for r in agreement["ranks"])
    assert sum(result["weights"]) == pytest.approx(1.0)
    if result["explanation"]["exact"]:
        for i in range(n):
            assert sum(result["explanation"]["contributions"][i]) == pytest.approx(scores[i])


def test_trial_and_official_runs_with_the_expert_scores(cast: Cast, world: ReportingCycle) -> None:
    analyst = cast.users["analyst"]
    monitoring(cast)
    beijing, _guangdong, _zhejiang = experts(cast)
    reports = {city: full_year_report(cast, city) for city in ("hangzhou", "jiaxing", "guangzhou")}
    scheme = runnable_scheme(cast, world)
    review = services.create_round(actor=analyst, cycle=world)
    for city, total in (("hangzhou", 90), ("jiaxing", 50), ("guangzhou", 80)):
        give(cast, review, beijing, total, report=reports[city])
    for title, total in (("杭州市智慧社区", 92), ("嘉兴市智慧社区", 60), ("广州市智慧社区", 75)):
        give(cast, review, beijing, total, application=application(title))
    with refused("专家评审尚未结束"):
        services.request_run(actor=analyst, scheme=scheme, review=review)
    review = services.close_round(actor=analyst, review=review)
    for outsider in ("ministry", "expert", "city-hz"):
        with refused("只有监测机构分析员"):
            services.request_run(actor=cast.users[outsider], scheme=scheme, review=review)
    assert not EvaluationRun.objects.exists()

    trial = services.request_run(actor=analyst, scheme=scheme, review=review)
    assert not trial.official and trial.round == review
    check_result(trial)
    assert trial.result is not None and trial.inputs is not None
    assert [c["name"] for c in trial.inputs["cities"]] == ["杭州市", "宁波市", "嘉兴市", "广州市"]
    assert [c["name"] for c in trial.result["cities"]] == ["杭州市", "嘉兴市", "广州市"]  # 宁波 has no data
    codes = [c["code"] for c in trial.result["columns"]]
    assert codes == ["A02", "A03", "A05", REPORT_COLUMN, APPLICATION_COLUMN]
    expert = trial.inputs["expert"]
    assert expert["round"] == review.pk
    assert expert["report"] == [90.0, None, 50.0, 80.0] and expert["applications"] == [92.0, None, 60.0, 75.0]
    # The expert columns carry the 30 expert points: 15 each (report_share 50 %) of the 100.
    weights = dict(zip(codes, trial.result["weights"], strict=True))
    assert weights[REPORT_COLUMN] == pytest.approx(0.15) and weights[APPLICATION_COLUMN] == pytest.approx(0.15)
    assert sum(weights[c] for c in ("A02", "A03", "A05")) == pytest.approx(0.70)
    assert trial.scheme_snapshot is not None and trial.scheme_snapshot["scheme"]["status"] == Scheme.Status.DRAFT
    assert trial.code_version is not None and set(trial.code_version) == {"engine", "numpy", "infocity"}

    approved = approve(cast, scheme)
    official = services.request_run(actor=analyst, scheme=approved, review=review)
    assert official.official
    check_result(official)
    # Same data, same scheme content: the same result bit for bit (the fingerprint differs: the snapshot records
    # the scheme's status and version).
    assert official.inputs == trial.inputs and official.result == trial.result
    assert official.result_hash == trial.result_hash and official.fingerprint != trial.fingerprint

    # Without a round the expert columns are left out and their points go to the indicators.
    alone = services.request_run(actor=analyst, scheme=approved, review=None)
    check_result(alone)
    assert alone.result is not None
    assert [c["code"] for c in alone.result["columns"]] == ["A02", "A03", "A05"]
    assert any("按比例分给监测指标" in note for note in alone.result["notes"])
    runs = AuditEvent.objects.filter(action=Action.EVALUATION_RUN).order_by("pk")
    assert [e.object_id for e in runs] == [str(trial.pk), str(official.pk), str(alone.pk)]
    assert all(e.actor == analyst for e in runs)


def test_a_run_that_cannot_be_computed_fails_with_its_reason(cast: Cast, world: ReportingCycle) -> None:
    """No accepted data at all: the run ends FAILED with the engine's message, nothing half-written."""
    scheme = runnable_scheme(cast, world)
    run = services.request_run(actor=cast.users["analyst"], scheme=scheme, review=None)
    assert run.status == EvaluationRun.Status.FAILED and run.finished_at is not None
    assert run.error and run.result is None and not run.result_hash
    with refused("只有已完成的评估"):
        services.reproduce(actor=cast.users["analyst"], run=run)


# --- 4. and 5. frozen runs --------------------------------------------------------------------------------------


def test_a_frozen_run_reproduces_exactly_after_the_data_changes(cast: Cast, world: ReportingCycle) -> None:
    analyst, guangzhou = cast.users["analyst"], cast.orgs["guangzhou"]
    monitoring(cast)
    scheme = runnable_scheme(cast, world)
    run = services.request_run(actor=analyst, scheme=scheme, review=None)
    check_result(run)
    assert run.inputs is not None and run.result is not None
    frozen_inputs, frozen_result = copy.deepcopy(run.inputs), copy.deepcopy(run.result)
    frozen_fingerprint, frozen_hash = run.fingerprint, run.result_hash
    old_score = run.result["scores"][position(run, guangzhou)]
    a02 = column(run, "A02")
    assert run.inputs["values"][row(run, guangzhou)][a02] == 45.0  # 18000 of 40000

    # 广州 corrects one accepted figure through the reporting workflow: unlock the item, edit it, send it again
    # through the city and the province, and the analyst accepts it (the accepted indicator values follow).
    submission = slot(cast, "guangzhou", "2016-M11")
    version_then = submission.version
    unlock = reporting.request_unlock(actor=cast.users["city-gz"], submission=submission,
                                      items=["FBB_20M_USERS"], reason="运营商更正了数据。")  # fmt: skip
    reporting.decide_unlock(actor=analyst, unlock=unlock, grant=True)
    accept(cast, "guangzhou", "2016-M11", {"FBB_20M_USERS": "22000"})
    corrected = IndicatorValue.objects.get(
        city=guangzhou, period__code="2016-M11", indicator__code="A02", basis=Basis.ACCEPTED
    )
    assert corrected.value == Decimal("55")
    assert fresh(submission).version > version_then

    # The frozen run still reproduces, bit for bit, and nothing of it changed.
    outcome = services.reproduce(actor=analyst, run=EvaluationRun.objects.get(pk=run.pk))
    assert outcome["fingerprint_ok"] is True and outcome["result_ok"] is True
    assert outcome["result_hash"] == frozen_hash and outcome["code_then"] == outcome["code_now"]
    run.refresh_from_db()
    assert run.inputs == frozen_inputs and run.result == frozen_result
    assert (run.fingerprint, run.result_hash) == (frozen_fingerprint, frozen_hash)
    assert services.reproduce(actor=cast.users["ministry"], run=run)["result_ok"]
    for outsider in ("expert", "city-gz", "province-gd"):
        with refused("只有监测机构和部级管理员"):
            services.reproduce(actor=cast.users[outsider], run=run)
    # Its sources still name the version that held the old figure, and that version is still in the database.
    source = run.inputs["sources"][row(run, guangzhou)][a02]
    assert source["items"]["FBB_20M_USERS"] == "18000"
    [[submission_id, form, version]] = source["submissions"]
    assert (submission_id, form, version) == (submission.pk, "M", version_then)
    assert SubmissionVersion.objects.get(submission_id=submission_id, number=version).values["FBB_20M_USERS"] == (
        "18000"
    )

    # A new run reads the corrected figure: another fingerprint and another score for 广州.
    again = services.request_run(actor=analyst, scheme=scheme, review=None)
    check_result(again)
    assert again.inputs is not None and again.result is not None
    assert again.fingerprint != frozen_fingerprint and again.result_hash != frozen_hash
    assert again.inputs["values"][row(again, guangzhou)][a02] == 55.0
    assert again.result["scores"][position(again, guangzhou)] != pytest.approx(old_score)
    assert again.inputs["sources"][row(again, guangzhou)][a02]["items"]["FBB_20M_USERS"] == "22000"

    # Tampering with the frozen inputs in the database is detected.
    tampered = copy.deepcopy(frozen_inputs)
    tampered["values"][row(run, guangzhou)][a02] = 55.0
    EvaluationRun.objects.filter(pk=run.pk).update(inputs=tampered)
    outcome = services.reproduce(actor=analyst, run=EvaluationRun.objects.get(pk=run.pk))
    assert outcome["fingerprint_ok"] is False and outcome["result_ok"] is False
    # … and so is tampering with the stored result alone.
    EvaluationRun.objects.filter(pk=run.pk).update(inputs=frozen_inputs, result_hash="0" * 64)
    outcome = services.reproduce(actor=analyst, run=EvaluationRun.objects.get(pk=run.pk))
    assert outcome["fingerprint_ok"] is True and outcome["result_ok"] is False
    checks = AuditEvent.objects.filter(action=Action.EVALUATION_REPRODUCE, object_id=str(run.pk)).order_by("pk")
    assert [(e.detail["fingerprint_ok"], e.detail["result_ok"]) for e in checks] == [
        (True, True),
        (True, True),
        (False, False),
        (True, False),
    ]


def test_frozen_sources_name_the_items_and_the_submission_versions(cast: Cast, world: ReportingCycle) -> None:
    monitoring(cast)
    run = services.request_run(actor=cast.users["analyst"], scheme=runnable_scheme(cast, world), review=None)
    check_result(run)
    inputs = run.inputs
    assert inputs is not None and inputs["basis"] == Basis.ACCEPTED
    hz, a02 = row(run, cast.orgs["hangzhou"]), column(run, "A02")
    assert inputs["values"][hz][a02] == 62.0
    source = inputs["sources"][hz][a02]
    assert source["period"] == "2016-M11"
    assert source["items"] == {"FBB_20M_USERS": "6200", "FBB_USERS": "10000"}
    hz_m11 = slot(cast, "hangzhou", "2016-M11")
    assert source["submissions"] == [[hz_m11.pk, "M", hz_m11.version]]

    # Every value has its trail, and the trail is true to the database.
    cells = 0
    for i, city in enumerate(inputs["cities"]):
        for j, indicator in enumerate(inputs["indicators"]):
            value, trail = inputs["values"][i][j], inputs["sources"][i][j]
            if value is None:
                assert trail is None
                continue
            cells += 1
            stored = IndicatorValue.objects.get(
                city_id=city["id"], indicator__code=indicator["code"], period__code=trail["period"],
                basis=Basis.ACCEPTED,
            )  # fmt: skip
            assert stored.value is not None and float(stored.value) == value
            assert stored.period.frequency == stored.indicator.frequency  # read at a period of its own frequency
            assert trail["items"] and trail["submissions"]
            for submission_id, form, version in trail["submissions"]:
                submission = Submission.objects.select_related("period", "form").get(pk=submission_id)
                assert submission.city_id == city["id"] and submission.period.code == trail["period"]
                assert submission.form.code == form and submission.version == version
                assert submission.status == Status.ACCEPTED
                snapshot = SubmissionVersion.objects.get(submission=submission, number=version)
                for code, shown in trail["items"].items():
                    assert snapshot.values[code] == shown, (city["name"], indicator["code"], code)
    assert cells == 9  # three cities × A02, A03, A05
    assert all(v is None for v in inputs["values"][row(run, cast.orgs["ningbo"])])


# --- 6. acceptance, awards, publication -------------------------------------------------------------------------


def decide(cast: Cast, run: EvaluationRun, city: str, decision: str, comment: str = "") -> AcceptanceDecision:
    return services.decide_acceptance(
        actor=cast.users["analyst"], run=run, city=cast.orgs[city], decision=decision, comment=comment
    )


def awarded(run: EvaluationRun, kind: str) -> list[tuple[str, int, Decimal]]:
    """(city or application, position, score) of the run's awards of one kind, in order."""
    return [
        (a.application.title if a.application else a.city.name, a.position, a.score)
        for a in Award.objects.filter(run=run, kind=kind).select_related("application", "city")
    ]


def test_acceptance_awards_confirmation_and_publication(cast: Cast, world: ReportingCycle) -> None:
    analyst, ministry = cast.users["analyst"], cast.users["ministry"]
    monitoring(cast)
    beijing, guangdong, _zhejiang = experts(cast)
    reports = {
        "hangzhou": full_year_report(cast, "hangzhou", ("杭州应用甲", "杭州应用乙")),
        "jiaxing": full_year_report(cast, "jiaxing", ("嘉兴应用",)),
        "guangzhou": full_year_report(cast, "guangzhou", ("广州应用",)),
    }
    review = services.create_round(actor=analyst, cycle=world)
    for city, total in (("hangzhou", 90), ("jiaxing", 50), ("guangzhou", 80)):
        give(cast, review, beijing, total, report=reports[city])
    # Mean expert scores per application: 甲 (92 + 78) / 2 = 85, exactly the threshold; 乙 (90 + 70) / 2 = 80, below
    # it though one expert gave 90; 广州 88; 嘉兴 95.
    for title, marks in (
        ("杭州应用甲", (92, 78)),
        ("杭州应用乙", (90, 70)),
        ("广州应用", (88,)),
        ("嘉兴应用", (95, 95)),
    ):
        for expert, total in zip((beijing, guangdong), marks, strict=False):
            give(cast, review, expert, total, application=application(title))
    review = services.close_round(actor=analyst, review=review)
    rules = {"advanced_cities": "1", "advanced_min_score": "60", "excellent_threshold": "85", "excellent_max": "2"}
    scheme = runnable_scheme(cast, world, **rules)

    # A trial run (draft scheme) takes no acceptance decision and no awards.
    trial = services.request_run(actor=analyst, scheme=scheme, review=review)
    assert not trial.official
    with refused("正式评估"):
        decide(cast, trial, "hangzhou", D.PASS)
    with refused("正式评估"):
        services.propose_awards(actor=analyst, run=trial)
    assert not AcceptanceDecision.objects.exists()

    run = services.request_run(actor=analyst, scheme=approve(cast, scheme), review=review)
    assert run.official
    check_result(run)
    assert run.result is not None
    scores = {c["name"]: s for c, s in zip(run.result["cities"], run.result["scores"], strict=True)}
    ranks = {c["name"]: r for c, r in zip(run.result["cities"], run.result["ranks"], strict=True)}
    # The scenario the rules are tested on: 杭州 first, 广州 second, both at least 60; 嘉兴 below 60.
    assert ranks == {"杭州市": 1, "广州市": 2, "嘉兴市": 3}
    assert scores["杭州市"] > scores["广州市"] >= 60 > scores["嘉兴市"]

    # Acceptance decisions: the analyst's; conditional and fail need a comment; only ranked cities.
    with refused("只有监测机构分析员"):
        services.decide_acceptance(actor=ministry, run=run, city=cast.orgs["hangzhou"], decision=D.PASS, comment="")
    with refused("请选择验收结论"):
        decide(cast, run, "hangzhou", "excellent")
    with refused("须写明验收意见"):
        decide(cast, run, "hangzhou", D.CONDITIONAL)
    with refused("须写明验收意见"):
        decide(cast, run, "jiaxing", D.FAIL, "   ")
    with refused("不在本次评估"):
        decide(cast, run, "zhejiang", D.PASS)
    assert not AcceptanceDecision.objects.exists()
    decide(cast, run, "hangzhou", D.CONDITIONAL, "请于三个月内完成数据整改。")
    decide(cast, run, "guangzhou", D.PASS)
    # Every city of the run needs a decision first — 宁波, not ranked for want of data, too.
    with refused("尚缺：") as incomplete:
        services.propose_awards(actor=analyst, run=run)
    assert "嘉兴市" in str(incomplete.value) and "宁波市" in str(incomplete.value)
    assert "杭州市" not in str(incomplete.value)
    decide(cast, run, "ningbo", D.FAIL, "全年未报送监测数据。")
    with refused("尚缺：嘉兴市"):
        services.propose_awards(actor=analyst, run=run)
    assert not Award.objects.exists()
    decide(cast, run, "jiaxing", D.PASS)
    with refused("只有监测机构分析员"):
        services.propose_awards(actor=ministry, run=run)

    # Proposal 1 — advanced cities: only cities passed without conditions with at least 60 points, by rank, at most
    # one: 杭州 is conditional, 嘉兴 below 60, so 广州. Excellent applications: mean ≥ 85, best first, at most two.
    services.propose_awards(actor=analyst, run=run)
    two = Decimal(f"{scores['广州市']:.2f}")
    assert awarded(run, Award.Kind.ADVANCED_CITY) == [("广州市", 1, two)]
    assert awarded(run, Award.Kind.EXCELLENT_APPLICATION) == [("嘉兴应用", 1, Decimal("95.00")),
                                                              ("广州应用", 2, Decimal("88.00"))]  # fmt: skip
    basis = Award.objects.get(run=run, kind=Award.Kind.ADVANCED_CITY).basis
    assert "排名第 2" in basis and "验收通过" in basis

    # Proposal 2, after changing decisions (a new version of the decision): 杭州 passes, 嘉兴 fails. The one place
    # goes to 杭州 (rank 1; 广州 is cut by the number of places); 嘉兴's application is out (its city failed), 甲 at
    # exactly 85 is in, 乙 (mean 80) never.
    changed = decide(cast, run, "hangzhou", D.PASS)
    assert changed.version == 2 and changed.comment == ""
    decide(cast, run, "jiaxing", D.FAIL, "全年进展报告不完整。")
    services.propose_awards(actor=analyst, run=run)
    assert awarded(run, Award.Kind.ADVANCED_CITY) == [("杭州市", 1, Decimal(f"{scores['杭州市']:.2f}"))]
    assert awarded(run, Award.Kind.EXCELLENT_APPLICATION) == [("广州应用", 1, Decimal("88.00")),
                                                              ("杭州应用甲", 2, Decimal("85.00"))]  # fmt: skip
    assert Award.objects.filter(run=run).count() == 3  # the first proposal was replaced
    assert set(Award.objects.filter(run=run).values_list("status", flat=True)) == {Award.Status.PROPOSED}

    # Confirmation: the ministry's; the kept awards are numbered, the others declined without a number.
    with refused("请先确认表彰名单"):
        services.publish(actor=ministry, run=run)
    city_award = Award.objects.get(run=run, kind=Award.Kind.ADVANCED_CITY)
    kept_application = Award.objects.get(run=run, application__title="广州应用")
    dropped = Award.objects.get(run=run, application__title="杭州应用甲")
    with refused("只有部级管理员"):
        services.confirm_awards(actor=analyst, run=run, keep=[city_award.pk])
    with refused("不属于本次评估"):
        services.confirm_awards(actor=ministry, run=run, keep=[city_award.pk, 10**9])
    assert EvaluationRun.objects.get(pk=run.pk).confirmed_at is None
    services.confirm_awards(actor=ministry, run=run, keep=[city_award.pk, kept_application.pk])
    city_award.refresh_from_db()
    kept_application.refresh_from_db()
    dropped.refresh_from_db()
    assert (city_award.status, city_award.number) == (Award.Status.CONFIRMED, f"2016-XF-{run.pk:03d}-001")
    assert (kept_application.status, kept_application.number) == (Award.Status.CONFIRMED, f"2016-YY-{run.pk:03d}-001")
    assert (dropped.status, dropped.number) == (Award.Status.DECLINED, "")
    run.refresh_from_db()
    assert run.confirmed_by == ministry and run.confirmed_at is not None
    # Once confirmed, decisions and proposals are closed.
    with refused("已经部级确认"):
        decide(cast, run, "jiaxing", D.PASS)
    with refused("已经部级确认"):
        services.propose_awards(actor=analyst, run=run)
    with refused("已经确认"):
        services.confirm_awards(actor=ministry, run=run, keep=[])

    # Publication: the ministry's, once; the public side sees only confirmed awards of published runs.
    assert not services.published_awards().exists()
    assert not services.awards_visible_to(cast.users["city-hz"]).exists()
    with refused("只有部级管理员"):
        services.publish(actor=analyst, run=run)
    published = services.publish(actor=ministry, run=run)
    assert published.published_by == ministry and published.published_at is not None
    assert set(services.published_awards()) == {city_award, kept_application}
    assert set(services.awards_visible_to(cast.users["city-hz"])) == {city_award}
    assert set(services.awards_visible_to(cast.users["city-gz"])) == {kept_application}
    assert not services.awards_visible_to(cast.users["expert"]).exists()
    with refused("已经发布"):
        services.publish(actor=ministry, run=run)

    # A second official run of the cycle can be decided and confirmed, but not published.
    second = services.request_run(actor=analyst, scheme=run.scheme, review=review)
    for city in ("hangzhou", "jiaxing", "guangzhou", "ningbo"):
        decide(cast, second, city, D.PASS)
    proposals = services.propose_awards(actor=analyst, run=second)
    services.confirm_awards(actor=ministry, run=second, keep=[a.pk for a in proposals])
    with refused("已有发布的评估结果"):
        services.publish(actor=ministry, run=second)
    assert EvaluationRun.objects.get(pk=second.pk).published_at is None
    assert set(services.published_awards()) == {city_award, kept_application}

    actions = Counter(
        AuditEvent.objects.filter(object_type=EvaluationRun._meta.label, object_id=str(run.pk)).values_list(
            "action", flat=True
        )
    )
    assert actions[Action.ACCEPTANCE_DECIDE] == 6 and actions[Action.AWARD_PROPOSE] == 2
    assert actions[Action.AWARD_CONFIRM] == 1 and actions[Action.EVALUATION_PUBLISH] == 1
