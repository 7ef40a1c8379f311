"""A city reporter logs in and sees their city; five wrong passwords lock an account with a Chinese
message; logout works."""

from __future__ import annotations

from typing import Any

import pytest

from infocity.accounts.models import User
from tests.conftest import PASSWORD, Cast, build_cast

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_cast(transactional_db: None) -> Cast:
    return build_cast()


def log_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_city_reporter_logs_in_sees_city_and_logs_out(page: Any, live_server: Any, live_cast: Cast) -> None:
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    assert page.get_by_role("heading", name="用户登录").is_visible()
    screenshot(page, "login-page")

    log_in(page, live_server.url, "city-hz", PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_test_id("home-organisation").inner_text() == "杭州市"
    assert page.get_by_test_id("home-role").inner_text() == "城市填报员"
    assert "330100" in page.get_by_test_id("home-cities").inner_text()
    screenshot(page, "city-reporter-home")

    page.get_by_test_id("home-cities").get_by_role("link", name="杭州市").click()
    assert page.get_by_test_id("division-code").inner_text() == "330100"

    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/accounts/login/")
    assert page.get_by_text("您已安全退出。").is_visible()
    page.goto(f"{live_server.url}/organisations/")
    assert "/accounts/login/" in page.url


def test_five_wrong_passwords_lock_the_account(page: Any, live_server: Any, live_cast: Cast) -> None:
    for attempt in range(1, 6):
        log_in(page, live_server.url, "city-gz", "wrong-password")
        error = page.get_by_test_id("form-error").inner_text()
        if attempt < 5:
            assert "用户名或密码错误" in error
    assert "连续 5 次登录失败，账号已被锁定 15 分钟" in error
    screenshot(page, "account-locked")
    assert User.objects.get(username="city-gz").is_locked()

    # Even the right password is refused while the lock lasts.
    log_in(page, live_server.url, "city-gz", PASSWORD)
    assert "账号已被锁定" in page.get_by_test_id("form-error").inner_text()
    assert "/accounts/login/" in page.url


def test_english_switch(page: Any, live_server: Any, live_cast: Cast) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="English").click()
    assert page.get_by_role("heading", name="Sign in").is_visible()
    page.get_by_role("button", name="中文").click()
    assert page.get_by_role("heading", name="用户登录").is_visible()
