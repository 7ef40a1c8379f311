"""The whole reporting path in the browser: the city reporter fills and autosaves (explaining one warning), the
city approver approves, the province returns with a comment on one item, the reporter fixes it, the approver
sends it again, the province approves, the analyst accepts, the values are locked, and the history shows every
version."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from infocity.accounts import second_factor
from infocity.accounts.models import User
from infocity.frameworks.loading import EDITION_2016, load_edition_file
from infocity.organisations.models import Cohort
from infocity.reporting import clock, services
from infocity.reporting.models import Status, Submission
from tests.conftest import PASSWORD, Cast, build_cast

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
HTMX = 10_000
OCTOBER = {"FBB_USERS": "10000", "FBB_20M_USERS": "6200", "FTTH_USERS": "7660", "MOBILE_USERS": "20000",
           "LTE_USERS": "12000"}  # fmt: skip


def cast_with_2016_cycle() -> Cast:
    """The cast and the 2016 cycle of every form (browser tests flush the database, so each builds its own)."""
    cast = build_cast()
    edition = load_edition_file(EDITION_2016)
    services.create_cycle(
        actor=None, name="2016 年度监测", year=2016, edition=edition, cohorts=Cohort.objects.all(),
        forms=edition.forms.all(),
    )  # fmt: skip
    return cast


@pytest.fixture
def world(transactional_db: None, settings: Any) -> tuple[Cast, Submission]:
    settings.REPORTING_TODAY = "2016-12-05"
    cast = cast_with_2016_cycle()
    october = Submission.objects.get(city=cast.orgs["hangzhou"], period__code="2016-M10", form__code="M")
    with clock.at(clock.now().replace(month=11, day=5)):
        services.save_draft(
            actor=cast.users["city-hz"], submission=october, raw=OCTOBER, explanations={}, base_version=0
        )
    november = Submission.objects.get(city=cast.orgs["hangzhou"], period__code="2016-M11", form__code="M")
    return cast, november


def log_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    """The login form, then the second factor where the account has or needs one (the code its authenticator would
    show, read from the account's device as the person's phone would)."""
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if "/accounts/second-factor/" in page.url:
        user = User.objects.get(username=username)
        device = second_factor.confirmed_device(user) or second_factor.pending_device(user)
        page.get_by_label("验证码").fill(second_factor.current_code(device))
        page.get_by_role("button", name="完成绑定" if "/enrol/" in page.url else "验证").click()
    page.wait_for_url(f"{base}/")


def log_out(page: Any) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/accounts/login/")


def type_value(page: Any, code: str, value: str) -> None:
    field = page.locator(f"#value-{code}")
    field.fill(value)
    field.press("Tab")  # leaving the field fires the autosave


def test_the_whole_path(page: Any, live_server: Any, world: tuple[Cast, Submission]) -> None:
    _cast, november = world
    base = live_server.url
    url = f"{base}/reporting/submissions/{november.pk}/"

    # 1. The reporter finds the form in the work queue and fills it in; it saves itself.
    log_in(page, base, "city-hz")
    page.get_by_test_id("queue-due").get_by_role("link", name="2016年11月").click()
    page.wait_for_url(url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("杭州市")
    expect(page.locator("#row-FBB_USERS")).to_contain_text("10,000")  # last month's value beside the item
    for code, value in {
        "FBB_USERS": "10,100",
        "FBB_20M_USERS": "6300",
        "FTTH_USERS": "7700",
        "MOBILE_USERS": "20100",
    }.items():
        type_value(page, code, value)
    expect(page.get_by_test_id("save-status")).to_contain_text("已自动保存", timeout=HTMX)
    # Every field saved (in however many requests the browser made).
    expect(page.locator("#base-version")).to_have_value(re.compile(r"[1-9]"), timeout=HTMX)
    # A jump of +50 % in 4G users is flagged while typing and needs an explanation.
    page.locator("#value-LTE_USERS").fill("18000")
    expect(page.locator("#msg-LTE_USERS")).to_contain_text("超过 ±30%", timeout=HTMX)
    page.locator("#value-LTE_USERS").press("Tab")
    explanation = page.locator("#explain-LTE_USERS")
    expect(explanation).to_be_visible(timeout=HTMX)
    explanation.fill("新增校园 4G 套餐用户约 6000 户。")
    explanation.press("Tab")
    saved = Submission.objects.get(pk=november.pk)
    for _ in range(150):  # the autosave of the explanation is the last version (slow on a loaded machine)
        if services.current_values(saved)[1].get("LTE_USERS"):
            break
        page.wait_for_timeout(200)
    assert services.current_values(saved)[1].get("LTE_USERS"), "the explanation was never autosaved"
    expect(page.locator("#base-version")).to_have_value(str(Submission.objects.get(pk=november.pk).version))
    screenshot(page, "reporting-entry-with-warning")
    page.reload()
    expect(page.locator("#value-LTE_USERS")).to_have_value("18000")
    expect(page.locator("#explain-LTE_USERS")).to_have_value("新增校园 4G 套餐用户约 6000 户。")
    log_out(page)

    # 2. The city approver signs it off and sends it to the province.
    log_in(page, base, "city-hz-approver")
    page.goto(url)
    page.get_by_role("button", name="审核通过并报送省级").click()
    expect(page.get_by_text("本市审核通过，已报送省级。")).to_be_visible()
    log_out(page)

    # 3. The province returns it with a reason and a comment on one item.
    log_in(page, base, "province-zj")
    page.get_by_test_id("queue-to_review").get_by_role("link", name="2016年11月").click()
    page.locator("#comment-FTTH_USERS").fill("与运营商月报不一致，请核实")
    page.locator("#return-reason").fill("光纤用户数需核实。")
    screenshot(page, "reporting-province-review")
    page.get_by_role("button", name="退回").click()
    expect(page.get_by_text("已退回，并已通知相关人员。")).to_be_visible()
    log_out(page)

    # 4. The reporter sees the reason and the comment beside the item, and fixes it.
    log_in(page, base, "city-hz")
    page.goto(url)
    expect(page.get_by_test_id("return-reason")).to_contain_text("光纤用户数需核实。")
    expect(page.locator("#row-FTTH_USERS").get_by_test_id("item-comment")).to_contain_text("与运营商月报不一致")
    screenshot(page, "reporting-returned")
    type_value(page, "FTTH_USERS", "7,720")
    expect(page.get_by_test_id("save-status")).to_contain_text("已自动保存", timeout=HTMX)
    log_out(page)

    # 5. Approved and sent again, approved by the province, accepted by the agency.
    log_in(page, base, "city-hz-approver")
    page.goto(url)
    page.get_by_role("button", name="审核通过并报送省级").click()
    expect(page.get_by_text("本市审核通过，已报送省级。")).to_be_visible()
    log_out(page)
    log_in(page, base, "province-zj")
    page.goto(url)
    page.get_by_role("button", name="审核通过，提交监测机构").click()
    expect(page.get_by_text("省级审核通过，已提交监测机构。")).to_be_visible()
    log_out(page)
    log_in(page, base, "analyst")
    page.get_by_test_id("queue-to_accept").get_by_role("link", name="2016年11月").click()
    page.get_by_role("button", name="受理并锁定").click()
    expect(page.get_by_test_id("locked")).to_be_visible()
    log_out(page)

    # 6. Locked for the city; the history shows every version.
    log_in(page, base, "city-hz")
    page.goto(url)
    expect(page.get_by_test_id("locked")).to_be_visible()
    expect(page.locator("#value-FTTH_USERS")).to_have_count(0)
    expect(page.get_by_test_id("value-FTTH_USERS")).to_have_text("7,720")
    page.get_by_role("link", name="版本记录").click()
    history = page.get_by_test_id("history")
    for action in ("保存", "本市审核通过", "报送省级", "退回", "省级审核通过", "监测机构受理"):
        expect(history).to_contain_text(action)
    expect(history).to_contain_text("7,700")
    expect(history).to_contain_text("7,720")
    screenshot(page, "reporting-history")
    submission = Submission.objects.get(pk=november.pk)
    assert submission.status == Status.ACCEPTED
    assert submission.first_submitted_at is not None
    assert submission.first_submitted_at.date() <= datetime.date(2016, 12, 10)
    assert submission.versions.filter(action="return").count() == 1
