"""The public side shows only what the ministry has published.

The main test crawls every public response — pages, downloads, the public API — starting from the portal and
following every same-site link, records them, then adds unpublished data with distinctive values (accepted data
after the release, data still in review, a withdrawn release, a trial evaluation run, unpublished applications,
board posts awaiting moderation, contact details) and crawls again: the public responses must be the same, and none
may contain a distinctive value. The other tests cover the portal pages and the ministry's release workflow."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client

from infocity.analytics.models import Basis, IndicatorValue
from infocity.audit.models import Action, AuditEvent
from infocity.evaluation import services as evaluation
from infocity.evaluation.models import EvaluationRun
from infocity.portal import board
from infocity.portal import services as portal
from infocity.portal.models import BoardPost, Release, ReleasedValue
from infocity.portal.services import PortalError
from infocity.progress.models import TypicalApplication
from infocity.reporting.models import Period, ReportingCycle, Status

from .conftest import Cast
from .test_analytics import accept, monthly, send
from .test_api_tokens import world as world  # the 2016 cycle fixture
from .test_evaluation_workflow import APPLICATION, full_year_report, runnable_scheme

ROOTS = [
    "/portal/", "/results/", "/showcase/", "/board/", "/open-data/", "/indicators/", "/api/v1/openapi.json",
    "/api/v1/public/datasets", "/api/v1/public/indicator-values", "/api/v1/public/evaluation-results",
    "/api/v1/public/awards",
    # Searches, including for words of the unpublished items added later (the query itself is echoed, so the
    # searched words are parts of those titles, never the whole title).
    "/showcase/?q=杭州", "/showcase/?q=绝密", "/showcase/?q=未公开", "/board/?q=养老", "/board/?q=丁戊",
    "/board/?q=驳回方案", "/board/?kind=need", "/showcase/?area=C",
]  # fmt: skip
# Pages behind the login, static files, and API operations that need a token (the OpenAPI description names them).
SKIP = re.compile(
    r"^/(static|accounts|i18n|reporting|analytics|evaluation|progress|bulk|tokens|organisations|audit)/"
    r"|^/api/(?!v1/public/.|v1/openapi\.json)|[{}]"
)
LIMIT = 400
# Per-request noise that is not data: CSRF tokens.
NOISE = [re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"'), re.compile(r'"X-CSRFToken": "[^"]+"')]


def links(body: str, content_type: str) -> Iterable[str]:
    if "html" in content_type:
        yield from re.findall(r'(?:href|src|action)="([^"#]+)', body)
    elif "json" in content_type:
        yield from re.findall(r'"((?:https?://testserver)?/[^"\s]*)"', body)


def crawl(client: Client) -> dict[str, str]:
    """Every public response reachable from the roots by GET: {url: body without per-request noise}."""
    seen: dict[str, str] = {}
    queue = list(ROOTS)
    while queue and len(seen) < LIMIT:
        url = queue.pop(0)
        if url in seen:
            continue
        response = client.get(url)
        if response.status_code in {301, 302}:
            location = response["Location"]
            assert not location.startswith("/accounts/login"), f"{url} is linked from a public page but needs a login"
            seen[url] = f"redirect {location}"
            queue.append(location)
            continue
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        content_type = response.get("Content-Type", "")
        raw = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
        if content_type.startswith("image/"):
            seen[url] = f"image {len(raw)}"
            continue
        body = raw.decode("utf-8-sig")
        for pattern in NOISE:
            body = pattern.sub("", body)
        seen[url] = body
        if url.startswith("/api/v1/public/datasets"):  # the API names datasets by identifier, not by URL
            for identifier in re.findall(r'"identifier": ?"([\w-]+)"', body):
                queue += [f"/api/v1/public/datasets/{identifier}", f"/api/v1/public/datasets/{identifier}/rows"]
        for link in links(body, content_type):
            parts = urlsplit(urljoin(url, link.replace("&amp;", "&")))
            if parts.netloc not in {"", "testserver"} or SKIP.search(parts.path) or parts.path.endswith("/logout/"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen and target not in queue:
                queue.append(target)
    return seen


def assert_absent(pages: dict[str, str], secrets: Iterable[str]) -> None:
    for secret in secrets:
        leaks = [url for url, body in pages.items() if secret in body]
        assert not leaks, f"{secret!r} appears in {leaks[:5]}"


def values_of(city: Any, period: str, basis: str) -> list[Decimal]:
    found = IndicatorValue.objects.filter(city=city, period__code=period, basis=basis).exclude(value=None)
    return [v.value for v in found if v.value is not None]


def decimals(value: Decimal) -> set[str]:
    """How a stored figure could be written: full precision, and rounded to 1–4 places."""
    return {f"{value:.6f}", *(f"{value:.{places}f}" for places in (1, 2, 3, 4))}


@pytest.fixture
def published(cast: Cast, world: ReportingCycle, settings: Any) -> dict[str, Any]:
    """Accepted November data for two cities, published; an application in the showcase; approved board posts with
    an accepted contact request between them."""
    settings.PUBLIC_API_RATE = "100000/min"
    cache.clear()
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200, ftth=7000, lte=12000))
    accept(cast, "jiaxing", "2016-M11", monthly(3000, 1000, ftth=2000, lte=11000))
    ministry, analyst = cast.users["ministry"], cast.users["analyst"]
    release = portal.publish_release(actor=ministry, period=Period.objects.get(code="2016-M11"), note="首次发布")
    report = full_year_report(cast, "hangzhou", ("杭州智慧社区服务平台", "杭州未公开应用乙"))
    report = _accepted(cast, report)
    shown = TypicalApplication.objects.get(title="杭州智慧社区服务平台")
    item = portal.publish_application(actor=ministry, application=shown)
    need = board.save_post(actor=cast.users["city-hz"], data=_post("智慧养老服务需求", "13800001111", "need"))
    solution = board.save_post(
        actor=cast.users["enterprise"], data=_post("智慧养老平台方案", "13900002222", "solution")
    )
    for post in (need, solution):
        board.moderate(actor=analyst, post=post, approve=True, note="")
    request = board.request_contact(
        actor=cast.users["enterprise"], from_post=_fresh(solution), post=_fresh(need), message="希望对接"
    )
    board.decide_request(actor=cast.users["city-hz"], contact_request=request, accept=True)
    return {"release": release, "item": item, "need": need, "solution": solution, "report": report}


def _post(title: str, phone: str, kind: str) -> dict[str, str]:
    return {"kind": kind, "title": title, "area": "C", "description": f"{title}：面向社区老人的线上服务。",
            "contact_name": "联系人" + phone[-4:], "contact_phone": phone,
            "contact_email": f"u{phone[-4:]}@example.cn"}  # fmt: skip


def _fresh(post: BoardPost) -> BoardPost:
    return BoardPost.objects.get(pk=post.pk)


def _accepted(cast: Cast, report: Any) -> Any:
    from infocity.reporting import services as reporting

    from .test_analytics import fresh, in_time

    with in_time(report):
        approved = reporting.approve_province(
            actor=cast.users["province-zj"], submission=fresh(report), expected_version=fresh(report).version
        )
        return reporting.accept(actor=cast.users["analyst"], submission=approved, expected_version=approved.version)


def test_nothing_unpublished_reaches_any_public_response(
    cast: Cast, world: ReportingCycle, published: dict[str, Any]
) -> None:
    anonymous = Client()
    before = crawl(anonymous)
    assert len(before) >= 50
    # The crawl reached every kind of public response.
    for expected in ("/portal/cities/", "/showcase/", "/board/", "/open-data/", "/results/"):
        assert any(url.startswith(expected) for url in before), expected
    assert any(url.endswith(".csv") for url in before) and any(url.endswith(".json") for url in before)
    assert any("sdmx" in url for url in before) and any(url.startswith("/api/v1/public") for url in before)
    assert any(b.startswith("image ") for b in before.values()) or not published["item"].photos.exists()
    # Published values are there.
    hangzhou_value = (
        ReleasedValue.objects.filter(release=published["release"], city=cast.orgs["hangzhou"])
        .exclude(value=None)
        .first()
    )
    assert hangzhou_value is not None and hangzhou_value.value is not None
    shown = {f"{hangzhou_value.value:.2f}", f"{hangzhou_value.value:.1f}"}
    assert any(text in body for body in before.values() for text in shown)
    # Contact details: never public, not even of the published application or the matched posts.
    contact = [APPLICATION["contact_name"], APPLICATION["contact_phone"], APPLICATION["contact_email"],
               "13800001111", "13900002222", "u1111@example.cn", "u2222@example.cn"]  # fmt: skip
    assert_absent(before, contact)

    # --- unpublished data with distinctive values --------------------------------------------------------------
    secrets = ["杭州未公开应用乙", "广州绝密应用丙", "待审核需求丁戊", "被驳回方案己庚", "13711113333", "13722224444"]
    # Accepted after the release (same period, another city) and in a later period; data still in review.
    accept(cast, "guangzhou", "2016-M11", monthly(43219, 27771, ftth=31313, lte=9137))
    send(cast, "hangzhou", "2016-M12", monthly(12345, 9876, ftth=8765, lte=13579))
    numbers = values_of(cast.orgs["guangzhou"], "2016-M11", Basis.ACCEPTED)
    numbers += values_of(cast.orgs["hangzhou"], "2016-M12", Basis.PROVISIONAL)
    assert numbers
    # A release published and withdrawn.
    accept(cast, "guangzhou", "2016-M10", monthly(41717, 26161, ftth=30303, lte=9191))
    numbers += values_of(cast.orgs["guangzhou"], "2016-M10", Basis.ACCEPTED)
    withdrawn = portal.publish_release(actor=cast.users["ministry"], period=Period.objects.get(code="2016-M10"))
    portal.withdraw_release(actor=cast.users["ministry"], release=withdrawn, reason="数据有误")
    # An unpublished application in another city, with its contact.
    report = full_year_report(cast, "guangzhou", ("广州绝密应用丙",))
    assert report.status == Status.SUBMITTED
    # Board posts awaiting moderation and rejected, with contacts; a pending contact request.
    pending = board.save_post(actor=cast.users["city-gz"], data=_post("待审核需求丁戊", "13711113333", "need"))
    rejected = board.save_post(actor=cast.users["enterprise"], data=_post("被驳回方案己庚", "13722224444", "solution"))
    board.moderate(actor=cast.users["analyst"], post=rejected, approve=False, note="内容不完整")
    assert _fresh(pending).status == BoardPost.Status.PENDING
    # A trial evaluation run of a draft scheme (never published).
    scheme = runnable_scheme(cast, world)
    run = evaluation.request_run(actor=cast.users["analyst"], scheme=scheme, review=None)
    assert EvaluationRun.objects.get(pk=run.pk).status == EvaluationRun.Status.DONE

    after = crawl(anonymous)
    assert set(after) == set(before)
    changed = [url for url in before if before[url] != after[url]]
    assert not changed, f"public responses changed by unpublished data: {changed[:5]}"
    assert_absent(after, [*secrets, *contact])
    # Distinctive figures (5 significant digits and up) of unpublished values appear nowhere.
    figures = {text for n in numbers for text in decimals(n) if len(text.replace(".", "").lstrip("0")) >= 5}
    assert_absent(after, figures - {t for body in before.values() for t in figures if t in body})


def test_the_ministry_publishes_and_withdraws_a_release(cast: Cast, world: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200, ftth=7000, lte=12000))
    ministry = cast.client("ministry")
    period = Period.objects.get(code="2016-M11")
    page = ministry.get(f"/portal/releases/?cycle={world.pk}&period={period.pk}")
    assert page.status_code == 200 and 'data-testid="release-preview"' in page.content.decode()
    # Other roles cannot publish or even see the page.
    for username in ("analyst", "city-hz", "province-zj", "enterprise"):
        assert cast.client(username).get("/portal/releases/").status_code == 403, username
        assert cast.client(username).post("/portal/releases/publish/", {"period": period.pk}).status_code == 403
    assert not Release.objects.exists()
    response = ministry.post("/portal/releases/publish/", {"period": period.pk, "note": "说明"}, follow=True)
    assert "已发布" in response.content.decode()
    release = Release.objects.get()
    assert release.values.filter(city=cast.orgs["hangzhou"]).exclude(value=None).exists()
    assert release.values.filter(city__isnull=True).exists()
    assert AuditEvent.objects.filter(action=Action.RELEASE_PUBLISH, object_id=str(release.pk)).exists()
    # Twice is refused, with the reason.
    again = ministry.post("/portal/releases/publish/", {"period": period.pk}, follow=True)
    assert "已经发布" in again.content.decode() and Release.objects.count() == 1
    # A period without accepted data cannot be published.
    with pytest.raises(PortalError, match="还没有已受理的数据"):
        portal.publish_release(actor=cast.users["ministry"], period=Period.objects.get(code="2016-M12"))
    # Public pages show it; later accepted data does not change the published figure.
    city_page = Client().get(f"/portal/cities/{cast.orgs['hangzhou'].division_id}/")
    assert city_page.status_code == 200
    before = city_page.content.decode()
    # Withdrawal needs a reason, then the data leaves the public side.
    refused = ministry.post(f"/portal/releases/{release.pk}/withdraw/", {"reason": " "}, follow=True)
    assert "请填写撤回原因" in refused.content.decode()
    ministry.post(f"/portal/releases/{release.pk}/withdraw/", {"reason": "发现录入错误"})
    release.refresh_from_db()
    assert release.withdrawn_at and release.withdrawal_reason == "发现录入错误"
    assert AuditEvent.objects.filter(action=Action.RELEASE_WITHDRAW).exists()
    assert Client().get(f"/portal/cities/{cast.orgs['hangzhou'].division_id}/").status_code == 404
    assert "工业和信息化部尚未发布监测数据" in Client().get("/portal/").content.decode()
    assert "杭州市" in before


def test_portal_pages_show_the_release_with_map_and_city_pages(cast: Cast, world: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200, ftth=7000, lte=12000))
    accept(cast, "guangzhou", "2016-M11", monthly(40000, 18000, ftth=30000, lte=9000))
    release = portal.publish_release(actor=cast.users["ministry"], period=Period.objects.get(code="2016-M11"))
    anonymous = Client()
    home = anonymous.get("/portal/")
    body = home.content.decode()
    assert home.status_code == 200 and 'data-testid="calendar"' in body and 'data-testid="headline-table"' in body
    option = json.loads(re.search(r'<script id="portal-map" type="application/json">(.*?)</script>', body, re.S)[1])  # type: ignore[index]
    points = {p["name"] for p in option["series"][1]["data"]}
    assert points == {"杭州市", "广州市"}
    assert {p["name"] for p in option["series"][0]["data"]} == {"浙江", "广东"}
    cities = anonymous.get("/portal/cities/").content.decode()
    assert "杭州市" in cities and "广州市" in cities and "嘉兴市" not in cities
    city = anonymous.get(f"/portal/cities/{cast.orgs['hangzhou'].division_id}/?release={release.pk}")
    assert city.status_code == 200 and 'data-testid="city-values"' in city.content.decode()
    # A city with nothing published, and a place that is not a city: 404.
    assert anonymous.get(f"/portal/cities/{cast.orgs['jiaxing'].division_id}/").status_code == 404
    assert anonymous.get("/portal/cities/330000/").status_code == 404
    # English.
    english = anonymous.get("/portal/", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200
