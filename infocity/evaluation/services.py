"""The annual evaluation's workflow (年度评估): schemes, expert review, runs, acceptance, awards and publication.

Every change checks who may make it, runs in one transaction with the rows it depends on locked, and writes an
audit event. Roles: the analyst (监测机构分析员) edits schemes, organises the expert review, runs evaluations, records
acceptance decisions and proposes awards; the ministry (部级管理员) approves schemes, confirms awards and publishes;
experts (评审专家) score what they were assigned. Errors are :class:`EvaluationWorkflowError` with a Chinese message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone, translation
from django_tasks import task

from infocity.accounts.models import Role, User
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.frameworks.models import Frequency, Indicator
from infocity.organisations.models import Organisation
from infocity.progress.models import TypicalApplication
from infocity.reporting.models import ReportingCycle, Status, Submission
from infocity.reporting.services import clean_text

from . import engine
from .compute import compute, digest
from .freeze import areas_of, code_version, freeze_inputs, freeze_scheme
from .models import AcceptanceDecision, Assignment, Award, EvaluationRun, ReviewRound, Scheme, SchemeItem

logger = logging.getLogger(__name__)

# The 2016 default (BRIEF §7; the area points are a proposal the ministry can change): 70 points for the monitoring
# indicators, shared by area and equally within an area, and 30 for the expert scores.
AREA_POINTS_2016 = {"A": 15, "B": 10, "C": 15, "D": 5, "E": 10, "F": 10, "G": 5}
REVIEWED_STATUSES = [Status.SUBMITTED, Status.PROVINCE_APPROVED, Status.ACCEPTED]


class EvaluationWorkflowError(Exception):
    """A refused evaluation action; the message says why and what to do, in Chinese."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise EvaluationWorkflowError(message)


def is_analyst(user: User) -> bool:
    return user.is_active and user.role == Role.ANALYST


def is_ministry(user: User) -> bool:
    return user.is_active and user.role == Role.MINISTRY


def is_staff(user: User) -> bool:
    return user.is_active and user.role in {Role.ANALYST, Role.MINISTRY}


# --- visibility -----------------------------------------------------------------------------------


def schemes_visible_to(user: User) -> QuerySet[Scheme]:
    return Scheme.objects.all() if is_staff(user) else Scheme.objects.none()


def runs_visible_to(user: User) -> QuerySet[EvaluationRun]:
    return EvaluationRun.objects.all() if is_staff(user) else EvaluationRun.objects.none()


def rounds_visible_to(user: User) -> QuerySet[ReviewRound]:
    return ReviewRound.objects.all() if is_staff(user) else ReviewRound.objects.none()


def assignments_visible_to(user: User) -> QuerySet[Assignment]:
    """The analyst and ministry see every assignment; an expert only their own."""
    if is_staff(user):
        return Assignment.objects.all()
    if user.is_active and user.role == Role.EXPERT:
        return Assignment.objects.filter(expert=user)
    return Assignment.objects.none()


def awards_visible_to(user: User) -> QuerySet[Award]:
    if is_staff(user):
        return Award.objects.all()
    if user.is_active and user.organisation_id and user.role in {Role.CITY_REPORTER, Role.CITY_APPROVER}:
        return Award.objects.filter(
            run__published_at__isnull=False, status=Award.Status.CONFIRMED, city_id=user.organisation_id
        )
    return Award.objects.none()


def published_awards() -> QuerySet[Award]:
    """What the public side may show: confirmed awards of published runs."""
    return Award.objects.filter(run__published_at__isnull=False, status=Award.Status.CONFIRMED)


def marks_visible(user: User, assignment: Assignment) -> bool:
    """Blind review: marks are seen by the expert who gave them, and by anyone else only once the round is closed."""
    if assignment.expert_id == user.pk:
        return True
    return assignment.round.closed and (is_staff(user) or user.role == Role.EXPERT)


# --- schemes --------------------------------------------------------------------------------------


def _locked_scheme(scheme: Scheme) -> Scheme:
    return Scheme.objects.select_for_update().select_related("cycle").get(pk=scheme.pk)


def _expect(current: int, expected: int | None, what: str) -> None:
    if expected is not None and current != expected:
        raise EvaluationWorkflowError(
            f"{what}已被他人修改（当前版本 {current}），请刷新页面后重新操作，你的改动未保存。"
        )


@transaction.atomic
def create_scheme(
    *,
    actor: User,
    cycle: ReportingCycle,
    name: str = "",
    based_on: Scheme | None = None,
    request: HttpRequest | None = None,
) -> Scheme:
    """A new draft: a copy of ``based_on`` (a revision), else the 2016 default over the cycle's indicators."""
    _require(is_analyst(actor), "只有监测机构分析员可以制定评估方案。")
    if based_on is not None:
        _require(based_on.cycle_id == cycle.pk, "修订的方案应属于同一填报周期。")
        fields = {
            f.name: getattr(based_on, f.name)
            for f in Scheme._meta.concrete_fields
            if f.name
            not in {
                "id",
                "status",
                "created_at",
                "submitted_at",
                "approved_by",
                "approved_at",
                "review_note",
                "version",
                "based_on",
                "created_by",
                "name",
                "cycle",
            }
        }
        scheme = Scheme.objects.create(
            cycle=cycle,
            name=clean_text(name, 100) or f"{based_on.name}（修订）",
            based_on=based_on,
            created_by=actor,
            **fields,
        )
        SchemeItem.objects.bulk_create(
            [
                SchemeItem(scheme=scheme, indicator_id=i.indicator_id, points=i.points, use_target=i.use_target)
                for i in based_on.items.all()
            ]
        )
    else:
        indicators = list(Indicator.objects.filter(edition=cycle.edition).select_related("area").order_by("order"))
        _require(bool(indicators), "该填报周期的指标体系没有指标，无法制定评估方案。")
        scheme = Scheme.objects.create(
            cycle=cycle,
            name=clean_text(name, 100) or f"{cycle.year} 年度信息消费示范城市评估方案",
            description=(
                "默认方案（BRIEF §7）：有目标值的指标按距目标值计分（封顶 100 分），“持续提升”类指标在参评城市中按"
                "极差标准化；各领域加权算术平均后汇总为百分制总分；专家评审（进展报告、典型应用）占 30 分。"
            ),
            area_pairwise=[],
            created_by=actor,
        )
        per_area: dict[str, list[Indicator]] = {}
        for indicator in indicators:
            per_area.setdefault(indicator.area.code, []).append(indicator)
        total_known = sum(AREA_POINTS_2016.get(code, 0) for code in per_area)
        rows = []
        for code, members in per_area.items():
            area_points = Decimal(AREA_POINTS_2016.get(code, 0)) if total_known else Decimal(70) / len(per_area)
            if total_known and code not in AREA_POINTS_2016:
                area_points = Decimal(0)
            # Equal shares in whole cents, the leftover cents to the first indicators: the area keeps its points.
            cents = int((area_points * 100).to_integral_value())
            base, extra = divmod(cents, len(members))
            rows += [
                SchemeItem(scheme=scheme, indicator=i, points=Decimal(base + (1 if k < extra else 0)) / 100)
                for k, i in enumerate(members)
            ]
        SchemeItem.objects.bulk_create(rows)
        scheme.area_pairwise = [[1.0] * len(per_area) for _ in per_area]
        scheme.save(update_fields=["area_pairwise"])
    record(Action.SCHEME_SAVE, actor=actor, request=request, target=scheme, detail={"created": True})
    return scheme


def _decimal(raw: Any, label: str, low: Decimal, high: Decimal) -> Decimal:
    if len(str(raw).strip()) > 30:
        raise EvaluationWorkflowError(f"{label}应在 {low} 至 {high} 之间。")
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise EvaluationWorkflowError(f"{label}应为数字，实际为“{str(raw)[:20]}”。") from None
    if not value.is_finite() or not (low <= value <= high):
        raise EvaluationWorkflowError(f"{label}应在 {low} 至 {high} 之间。")
    return value.quantize(Decimal("0.01"))


def _integer(raw: Any, label: str, low: int, high: int) -> int:
    text = str(raw).strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > 12 or not (low <= int(text) <= high):
        raise EvaluationWorkflowError(f"{label}应为 {low} 至 {high} 之间的整数。")
    return int(text)


def _pairwise(raw: Any, n: int) -> list[list[float]]:
    try:
        matrix = engine.pairwise_matrix(raw)
    except engine.EvaluationError as error:
        raise EvaluationWorkflowError(str(error)) from None
    _require(matrix.shape == (n, n), f"领域判断矩阵应为 {n} 阶（每个领域一行一列）。")
    return [[float(v) for v in row] for row in matrix.tolist()]


def scheme_areas(scheme: Scheme) -> list[tuple[str, str]]:
    """The areas of the scheme's indicators in catalog order: (code, name) — the same order runs use."""
    return areas_of(scheme)


@transaction.atomic
def save_scheme(
    *,
    actor: User,
    scheme: Scheme,
    settings: Mapping[str, Any],
    points: Mapping[int, Any],
    use_target: Iterable[int],
    pairwise: list[list[Any]] | None,
    expected_version: int | None,
    request: HttpRequest | None = None,
) -> Scheme:
    """Save a draft scheme: methods, expert share, Monte Carlo and award settings, each indicator's points (keyed by
    scheme item id) and whether it is scored against its target, and the AHP comparison of the areas."""
    _require(is_analyst(actor), "只有监测机构分析员可以修改评估方案。")
    locked = _locked_scheme(scheme)
    _require(locked.status == Scheme.Status.DRAFT, "只有草稿状态的方案可以修改；已提交或已批准的方案请“修订”为新草稿。")
    _expect(locked.version, expected_version, "该方案")
    for field, choices, label in (
        ("normalisation", engine.NORMALISATIONS, "标准化方法"),
        ("weighting", engine.WEIGHTINGS, "赋权方法"),
        ("aggregation", engine.AGGREGATIONS, "汇总方法"),
    ):
        value = str(settings.get(field, getattr(locked, field)))
        _require(value in choices, f"请选择有效的{label}。")
        setattr(locked, field, value)
    if locked.aggregation == "geometric" and locked.normalisation == "zscore":
        raise EvaluationWorkflowError("加权几何平均要求得分不为负，不能与 Z 分数标准化同用，请改选其他标准化方法。")
    name = clean_text(str(settings.get("name", locked.name)), 100)
    _require(bool(name), "请填写方案名称。")
    locked.name = name
    locked.description = clean_text(str(settings.get("description", locked.description)), 2000)
    locked.expert_points = _decimal(
        settings.get("expert_points", locked.expert_points), "专家评审分值", Decimal(0), Decimal(100)
    )
    locked.report_share = _decimal(
        settings.get("report_share", locked.report_share), "进展报告所占比例", Decimal(0), Decimal(100)
    )
    locked.min_coverage = _decimal(
        settings.get("min_coverage", locked.min_coverage), "参与排名的最低数据覆盖率", Decimal(0), Decimal(100)
    )
    locked.mc_samples = _integer(settings.get("mc_samples", locked.mc_samples), "蒙特卡洛抽样次数", 0, 100_000)
    locked.mc_seed = _integer(settings.get("mc_seed", locked.mc_seed), "随机种子", 0, 2_147_483_647)
    locked.mc_spread = _decimal(settings.get("mc_spread", locked.mc_spread), "权重扰动幅度", Decimal(0), Decimal("0.9"))
    locked.mc_rank_normalisation = bool(settings.get("mc_rank_normalisation", locked.mc_rank_normalisation))
    locked.advanced_cities = _integer(
        settings.get("advanced_cities", locked.advanced_cities), "先进示范城市名额", 0, 100
    )
    locked.advanced_min_score = _decimal(
        settings.get("advanced_min_score", locked.advanced_min_score), "先进示范城市最低总分", Decimal(0), Decimal(100)
    )
    locked.excellent_threshold = _decimal(
        settings.get("excellent_threshold", locked.excellent_threshold),
        "优秀典型应用最低专家均分",
        Decimal(0),
        Decimal(100),
    )
    locked.excellent_max = _integer(settings.get("excellent_max", locked.excellent_max), "优秀典型应用名额", 0, 200)
    items = {item.pk: item for item in locked.items.select_related("indicator")}
    targeted = set(use_target)
    changed = []
    for pk, raw in points.items():
        item = items.get(pk)
        _require(item is not None, "方案中没有这项指标，请刷新页面后重试。")
        assert item is not None
        item.points = _decimal(raw, f"指标 {item.indicator.code} 的分值", Decimal(0), Decimal(100))
        item.use_target = pk in targeted
        changed.append(item)
    SchemeItem.objects.bulk_update(changed, ["points", "use_target"])
    if pairwise is not None:
        locked.area_pairwise = _pairwise(pairwise, len(scheme_areas(locked)))
    locked.version += 1
    locked.save()
    record(Action.SCHEME_SAVE, actor=actor, request=request, target=locked, detail={"version": locked.version})
    return locked


def scheme_problems(scheme: Scheme) -> list[str]:
    """What stops a scheme being submitted or approved (empty = ready)."""
    problems = []
    items = list(scheme.items.all())
    if not items:
        problems.append("方案没有任何指标。")
    if scheme.weighting in {"explicit", "ahp"} and not any(i.points > 0 for i in items):
        problems.append("各指标分值不能全部为零。")
    total = sum((i.points for i in items), Decimal(0))
    if scheme.weighting == "explicit" and abs(total + scheme.expert_points - 100) > Decimal("0.5"):
        problems.append(
            f"指标分值合计 {total} 分，加上专家评审 {scheme.expert_points} 分应为 100 分（百分制），请调整分值。"
        )
    if scheme.weighting == "ahp":
        try:
            engine.ahp_weights(scheme.area_pairwise)
        except engine.EvaluationError as error:
            problems.append(str(error))
    return problems


@transaction.atomic
def submit_scheme(
    *, actor: User, scheme: Scheme, expected_version: int | None = None, request: HttpRequest | None = None
) -> Scheme:
    _require(is_analyst(actor), "只有监测机构分析员可以提交评估方案。")
    locked = _locked_scheme(scheme)
    _require(locked.status == Scheme.Status.DRAFT, "只有草稿状态的方案可以提交审批。")
    _expect(locked.version, expected_version, "该方案")
    problems = scheme_problems(locked)
    _require(not problems, "方案尚不能提交：" + "；".join(problems))
    locked.status = Scheme.Status.PENDING
    locked.submitted_at = timezone.now()
    locked.review_note = ""
    locked.version += 1
    locked.save()
    record(Action.SCHEME_SUBMIT, actor=actor, request=request, target=locked)
    return locked


@transaction.atomic
def decide_scheme(
    *,
    actor: User,
    scheme: Scheme,
    approve: bool,
    note: str = "",
    expected_version: int | None = None,
    request: HttpRequest | None = None,
) -> Scheme:
    """The ministry approves a submitted scheme, or returns it to the analyst with a note."""
    _require(is_ministry(actor), "只有部级管理员可以审批评估方案。")
    locked = _locked_scheme(scheme)
    _require(locked.status == Scheme.Status.PENDING, "该方案不在待审批状态。")
    _expect(locked.version, expected_version, "该方案")
    note = clean_text(note, 2000)
    if approve:
        problems = scheme_problems(locked)
        _require(not problems, "方案尚不能批准：" + "；".join(problems))
        locked.status = Scheme.Status.APPROVED
        locked.approved_by = actor
        locked.approved_at = timezone.now()
    else:
        _require(bool(note), "退回方案时请写明退回意见。")
        locked.status = Scheme.Status.DRAFT
    locked.review_note = note
    locked.version += 1
    locked.save()
    record(
        Action.SCHEME_APPROVE if approve else Action.SCHEME_RETURN,
        actor=actor,
        request=request,
        target=locked,
        detail={"note": note},
    )
    return locked


# --- expert review --------------------------------------------------------------------------------


def full_year_reports(cycle: ReportingCycle) -> QuerySet[Submission]:
    """The cycle's full-year progress reports that have left the city (submitted or further)."""
    return Submission.objects.filter(
        period__cycle=cycle,
        form__frequency=Frequency.PROGRESS,
        period__code__endswith="R2",
        status__in=REVIEWED_STATUSES,
    ).select_related("city", "city__parent", "period")


def reviewable_applications(cycle: ReportingCycle) -> QuerySet[TypicalApplication]:
    return TypicalApplication.objects.filter(
        submission__in=full_year_reports(cycle), endorsed_at__isnull=False
    ).select_related("submission__city")


def experts() -> QuerySet[User]:
    return User.objects.filter(role=Role.EXPERT, is_active=True).select_related("organisation").order_by("username")


def province_code(organisation: Organisation | None) -> str:
    """The two-digit province prefix of an organisation's division (GB/T 2260), walking up when it has none."""
    while organisation is not None:
        if organisation.division_id:
            return str(organisation.division_id)[:2]
        organisation = organisation.parent
    return ""


def conflict(expert: User, city: Organisation) -> str:
    """Why ``expert`` may not review ``city`` (conflict of interest), or ''."""
    own = province_code(expert.organisation)
    if own and own == province_code(city):
        return f"回避：专家 {expert.full_name or expert.username} 所在单位与{city.name}同属一省，不能评审该市材料。"
    return ""


@transaction.atomic
def create_round(
    *, actor: User, cycle: ReportingCycle, name: str = "", request: HttpRequest | None = None
) -> ReviewRound:
    _require(is_analyst(actor), "只有监测机构分析员可以组织专家评审。")
    ReportingCycle.objects.select_for_update().get(pk=cycle.pk)  # one open round per cycle, also under concurrency
    _require(
        not ReviewRound.objects.filter(cycle=cycle, status=ReviewRound.Status.OPEN).exists(),
        "该周期已有进行中的评审轮次，请先结束它。",
    )
    review = ReviewRound.objects.create(
        cycle=cycle, name=clean_text(name, 100) or f"{cycle.year} 年度专家评审", created_by=actor
    )
    record(Action.REVIEW_ROUND, actor=actor, request=request, target=review, detail={"created": True})
    return review


def _open_round(review: ReviewRound) -> ReviewRound:
    locked = ReviewRound.objects.select_for_update().select_related("cycle").get(pk=review.pk)
    _require(locked.status == ReviewRound.Status.OPEN, "该评审轮次已结束，不能再更改。")
    return locked


@transaction.atomic
def assign(
    *,
    actor: User,
    review: ReviewRound,
    expert: User,
    report: Submission | None = None,
    application: TypicalApplication | None = None,
    request: HttpRequest | None = None,
) -> Assignment:
    """Give ``expert`` a full-year report or an application of the round's cycle; conflicts of interest refused."""
    _require(is_analyst(actor), "只有监测机构分析员可以分配评审任务。")
    locked = _open_round(review)
    _require(expert.is_active and expert.role == Role.EXPERT, "只能分配给在册的评审专家。")
    _require((report is None) != (application is None), "请选择一份进展报告或一项典型应用。")
    if report is not None:
        _require(full_year_reports(locked.cycle).filter(pk=report.pk).exists(), "只能分配本周期已报送的全年进展报告。")
        city = report.city
        existing = Assignment.objects.filter(round=locked, expert=expert, submission=report)
    else:
        assert application is not None
        _require(
            reviewable_applications(locked.cycle).filter(pk=application.pk).exists(),
            "只能分配本周期已报送报告中经城市确认的典型应用。",
        )
        city = application.submission.city
        existing = Assignment.objects.filter(round=locked, expert=expert, application=application)
    reason = conflict(expert, city)
    _require(not reason, reason)
    _require(not existing.exists(), "该专家已分配了这项评审任务。")
    try:
        with transaction.atomic():
            assignment = Assignment.objects.create(
                round=locked,
                expert=expert,
                submission=report,
                application=application,
                city=city,
                assigned_by=actor,
                assigned_at=timezone.now(),
            )
    except IntegrityError:
        raise EvaluationWorkflowError("该专家已分配了这项评审任务（可能刚由他人分配），请刷新页面。") from None
    record(
        Action.REVIEW_ASSIGN,
        actor=actor,
        request=request,
        target=assignment,
        detail={"expert": expert.username, "city": city.code, "kind": assignment.kind},
    )
    return assignment


def auto_assign(*, actor: User, review: ReviewRound, per_item: int = 3, request: HttpRequest | None = None) -> int:
    """Give every report and application of the round ``per_item`` experts without a conflict, spreading the load
    (the expert with the fewest assignments first). Returns how many assignments were made."""
    _require(is_analyst(actor), "只有监测机构分析员可以分配评审任务。")
    _require(1 <= per_item <= 9, "每份材料的专家人数应在 1 至 9 之间。")
    made = 0
    with transaction.atomic():
        locked = _open_round(review)
        pool = list(experts())
        _require(bool(pool), "还没有在册的评审专家，请先由系统管理员创建专家账号。")
        load = {e.pk: 0 for e in pool}
        for row in Assignment.objects.filter(round=locked).values("expert_id").annotate(n=Count("pk")):
            load[row["expert_id"]] = row["n"]
        targets: list[tuple[Submission | None, TypicalApplication | None, Organisation]] = [
            (r, None, r.city) for r in full_year_reports(locked.cycle).order_by("city__division_id")
        ]
        targets += [(None, a, a.submission.city) for a in reviewable_applications(locked.cycle).order_by("pk")]
        for report, application, city in targets:
            given = Assignment.objects.filter(round=locked, submission=report, application=application)
            have = set(given.values_list("expert_id", flat=True))
            candidates = sorted(
                (e for e in pool if e.pk not in have and not conflict(e, city)), key=lambda e: (load[e.pk], e.username)
            )
            for expert in candidates[: max(per_item - len(have), 0)]:
                assign(
                    actor=actor, review=locked, expert=expert, report=report, application=application, request=request
                )
                load[expert.pk] += 1
                made += 1
    return made


@transaction.atomic
def unassign(*, actor: User, assignment: Assignment, request: HttpRequest | None = None) -> None:
    _require(is_analyst(actor), "只有监测机构分析员可以撤销评审任务。")
    _open_round(assignment.round)
    locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
    _require(locked.submitted_at is None, "专家已提交评分，不能撤销该任务。")
    record(
        Action.REVIEW_UNASSIGN,
        actor=actor,
        request=request,
        target=locked,
        detail={"expert_id": locked.expert_id, "city": locked.city.code},
    )
    locked.delete()


def criteria_of(assignment: Assignment) -> list[dict[str, Any]]:
    review = assignment.round
    return list(review.application_criteria if assignment.application_id else review.report_criteria)


@transaction.atomic
def save_marks(
    *,
    actor: User,
    assignment: Assignment,
    marks: Mapping[str, Any],
    comment: str,
    submit: bool,
    expected_version: int | None,
    request: HttpRequest | None = None,
) -> Assignment:
    """The expert saves (or submits) their marks per criterion, each between 0 and the criterion's maximum; a
    submitted score needs every criterion and a comment. Until the round closes a submitted score can be revised."""
    locked = Assignment.objects.select_for_update().select_related("round", "city").filter(pk=assignment.pk).first()
    _require(locked is not None, "该评审任务已被监测机构撤销，评分未保存。")
    assert locked is not None
    _require(
        actor.is_active and actor.role == Role.EXPERT and locked.expert_id == actor.pk, "这不是分配给你的评审任务。"
    )
    _require(locked.round.status == ReviewRound.Status.OPEN, "评审已结束，评分不能再修改。")
    _expect(locked.version, expected_version, "该评分")
    clean: dict[str, str] = {}
    total = Decimal(0)
    for criterion in criteria_of(locked):
        code, label, maximum = str(criterion["code"]), str(criterion["label"]), Decimal(str(criterion["max"]))
        raw = str(marks.get(code, "") or "").strip()
        if not raw:
            _require(not submit, f"请为“{label}”打分（0–{maximum} 分）后再提交。")
            continue
        value = _decimal(raw, f"“{label}”的得分", Decimal(0), maximum)
        clean[code] = str(value)
        total += value
    comment = clean_text(comment, 2000)
    if submit:
        _require(bool(comment), "提交评分前请填写评审意见。")
    locked.marks = clean
    locked.comment = comment
    complete = len(clean) == len(criteria_of(locked))
    locked.total = total if complete else None
    locked.saved_at = timezone.now()
    # Saving without submitting makes it a draft again: only a submitted, complete score counts.
    locked.submitted_at = locked.saved_at if submit else None
    locked.version += 1
    locked.save()
    record(
        Action.REVIEW_SCORE,
        actor=actor,
        request=request,
        target=locked,
        detail={"submitted": submit, "version": locked.version},
    )
    return locked


def round_progress(review: ReviewRound) -> dict[str, Any]:
    """For the analyst: assignments made and scored, per expert, and what is still missing."""
    assignments = Assignment.objects.filter(round=review)
    per_expert = (
        assignments.values("expert__username", "expert__full_name")
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(submitted_at__isnull=False)))
        .order_by("expert__username")
    )
    reports = full_year_reports(review.cycle)
    applications = reviewable_applications(review.cycle)
    return {
        "assigned": assignments.count(),
        "done": assignments.filter(submitted_at__isnull=False).count(),
        "per_expert": list(per_expert),
        "missing": assignments.filter(submitted_at__isnull=True).select_related("expert", "city", "application"),
        "unassigned_reports": reports.exclude(pk__in=assignments.values("submission_id")).order_by("city__division_id"),
        "unassigned_applications": applications.exclude(pk__in=assignments.values("application_id")),
    }


@transaction.atomic
def close_round(
    *, actor: User, review: ReviewRound, accept_missing: bool = False, request: HttpRequest | None = None
) -> ReviewRound:
    """End the round: the marks become visible to the analyst and the experts and can be used by runs. Missing
    scores must be acknowledged (they then count as not given: the city is flagged)."""
    _require(is_analyst(actor), "只有监测机构分析员可以结束专家评审。")
    locked = _open_round(review)
    missing = Assignment.objects.filter(round=locked, submitted_at__isnull=True).count()
    _require(locked.assignments.exists(), "该轮次还没有分配任何评审任务。")
    _require(
        missing == 0 or accept_missing,
        f"还有 {missing} 项评审任务未提交评分；如确需结束，请勾选“缺评按未评处理”后再结束。",
    )
    locked.status = ReviewRound.Status.CLOSED
    locked.closed_by = actor
    locked.closed_at = timezone.now()
    locked.save()
    record(Action.REVIEW_CLOSE, actor=actor, request=request, target=locked, detail={"missing": missing})
    return locked


# --- runs -----------------------------------------------------------------------------------------


def request_run(
    *, actor: User, scheme: Scheme, review: ReviewRound | None, request: HttpRequest | None = None
) -> EvaluationRun:
    """Queue a run of ``scheme`` with the scores of the closed round ``review`` (or none). A draft scheme gives a
    trial run (试算), never published; an approved one an official run."""
    _require(is_analyst(actor), "只有监测机构分析员可以运行评估。")
    if review is not None:
        _require(review.cycle_id == scheme.cycle_id, "专家评审轮次与评估方案不属于同一填报周期。")
        _require(review.closed, "专家评审尚未结束：评分在结束前对他人保密，不能用于评估。请先结束评审轮次。")
    with transaction.atomic():
        scheme = _locked_scheme(scheme)  # its current status decides whether the run is official
        _require(scheme.status != Scheme.Status.PENDING, "方案正在等待部级审批，审批后再运行（或退回后作为草稿试算）。")
        run = EvaluationRun.objects.create(
            scheme=scheme,
            round=review,
            official=scheme.status == Scheme.Status.APPROVED,
            requested_by=actor,
            stage="排队等待计算",
        )
        record(
            Action.EVALUATION_RUN,
            actor=actor,
            request=request,
            target=run,
            detail={"scheme": scheme.pk, "round": review.pk if review else None, "official": run.official},
        )
        execute_run.enqueue(run.pk)
    run.refresh_from_db()
    return run


def _step(run_id: int, progress: int, stage: str) -> None:
    EvaluationRun.objects.filter(pk=run_id).update(status=EvaluationRun.Status.RUNNING, progress=progress, stage=stage)


@task()
def execute_run(run_id: int) -> None:
    """The background task: freeze the inputs, the scheme and the code version, hash them, compute, store."""
    run = EvaluationRun.objects.select_related("scheme__cycle__edition", "round").get(pk=run_id)
    try:
        with translation.override("zh-hans"):
            _step(run_id, 10, "冻结评估数据")
            inputs = freeze_inputs(run.scheme, run.round)
            snapshot = freeze_scheme(run.scheme)
            version = code_version()
            fingerprint = digest({"inputs": inputs, "scheme": snapshot, "code": version})
            EvaluationRun.objects.filter(pk=run_id).update(
                inputs=inputs, scheme_snapshot=snapshot, code_version=version, fingerprint=fingerprint
            )
            _step(run_id, 40, "计算得分、排名与蒙特卡洛区间")
            result = compute(inputs, snapshot)
    except Exception as error:
        if not isinstance(error, engine.EvaluationError):
            logger.exception("evaluation run %s failed", run_id)
        EvaluationRun.objects.filter(pk=run_id).update(
            status=EvaluationRun.Status.FAILED,
            stage="计算失败",
            error=str(error)[:2000]
            if isinstance(error, engine.EvaluationError)
            else f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        return
    EvaluationRun.objects.filter(pk=run_id).update(
        status=EvaluationRun.Status.DONE,
        progress=100,
        stage="已完成",
        result=result,
        result_hash=digest(result),
        finished_at=timezone.now(),
    )


def reproduce(*, actor: User, run: EvaluationRun, request: HttpRequest | None = None) -> dict[str, Any]:
    """Recompute a finished run from what it froze and compare: the hash of the inputs, scheme and code version
    (integrity of the frozen record) and the result, bit for bit."""
    _require(is_staff(actor), "只有监测机构和部级管理员可以复算评估结果。")
    _require(run.status == EvaluationRun.Status.DONE and run.inputs is not None, "只有已完成的评估可以复算。")
    assert run.inputs is not None and run.scheme_snapshot is not None
    fingerprint = digest({"inputs": run.inputs, "scheme": run.scheme_snapshot, "code": run.code_version})
    result = compute(run.inputs, run.scheme_snapshot)
    result_hash = digest(result)
    outcome = {
        "fingerprint_ok": fingerprint == run.fingerprint,
        "result_ok": result_hash == run.result_hash,
        "result_hash": result_hash,
        "code_now": code_version(),
        "code_then": run.code_version,
    }
    with transaction.atomic():
        record(
            Action.EVALUATION_REPRODUCE,
            actor=actor,
            request=request,
            target=run,
            detail={k: outcome[k] for k in ("fingerprint_ok", "result_ok")},
        )
    return outcome


def _locked_run(run: EvaluationRun) -> EvaluationRun:
    return EvaluationRun.objects.select_for_update().select_related("scheme").get(pk=run.pk)


def evaluated_cities(run: EvaluationRun) -> list[dict[str, Any]]:
    """Every city of a finished run: the ranked ones, then those not ranked for lack of data."""
    assert run.result is not None
    return list(run.result["cities"]) + [entry["city"] for entry in run.result.get("unranked", [])]


def _city_index(run: EvaluationRun, city: Organisation) -> int:
    for i, entry in enumerate(evaluated_cities(run)):
        if entry["id"] == city.pk:
            return i
    raise EvaluationWorkflowError(f"{city.name}不在本次评估的参评城市中。")


def decide_acceptance(
    *,
    actor: User,
    run: EvaluationRun,
    city: Organisation,
    decision: str,
    comment: str,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
) -> AcceptanceDecision:
    """The analyst records the acceptance (验收) of one city (see :func:`decide_acceptances`)."""
    entry = {"city": city, "decision": decision, "comment": comment, "expected_version": expected_version}
    return decide_acceptances(actor=actor, run=run, entries=[entry], request=request)[0]


@transaction.atomic
def decide_acceptances(
    *, actor: User, run: EvaluationRun, entries: list[dict[str, Any]], request: HttpRequest | None = None
) -> list[AcceptanceDecision]:
    """The analyst records the acceptance (验收) of cities of an official run, before the ministry confirms the
    awards: all the entries or none (each checked first). An entry is ``city``, ``decision``, ``comment`` and
    ``expected_version`` — the version of the city's decision the form showed (0: none yet; None: not checked), so a
    colleague's newer decision is never overwritten. Changing a decision after the awards were proposed withdraws the
    proposal (the rules must be applied again)."""
    _require(is_analyst(actor), "只有监测机构分析员可以填写验收结论。")
    locked = _locked_run(run)
    _require(
        locked.status == EvaluationRun.Status.DONE and locked.official,
        "只有已完成的正式评估（方案已批准）可以作验收结论。",
    )
    _require(locked.confirmed_at is None, "表彰名单已经部级确认，验收结论不能再改。")
    existing = {d.city_id: d for d in AcceptanceDecision.objects.select_for_update().filter(run=locked)}
    checked = []
    for entry in entries:
        city, decision = entry["city"], entry["decision"]
        _require(
            decision in AcceptanceDecision.Decision.values, f"{city.name}：请选择验收结论：通过、有条件通过或不通过。"
        )
        comment = clean_text(entry.get("comment") or "", 2000)
        _require(
            decision == AcceptanceDecision.Decision.PASS or bool(comment),
            f"{city.name}：“有条件通过”和“不通过”须写明验收意见（条件或原因）。",
        )
        _city_index(locked, city)
        current = existing.get(city.pk)
        expected = entry.get("expected_version")
        if expected is not None and (current.version if current else 0) != expected:
            raise EvaluationWorkflowError(
                f"{city.name}的验收结论已被他人修改，请刷新页面后重新填写；本次所有验收结论均未保存。"
            )
        checked.append((city, decision, comment, current))
    saved, changed = [], []
    for city, decision, comment, current in checked:
        if current is not None and (current.decision, current.comment) == (decision, comment):
            saved.append(current)
            continue
        if current is None:
            current = AcceptanceDecision.objects.create(
                run=locked, city=city, decision=decision, comment=comment, decided_by=actor, decided_at=timezone.now()
            )
        else:
            current.decision, current.comment = decision, comment
            current.decided_by, current.decided_at = actor, timezone.now()
            current.version += 1
            current.save()
        saved.append(current)
        changed.append({"city": city.code, "decision": decision, "version": current.version})
    withdrawn = bool(changed) and locked.awards_proposed_at is not None
    if withdrawn:
        Award.objects.filter(run=locked).delete()
        locked.awards_proposed_at = None
        locked.save(update_fields=["awards_proposed_at"])
    for detail in changed:
        record(Action.ACCEPTANCE_DECIDE, actor=actor, request=request, target=locked,
               detail={**detail, "proposal_withdrawn": withdrawn})  # fmt: skip
    return saved


def suggested_decision(score: float | None, flagged: bool) -> str:
    """The acceptance the scores suggest, pre-selected for the analyst (who decides): 60 or more pass, 45 to 60
    conditional, below 45 fail. Missing data is shown beside it (``flagged``), not folded into the suggestion."""
    if score is None:
        return AcceptanceDecision.Decision.FAIL
    if score >= 60:
        return AcceptanceDecision.Decision.PASS
    return AcceptanceDecision.Decision.CONDITIONAL if score >= 45 else AcceptanceDecision.Decision.FAIL


@transaction.atomic
def propose_awards(*, actor: User, run: EvaluationRun, request: HttpRequest | None = None) -> list[Award]:
    """Award lists from the scheme's rules, replacing earlier proposals of this run:
    advanced cities — the best ``advanced_cities`` by overall score among the cities accepted without conditions
    with at least ``advanced_min_score``; excellent applications — up to ``excellent_max`` applications with a mean
    expert score of at least ``excellent_threshold``, from cities not refused acceptance."""
    _require(is_analyst(actor), "只有监测机构分析员可以生成表彰建议。")
    locked = _locked_run(run)
    _require(locked.status == EvaluationRun.Status.DONE and locked.official, "只有已完成的正式评估可以生成表彰建议。")
    _require(locked.confirmed_at is None, "表彰名单已经部级确认。")
    assert locked.result is not None and locked.scheme_snapshot is not None and locked.inputs is not None
    result = locked.result
    decisions = {d.city_id: d.decision for d in locked.decisions.all()}
    missing = [c["name"] for c in evaluated_cities(locked) if c["id"] not in decisions]
    _require(
        not missing,
        f"请先为所有参评城市作出验收结论（尚缺：{'、'.join(missing[:5])}{'等' if len(missing) > 5 else ''}）。",
    )
    rules = locked.scheme_snapshot["awards"]
    Award.objects.filter(run=locked).delete()
    awards: list[Award] = []
    order = np.argsort(np.array(result["ranks"]), kind="stable")
    eligible = [
        int(i)
        for i in order
        if decisions[result["cities"][i]["id"]] == AcceptanceDecision.Decision.PASS
        and result["scores"][i] is not None
        and Decimal(f"{result['scores'][i]:.2f}") >= Decimal(rules["advanced_min_score"])
    ]
    for position, i in enumerate(eligible[: int(rules["advanced_cities"])], start=1):
        city = result["cities"][i]
        interval = ""
        if result["uncertainty"]:
            u = result["uncertainty"]
            interval = f"，蒙特卡洛中位名次 {u['median'][i]}（90% 区间 {u['p5'][i]}–{u['p95'][i]}）"
        awards.append(
            Award(
                run=locked,
                kind=Award.Kind.ADVANCED_CITY,
                city_id=city["id"],
                position=position,
                score=Decimal(f"{result['scores'][i]:.2f}"),
                basis=f"总分 {result['scores'][i]:.2f}，排名第 {result['ranks'][i]}{interval}，验收通过"[:300],
            )
        )
    refused = {city_id for city_id, d in decisions.items() if d == AcceptanceDecision.Decision.FAIL}
    candidates = []
    for i, details in enumerate(locked.inputs["expert"]["application_detail"]):
        city = locked.inputs["cities"][i]
        if city["id"] in refused:
            continue
        for entry in details:
            if Decimal(f"{entry['score']:.2f}") >= Decimal(rules["excellent_threshold"]):
                candidates.append((-entry["score"], entry["application"], city["id"], entry))
    for position, (_, application_id, city_id, entry) in enumerate(
        sorted(candidates)[: int(rules["excellent_max"])], 1
    ):
        awards.append(
            Award(
                run=locked,
                kind=Award.Kind.EXCELLENT_APPLICATION,
                city_id=city_id,
                application_id=application_id,
                position=position,
                score=Decimal(f"{entry['score']:.2f}"),
                basis=(
                    f"专家均分 {entry['score']:.2f}（{entry['experts']} 位专家），"
                    f"不低于 {rules['excellent_threshold']} 分"
                ),
            )
        )
    Award.objects.bulk_create(awards)
    locked.awards_proposed_at = timezone.now()
    locked.save(update_fields=["awards_proposed_at"])
    record(
        Action.AWARD_PROPOSE,
        actor=actor,
        request=request,
        target=locked,
        detail={
            "cities": sum(a.kind == Award.Kind.ADVANCED_CITY for a in awards),
            "applications": sum(a.kind == Award.Kind.EXCELLENT_APPLICATION for a in awards),
        },
    )
    return list(Award.objects.filter(run=locked))


def proposal_token(run: EvaluationRun) -> str:
    """Identifies the award proposal a confirmation form was showing (its time), so a newer one is not confirmed
    unseen."""
    return run.awards_proposed_at.isoformat() if run.awards_proposed_at else ""


@transaction.atomic
def confirm_awards(
    *,
    actor: User,
    run: EvaluationRun,
    keep: Iterable[int],
    proposal: str | None = None,
    request: HttpRequest | None = None,
) -> EvaluationRun:
    """The ministry confirms the proposed awards it keeps (the others are declined) and numbers the certificates."""
    _require(is_ministry(actor), "只有部级管理员可以确认表彰名单。")
    locked = _locked_run(run)
    _require(locked.awards_proposed_at is not None, "监测机构尚未生成表彰建议。")
    _require(locked.confirmed_at is None, "表彰名单已经确认。")
    if proposal is not None:
        _require(
            proposal == proposal_token(locked),
            "表彰建议在您打开页面后已重新生成，请刷新页面核对后再确认。",
        )
    kept = set(keep)
    awards = list(Award.objects.select_for_update().filter(run=locked).order_by("kind", "position", "pk"))
    _require(kept <= {a.pk for a in awards}, "所选奖项不属于本次评估，请刷新页面后重试。")
    decisions = {d.city_id: d.decision for d in locked.decisions.all()}
    for award in awards:
        if award.pk not in kept:
            continue
        decision = decisions.get(award.city_id)
        allowed = (
            decision == AcceptanceDecision.Decision.PASS
            if award.kind == Award.Kind.ADVANCED_CITY
            else decision is not None and decision != AcceptanceDecision.Decision.FAIL
        )
        _require(allowed, f"{award}不再符合表彰规则（验收结论已变更），请监测机构重新生成表彰建议。")
    year = locked.scheme.cycle.year
    counters = {Award.Kind.ADVANCED_CITY: 0, Award.Kind.EXCELLENT_APPLICATION: 0}
    for award in awards:
        if award.pk in kept:
            counters[Award.Kind(award.kind)] += 1
            award.status = Award.Status.CONFIRMED
            prefix = "XF" if award.kind == Award.Kind.ADVANCED_CITY else "YY"
            award.number = f"{year}-{prefix}-{locked.pk:03d}-{counters[Award.Kind(award.kind)]:03d}"
        else:
            award.status = Award.Status.DECLINED
            award.number = ""
    Award.objects.bulk_update(awards, ["status", "number"])
    locked.confirmed_by = actor
    locked.confirmed_at = timezone.now()
    locked.save(update_fields=["confirmed_by", "confirmed_at"])
    record(
        Action.AWARD_CONFIRM,
        actor=actor,
        request=request,
        target=locked,
        detail={"confirmed": sorted(kept), "declined": sorted({a.pk for a in awards} - kept)},
    )
    return locked


@transaction.atomic
def publish(*, actor: User, run: EvaluationRun, request: HttpRequest | None = None) -> EvaluationRun:
    """The ministry publishes a confirmed run: its ranking and awards may then appear on the public side. One
    published run per cycle."""
    _require(is_ministry(actor), "只有部级管理员可以发布评估结果。")
    locked = _locked_run(run)
    _require(locked.confirmed_at is not None, "请先确认表彰名单，再发布评估结果。")
    _require(locked.published_at is None, "该评估结果已经发布。")
    ReportingCycle.objects.select_for_update().get(pk=locked.scheme.cycle_id)  # one published run per cycle
    other = EvaluationRun.objects.filter(scheme__cycle_id=locked.scheme.cycle_id, published_at__isnull=False)
    _require(not other.exists(), "该周期已有发布的评估结果，不能重复发布。")
    locked.published_by = actor
    locked.published_at = timezone.now()
    locked.save(update_fields=["published_by", "published_at"])
    record(Action.EVALUATION_PUBLISH, actor=actor, request=request, target=locked)
    return locked
