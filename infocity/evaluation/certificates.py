"""The certificate (表彰证书) of a confirmed award, as a one-page A4 landscape PDF.

Rendered with WeasyPrint from ``evaluation/certificate.html`` with the Noto CJK fonts installed on the machine
(embedded in the PDF). The page is self-contained: no images, no scripts, no style sheets from anywhere — the URL
fetcher refuses every URL that is not a ``data:`` URL, so nothing is ever fetched from outside.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from infocity.demo.models import demo_data_loaded
from infocity.organisations.models import Organisation, OrganisationKind

from .models import Award

STATE = "中华人民共和国"
DEFAULT_ISSUER = f"{STATE}工业和信息化部"


def issuer() -> str:
    """The issuing body: the platform's ministry (the root organisation of kind ministry) by its formal name."""
    ministry = (
        Organisation.objects.filter(kind=OrganisationKind.MINISTRY, parent__isnull=True, is_active=True)
        .order_by("pk")
        .first()
    )
    if ministry is None or not ministry.name.strip():
        return DEFAULT_ISSUER
    name = ministry.name.strip()
    return name if name.startswith(STATE) else f"{STATE}{name}"


def chinese_date(day: datetime.date) -> str:
    """2016年12月20日."""
    return f"{day.year}年{day.month}月{day.day}日"


def _recipient_size(text: str) -> str:
    """A font size that keeps the recipient's name on one or a few lines of the certificate."""
    n = len(text)
    if n <= 12:
        return "36pt"
    if n <= 18:
        return "30pt"
    if n <= 26:
        return "22pt"
    if n <= 44:
        return "18pt"
    return "15pt"


def _content(award: Award) -> dict[str, Any]:
    if award.status != Award.Status.CONFIRMED:
        raise ValueError("该奖项尚未经部级确认，不能生成表彰证书。")
    run = award.run
    if run.confirmed_at is None or not award.number:
        raise ValueError("该奖项缺少确认时间或证书编号，不能生成表彰证书。")
    year = run.scheme.cycle.year
    city = award.city.name
    details: list[str] = []
    if award.kind == Award.Kind.EXCELLENT_APPLICATION:
        application = award.application
        if application is None:
            raise ValueError("优秀典型应用奖项未关联典型应用，不能生成表彰证书。")
        recipient = application.title
        details = [f"建设运营单位：{application.organisation}", f"所在城市：{city}"]
        honour = f"被评为{year}年度信息消费优秀典型应用。"
        subject = f"{application.title}（{city}）"
    else:
        recipient = city
        honour = f"被评为{year}年度信息消费示范城市建设先进示范城市。"
        subject = city
    return {
        "award": award,
        "year": year,
        "recipient": recipient,
        "recipient_size": _recipient_size(recipient),
        "details": details,
        "honour": honour,
        "issuer": issuer(),
        "date": chinese_date(timezone.localtime(run.confirmed_at).date()),
        "number": award.number,
        "subject": subject,
        "demo": demo_data_loaded(),
    }


def offline_fetcher() -> Any:
    """A WeasyPrint URL fetcher that fetches nothing: only inline ``data:`` URLs (the template has none); http(s),
    file and every other scheme are refused."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False)


def render_certificate(award: Award) -> bytes:
    """The certificate of a confirmed award as PDF bytes. Raises :class:`ValueError` for any other award."""
    from weasyprint import HTML

    html = render_to_string("evaluation/certificate.html", _content(award))
    pdf: bytes = HTML(string=html, base_url="http://infocity.invalid/", url_fetcher=offline_fetcher()).write_pdf()
    return pdf


def certificate_filename(award: Award) -> str:
    """表彰证书-2016-XF-001-001.pdf — only letters (Chinese included), digits, hyphens and underscores."""
    number = re.sub(r"[^\w-]+", "_", award.number).strip("_") or f"award-{award.pk}"
    return f"表彰证书-{number}.pdf"
