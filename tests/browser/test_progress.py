"""The H1 progress report in the browser: the city reporter writes a section (text pasted from Word, an inserted
image) and attaches a Word document, the city approver sends it, the province returns one section with a comment,
the reporter fixes that section, the approver sends it again, the province approves; the PDF export opens and
shows the Chinese text."""

from __future__ import annotations

import io
import shutil
import subprocess
from typing import Any

import pytest
from docx import Document
from PIL import Image
from playwright.sync_api import expect

from infocity.progress import demo_text
from infocity.progress import services as progress
from infocity.progress.models import Attachment, ReportSection
from infocity.reporting.models import Status, Submission
from tests.conftest import Cast

from .conftest import ARTIFACTS, screenshot
from .test_reporting import cast_with_2016_cycle, log_in, log_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WORD_PASTE = (
    '<h2 class="MsoHeading2">一、总体情况<o:p></o:p></h2><p class="MsoNormal" style="mso-line-height:150%">'
    "上半年，杭州市信息消费示范城市建设<b>总体进展顺利</b>。<script>alert(1)</script></p>"
    '<ul><li class="MsoListParagraph">光纤入户工程完成 80%</li><li>智慧社区覆盖 300 个社区</li></ul>'
    '<table class="MsoTableGrid"><tr><td>指标</td><td>完成情况</td></tr><tr><td>4G 覆盖</td><td>98%</td></tr></table>'
)


@pytest.fixture
def world(transactional_db: None, settings: Any) -> tuple[Cast, Submission]:
    settings.REPORTING_TODAY = "2016-07-25"
    cast = cast_with_2016_cycle()
    h1 = Submission.objects.get(city=cast.orgs["hangzhou"], period__code="2016-R1", form__code="P")
    # Every section but the overview is already written; the overview is written in the browser.
    texts = demo_text.progress_report("杭州市", "浙江省", "H1", 2016)
    del texts["overview"]
    progress.save_report(actor=cast.users["city-hz"], submission=h1, sections=texts, base_version=0)
    return cast, h1


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def docx() -> bytes:
    document = Document()
    document.add_paragraph("杭州市信息消费示范工作附件：光纤入户工程清单")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def act(page: Any, button: str) -> None:
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def test_a_city_writes_its_h1_report_and_the_province_returns_and_approves_it(
    page: Any, live_server: Any, world: tuple[Cast, Submission], tmp_path: Any
) -> None:
    _cast, h1 = world
    base = live_server.url
    url = f"{base}/progress/reports/{h1.pk}/"

    # 1. The reporter opens the report from the menu, pastes text from Word and inserts an image.
    log_in(page, base, "city-hz")
    page.get_by_role("link", name="进展报告").first.click()
    page.get_by_role("link", name="2016年上半年进展").click()
    page.wait_for_url(url)
    overview = page.get_by_test_id("editor-overview")
    overview.click()
    page.evaluate("html => document.execCommand('insertHTML', false, html)", WORD_PASTE)
    page.set_input_files('input[data-image-for="section-overview"]',
                         files=[{"name": "现场.png", "mimeType": "image/png", "buffer": png()}])  # fmt: skip
    expect(overview.locator("img")).to_have_count(1)
    expect(overview.locator("table")).to_have_count(1)
    page.get_by_test_id("save-report").click()
    expect(page.locator(".alert-success")).to_contain_text("已保存：总体进展")
    stored = ReportSection.objects.get(submission=h1, key="overview").html
    assert "<h2>" in stored and "<li>" in stored and "<table>" in stored and "script" not in stored
    image = Attachment.objects.get(submission=h1, inline=True)
    assert f"/progress/files/{image.pk}/" in stored
    expect(page.get_by_test_id("editor-overview").locator("img")).to_be_visible()

    # 2. … and attaches a Word document.
    page.set_input_files("#attachment-file", files=[{"name": "附件.docx", "mimeType": "application/octet-stream",
                                                     "buffer": docx()}])  # fmt: skip
    page.get_by_test_id("upload-attachment").click()
    expect(page.get_by_test_id("attachments")).to_contain_text("附件.docx")
    screenshot(page, "progress-report-city")
    log_out(page)

    # 3. The city approver sends it to the province.
    log_in(page, base, "city-hz-approver")
    page.goto(url)
    act(page, "审核通过并报送省级")
    expect(page.get_by_role("heading", level=1)).to_contain_text("已报送省级")
    log_out(page)

    # 4. The province returns it with a comment on one section.
    log_in(page, base, "province-zj")
    page.goto(f"{base}/progress/?period=R1")
    page.get_by_role("link", name="2016年上半年进展").click()
    page.wait_for_url(url)
    expect(page.get_by_test_id("text-overview")).to_contain_text("总体进展顺利")
    page.locator("#comment-infrastructure").fill("请补充全市光纤入户率和 4G 基站数量。")
    page.locator("#return-reason").fill("基础设施部分缺少量化数据。")
    act(page, "退回")
    expect(page.get_by_role("heading", level=1)).to_contain_text("被退回")
    log_out(page)

    # 5. The reporter sees the comment at the section and fixes it.
    log_in(page, base, "city-hz")
    page.goto(url)
    expect(page.get_by_test_id("return-reason")).to_contain_text("基础设施部分缺少量化数据")
    section = page.get_by_test_id("section-infrastructure")
    expect(section.get_by_test_id("section-comment")).to_contain_text("请补充全市光纤入户率")
    editor = page.get_by_test_id("editor-infrastructure")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("截至 6 月底，全市光纤入户率 86%，4G 基站 2.1 万个。")
    screenshot(page, "progress-report-returned")
    page.get_by_test_id("save-report").click()
    expect(page.locator(".alert-success")).to_contain_text("已保存：加快信息基础设施升级改造")
    assert "光纤入户率 86%" in ReportSection.objects.get(submission=h1, key="infrastructure").html
    assert ReportSection.objects.get(submission=h1, key="overview").html == stored  # untouched parts unchanged
    log_out(page)

    # 6. Sent again, approved by the province.
    log_in(page, base, "city-hz-approver")
    page.goto(url)
    act(page, "审核通过并报送省级")
    log_out(page)
    log_in(page, base, "province-zj")
    page.goto(url)
    act(page, "审核通过，提交监测机构")
    expect(page.get_by_role("heading", level=1)).to_contain_text("省级已审核")
    assert Submission.objects.get(pk=h1.pk).status == Status.PROVINCE_APPROVED
    screenshot(page, "progress-report-province")

    # 7. The PDF export opens and shows the Chinese text.
    with page.expect_download() as download:
        page.get_by_test_id("export-pdf").click()
    path = tmp_path / "report.pdf"
    download.value.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        text = subprocess.run([pdftotext, str(path), "-"], capture_output=True, check=True, text=True).stdout  # noqa: S603
        assert "杭州市" in text and "总体进展顺利" in text and "光纤入户率 86%" in text
        pdftoppm = shutil.which("pdftoppm")
        if pdftoppm:  # the first page as an image, to look at
            page_image = str(ARTIFACTS / "progress-report-pdf")
            subprocess.run([pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "1", str(path), page_image], check=True)  # noqa: S603
