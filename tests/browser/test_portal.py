"""The public portal in the browser, on the demonstration data of `make run`, as an anonymous visitor: the home
page with the calendar and the map of published figures, the cities, one city's page, the showcase searched for a
phrase inside a title, an item with its photo, the supply–demand board with masked contacts, the open-data
catalogue and its three downloads, the indicator dictionary and the evaluation results. Every page passes the
automated accessibility check (axe-core: no serious or critical WCAG 2.1 A/AA violation); the English version
of the home page too. Then the matched city sees the enterprise's contact, which stays masked for everyone else."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from playwright.sync_api import expect

from infocity.demo.loader import DEMO_PASSWORD, load_demo
from infocity.organisations.divisions import sync_divisions
from infocity.organisations.models import Division
from infocity.portal.models import BoardPost, ShowcaseItem
from infocity.portal.services import latest_release

from .a11y import assert_accessible
from .conftest import ARTIFACTS, screenshot
from .test_reporting import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db: None, settings: Any) -> None:
    settings.REPORTING_TODAY = "2016-12-05"
    if not Division.objects.exists():
        sync_divisions(Division)
    load_demo()


def visit(page: Any, url: str, name: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page, name)
    screenshot(page, name)


def test_an_anonymous_visitor_browses_searches_and_downloads(page: Any, live_server: Any, demo: None) -> None:
    base = live_server.url

    # The login page leads to the portal.
    page.goto(f"{base}/")
    page.get_by_test_id("portal-link").click()
    page.wait_for_url("**/portal/")
    expect(page.get_by_test_id("demo-note")).to_be_visible()
    expect(page.get_by_test_id("calendar")).to_contain_text("11月底")
    expect(page.get_by_test_id("portal-map")).to_have_attribute("data-ready", "1")
    latest = latest_release()
    assert latest is not None and latest.period.code == "2016-A"
    totals = latest.values.filter(city__isnull=True).count()
    expect(page.get_by_test_id("headline-table").locator("tbody tr")).to_have_count(totals)
    visit(page, f"{base}/portal/", "portal-home")

    # Cities, and one city's published indicators.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="示范城市", exact=True).click()
    rows = page.get_by_test_id("city-table").locator("tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 20
    visit(page, page.url, "portal-cities")
    page.get_by_test_id("city-table").get_by_role("link", name="杭州市").click()
    expect(page.get_by_test_id("city-values")).to_contain_text("A01")
    visit(page, page.url, "portal-city")

    # The showcase: a phrase inside a title finds it; the item shows its photo.
    page.goto(f"{base}/showcase/")
    page.get_by_label("关键词").fill("智慧社区")
    page.get_by_test_id("showcase-search").get_by_role("button").first.click()
    expect(page.get_by_test_id("showcase-results")).to_contain_text("智慧社区服务平台")
    visit(page, page.url, "portal-showcase-search")
    with_photo = ShowcaseItem.objects.filter(photos__isnull=False).first()
    assert with_photo is not None
    page.goto(f"{base}/showcase/{with_photo.pk}/")
    image = page.get_by_test_id("showcase-photos").locator("img").first
    image.scroll_into_view_if_needed()
    expect(image).to_be_visible()
    # The picture really loads (served by the photo view): wait until the browser has decoded it.
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    visit(page, page.url, "portal-showcase-item")

    # The board: approved posts only, contacts masked.
    page.goto(f"{base}/board/")
    board = page.get_by_test_id("board-list")
    expect(board).to_contain_text("社区居家养老服务平台解决方案")
    expect(board).not_to_contain_text("工业企业上云和数字化改造服务需求")  # awaiting moderation
    visit(page, page.url, "portal-board")
    solution = BoardPost.objects.get(title="社区居家养老服务平台解决方案")
    page.goto(f"{base}/board/{solution.pk}/")
    body = page.locator("main").inner_text()
    assert solution.contact_phone not in body and "对接成功后可见" in body
    visit(page, page.url, "portal-board-post")

    # Open data: the catalogue and the three formats of a dataset.
    page.goto(f"{base}/open-data/")
    expect(page.get_by_test_id("licence")).to_contain_text("CC BY 4.0")
    visit(page, page.url, "portal-open-data")
    page.goto(f"{base}/open-data/indicator-values-2016/")
    expect(page.get_by_test_id("preview")).to_be_visible()
    visit(page, page.url, "portal-dataset")
    downloads = page.get_by_test_id("downloads")
    files = {}
    for suffix in (".sdmx.csv", ".json", ".csv"):
        with page.expect_download() as download:
            downloads.locator(f'a[href$="indicator-values-2016{suffix}"]').click()
        path = ARTIFACTS / f"open-data-indicator-values-2016{suffix}"
        download.value.save_as(path)
        files[suffix] = path.read_bytes()
    table = list(csv.DictReader(io.StringIO(files[".csv"].decode("utf-8-sig"))))
    assert len(table) > 1000 and any(row.get("city") == "杭州市" for row in table)
    assert json.loads(files[".json"])
    sdmx = list(csv.reader(io.StringIO(files[".sdmx.csv"].decode("utf-8"))))
    assert sdmx[0][0] == "DATAFLOW" and sdmx[1][0].startswith("INFOCITY:DF_")

    # The dictionary and the evaluation results (not yet published on the demo day).
    visit(page, f"{base}/indicators/", "portal-dictionary")
    visit(page, f"{base}/results/", "portal-results")

    # English.
    page.goto(f"{base}/portal/")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("National Information Consumption Demonstration Cities")
    assert_accessible(page, "portal-home-en")
    screenshot(page, "portal-home-en")
    page.get_by_role("button", name="中文").click()

    # The matched city sees the enterprise's contact; it stays masked for the anonymous visitor.
    log_in(page, base, "city-330100", DEMO_PASSWORD)
    page.goto(f"{base}/board/{solution.pk}/")
    expect(page.locator("main")).to_contain_text(solution.contact_phone)
    screenshot(page, "portal-board-contact")
