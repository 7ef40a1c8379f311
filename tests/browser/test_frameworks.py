"""The indicator framework pages clicked through as people use them: a visitor reads the public 指标字典,
the ministry copies the 2016 edition, edits a formula with the live check and publishes, a broken draft
is refused with its problems listed, the analyst exports Excel, and the API docs load on an intranet."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from infocity.frameworks.loading import EDITION_2016, load_edition_file
from infocity.frameworks.models import Edition
from tests.conftest import Cast, build_cast
from tests.test_frameworks import CODES_2016

from .conftest import screenshot
from .test_reporting import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# htmx waits 400 ms after the last key before it asks the server; allow for a slow machine.
HTMX_TIMEOUT = 10_000


@pytest.fixture
def live_framework(transactional_db: None) -> Cast:
    cast = build_cast()
    load_edition_file(EDITION_2016)
    return cast


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def watch_script_errors(page: Any) -> list[str]:
    """JavaScript errors on the page (htmx, Bootstrap, Swagger UI): there should be none."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def open_edition(page: Any, code: str, list_screenshot: str | None = None) -> None:
    """From anywhere: 指标体系 in the menu, then the edition's code in the list."""
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="指标体系", exact=True).click()
    expect(page.get_by_role("heading", name="指标体系版本")).to_be_visible()
    if list_screenshot:
        screenshot(page, list_screenshot)
    page.get_by_test_id("edition-table").get_by_role("link", name=code, exact=True).click()
    expect(page.get_by_role("navigation", name="breadcrumb")).to_contain_text(code)


def indicator_row(page: Any, code: str) -> Any:
    table = page.get_by_test_id("indicator-table")
    return table.get_by_role("row").filter(has=page.get_by_role("cell", name=code, exact=True))


def copy_as_new_edition(page: Any, code: str, year: int, name: str) -> None:
    """On a published edition's page: 复制为新版本."""
    page.get_by_label("新版本代码").fill(code)
    page.get_by_label("年度").fill(str(year))
    page.get_by_label("中文名称").fill(name)
    page.get_by_role("button", name="复制为新版本").click()
    expect(page.get_by_text("已复制为新的草稿版本，可以修改后发布。")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.get_by_role("heading", level=1)).to_contain_text("草稿")


def retype(field: Any, text: str) -> None:
    """Clear a field and type into it key by key, as a person does (htmx listens for keyup)."""
    field.fill("")
    field.press_sequentially(text, delay=10)


# --- 1. the public dictionary ---------------------------------------------------------------------


def test_visitor_reads_the_dictionary_and_switches_to_english(
    page: Any, live_server: Any, live_framework: Cast
) -> None:
    errors = watch_script_errors(page)
    page.goto(f"{live_server.url}/indicators/")
    assert "/accounts/login/" not in page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text("指标字典")
    expect(page.get_by_text("共 39 项指标")).to_be_visible()

    # Every indicator, in order, each in the table of its own area (A… under A, B… under B).
    tables = page.get_by_test_id("dictionary-table")
    headings = page.locator("h2[id^='area-']")
    assert tables.count() == 7
    assert headings.count() == 7
    # Below the areas, the methods of the monitoring analysis (progress, outliers) are documented.
    expect(page.locator("#methods")).to_contain_text("修正 z 分数")
    seen: list[str] = []
    for index in range(tables.count()):
        area_code = headings.nth(index).inner_text().split("·")[0].strip()
        codes = [c.strip() for c in tables.nth(index).locator("tbody tr td:first-child").all_inner_texts()]
        assert codes, f"area {area_code} has no indicators"
        assert all(c.startswith(area_code) for c in codes), (area_code, codes)
        seen += codes
    assert seen == CODES_2016
    screenshot(page, "frameworks-dictionary")

    page.get_by_role("link", name="A02", exact=True).click()
    page.wait_for_url(f"{live_server.url}/indicators/2016/A02/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("20M以上宽带用户占比")
    expect(page.get_by_text("接入速率20Mbit/s及以上的固定宽带用户数占固定宽带用户总数的比例。")).to_be_visible()
    expect(page.get_by_test_id("formula-words")).to_have_text("20M以上宽带用户数 ÷ 固定宽带用户数 × 100")
    expect(page.get_by_test_id("target")).to_contain_text("＞ 50%（指南明确）")
    screenshot(page, "frameworks-dictionary-a02")

    page.get_by_role("button", name="English").click()
    page.wait_for_url(f"{live_server.url}/indicators/2016/A02/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Share of fixed broadband users at 20 Mbit/s or more")
    expect(
        page.get_by_text("Fixed broadband users at 20 Mbit/s or more as a share of all fixed broadband users.")
    ).to_be_visible()
    screenshot(page, "frameworks-dictionary-a02-en")
    page.get_by_role("navigation", name="breadcrumb").get_by_role("link").first.click()
    expect(page.get_by_text("39 indicators")).to_be_visible()
    screenshot(page, "frameworks-dictionary-en")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("指标字典")
    assert not errors


# --- 2. the ministry prepares and publishes the next edition --------------------------------------


def test_ministry_copies_edits_with_live_check_and_publishes(page: Any, live_server: Any, live_framework: Cast) -> None:
    errors = watch_script_errors(page)
    log_in(page, live_server.url, "ministry")
    open_edition(page, "2016", "frameworks-edition-list-ministry")
    expect(page.get_by_role("heading", level=1)).to_contain_text("已发布")
    screenshot(page, "frameworks-edition-2016-ministry")

    copy_as_new_edition(page, "2017", 2017, "2017年信息消费示范城市监测指标体系")
    expect(page.get_by_text("复制自 2016")).to_be_visible()
    screenshot(page, "frameworks-edition-2017-draft")

    indicator_row(page, "A02").get_by_role("link", name="修改").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("A02")
    check = page.get_by_test_id("formula-check")
    # On opening, the stored formula is checked at once.
    expect(check).to_contain_text("公式正确", timeout=HTMX_TIMEOUT)
    formula = page.locator("#id_formula")
    expect(formula).to_have_value("FBB_20M_USERS / FBB_USERS * 100")

    retype(formula, "FBB_20M_USERS / ")
    expect(check).to_contain_text("公式不完整", timeout=HTMX_TIMEOUT)
    screenshot(page, "frameworks-formula-incomplete")

    retype(formula, "FBB_20M_USERS / FBB_USERS * 100")
    expect(check).to_contain_text("公式正确", timeout=HTMX_TIMEOUT)
    expect(check.get_by_test_id("formula-words")).to_have_text(
        "20M以上宽带用户数 ÷ 固定宽带用户数 × 100", timeout=HTMX_TIMEOUT
    )

    retype(page.locator("#sample-FBB_20M_USERS"), "6200")
    retype(page.locator("#sample-FBB_USERS"), "10000")
    expect(page.get_by_test_id("formula-result")).to_contain_text("62", timeout=HTMX_TIMEOUT)
    expect(page.get_by_test_id("formula-result")).to_have_text(re.compile(r"试算结果：\s*62\.0%$"))
    screenshot(page, "frameworks-formula-sample-result")

    page.get_by_label("目标值").fill("60")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存。")).to_be_visible()
    expect(indicator_row(page, "A02")).to_contain_text("＞ 60%（指南明确）")
    expect(indicator_row(page, "A02")).to_contain_text("20M以上宽带用户数 ÷ 固定宽带用户数 × 100")
    screenshot(page, "frameworks-edition-2017-saved")

    # Publishing is irreversible, so it asks for a confirmation first.
    page.get_by_text("检查并发布", exact=True).click()
    page.get_by_role("button", name="确认发布").click()
    expect(page.get_by_text("版本已发布，此后不能再修改。")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("已发布")
    expect(page.get_by_role("link", name="修改", exact=True)).to_have_count(0)
    screenshot(page, "frameworks-edition-2017-published")
    edition = Edition.objects.get(code="2017")
    assert edition.status == Edition.Status.PUBLISHED
    assert edition.indicators.get(code="A02").target_value == 60

    # The published edition is now in the public dictionary with the new target.
    page.get_by_role("link", name="在指标字典中查看").click()
    page.get_by_role("link", name="A02", exact=True).click()
    expect(page.get_by_test_id("target")).to_contain_text("＞ 60%（指南明确）")
    assert not errors


# --- 3. a broken draft is not published -----------------------------------------------------------


def test_publishing_a_broken_draft_lists_the_problems(page: Any, live_server: Any, live_framework: Cast) -> None:
    errors = watch_script_errors(page)
    log_in(page, live_server.url, "ministry")
    open_edition(page, "2016")
    copy_as_new_edition(page, "2017", 2017, "2017年指标体系（草稿）")

    indicator_row(page, "A01").get_by_role("link", name="修改").click()
    check = page.get_by_test_id("formula-check")
    expect(check).to_contain_text("公式正确", timeout=HTMX_TIMEOUT)
    retype(page.locator("#id_formula"), "FIBRE_READY_HH / NOPE * 100")
    # The live check already knows NOPE is neither a data item nor an indicator.
    expect(check).to_contain_text("NOPE", timeout=HTMX_TIMEOUT)
    expect(check.get_by_role("alert")).to_be_visible()
    screenshot(page, "frameworks-formula-unknown-code")
    # The form checks only the syntax, so the draft can be saved with the unknown code...
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存。")).to_be_visible()
    expect(page.get_by_text("注意：本版本还有 1 个问题须在发布前解决")).to_be_visible()
    expect(indicator_row(page, "A01")).to_contain_text("NOPE")

    # ...and publishing refuses it, listing what is wrong.
    page.get_by_text("检查并发布", exact=True).click()
    page.get_by_role("button", name="确认发布").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("还不能发布")
    problems = page.get_by_test_id("publish-problems")
    expect(problems).to_be_visible()
    expect(problems).to_contain_text("A01")
    expect(problems).to_contain_text("NOPE")
    screenshot(page, "frameworks-publish-problems")
    assert Edition.objects.get(code="2017").status == Edition.Status.DRAFT

    page.get_by_role("link", name="返回修改").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("草稿")
    assert not errors


# --- 4. the analyst reads and exports -------------------------------------------------------------


def test_analyst_exports_excel_and_cannot_edit(page: Any, live_server: Any, live_framework: Cast) -> None:
    errors = watch_script_errors(page)
    log_in(page, live_server.url, "analyst")
    open_edition(page, "2016", "frameworks-edition-list-analyst")
    expect(indicator_row(page, "A02")).to_contain_text("＞ 50%（指南明确）")
    expect(page.get_by_role("link", name="修改", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="复制为新版本")).to_have_count(0)
    expect(page.get_by_text("停用此版本")).to_have_count(0)
    expect(page.get_by_role("link", name="新增指标")).to_have_count(0)
    screenshot(page, "frameworks-edition-2016-analyst")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="导出 Excel").click()
    download = download_info.value
    assert download.suggested_filename == "infocity-framework-2016.xlsx"
    # Playwright keeps the download under a name without the extension, which openpyxl insists on.
    workbook = load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True)
    assert "指标" in workbook.sheetnames
    sheet = workbook["指标"]
    assert sheet["A3"].value == "A01"
    assert sheet["A4"].value == "A02"
    workbook.close()
    assert not errors


# --- 5. the API documentation ---------------------------------------------------------------------


def test_api_docs_load_without_outside_requests(page: Any, live_server: Any, live_framework: Cast) -> None:
    errors = watch_script_errors(page)
    page.goto(f"{live_server.url}/indicators/")
    page.get_by_role("link", name="接口文档（API）").click()
    page.wait_for_url(f"{live_server.url}/api/v1/docs")
    expect(page.get_by_text("信息消费示范城市监测平台 API").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, "frameworks-api-docs")
    assert not errors
