"""The Content-Security-Policy really holds in the browser: an inline script or <style> element injected into a
page is refused and reported (which is what the `page` fixture listens for on every browser test)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Cast, build_cast

from .conftest import screenshot
from .test_reporting import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_inline_script_and_style_are_refused(browser: Any, live_server: Any) -> None:
    context = browser.new_context(locale="zh-CN")
    tab = context.new_page()
    reports: list[str] = []
    tab.on("console", lambda message: reports.append(message.text))
    response = tab.goto(f"{live_server.url}/portal/")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    colour_before = tab.evaluate("getComputedStyle(document.body).backgroundColor")
    tab.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.append(script);
            const style = document.createElement("style");
            style.textContent = "body { background-color: rgb(255, 0, 0) !important; }";
            document.head.append(style);
        }"""
    )
    tab.wait_for_timeout(200)
    assert tab.evaluate("window.injected") is None
    assert tab.evaluate("getComputedStyle(document.body).backgroundColor") == colour_before
    refused = [text for text in reports if "Content Security Policy" in text]
    assert any("script" in text for text in refused), reports
    assert any("style" in text for text in refused), reports
    # The platform's own scripts run: htmx is loaded from the platform and configured not to inject styles.
    assert tab.evaluate("typeof htmx") == "object"
    assert tab.evaluate("htmx.config.includeIndicatorStyles") is False
    context.close()


@pytest.fixture
def live_cast(transactional_db: None) -> Cast:
    return build_cast()


def test_the_api_docs_work_under_the_policy(page: Any, live_server: Any, live_cast: Cast) -> None:
    """Swagger UI (ninja's vendored copy) reads its settings from a JSON block and runs from static files only; the
    `page` fixture fails the test on any refusal."""
    log_in(page, live_server.url, "city-hz")
    page.goto(f"{live_server.url}/api/v1/docs")
    page.get_by_text("/api/v1/cycles").first.wait_for()
    screenshot(page, "api-docs-under-csp")
