"""The analyst's monitoring analytics in the browser: the national dashboard draws the China map (vendored, no
outside request) and the charts, a chart saves as PNG, the drill-down goes nation → province → city, the outlier
list takes a decision, and the monitoring analysis report is generated and downloaded."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from infocity.frameworks.loading import EDITION_2016, load_edition_file
from infocity.organisations.models import Cohort
from infocity.reporting import services
from tests.conftest import Cast, build_cast
from tests.test_analytics import accept, add_people, monthly

from .conftest import screenshot
from .test_reporting import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db: None, settings: Any) -> Cast:
    settings.REPORTING_TODAY = "2016-12-05"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    cast = build_cast()
    add_people(cast)
    edition = load_edition_file(EDITION_2016)
    services.create_cycle(
        actor=None, name="2016 年度监测", year=2016, edition=edition, cohorts=Cohort.objects.all(),
        forms=edition.forms.all(),
    )  # fmt: skip
    accept(cast, "hangzhou", "2016-M10", monthly(10000, 6000, lte=11000))
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200, lte=11000, mobile=12000))
    accept(cast, "jiaxing", "2016-M11", monthly(3000, 1000))
    accept(cast, "guangzhou", "2016-M11", monthly(40000, 24000))
    return cast


def test_dashboard_map_drill_down_outliers_and_report(page: Any, live_server: Any, world: Cast) -> None:
    base = live_server.url
    log_in(page, base, "analyst")
    page.get_by_role("link", name="监测看板").first.click()
    page.wait_for_url(f"{base}/analytics/**")
    page.get_by_label("图表指标").select_option("A02")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("map")).to_have_attribute("data-ready", "1")
    expect(page.locator("[data-echarts='cities-chart']")).to_have_attribute("data-ready", "1")
    # The map is a canvas drawn from the vendored GeoJSON (the page fixture fails on any outside request).
    expect(page.get_by_test_id("map").locator("canvas")).to_have_count(1)
    row = page.locator("tr[data-indicator='A02']")
    expect(row.get_by_test_id("share-met")).to_have_text("66.7%")  # 杭州 62 %, 广州 60 % met; 嘉兴 33 % not
    screenshot(page, "analytics-national")

    # Every chart saves as a PNG through ECharts' own button.
    with page.expect_download() as saved:
        chart = page.locator("[data-echarts='attainment-chart']")
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] - 34, box["y"] + 24)
    assert saved.value.suggested_filename.endswith(".png")
    with page.expect_download() as table:
        page.get_by_test_id("attainment-csv").click()
    assert table.value.suggested_filename.endswith(".csv")

    # Drill down: nation → 浙江省 → 杭州市.
    page.get_by_test_id("province-table").get_by_role("link", name="浙江省").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("浙江省监测看板")
    expect(page.get_by_test_id("city-table")).to_contain_text("嘉兴市")
    expect(page.get_by_test_id("city-table")).not_to_contain_text("广州市")
    page.get_by_test_id("city-table").get_by_role("link", name="杭州市").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("杭州市监测看板")
    expect(page.locator("[data-echarts='trend-chart']")).to_have_attribute("data-ready", "1")
    expect(page.get_by_test_id("city-indicators").locator("tr[data-indicator='A02']")).to_contain_text("62.0%")
    screenshot(page, "analytics-city")

    # The outlier list: 杭州's 4G share jumped; the analyst asks the city.
    page.get_by_role("link", name="异常值").first.click()
    flagged = page.get_by_test_id("outlier-row").filter(has_text="A05")
    expect(flagged).to_contain_text("杭州市")
    flagged.get_by_label("说明").fill("4G 用户占比较上月大幅上升，请核实移动电话用户数。")
    flagged.get_by_role("button", name="向城市发出询问").click()
    expect(page.get_by_text("已记录处理结果。")).to_be_visible()
    screenshot(page, "analytics-outliers")

    # The monitoring analysis report, generated in the background, downloaded as PDF.
    page.get_by_role("link", name="监测分析报告").first.click()
    page.get_by_label("报告范围").select_option(label="全国")
    page.get_by_role("button", name="生成报告").click()
    expect(page.get_by_test_id("report-status")).to_have_attribute("data-status", "done")
    with page.expect_download() as pdf:
        page.get_by_test_id("report-xlsx").click()
    assert pdf.value.suggested_filename.endswith(".xlsx")
    screenshot(page, "analytics-report")
