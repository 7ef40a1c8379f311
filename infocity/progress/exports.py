"""A progress report for offline reading and the expert panel: as PDF (WeasyPrint, Chinese fonts embedded) and as
Word (.docx). Both show exactly what the reader may see: contact details masked unless the reader is a reviewer,
images only from the report's own attachments. The attainment table comes from the monitoring data."""

from __future__ import annotations

import re
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from infocity.accounts.models import User
from infocity.analytics import queries
from infocity.analytics.models import Basis
from infocity.analytics.services import national_scope
from infocity.demo.models import demo_data_loaded
from infocity.reporting.models import Submission

from . import richtext, services
from .content import is_full_year, sections_of
from .models import Attachment, TypicalApplication
from .sections import AREAS, SECTIONS

FILE_SRC = re.compile(r"^/progress/files/(\d+)/$")
AREA_NAMES = {a.code: a.name_zh for a in AREAS}


def attainment(submission: Submission) -> tuple[list[str], list[list[Any]], str]:
    """The city's indicator attainment as the monitoring data stands (accepted figures) at the end of the report's
    period — or the latest accepted period before it. Never typed by the city."""
    cycle = submission.period.cycle
    candidates = queries.periods_with_values(cycle, Basis.ACCEPTED).filter(ends_on__lte=submission.period.ends_on)
    as_of = candidates.order_by("-ends_on", "pk").first()
    if as_of is None:
        return queries.CITY_TABLE_HEADER, [], "暂无已受理的监测数据。"
    periods = queries.effective_periods(cycle, as_of, Basis.ACCEPTED)
    rows = queries.city_indicator_rows(periods, submission.city, Basis.ACCEPTED, national_scope())
    shown = "；".join(f"{p.get_frequency_display()}指标：{p.label}" for p in periods.values())
    note = f"根据已受理的监测数据自动生成（{shown}）。"
    return queries.CITY_TABLE_HEADER, queries.city_table(rows), note


def filename(submission: Submission, extension: str) -> str:
    return f"{submission.city.name}-{submission.period.label}-{submission.form.name_zh}.{extension}"


def _image(user: User, submission: Submission, src: str) -> tuple[bytes, str] | None:
    """An image of this report's own attachments (never another report's), if the reader may see it."""
    match = FILE_SRC.match(src)
    if not match:
        return None
    visible = services.attachments_visible_to(user).filter(submission=submission)
    attachment = visible.filter(pk=int(match.group(1)), is_image=True).first()
    if attachment is None:
        return None
    return attachment.blob.read(), attachment.mime


def _content(submission: Submission, user: User) -> dict[str, Any]:
    stored = sections_of(submission)
    applications = []
    if is_full_year(submission):
        for app in TypicalApplication.objects.filter(submission=submission):
            images = Attachment.objects.filter(application=app, is_image=True, removed_at__isnull=True, inline=False)
            applications.append({
                "app": app, "area": AREA_NAMES.get(app.area, app.area), "contact": services.contact_for(user, app),
                "images": list(images),
            })  # fmt: skip
    header, rows, note = attainment(submission)
    return {
        "submission": submission,
        "sections": [(s.title_zh, richtext.sanitize(stored[s.key])) for s in SECTIONS],
        "applications": applications,
        "files": Attachment.objects.filter(submission=submission, removed_at__isnull=True, inline=False),
        "attainment_header": header, "attainment_rows": rows, "attainment_note": note,
        "generated_at": timezone.localtime(), "demo": demo_data_loaded(), "reader": user,
    }  # fmt: skip


def render_pdf(submission: Submission, user: User) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class Fetcher(URLFetcher):  # type: ignore[misc]
        """Only the report's own images; nothing is fetched from anywhere else."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = re.sub(r"^[a-z]+://[^/]*", "", url)
            found = _image(user, submission, path)
            if found is None:
                raise ValueError(f"not an image of this report: {url}")
            data, mime = found
            return URLFetcherResponse(url, body=data, headers={"Content-Type": mime})

    html = render_to_string("progress/report_pdf.html", _content(submission, user))
    pdf: bytes = HTML(string=html, base_url="http://infocity.invalid/", url_fetcher=Fetcher()).write_pdf()
    return pdf


def render_word(submission: Submission, user: User) -> bytes:
    from .docx_export import ApplicationDocument, ReportDocument, render_docx

    content = _content(submission, user)

    def load(src: str) -> bytes | None:
        found = _image(user, submission, src)
        return found[0] if found else None

    applications = [
        ApplicationDocument(
            title=a["app"].title,
            area=a["area"],
            organisation=a["app"].organisation,
            description_html=richtext.sanitize(a["app"].description),
            investment=a["app"].investment,
            users_served=a["app"].users_served,
            results_html=richtext.sanitize(a["app"].results),
            contact="　".join(v for v in (a["contact"]["name"], a["contact"]["phone"], a["contact"]["email"]) if v),
            images=[i.blob.read() for i in a["images"]],
        )
        for a in content["applications"]
    ]
    document = ReportDocument(
        title=f"{submission.city.name}{submission.period.label}{submission.form.name_zh}",
        subtitle=[
            f"城市：{submission.city.name}（{submission.city.parent.name if submission.city.parent else ''}）",
            f"报告期：{submission.period.label}　报送期限：{submission.period.due_on:%Y-%m-%d}",
            f"状态：{submission.get_status_display()}　第 {submission.version} 版",
            f"导出时间：{content['generated_at']:%Y-%m-%d %H:%M}",
        ],
        demo=content["demo"],
        sections=content["sections"],
        attainment_headers=content["attainment_header"],
        attainment_rows=[[str(c) for c in row] for row in content["attainment_rows"]],
        attainment_note=content["attainment_note"],
        applications=applications,
        image_loader=load,
    )
    return render_docx(document)
