"""The province's bulk import in the browser, as the task worker would run it: the upload is queued, the page
polls and shows the progress bar, the worker checks it and the page turns into the dry run without a reload;
confirming queues the write, the page shows it being written and then done; the data export downloads as Excel."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from infocity.bulk import services
from infocity.bulk.models import Import
from infocity.frameworks.loading import EDITION_2016, load_edition_file
from infocity.organisations.models import Cohort
from infocity.reporting import services as reporting
from infocity.reporting.models import DataValue
from tests.conftest import Cast, build_cast

from .conftest import screenshot
from .test_reporting import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VALUES = {"330100": (10000, 6200, 7660, 20000, 12000), "330400": (5000, 3000, 4000, 9000, 6000)}
CODES = ("FBB_USERS", "FBB_20M_USERS", "FTTH_USERS", "MOBILE_USERS", "LTE_USERS")


@pytest.fixture
def world(transactional_db: None, settings: Any) -> Cast:
    settings.REPORTING_TODAY = "2016-12-05"
    # Tasks are queued and not run: the test plays the worker while the browser watches.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.BULK_BACKGROUND_BYTES = 0
    settings.BULK_BACKGROUND_CHANGES = 0
    cast = build_cast()
    edition = load_edition_file(EDITION_2016)
    reporting.create_cycle(
        actor=None, name="2016 年度监测", year=2016, edition=edition, cohorts=Cohort.objects.all(),
        forms=edition.forms.all(),
    )  # fmt: skip
    return cast


def province_file(tmp_path: Path) -> Path:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["区划代码", "报告期", "填报表", "填报项代码", "本期数值", "说明"])
    for city, numbers in VALUES.items():
        for code, number in zip(CODES, numbers, strict=True):
            writer.writerow([city, "2016-M11", "M", code, f"{number:,}", ""])
    path = tmp_path / "浙江省2016年11月.csv"
    path.write_bytes(text.getvalue().encode("gbk"))  # as Excel on a Chinese Windows saves it
    return path


def test_province_import_with_progress_and_excel_export(
    page: Any, live_server: Any, world: Cast, tmp_path: Path
) -> None:
    base = live_server.url
    log_in(page, base, "province-zj")
    page.get_by_role("link", name="批量导入导出").first.click()
    page.wait_for_url(f"{base}/bulk/")
    page.get_by_label("文件", exact=True).set_input_files(str(province_file(tmp_path)))
    page.get_by_role("button", name="上传并检查").click()
    page.wait_for_url(f"{base}/bulk/imports/**")
    status = page.locator("#import-status")
    expect(status).to_have_attribute("data-status", "queued")
    expect(status.get_by_role("progressbar")).to_be_visible()
    screenshot(page, "bulk-queued")

    upload = Import.objects.get()
    services.run_check(upload.pk)  # the worker
    expect(status).to_have_attribute("data-status", "checked", timeout=10_000)  # htmx polled, no reload
    expect(page.get_by_test_id("plan")).to_contain_text("嘉兴市")
    expect(page.get_by_text("检查通过：将修改 10 项数据")).to_be_visible()
    screenshot(page, "bulk-checked")

    page.get_by_test_id("apply").click()
    expect(status).to_have_attribute("data-status", "applying")
    expect(status).to_contain_text("正在写入")
    assert not DataValue.objects.exists()
    services.run_apply(upload.pk)  # the worker
    expect(status).to_have_attribute("data-status", "applied", timeout=10_000)
    screenshot(page, "bulk-applied")
    assert DataValue.objects.count() == 10

    page.goto(f"{base}/bulk/")
    page.get_by_label("报告期代码").fill("2016-M11")
    page.get_by_label("格式").select_option("xlsx")
    with page.expect_download() as downloaded:
        page.get_by_test_id("export-submit").click()
    assert downloaded.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(Path(downloaded.value.path()).read_bytes()))
    rows = list(book["填报数据"].iter_rows(values_only=True))
    assert rows[0][:2] == ("区划代码", "城市") and len(rows) == 11
    assert {(r[0], r[5]): r[8] for r in rows[1:]}[("330400", "LTE_USERS")] == 6000
