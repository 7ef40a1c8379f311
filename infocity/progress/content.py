"""How the reporting workflow sees a progress report: its parts (sections and typical applications), what a
version keeps of it, and what stops the city approving it."""

from __future__ import annotations

from typing import Any

from infocity.reporting.models import Submission

from .models import Attachment, ReportSection, TypicalApplication
from .richtext import plain_text
from .sections import SECTIONS

FULL_YEAR = "R2"  # the period code suffix of the full-year report, which carries the typical applications
ATTACHMENTS = "attachments"  # the report's own attachments, as one part (locked with it, unlocked by name)


def is_full_year(submission: Submission) -> bool:
    return submission.period.code.endswith(FULL_YEAR)


def sections_of(submission: Submission) -> dict[str, str]:
    stored = dict(ReportSection.objects.filter(submission=submission).values_list("key", "html"))
    return {s.key: stored.get(s.key, "") for s in SECTIONS}


def application_snapshot(app: TypicalApplication) -> dict[str, Any]:
    return {
        "title": app.title, "area": app.area, "organisation": app.organisation,
        "organisation_kind": app.organisation_kind, "description": app.description,
        "investment": None if app.investment is None else str(app.investment), "users_served": app.users_served,
        "results": app.results, "endorsed": app.endorsed, "entered_by": app.entered_by_id,
    }  # fmt: skip


class ReportContent:
    def codes(self, submission: Submission) -> set[str]:
        codes = {s.key for s in SECTIONS} | {ATTACHMENTS}
        codes |= {
            f"app-{pk}" for pk in TypicalApplication.objects.filter(submission=submission).values_list("pk", flat=True)
        }
        return codes

    def snapshot(self, submission: Submission) -> tuple[dict[str, Any], dict[str, Any]]:
        values: dict[str, Any] = {k: v for k, v in sections_of(submission).items() if v}
        for app in TypicalApplication.objects.filter(submission=submission):
            values[app.code] = application_snapshot(app)
        files = Attachment.objects.filter(submission=submission, removed_at__isnull=True, inline=False)
        attachments = {f"file-{a.pk}": f"{a.filename}（SHA-256 {a.sha256}）" for a in files}
        return values, attachments

    def blockers(self, submission: Submission) -> list[str]:
        problems = []
        sections = sections_of(submission)
        empty = [s.title_zh for s in SECTIONS if not plain_text(sections[s.key]).strip()]
        if empty:
            problems.append(f"以下部分尚未填写：{'、'.join(empty)}。")
        if is_full_year(submission):
            apps = list(TypicalApplication.objects.filter(submission=submission))
            if not apps:
                problems.append("全年进展报告须附至少一个信息消费典型应用，请在“典型应用”中添加。")
            for app in apps:
                if not app.endorsed:
                    problems.append(f"典型应用“{app.title}”由企业填报，尚未经本市确认。")
                if not plain_text(app.description).strip() or not plain_text(app.results).strip():
                    problems.append(f"典型应用“{app.title}”的应用简介或取得成效尚未填写。")
        return problems

    def labels(self, submission: Submission) -> dict[str, str]:
        names = {s.key: s.title_zh for s in SECTIONS} | {ATTACHMENTS: "附件"}
        for pk, title in TypicalApplication.objects.filter(submission=submission).values_list("pk", "title"):
            names[f"app-{pk}"] = f"典型应用：{title}"
        return names

    def summary(self, value: Any) -> str:
        if isinstance(value, dict):  # a typical application
            value = f"{value.get('title', '')}：{plain_text(value.get('description') or '')}"
        text = plain_text(str(value or "")).strip()
        return text if len(text) <= 80 else text[:80] + "……"

    def started(self, submission: Submission) -> bool:
        filled = ReportSection.objects.filter(submission=submission).exclude(html="").exists()
        return filled or TypicalApplication.objects.filter(submission=submission).exists()
