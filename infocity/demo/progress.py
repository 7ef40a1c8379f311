"""Demonstration progress reports (演示数据): every demonstration city writes its 2016 H1 and full-year reports
through the same services a city uses, so on the demo day (5 December 2016) the H1 reports are mostly accepted,
with some returned or still with the province, and the full-year reports — due 30 November with their typical
applications — stand in every state of the workflow. The text is generated and says so in every section."""

from __future__ import annotations

import datetime
import io
import random
from typing import Any

from django.utils import timezone

from infocity.accounts.models import Role, User
from infocity.frameworks.models import Frequency
from infocity.progress import demo_text
from infocity.progress import services as progress
from infocity.reporting import clock
from infocity.reporting import services as reporting
from infocity.reporting.models import ReportingCycle, Submission

DEMO_TODAY = datetime.date(2016, 12, 5)
# One colour per demonstration area (A–F) for the generated pictures.
AREA_COLOURS = {"A": "#0d6efd", "B": "#6f42c1", "C": "#198754", "D": "#d63384", "E": "#fd7e14", "F": "#20c997"}
H1_PLANS = (["accepted", "province_approved", "submitted", "returned", "late_accepted"], [60, 10, 10, 10, 10])
YEAR_PLANS = (
    ["draft", "submitted", "province_approved", "accepted", "returned", "enterprise_pending"],
    [20, 25, 20, 15, 10, 10],
)


def _moment(day: datetime.date, hour: int, rng: random.Random) -> datetime.datetime:
    naive = datetime.datetime.combine(day, datetime.time(hour, rng.randint(0, 59)))
    return timezone.make_aware(naive)


def _refresh(submission: Submission) -> Submission:
    submission.refresh_from_db()
    return submission


def load_progress_demo(cycle: ReportingCycle, seed: int) -> dict[str, int]:
    rng = random.Random(seed * 104729)  # noqa: S311 — synthetic data, not secrets
    analyst = User.objects.get(username="analyst")
    states: dict[str, int] = {}
    reports = (
        Submission.objects.filter(period__cycle=cycle, form__frequency=Frequency.PROGRESS)
        .select_related("period", "form", "city", "city__parent")
        .order_by("period__opens_on", "city__division_id")
    )
    seen: dict[int, int] = {}
    for submission in reports:
        full_year = submission.period.code.endswith("R2")
        names, weights = YEAR_PLANS if full_year else H1_PLANS
        number = seen[submission.period_id] = seen.get(submission.period_id, -1) + 1
        # Every state appears at least once (the first reports take them in turn), the rest are drawn.
        plan = names[number] if number < len(names) else rng.choices(names, weights)[0]
        states[f"{submission.period.code}:{plan}"] = states.get(f"{submission.period.code}:{plan}", 0) + 1
        _write(submission, plan, full_year, rng, analyst)
    return states


def _write(submission: Submission, plan: str, full_year: bool, rng: random.Random, analyst: User) -> None:
    city, period = submission.city, submission.period
    reporter = User.objects.get(organisation=city, role=Role.CITY_REPORTER)
    approver = User.objects.get(organisation=city, role=Role.CITY_APPROVER)
    province = User.objects.get(organisation=city.parent, role=Role.PROVINCE_REVIEWER)
    province_name = city.parent.name if city.parent else ""
    texts = demo_text.progress_report(city.name, province_name, "Y" if full_year else "H1", period.cycle.year)
    if plan == "late_accepted":
        sent_day = period.due_on + datetime.timedelta(days=rng.randint(2, 10))
    else:
        sent_day = period.due_on - datetime.timedelta(days=rng.randint(1, 10))
    sent_day = max(period.opens_on + datetime.timedelta(days=3), min(sent_day, DEMO_TODAY))
    write_day = sent_day - datetime.timedelta(days=2)
    with clock.at(_moment(write_day, 9, rng)):
        progress.save_report(actor=reporter, submission=submission, sections=texts, base_version=submission.version)
        if full_year:
            enterprise = User.objects.filter(organisation__parent=city, role=Role.ENTERPRISE).first()
            for number, data in enumerate(demo_text.typical_applications(city.name, province_name, period.cycle.year)):
                # A city's registered enterprise enters the first application through its city.
                actor = enterprise if enterprise is not None and number == 0 else reporter
                app = progress.save_application(actor=actor, submission=_refresh(submission), data=data)
                if number == 0:  # a picture of the first application, which the showcase shows when published
                    progress.add_attachment(
                        actor=actor, submission=_refresh(submission), application=app,
                        filename=f"{app.title}-演示图片.png", file=io.BytesIO(_picture(app.area, app.title)),
                    )  # fmt: skip
                if not app.endorsed and plan not in {"draft", "enterprise_pending"}:
                    progress.endorse_application(actor=reporter, application=app, expected_version=app.version)
    if plan in {"draft", "enterprise_pending"}:
        return
    submission = _refresh(submission)
    sent_at = _moment(sent_day, 15, rng)
    with clock.at(sent_at):
        reporting.approve_city(actor=approver, submission=submission, expected_version=submission.version)
        submission = _refresh(submission)
        reporting.submit(actor=approver, submission=submission, expected_version=submission.version)
    if plan == "submitted":
        return
    reviewed = min(sent_at + datetime.timedelta(days=rng.randint(1, 4)), _moment(DEMO_TODAY, 10, rng))
    submission = _refresh(submission)
    with clock.at(reviewed):
        if plan == "returned":
            reporting.return_submission(
                actor=province, submission=submission, expected_version=submission.version,
                reason="部分内容需要补充量化数据，请修改后重新报送。",
                item_comments={"infrastructure": "请补充光纤入户和4G覆盖的具体数据及与上年的对比。"},
            )  # fmt: skip
            return
        reporting.approve_province(actor=province, submission=submission, expected_version=submission.version)
    if plan == "province_approved":
        return
    submission = _refresh(submission)
    accepted = min(reviewed + datetime.timedelta(days=rng.randint(1, 5)), _moment(DEMO_TODAY, 16, rng))
    with clock.at(accepted):
        reporting.accept(actor=analyst, submission=submission, expected_version=submission.version)


def _picture(area: str, title: str) -> bytes:
    """A small generated PNG standing in for a photo of an application (an abstract skyline in the area's colour,
    drawn from its own generator so the rest of the demonstration stays as it was; no text, so no font needed)."""
    rng = random.Random(title)  # noqa: S311 — a picture, not a secret
    from matplotlib.figure import Figure  # imported here: only the demonstration loader draws pictures

    figure = Figure(figsize=(4.8, 3.2), dpi=100)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    axes.set_xlim(0, 24)
    axes.set_ylim(0, 10)
    axes.add_patch(_rectangle((0, 0), 24, 10, "#e9f1fb"))
    colour = AREA_COLOURS.get(area, "#0d6efd")
    x = 0.5
    while x < 23:
        width, height = rng.uniform(1.2, 2.6), rng.uniform(2.5, 8.5)
        axes.add_patch(_rectangle((x, 0), width, height, colour, alpha=rng.uniform(0.45, 0.95)))
        x += width + rng.uniform(0.1, 0.6)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _rectangle(xy: tuple[float, float], width: float, height: float, colour: str, alpha: float = 1.0) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(xy, width, height, facecolor=colour, edgecolor="none", alpha=alpha)
