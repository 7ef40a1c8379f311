"""The 2016 annual evaluation prepared for the demonstration (演示数据), through the evaluation services only.

The analyst drafts the 2016 default scheme and submits it, the ministry approves it; the analyst opens the 2016
expert review, gives every full-year progress report and typical application two experts (the service refuses
experts from the city's own province), the five demonstration experts score everything they were given and the
analyst closes the round. No evaluation is run and no acceptance decided: that is left to the analyst, who can run
an official evaluation right after ``make run``.

The marks are synthetic and seeded. They loosely follow the city's development level as in :mod:`.monitoring`
(east ahead of central and west) with a little spread per city, per report or application, per expert (some are
stricter than others) and per criterion; a few typical applications are outstanding (mean expert score of at least
85 %), so the excellent-application rule of the default scheme has something to propose. Every comment starts with
【演示数据】.
"""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

from infocity.accounts.models import User
from infocity.evaluation import services as evaluation
from infocity.evaluation.models import Assignment, ReviewRound, Scheme
from infocity.organisations.models import Organisation
from infocity.reporting.models import ReportingCycle

LABEL = "【演示数据】"
PER_ITEM = 2  # experts per report and per application
SHOWCASE = 3  # outstanding typical applications, from different cities

REPORT_COMMENTS = [
    (0.84, ["组织保障有力，年度目标基本完成，特色做法具有较好的推广价值。",
            "工作推进扎实，重点任务完成情况好，可作为同类城市的参考。"]),
    (0.72, ["整体进展符合预期，建议补充部分目标完成情况的量化数据。",
            "各项工作有序推进，特色亮点可进一步总结提炼。"]),
    (0.60, ["完成了主要工作，但部分目标进度偏慢，建议细化年度任务分解。",
            "进展报告内容较完整，目标完成情况与监测数据的对应还需加强。"]),
    (0.0, ["进展相对滞后，建议加强统筹协调和组织保障，明确时间表。",
           "多项目标完成情况不理想，报告对问题的分析不够深入。"]),
]  # fmt: skip
APPLICATION_COMMENTS = [
    (0.85, ["创新性强，应用成效显著，示范带动作用突出，建议作为优秀典型应用推广。",
            "模式成熟、用户规模大，可持续运营机制清晰，具有全国推广价值。"]),
    (0.72, ["应用成效较好，具有一定的示范意义，建议补充用户规模和运营数据。",
            "思路清晰、推进有力，可持续性方面还需进一步论证。"]),
    (0.60, ["应用尚处推广初期，成效有待进一步显现。",
            "创新点不够突出，建议加强与本地产业和公共服务的结合。"]),
    (0.0, ["材料对应用成效的描述较笼统，缺少量化支撑。",
           "应用覆盖面较小，示范带动作用有限。"]),
]  # fmt: skip


def _rng(seed: int, *key: object) -> random.Random:
    """A random stream of its own for each key: the marks do not depend on the order things are scored in."""
    return random.Random(":".join(str(k) for k in (seed, "evaluation", *key)))  # noqa: S311 — synthetic data


def _level(city: Organisation, seed: int) -> float:
    """The city's development level as in the monitoring demo: 1.0 east, 0.85 central, 0.72 west, with spread."""
    from .monitoring import CENTRAL, EAST  # here, not at the top: monitoring imports this module

    prefix = evaluation.province_code(city)
    base = 1.0 if prefix in EAST else 0.85 if prefix in CENTRAL else 0.72
    return base * _rng(seed, "level", city.code).uniform(0.95, 1.04)


def _quality(level: float) -> float:
    """The expected share of the maximum marks for a city of this level: about 0.59 west, 0.70 central, 0.82 east."""
    return 0.58 + 0.28 * (level - 0.70) / 0.35


def _comment(table: list[tuple[float, list[str]]], share: float, rng: random.Random) -> str:
    for floor, texts in table:
        if share >= floor:
            return LABEL + rng.choice(texts)
    return LABEL + rng.choice(table[-1][1])


def _marks(
    criteria: list[dict[str, Any]], target: float, low: float, high: float, rng: random.Random
) -> tuple[dict[str, str], float]:
    """Marks per criterion around ``target`` (a share of each maximum, between ``low`` and ``high``), in half
    points, and their total on 0–100 (as the evaluation reads it)."""
    marks: dict[str, str] = {}
    total = Decimal(0)
    for criterion in criteria:
        maximum = Decimal(str(criterion["max"]))
        share = min(high, max(low, target + rng.uniform(-0.05, 0.05)))
        mark = min(maximum, (maximum * Decimal(str(share)) * 2).quantize(Decimal(1)) / 2)
        marks[str(criterion["code"])] = str(mark)
        total += mark
    full = sum(Decimal(str(c["max"])) for c in criteria)
    return marks, float(total * 100 / full)


def load_evaluation_demo(cycle: ReportingCycle, seed: int) -> dict[str, int]:
    analyst = User.objects.get(username="analyst")
    ministry = User.objects.get(username="ministry")

    # The 2016 default scheme, submitted by the analyst and approved by the ministry.
    scheme = evaluation.create_scheme(actor=analyst, cycle=cycle)
    scheme = evaluation.submit_scheme(actor=analyst, scheme=scheme, expected_version=scheme.version)
    scheme = evaluation.decide_scheme(
        actor=ministry,
        scheme=scheme,
        approve=True,
        note="同意按默认方案开展 2016 年度评估（演示数据）。",
        expected_version=scheme.version,
    )

    # The expert review: two experts without a conflict of interest for every report and application.
    review = evaluation.create_round(actor=analyst, cycle=cycle, name="2016 年度专家评审（演示数据）")
    assigned = evaluation.auto_assign(actor=analyst, review=review, per_item=PER_ITEM)

    levels: dict[int, float] = {}
    applications = list(evaluation.reviewable_applications(cycle).order_by("submission__city__division_id", "pk"))
    for application in applications:
        city = application.submission.city
        levels.setdefault(city.pk, _level(city, seed))
    # A few outstanding applications, one per city, favouring the more developed cities.
    ranked = sorted(
        applications,
        key=lambda a: -levels[a.submission.city_id] * _rng(seed, "showcase", a.submission.city.code, a.title).random(),
    )
    showcase: set[int] = set()
    showcase_cities: set[int] = set()
    for application in ranked:
        if len(showcase) < SHOWCASE and application.submission.city_id not in showcase_cities:
            showcase.add(application.pk)
            showcase_cities.add(application.submission.city_id)

    totals: dict[int, list[float]] = defaultdict(list)
    scored = 0
    for expert in evaluation.experts():
        leniency = _rng(seed, "expert", expert.username).uniform(-0.03, 0.03)
        own = (
            Assignment.objects.filter(round=review, expert=expert)
            .select_related("round", "city", "application", "submission")
            .order_by("city__division_id", "submission_id", "application_id")
        )
        for assignment in own:
            city = assignment.city
            level = levels.setdefault(city.pk, _level(city, seed))
            if assignment.application is not None:
                title = assignment.application.title
                rng = _rng(seed, "application", city.code, title)
                if assignment.application_id in showcase:
                    target, low, high = rng.uniform(0.89, 0.94), 0.88, 0.97
                else:
                    target, low, high = min(0.83, _quality(level) + rng.uniform(-0.06, 0.05)), 0.30, 0.95
                criteria = list(review.application_criteria)
                table = APPLICATION_COMMENTS
            else:
                rng = _rng(seed, "report", city.code)
                target, low, high = _quality(level) + rng.uniform(-0.03, 0.03), 0.30, 0.95
                criteria = list(review.report_criteria)
                table = REPORT_COMMENTS
            marking = _rng(seed, "marks", expert.username, city.code, assignment.kind, assignment.application_id or "")
            marks, share = _marks(criteria, target + leniency, low, high, marking)
            evaluation.save_marks(
                actor=expert,
                assignment=assignment,
                marks=marks,
                comment=_comment(table, share / 100, marking),
                submit=True,
                expected_version=assignment.version,
            )
            scored += 1
            if assignment.application_id:
                totals[assignment.application_id].append(share)

    evaluation.close_round(actor=analyst, review=review)
    threshold = float(scheme.excellent_threshold)
    return {
        "approved_schemes": Scheme.objects.filter(cycle=cycle, status=Scheme.Status.APPROVED).count(),
        "closed_rounds": ReviewRound.objects.filter(cycle=cycle, status=ReviewRound.Status.CLOSED).count(),
        "assignments": assigned,
        "scored": scored,
        "applications_85_plus": sum(1 for s in totals.values() if sum(s) / len(s) >= threshold),
    }
