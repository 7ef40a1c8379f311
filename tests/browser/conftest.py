"""Browser tests: Playwright driving the system Chromium (never a downloaded browser).

Skipped only on a machine without Chromium; with INFOCITY_REQUIRE_BROWSER=1 (set by .ci/run) a missing
browser is a failure. Screenshots go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _chromium() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        if os.environ.get("INFOCITY_REQUIRE_BROWSER") == "1":
            pytest.fail("浏览器测试需要 Chromium（apt-get install chromium），CI 中不允许跳过。")
        pytest.skip("Chromium is not installed; browser tests skipped on this machine")
    # Playwright's sync API runs an event loop in this thread; the Django calls made from the tests are
    # ordinary synchronous calls, which Django must be told to allow.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    # The platform must work on an intranet: fail on any request that leaves the live server.
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    tab = context.new_page()
    # The Content-Security-Policy forbids inline scripts and <style> elements: Chromium reports every blocked one on
    # the console, and any such report fails the test (a page that only works with the policy off is broken).
    refused: list[str] = []

    def console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(f"{tab.url}: {message.text}")

    tab.on("console", console)
    yield tab
    context.close()
    assert not outside, f"pages requested outside hosts: {outside}"
    assert not refused, "the Content-Security-Policy blocked something:\n" + "\n".join(refused)


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
