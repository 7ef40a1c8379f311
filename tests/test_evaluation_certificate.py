"""The certificate (表彰证书) of a confirmed award: one A4 landscape page in Chinese naming the recipient, the honour,
the issuing ministry, the confirmation date and the certificate number; nothing fetched from outside; refused for an
award the ministry has not confirmed."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string

from infocity.evaluation import services
from infocity.evaluation.certificates import _content, certificate_filename, offline_fetcher, render_certificate
from infocity.evaluation.models import AcceptanceDecision, Award, EvaluationRun, Scheme
from infocity.progress.models import TypicalApplication
from infocity.reporting.models import ReportingCycle, Submission

from .conftest import Cast
from .test_api_tokens import world as world  # the 2016 cycle fixture

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# 01:30 in Beijing is still 19 December in UTC: the certificate must carry the local date.
CONFIRMED = datetime.datetime(2016, 12, 20, 1, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
LONG_TITLE = "杭州市" + "基于新一代信息技术的城乡社区智慧养老、医疗健康、教育文化与便民生活一体化综合服务平台建设" * 3
LONG_TITLE = LONG_TITLE[:100]
LONG_ORGANISATION = (
    "中国电信股份有限公司浙江分公司杭州市城乡社区信息化建设运营与智慧养老医疗健康服务项目联合体牵头单位" * 3
)[:100]


def pdf_text(data: bytes) -> str:
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = subprocess.run([pdftotext, "-", "-"], input=data, capture_output=True, check=True).stdout.decode()  # noqa: S603
    return "".join(out.split())  # the letter-spaced title comes out with spaces between the characters


def pdf_info(data: bytes) -> dict[str, str]:
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo is None:
        pytest.skip("pdfinfo (poppler-utils) is not installed")
    out = subprocess.run([pdfinfo, "-"], input=data, capture_output=True, check=True).stdout.decode()  # noqa: S603
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def page_count(data: bytes) -> int:
    return int(pdf_info(data)["Pages"])


def page_size_mm(data: bytes) -> tuple[int, int]:
    size = re.match(r"([\d.]+) x ([\d.]+) pts", pdf_info(data)["Page size"])
    assert size is not None
    return round(float(size[1]) * 25.4 / 72), round(float(size[2]) * 25.4 / 72)


def awards(
    cast: Cast, cycle: ReportingCycle, *, title: str = "杭州市智慧社区服务平台", organisation: str = "电信杭州分公司"
) -> dict[str, Award]:
    """A run with three proposed awards (杭州市 advanced city, 广州市 advanced city, 杭州 application); the ministry
    keeps 杭州市 and the application and declines 广州市."""
    scheme = Scheme.objects.create(cycle=cycle, name="2016 年度评估方案", status=Scheme.Status.APPROVED)
    run = EvaluationRun.objects.create(
        scheme=scheme, official=True, requested_by=cast.users["analyst"], status=EvaluationRun.Status.DONE,
        awards_proposed_at=CONFIRMED - datetime.timedelta(days=3),
    )  # fmt: skip
    year_report = Submission.objects.get(city=cast.orgs["hangzhou"], period__code="2016-R2", form__code="P")
    application = TypicalApplication.objects.create(
        submission=year_report, title=title, area="C", organisation=organisation, organisation_kind="enterprise",
        entered_by=cast.users["city-hz"], entered_by_organisation=cast.orgs["hangzhou"],
    )  # fmt: skip
    for key in ("hangzhou", "guangzhou"):  # the awards follow the acceptance decisions
        AcceptanceDecision.objects.create(run=run, city=cast.orgs[key], decision=AcceptanceDecision.Decision.PASS,
                                          decided_by=cast.users["analyst"], decided_at=CONFIRMED)  # fmt: skip
    city = Award.Kind.ADVANCED_CITY
    made = {
        "hangzhou": Award.objects.create(run=run, kind=city, city=cast.orgs["hangzhou"], position=1,
                                         score=Decimal("88.50"), basis="总分第 1 名"),
        "guangzhou": Award.objects.create(run=run, kind=city, city=cast.orgs["guangzhou"], position=2,
                                          score=Decimal("86.00"), basis="总分第 2 名"),
        "application": Award.objects.create(run=run, kind=Award.Kind.EXCELLENT_APPLICATION,
                                            city=cast.orgs["hangzhou"], application=application, position=1,
                                            score=Decimal("91.00"), basis="专家均分 91.00"),
    }  # fmt: skip
    services.confirm_awards(actor=cast.users["ministry"], run=run, keep=[made["hangzhou"].pk, made["application"].pk])
    EvaluationRun.objects.filter(pk=run.pk).update(confirmed_at=CONFIRMED)
    return {key: Award.objects.select_related("run__scheme__cycle", "city", "application").get(pk=a.pk)
            for key, a in made.items()}  # fmt: skip


def artifact(name: str, data: bytes) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(data)
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm:  # a picture of the page for a person to look at
        subprocess.run([pdftoppm, "-png", "-r", "60", "-singlefile", str(path), str(path.with_suffix(""))], check=True)  # noqa: S603
    return path


def test_a_confirmed_city_award_prints_as_a_one_page_landscape_certificate(cast: Cast, world: ReportingCycle) -> None:
    award = awards(cast, world)["hangzhou"]
    assert award.number == f"2016-XF-{award.run.pk:03d}-001"
    data = render_certificate(award)
    artifact("certificate.pdf", data)
    assert data.startswith(b"%PDF")
    assert page_count(data) == 1
    assert page_size_mm(data) == (297, 210)
    text = pdf_text(data)
    for expected in ("荣誉证书", "杭州市", "被评为2016年度信息消费示范城市建设先进示范城市", "特发此证，以资鼓励",
                     "中华人民共和国工业和信息化部", "2016年12月20日", f"证书编号：{award.number}"):  # fmt: skip
        assert expected in text, expected
    assert "广州市" not in text
    assert certificate_filename(award) == f"表彰证书-{award.number}.pdf"


def test_an_application_award_names_the_application_its_organisation_and_city(
    cast: Cast, world: ReportingCycle
) -> None:
    award = awards(cast, world)["application"]
    assert award.number == f"2016-YY-{award.run.pk:03d}-001"
    data = render_certificate(award)
    artifact("certificate-application.pdf", data)
    assert page_count(data) == 1
    text = pdf_text(data)
    for expected in ("荣誉证书", "杭州市智慧社区服务平台", "电信杭州分公司", "杭州市", "2016年度信息消费优秀典型应用",
                     "2016年12月20日", award.number):  # fmt: skip
        assert expected in text, expected


def test_the_longest_title_and_organisation_still_fit_on_one_page(cast: Cast, world: ReportingCycle) -> None:
    assert len(LONG_TITLE) == len(LONG_ORGANISATION) == 100  # the model's limits
    award = awards(cast, world, title=LONG_TITLE, organisation=LONG_ORGANISATION)["application"]
    data = render_certificate(award)
    artifact("certificate-long-title.pdf", data)
    assert page_count(data) == 1
    text = pdf_text(data)
    assert LONG_TITLE in text and LONG_ORGANISATION in text and award.number in text and "2016年12月20日" in text


def test_only_confirmed_awards_have_a_certificate(cast: Cast, world: ReportingCycle) -> None:
    made = awards(cast, world)
    declined = made["guangzhou"]
    assert declined.status == Award.Status.DECLINED
    with pytest.raises(ValueError, match="尚未经部级确认"):
        render_certificate(declined)
    proposed = made["hangzhou"]
    proposed.status = Award.Status.PROPOSED
    with pytest.raises(ValueError, match="尚未经部级确认"):
        render_certificate(proposed)


def test_the_certificate_page_has_nothing_to_fetch_or_run(cast: Cast, world: ReportingCycle) -> None:
    award = awards(cast, world)["application"]
    html = render_to_string("evaluation/certificate.html", _content(award))
    for forbidden in ("<script", "<img", "<link", "<object", "<iframe", "url(", "@import", "@font-face", "://"):
        assert forbidden not in html, forbidden
    # What a city typed is text on the certificate, never markup.
    award.application.title = '<img src="https://evil.example/x.png"><script>alert(1)</script>'  # type: ignore[union-attr]
    html = render_to_string("evaluation/certificate.html", _content(award))
    assert "<img" not in html and "<script" not in html and "&lt;img" in html
    data = render_certificate(award)
    assert page_count(data) == 1 and "<script>alert(1)</script>" in pdf_text(data)
    # And the renderer would not fetch anything even if the page asked.
    fetcher = offline_fetcher()
    for url in ("https://evil.example/x.png", "http://infocity.invalid/static/x.css", "file:///etc/passwd"):
        with pytest.raises(ValueError, match="disallowed protocol"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,5rWL6K+V").read() == "测试".encode()


def test_the_issuer_follows_the_platform_s_ministry(cast: Cast, world: ReportingCycle) -> None:
    ministry = cast.orgs["ministry"]
    ministry.name = "中华人民共和国工业和信息化部"
    ministry.save(update_fields=["name"])
    award = awards(cast, world)["hangzhou"]
    html = render_to_string("evaluation/certificate.html", _content(award))
    assert "中华人民共和国工业和信息化部" in html and "中华人民共和国中华人民共和国" not in html


def test_the_ministry_downloads_the_certificate(cast: Cast, world: ReportingCycle) -> None:
    made = awards(cast, world)
    client = cast.client("ministry")
    response = client.get(f"/evaluation/awards/{made['hangzhou'].pk}/certificate.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"] and ".pdf" in response["Content-Disposition"]
    assert client.get(f"/evaluation/awards/{made['guangzhou'].pk}/certificate.pdf").status_code == 404


def test_a_certificate_from_demonstration_data_says_so(cast: Cast, world: ReportingCycle, monkeypatch: Any) -> None:
    from infocity.evaluation import certificates

    monkeypatch.setattr(certificates, "demo_data_loaded", lambda: True)
    data = render_certificate(awards(cast, world)["hangzhou"])
    artifact("certificate-demo.pdf", data)
    assert page_count(data) == 1 and "不具有证明效力" in pdf_text(data)
