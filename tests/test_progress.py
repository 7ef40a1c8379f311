"""Progress reports and typical applications: the reporting workflow serves them (save with conflicts kept,
approve, send, return with per-section comments, accept and lock), pasted rich text is sanitised and never
reaches a page unescaped, pasted images and attachments are checked by content and downloadable only by those
who may see the report, enterprises enter applications through their city, contact details are masked, and the
report exports to PDF and Word."""

from __future__ import annotations

import base64
import datetime
import io
import shutil
import subprocess
from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from infocity.audit.models import Action, AuditEvent
from infocity.progress import demo_text
from infocity.progress import services as progress
from infocity.progress.models import Attachment, ReportSection, TypicalApplication
from infocity.progress.sections import SECTIONS
from infocity.reporting import services as reporting
from infocity.reporting.models import ReportingCycle, Status, Submission, SubmissionVersion
from infocity.reporting.stats import queue_for

from .conftest import Cast
from .test_api_tokens import world as world  # the 2016 cycle fixture

HOSTILE = (
    '<p>正文<script>alert(1)</script><img src=x onerror="alert(2)">'
    '<a href="javascript:alert(3)">链接</a><a href=" jav&#x09;ascript:alert(4)">二</a>'
    '<span style="width: expression(alert(5))">样式</span><iframe src="https://evil.example"></iframe>'
    '<svg onload="alert(6)"></svg><math><a xlink:href="javascript:alert(7)">m</a></math>'
    '<img src="https://evil.example/track.png"><table background="javascript:alert(8)"><tr><td>格</td></tr></table>'
    "<style>@import url(https://evil.example/x.css)</style><!--[if IE]><script>alert(9)</script><![endif]-->"
    '<p onclick="alert(10)" ONMOUSEOVER="alert(11)">点</p></p>'
)
DANGEROUS = ("<script", "onerror", "onload", "onclick", "onmouseover", "javascript:", "expression(", "<iframe",
             "<svg", "<style", "evil.example", "@import")  # fmt: skip


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def report(cast: Cast, period: str, city: str = "hangzhou") -> Submission:
    return Submission.objects.get(city=cast.orgs[city], period__code=period, form__code="P")


def fresh(submission: Submission) -> Submission:
    return Submission.objects.get(pk=submission.pk)


def full_text(cast: Cast, period: str = "H1") -> dict[str, str]:
    return demo_text.progress_report("杭州市", "浙江省", period, 2016)


def png(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def write_all(cast: Cast, submission: Submission, period: str = "H1") -> Submission:
    progress.save_report(actor=cast.users["city-hz"], submission=submission, sections=full_text(cast, period),
                         base_version=submission.version)  # fmt: skip
    return fresh(submission)


def send(cast: Cast, submission: Submission) -> Submission:
    approved = reporting.approve_city(actor=cast.users["city-hz-approver"], submission=submission,
                                      expected_version=submission.version)  # fmt: skip
    return reporting.submit(actor=cast.users["city-hz-approver"], submission=approved,
                            expected_version=approved.version)  # fmt: skip


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, attrs))


def test_a_report_goes_through_the_reporting_workflow(cast: Cast, world: ReportingCycle, settings: Any) -> None:
    settings.REPORTING_TODAY = "2016-07-25"
    h1 = report(cast, "2016-R1")
    assert h1.period.due_on.isoformat() == "2016-08-05"
    with pytest.raises(reporting.WorkflowError, match="还没有填写"):
        reporting.approve_city(actor=cast.users["city-hz-approver"], submission=h1, expected_version=h1.version)
    partial = {k: v for k, v in full_text(cast).items() if k != "security"}
    progress.save_report(actor=cast.users["city-hz"], submission=h1, sections=partial, base_version=0)
    h1 = fresh(h1)
    with pytest.raises(reporting.WorkflowError) as blocked:
        reporting.approve_city(actor=cast.users["city-hz-approver"], submission=h1, expected_version=h1.version)
    assert "信息安全" in " ".join(blocked.value.messages)
    h1 = write_all(cast, h1)
    sent = send(cast, h1)
    assert sent.status == Status.SUBMITTED
    assert any(s.pk == h1.pk for s in queue_for(cast.users["province-zj"]).sections[0][2])  # 待我审核
    with pytest.raises(reporting.WorkflowError, match="不能修改"):
        progress.save_report(actor=cast.users["city-hz"], submission=sent, sections={"overview": "<p>改</p>"},
                             base_version=sent.version)  # fmt: skip
    returned = reporting.return_submission(
        actor=cast.users["province-zj"], submission=sent, reason="请补充数据", expected_version=sent.version,
        item_comments={"infrastructure": "请补充光纤入户数据", "not-a-part": "丢弃"},
    )  # fmt: skip
    version = returned.versions.get(number=returned.version)
    assert version.item_comments == {"infrastructure": "请补充光纤入户数据"}
    page = cast.client("city-hz").get(f"/progress/reports/{h1.pk}/").content.decode()
    assert "请补充光纤入户数据" in page and 'data-testid="editor-infrastructure"' in page
    fixed = progress.save_report(actor=cast.users["city-hz"], submission=returned, base_version=returned.version,
                                 sections={"infrastructure": "<p>全市光纤入户率达到 95%。</p>"})  # fmt: skip
    assert fixed.written == ["infrastructure"]
    sent = send(cast, fresh(h1))
    approved = reporting.approve_province(actor=cast.users["province-zj"], submission=sent,
                                          expected_version=sent.version)  # fmt: skip
    accepted = reporting.accept(actor=cast.users["analyst"], submission=approved, expected_version=approved.version)
    assert accepted.status == Status.ACCEPTED
    snapshot = accepted.versions.get(number=accepted.version).values
    assert snapshot["infrastructure"] == "<p>全市光纤入户率达到 95%。</p>" and len(snapshot) == len(SECTIONS)
    # Locked after acceptance; an unlock names the sections to correct, as for data items.
    unlock = reporting.request_unlock(actor=cast.users["city-hz"], submission=accepted, items=["supply", "bogus"],
                                      reason="数据口径更正")  # fmt: skip
    assert unlock.items == ["supply"]
    events = set(AuditEvent.objects.filter(object_id=str(h1.pk)).values_list("action", flat=True))
    assert {Action.SUBMISSION_SAVE, Action.SUBMISSION_RETURN, Action.SUBMISSION_ACCEPT} <= events


def test_an_edit_made_meanwhile_is_never_overwritten(cast: Cast, world: ReportingCycle, settings: Any) -> None:
    settings.REPORTING_TODAY = "2016-07-25"
    h1 = report(cast, "2016-R1")
    first = progress.save_report(actor=cast.users["city-hz"], submission=h1, base_version=0,
                                 sections={"overview": "<p>甲写的</p>"})  # fmt: skip
    second = progress.save_report(actor=cast.users["city-hz-approver"], submission=h1, base_version=0,
                                  sections={"overview": "<p>乙写的</p>", "supply": "<p>乙的另一段</p>"})  # fmt: skip
    assert first.written == ["overview"] and second.conflicts == ["overview"] and second.written == ["supply"]
    assert ReportSection.objects.get(submission=h1, key="overview").html == "<p>甲写的</p>"
    kept = SubmissionVersion.objects.get(submission=h1, action=SubmissionVersion.Action.CONFLICT)
    assert kept.values["overview"] == "<p>乙写的</p>" and not kept.applied
    page = cast.client("city-hz").get(f"/progress/reports/{h1.pk}/")
    assert "甲写的" in page.content.decode()


def test_pasted_rich_text_never_reaches_a_page_unescaped(cast: Cast, world: ReportingCycle, settings: Any) -> None:
    settings.REPORTING_TODAY = "2016-07-25"
    h1 = report(cast, "2016-R1")
    word = (
        '<h1 class="MsoTitle">标题<o:p></o:p></h1><p class="MsoNormal" style="mso-line-height:150%">'
        "<b>加粗</b>正文</p><ul><li>要点一</li></ul><table class=MsoTableGrid><tr><td colspan=2>合并</td></tr></table>"
    )
    progress.save_report(actor=cast.users["city-hz"], submission=h1, base_version=0,
                         sections={"overview": word + HOSTILE})  # fmt: skip
    stored = ReportSection.objects.get(submission=h1, key="overview").html
    for bad in DANGEROUS:
        assert bad not in stored.lower(), bad
    assert "<h1>" in stored or "<h1" in stored
    assert "<li>要点一</li>" in stored and 'colspan="2"' in stored
    # Whatever wrote the database, the page shows only what the allow-list permits.
    ReportSection.objects.filter(submission=h1, key="supply").delete()
    ReportSection.objects.create(submission=h1, key="supply", html=HOSTILE)
    for username in ("city-hz", "province-zj", "analyst"):
        page = cast.client(username).get(f"/progress/reports/{h1.pk}/").content.decode()
        start = page.index('data-testid="section-supply"')
        shown = page[start : page.index("</section>", start)]
        parser = Tags()
        parser.feed(shown)
        for tag, attrs in parser.seen:
            assert tag not in {"script", "iframe", "svg", "math", "style", "object", "embed"}, (username, tag)
            for name, value in attrs:
                assert not name.startswith("on"), (username, tag, name)
                assert "javascript:" not in (value or "").lower(), (username, tag, name, value)
                assert "expression(" not in (value or "").lower(), (username, tag, name, value)
        assert "evil.example" not in shown or "&lt;" in shown  # inside the editor's textarea it is inert text
        assert "<script>alert(1)" not in shown


def test_pasted_images_become_attachments_seen_only_by_those_who_see_the_report(
    cast: Cast, world: ReportingCycle, settings: Any
) -> None:
    settings.REPORTING_TODAY = "2016-07-25"
    h1 = report(cast, "2016-R1")
    data = png()
    pasted = f'<p>现场照片</p><p><img src="data:image/png;base64,{base64.b64encode(data).decode()}" alt="照片"></p>'
    progress.save_report(actor=cast.users["city-hz"], submission=h1, base_version=0, sections={"overview": pasted})
    image = Attachment.objects.get(submission=h1, inline=True)
    assert image.is_image and image.kind == "png" and image.blob.read() == data
    stored = ReportSection.objects.get(submission=h1, key="overview").html
    assert f'src="/progress/files/{image.pk}/"' in stored and "base64" not in stored
    assert cast.client("province-zj").get(f"/progress/files/{image.pk}/").status_code == 200
    assert cast.client("province-gd").get(f"/progress/files/{image.pk}/").status_code == 404
    assert cast.client("city-gz").get(f"/progress/files/{image.pk}/").status_code == 404


def test_attachments_are_checked_by_content_and_downloads_are_scoped(
    cast: Cast, world: ReportingCycle, settings: Any
) -> None:
    settings.REPORTING_TODAY = "2016-07-25"
    h1 = report(cast, "2016-R1")
    client = cast.client("city-hz")
    url = f"/progress/reports/{h1.pk}/attachments/"
    client.post(url, {"file": SimpleUploadedFile("照片.pdf", png())}, follow=True)
    attachment = Attachment.objects.get(submission=h1)
    assert attachment.kind == "png" and attachment.filename.endswith(".png")
    before = Attachment.objects.count(), fresh(h1).version
    page = client.post(url, {"file": SimpleUploadedFile("报告.pdf", b"<html><script>alert(1)</script></html>")},
                       follow=True).content.decode()  # fmt: skip
    assert (Attachment.objects.count(), fresh(h1).version) == before
    assert "文件内容是网页、SVG 或 XML，不能作为附件上传" in page
    got = cast.client("province-zj").get(f"/progress/files/{attachment.pk}/")
    assert got.status_code == 200 and got["X-Content-Type-Options"] == "nosniff"
    assert body(got) == attachment.blob.read()
    assert cast.client("province-gd").get(f"/progress/files/{attachment.pk}/").status_code == 404
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_DOWNLOAD, actor=cast.users["province-zj"]).exists()
    assert cast.client("enterprise").get(f"/progress/files/{attachment.pk}/").status_code == 404


APPLICATION = {
    "title": "杭州市智慧社区服务平台", "area": "C", "organisation": "电信杭州分公司", "organisation_kind": "enterprise",
    "description": "<p>覆盖全市 300 个社区的线上服务平台。</p>", "investment": "1,250.5", "users_served": "320000",
    "results": "<p>日均服务 1.2 万人次，办件时长缩短 40%。</p>", "contact_name": "张某某",
    "contact_phone": "0571-5555-0101", "contact_email": "zhang@example.cn",
}  # fmt: skip


def test_enterprises_enter_applications_through_their_city_and_contacts_are_masked(
    cast: Cast, world: ReportingCycle, settings: Any
) -> None:
    settings.REPORTING_TODAY = "2016-11-20"
    year = report(cast, "2016-R2")
    enterprise = cast.client("enterprise")
    assert "2016年全年进展" in enterprise.get("/progress/").content.decode()
    response = enterprise.post(f"/progress/reports/{year.pk}/applications/new/", {**APPLICATION, "investment": "很多"})
    assert "投资额应为不小于 0 的数字" in response.content.decode() and not TypicalApplication.objects.exists()
    enterprise.post(f"/progress/reports/{year.pk}/applications/new/", APPLICATION)
    app = TypicalApplication.objects.get()
    assert not app.endorsed and str(app.investment) == "1250.50" and app.users_served == 320000
    year = write_all(cast, fresh(year), "Y")
    with pytest.raises(reporting.WorkflowError) as blocked:
        reporting.approve_city(actor=cast.users["city-hz-approver"], submission=year, expected_version=year.version)
    assert "尚未经本市确认" in " ".join(blocked.value.messages)
    enterprise.post(
        f"/progress/applications/{app.pk}/", {**APPLICATION, "title": "智慧社区服务平台（二期）", "version": "1"}
    )  # changed before the city endorses
    stale = cast.client("city-hz").post(f"/progress/applications/{app.pk}/endorse/", {"version": "1"}, follow=True)
    assert "已被企业修改" in stale.content.decode() and not TypicalApplication.objects.get().endorsed
    cast.client("city-hz").post(f"/progress/applications/{app.pk}/endorse/", {"version": "2"})
    assert TypicalApplication.objects.get().endorsed
    # Contact details: the enterprise, the city and the reviewers see them; the ministry sees them masked.
    for username, visible in (("enterprise", True), ("city-hz", True), ("province-zj", True), ("analyst", True),
                              ("ministry", False)):  # fmt: skip
        page = cast.client(username).get(f"/progress/applications/{app.pk}/").content.decode()
        assert ("0571-5555-0101" in page) is visible, username
        assert ("张某某" in page) is visible, username
    masked = cast.client("ministry").get(f"/progress/reports/{year.pk}/").content.decode()
    assert "张**" in masked and "057*-****-0101" in masked and "z***@example.cn" in masked
    # Another city's province and another city see nothing of it.
    assert cast.client("province-gd").get(f"/progress/applications/{app.pk}/").status_code == 404
    assert cast.client("city-gz").get(f"/progress/reports/{year.pk}/").status_code == 404
    year = fresh(year)
    sent = send(cast, year)
    assert sent.status == Status.SUBMITTED
    # Once sent, the enterprise can no longer change it.
    enterprise.post(f"/progress/applications/{app.pk}/", {**APPLICATION, "title": "改名", "version": "2"})
    assert TypicalApplication.objects.get().title == "智慧社区服务平台（二期）"


def test_the_report_exports_as_pdf_and_word(cast: Cast, world: ReportingCycle, settings: Any) -> None:
    from docx import Document

    settings.REPORTING_TODAY = "2016-11-20"
    year = write_all(cast, report(cast, "2016-R2"), "Y")
    progress.save_application(actor=cast.users["city-hz"], submission=year, data=APPLICATION)
    client = cast.client("ministry")
    pdf = client.get(f"/progress/reports/{year.pk}/report.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    data = pdf.content
    assert pdf["Content-Disposition"].startswith("attachment")
    assert data.startswith(b"%PDF-")
    if shutil.which("pdftotext"):
        pdftotext = shutil.which("pdftotext") or "pdftotext"
        text = subprocess.run([pdftotext, "-", "-"], input=data, capture_output=True, check=True).stdout.decode()  # noqa: S603
        assert "杭州市" in text and "全年进展" in text and "智慧社区服务平台" in text
        assert "0571-5555-0101" not in text  # the ministry reads the contact masked
    word = client.get(f"/progress/reports/{year.pk}/report.docx")
    document = Document(io.BytesIO(word.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "杭州市" in text and "智慧社区服务平台" in text and "0571-5555-0101" not in text
    assert AuditEvent.objects.filter(action=Action.REPORT_EXPORT, actor=cast.users["ministry"]).count() == 2
    # Masked contacts are not personal data handed out; the city's own export carries them in full, and says so.
    assert not AuditEvent.objects.filter(action=Action.PERSONAL_DATA_EXPORT).exists()
    own = cast.client("city-hz").get(f"/progress/reports/{year.pk}/report.docx")
    own_doc = Document(io.BytesIO(own.content))
    cells = [cell.text for table in own_doc.tables for row in table.rows for cell in row.cells]
    assert any("0571-5555-0101" in cell for cell in cells)
    event = AuditEvent.objects.get(action=Action.PERSONAL_DATA_EXPORT)
    assert event.actor == cast.users["city-hz"] and event.detail == {"format": "docx", "contacts": 1}


def test_deadlines_reminders_and_the_spreadsheet_channel(cast: Cast, world: ReportingCycle, settings: Any) -> None:
    from infocity.reporting.models import Notification

    h1 = report(cast, "2016-R1")
    created = reporting.remind(datetime.date(2016, 8, 2))  # three days before the H1 report is due
    titles = list(Notification.objects.filter(user=cast.users["city-hz"]).values_list("title", flat=True))
    assert created and any("2016年上半年进展示范工作进展报告将于 2016-08-05 到期" in t for t in titles), titles
    settings.REPORTING_TODAY = "2016-08-10"
    write_all(cast, h1)
    assert fresh(h1).is_late(datetime.date(2016, 8, 10))  # sent after 5 August it counts as late
    # Reports are not spreadsheet forms: no Excel template for them.
    client = cast.client("city-hz")
    assert "上半年进展" not in client.get("/bulk/").content.decode()
    query = {"place": str(cast.orgs["hangzhou"].pk), "period": str(h1.period_id), "form": "P"}
    answer = client.get("/bulk/template.xlsx", query)
    assert answer.status_code == 404


def test_an_unlock_reopens_only_what_it_names(cast: Cast, world: ReportingCycle, settings: Any) -> None:
    settings.REPORTING_TODAY = "2016-07-25"
    h1 = write_all(cast, report(cast, "2016-R1"))
    progress.add_attachment(actor=cast.users["city-hz"], submission=h1, filename="照片.png", file=io.BytesIO(png()))
    h1 = send(cast, fresh(h1))
    h1 = reporting.approve_province(actor=cast.users["province-zj"], submission=h1, expected_version=h1.version)
    h1 = reporting.accept(actor=cast.users["analyst"], submission=h1, expected_version=h1.version)
    unlock = reporting.request_unlock(actor=cast.users["city-hz"], submission=h1, items=["supply"], reason="更正")
    reporting.decide_unlock(actor=cast.users["analyst"], unlock=unlock, grant=True)
    h1 = fresh(h1)
    with pytest.raises(reporting.WorkflowError, match="附件已随报告受理锁定"):
        progress.add_attachment(actor=cast.users["city-hz"], submission=h1, filename="新.png", file=io.BytesIO(png()))
    with pytest.raises(reporting.WorkflowError, match="附件已随报告受理锁定"):
        progress.remove_attachment(actor=cast.users["city-hz"], attachment=Attachment.objects.get(submission=h1))
    page = cast.client("city-hz").get(f"/progress/reports/{h1.pk}/").content.decode()
    assert 'id="attachment-file"' not in page and 'data-testid="editor-supply"' in page
    assert 'data-testid="editor-overview"' not in page  # still locked


def test_a_report_shows_and_exports_only_its_own_images(cast: Cast, world: ReportingCycle, settings: Any) -> None:
    settings.REPORTING_TODAY = "2016-11-20"
    guangzhou = report(cast, "2016-R2", "guangzhou")
    foreign = progress.add_attachment(actor=cast.users["city-gz"], submission=guangzhou, filename="广州.png",
                                      file=io.BytesIO(png()))  # fmt: skip
    year = report(cast, "2016-R2")
    progress.save_report(
        actor=cast.users["city-hz"],
        submission=year,
        base_version=0,
        sections={"overview": f'<p>借用</p><img src="/progress/files/{foreign.pk}/" alt="x">'},
    )
    assert f"/progress/files/{foreign.pk}/" not in ReportSection.objects.get(submission=year, key="overview").html


def test_bad_application_input_is_refused_without_a_server_error(
    cast: Cast, world: ReportingCycle, settings: Any
) -> None:
    from infocity.accounts.services import create_account

    settings.REPORTING_TODAY = "2016-11-20"
    year = report(cast, "2016-R2")
    enterprise = cast.client("enterprise")
    url = f"/progress/reports/{year.pk}/applications/new/"
    for bad in ({"description": "<div>" * 300 + "深"}, {"users_served": "²³"}, {"contact_phone": "１３８"},
                {"investment": "1e999"}, {"description": "长" * 2_100_000}):  # fmt: skip
        response = enterprise.post(url, {**APPLICATION, **bad})
        assert response.status_code == 200, bad
        assert not TypicalApplication.objects.exists(), bad
    enterprise.post(url, APPLICATION)
    app = TypicalApplication.objects.get()
    # A colleague of the same enterprise sees the contact masked, and saving the form keeps the real details.
    colleague = create_account(
        actor=None,
        username="enterprise-b",
        full_name="同事",
        password="Demo@2016x!",
        organisation=cast.orgs["telecom"],
        role="enterprise",
        must_change_password=False,
    )
    client = cast.client("enterprise")
    client.force_login(colleague)
    form = client.get(f"/progress/applications/{app.pk}/").content.decode()
    assert "0571-5555-0101" not in form and "张**" in form
    client.post(f"/progress/applications/{app.pk}/", {**APPLICATION, "contact_name": "", "contact_phone": "",
                                                       "contact_email": "", "version": "1"})  # fmt: skip
    app.refresh_from_db()
    assert (app.contact_name, app.contact_phone, app.contact_email) == ("张某某", "0571-5555-0101", "zhang@example.cn")
