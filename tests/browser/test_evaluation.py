"""The acceptance path of the evaluation issue in the browser, on the demonstration data of `make run`: the analyst
runs the 2016 evaluation (the approved default scheme with the closed expert review), sees the ranking with the
Monte Carlo rank intervals, opens the explanation of a city down to the submission versions, checks that the frozen
run reproduces, records the acceptance decisions and proposes the awards; the ministry confirms them, publishes and
downloads a certificate."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from infocity.demo.loader import DEMO_PASSWORD, load_demo
from infocity.evaluation.models import Award, EvaluationRun
from infocity.organisations.divisions import sync_divisions
from infocity.organisations.models import Division

from .a11y import assert_accessible
from .conftest import ARTIFACTS, screenshot
from .test_reporting import log_in as log_in_as
from .test_reporting import log_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Any, base: str, username: str) -> None:
    log_in_as(page, base, username, DEMO_PASSWORD)


@pytest.fixture
def demo(transactional_db: None, settings: Any) -> None:
    settings.REPORTING_TODAY = "2016-12-05"
    # Transactional tests flush the tables the migrations filled; put the reference data back.
    if not Division.objects.exists():
        sync_divisions(Division)
    load_demo()


def test_the_analyst_runs_the_evaluation_and_the_ministry_publishes_the_awards(
    page: Any, live_server: Any, demo: None
) -> None:
    base = live_server.url

    # 1. The analyst runs the official evaluation with the expert scores.
    log_in(page, base, "analyst")
    page.get_by_role("link", name="年度评估").first.click()
    expect(page.get_by_test_id("schemes")).to_contain_text("已批准")
    expect(page.get_by_test_id("rounds")).to_contain_text("已结束")
    form = page.get_by_test_id("run-form")
    expect(form.get_by_label("评估方案")).to_contain_text("已批准")  # the demo's approved 2016 default scheme
    form.get_by_test_id("run-start").click()
    page.wait_for_url("**/evaluation/runs/*/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("正式评估")
    rows = page.get_by_test_id("rank-row")
    expect(rows.first).to_be_visible()
    run = EvaluationRun.objects.get()
    assert run.status == EvaluationRun.Status.DONE and run.official
    result = run.result
    assert result is not None
    assert len(result["cities"]) >= 20  # most demonstration cities have enough accepted data to be ranked
    assert rows.count() == len(result["cities"]) + len(result["unranked"])
    expect(rows.first.locator("td").nth(3)).to_contain_text("（")  # median rank (p5–p95)
    chart = page.get_by_test_id("interval-chart")
    expect(chart).to_have_attribute("data-ready", "1")
    expect(page.get_by_test_id("fingerprint")).to_have_text(run.fingerprint)
    expect(page.get_by_test_id("agreement")).to_contain_text("Spearman")
    screenshot(page, "evaluation-ranking")

    # 2. The explanation of one city, traceable to submission versions.
    city = page.get_by_test_id("ranking").get_by_role("link", name="杭州市")
    city.click()
    page.wait_for_url("**/cities/*/")
    expect(page.get_by_test_id("raised")).to_contain_text("比平均贡献高")
    table = page.get_by_test_id("explanation")
    expect(table).to_contain_text("进展报告专家评分")
    expect(table.get_by_role("link", name="表 第").first).to_be_visible()
    screenshot(page, "evaluation-city")
    page.go_back()

    # 3. The frozen run reproduces bit for bit.
    page.get_by_test_id("reproduce").click()
    expect(page.locator(".alert-success")).to_contain_text("复算一致")

    # 4. Acceptance decisions: the suggestions are kept, with a comment where one is required.
    for row in page.get_by_test_id("rank-row").all():
        select = row.locator("select")
        if select.input_value() != "pass":
            row.locator("input[name^=comment-]").fill("部分指标未达目标，限期整改后复核。")
    page.get_by_test_id("save-decisions").click()
    expect(page.get_by_test_id("save-decisions")).to_contain_text(f"已保存 {rows.count()}/{rows.count()}")
    page.get_by_test_id("propose").click()
    expect(page.get_by_test_id("award-row").first).to_be_visible()
    proposed = Award.objects.filter(run=run).count()
    assert proposed and Award.objects.filter(run=run, kind=Award.Kind.ADVANCED_CITY).exists()
    screenshot(page, "evaluation-proposed")
    log_out(page)

    # 5. The ministry confirms all but the last proposal, publishes, and downloads a certificate.
    log_in(page, base, "ministry")
    page.goto(f"{base}/evaluation/runs/{run.pk}/")
    boxes = page.get_by_test_id("confirm-form").locator("input[name=keep]")
    boxes.nth(boxes.count() - 1).uncheck()
    page.get_by_test_id("confirm-awards").click()
    expect(page.locator(".alert-success")).to_contain_text("表彰名单已确认")
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("published")).to_be_visible()
    assert Award.objects.filter(run=run, status=Award.Status.CONFIRMED).count() == proposed - 1
    assert Award.objects.filter(run=run, status=Award.Status.DECLINED).count() == 1
    with page.expect_download() as download:
        page.get_by_test_id("certificate").first.click()
    path = ARTIFACTS / "evaluation-certificate.pdf"
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    screenshot(page, "evaluation-published")

    # 6. The public sees the published results without logging in.
    log_out(page)
    page.goto(f"{base}/results/")
    expect(page.get_by_test_id("public-awards")).to_contain_text("信息消费先进示范城市")
    expect(page.get_by_test_id("public-ranking").locator("tbody tr")).to_have_count(len(result["cities"]))
    assert_accessible(page, "evaluation-public")
    screenshot(page, "evaluation-public")

    # The portal shows the ranking and the awards: on the home page and on the winning city's page.
    page.goto(f"{base}/portal/")
    expect(page.get_by_test_id("headline-evaluation")).to_contain_text("2016")
    winner = Award.objects.filter(run=run, kind=Award.Kind.ADVANCED_CITY, status=Award.Status.CONFIRMED).first()
    assert winner is not None
    page.goto(f"{base}/portal/cities/{winner.city.division_id}/")
    expect(page.get_by_test_id("city-rank")).to_be_visible()
    expect(page.get_by_test_id("city-awards")).to_contain_text(winner.get_kind_display())
    assert_accessible(page, "evaluation-portal-city")
    screenshot(page, "evaluation-portal-city")
