"""The showcase (典型案例): the ministry publishes endorsed typical applications of accepted full-year reports — the
text, figures and photos copied, the contact person never — and withdraws them; the public finds them with Chinese
full-text search (jieba words, matched by SQLite FTS5 or PostgreSQL full-text search) and filters by area, province
and year; photos are served for live items only."""

from __future__ import annotations

import base64
import io
import itertools
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from infocity.audit.models import Action, AuditEvent
from infocity.evaluation import services as evaluation
from infocity.evaluation.models import Award, EvaluationRun
from infocity.portal import board, search
from infocity.portal.models import SearchDocument, ShowcaseItem
from infocity.portal.services import (
    PortalError,
    public_picture,
    publish_application,
    publish_solution,
    search_showcase,
    showcase_candidates,
    withdraw_showcase,
)
from infocity.progress import demo_text
from infocity.progress import services as progress
from infocity.progress.models import Attachment, TypicalApplication
from infocity.reporting import services as reporting
from infocity.reporting.models import ReportingCycle, Status, Submission

from .conftest import Cast
from .test_analytics import PEOPLE, fresh, in_time, slot
from .test_api_tokens import world as world  # the 2016 cycle fixture
from .test_evaluation_workflow import APPLICATION, CITY_NAMES
from .test_progress import body, png

TITLE = "智慧社区服务平台"
CONTACT = ("张某某", "0571-5555-0101", "zhang@example.cn", "5555", "example.cn")
PASTED = f'<p>现场<img src="data:image/png;base64,{base64.b64encode(png()).decode()}" alt="粘贴"></p>'


def text(response: Any) -> str:
    return str(response.content.decode())


def full_year_report(
    cast: Cast, city: str, applications: dict[str, dict[str, str]], *, accept: bool = True
) -> Submission:
    """The city's 2016 full-year report with its typical applications (entered by the city, so endorsed), each with
    an image pasted into its description and a photo attached; sent, and accepted unless ``accept`` is false."""
    submission = slot(cast, city, "2016-R2", "P")
    reporter, approver, province = PEOPLE[city]
    name, province_name = CITY_NAMES[city]
    with in_time(submission):
        progress.save_report(
            actor=cast.users[reporter],
            submission=submission,
            sections=demo_text.progress_report(name, province_name, "Y", 2016),
            base_version=submission.version,
        )
        for title, extra in applications.items():
            data = {**APPLICATION, "title": title, **extra}
            data["description"] += PASTED
            app = progress.save_application(actor=cast.users[reporter], submission=submission, data=data)
            progress.add_attachment(actor=cast.users[reporter], submission=submission, filename="现场照片.png",
                                    file=io.BytesIO(png(80, 60)), application=app)  # fmt: skip
        current = fresh(submission)
        approved = reporting.approve_city(
            actor=cast.users[approver], submission=current, expected_version=current.version
        )
        sent = reporting.submit(actor=cast.users[approver], submission=approved, expected_version=approved.version)
        if not accept:
            return sent
        checked = reporting.approve_province(actor=cast.users[province], submission=sent, expected_version=sent.version)
        accepted = reporting.accept(actor=cast.users["analyst"], submission=checked, expected_version=checked.version)
    assert accepted.status == Status.ACCEPTED
    return accepted


def application(title: str) -> TypicalApplication:
    return TypicalApplication.objects.get(title=title)


def publish(cast: Cast, title: str) -> ShowcaseItem:
    return publish_application(actor=cast.users["ministry"], application=application(title))


def titles(items: list[ShowcaseItem]) -> list[str]:
    return [i.title for i in items]


class Page(HTMLParser):
    """What the accessibility checks look at: tags with their attributes, and the text of labels and headings."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def check_accessible(html: str) -> None:
    page = Page()
    page.feed(html)
    labelled = {a.get("for") for t, a in page.tags if t == "label"}
    headings = [int(t[1]) for t, _ in page.tags if len(t) == 2 and t[0] == "h" and t[1].isdigit()]
    assert headings.count(1) == 1 and headings[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(headings)), headings
    for tag, attrs in page.tags:
        assert "placeholder" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "img":
            assert (attrs.get("alt") or "").strip(), attrs
        if tag in {"select", "input"} and attrs.get("type") not in {"hidden", "submit"}:
            assert attrs.get("id") in labelled, (tag, attrs)
        if tag == "script":
            assert attrs.get("src"), "inline script"


# --- publishing -------------------------------------------------------------------------------------------------


def test_publishing_copies_the_text_and_photos_but_never_the_contact_person(cast: Cast, world: ReportingCycle) -> None:
    full_year_report(cast, "hangzhou", {TITLE: {}})
    app = application(TITLE)
    assert Attachment.objects.filter(application=app, inline=True).count() == 1  # the pasted image
    assert list(showcase_candidates()) == [app]
    ministry = cast.client("ministry")
    manage = text(ministry.get("/showcase/manage/"))
    assert TITLE in manage and not any(c in manage for c in CONTACT)
    page = text(ministry.post(f"/showcase/manage/applications/{app.pk}/publish/", follow=True))
    assert f"已发布典型案例“{TITLE}”" in page

    item = ShowcaseItem.objects.get()
    assert (item.kind, item.title, item.city, item.provider, item.area, item.year) == (
        ShowcaseItem.Kind.APPLICATION, TITLE, cast.orgs["hangzhou"], "电信分公司", "C", 2016,
    )  # fmt: skip
    assert (item.investment, item.users_served, item.application) == (Decimal("1250.50"), 320000, app)
    assert "覆盖全市社区的线上服务平台" in item.summary and "日均服务 1.2 万人次" in item.results
    # The image pasted into the text is a file of the report: it is dropped, and only the attached photo is copied.
    assert "<img" not in item.summary and "/progress/files/" not in item.summary + item.results
    # The attached photo is published as a new file of its pixels only, under a neutral name.
    photo = item.photos.get()
    attached = Attachment.objects.get(application=app, inline=False)
    assert photo.blob_id != attached.blob_id and photo.mime == "image/png"
    assert photo.filename == f"showcase-{item.pk}-1.png" and attached.filename not in photo.filename
    with Image.open(io.BytesIO(photo.blob.read())) as published, Image.open(io.BytesIO(attached.blob.read())) as own:
        assert published.size == own.size and published.convert("RGB").tobytes() == own.convert("RGB").tobytes()
    assert AuditEvent.objects.filter(action=Action.SHOWCASE_PUBLISH, object_id=str(item.pk)).exists()

    anonymous = Client()
    for url in ("/showcase/", f"/showcase/{item.pk}/", f"/showcase/?q={TITLE}"):
        shown = text(anonymous.get(url))
        assert TITLE in shown and "电信分公司" in shown, url
        assert not any(c in shown for c in CONTACT), url
    detail = text(anonymous.get(f"/showcase/{item.pk}/"))
    assert "320000" in detail and "1250.50" in detail and f"/showcase/photos/{photo.pk}/" in detail
    assert 'href="/portal/cities/330100/"' in detail  # the city's public page

    # Published once: no longer a candidate, and a second publication is refused with the reason.
    assert not showcase_candidates().exists()
    again = text(ministry.post(f"/showcase/manage/applications/{app.pk}/publish/", follow=True))
    assert "只能发布已由城市确认、随全年进展报告受理且尚未发布的典型应用" in again
    assert ShowcaseItem.objects.count() == 1


def test_only_endorsed_applications_of_accepted_reports_can_be_published(cast: Cast, world: ReportingCycle) -> None:
    full_year_report(cast, "hangzhou", {"杭州应用": {}}, accept=False)
    sent = application("杭州应用")
    assert not showcase_candidates().exists()
    with pytest.raises(PortalError, match="随全年进展报告受理"):
        publish(cast, "杭州应用")
    page = text(cast.client("ministry").post(f"/showcase/manage/applications/{sent.pk}/publish/", follow=True))
    assert "随全年进展报告受理" in page and not ShowcaseItem.objects.exists()

    full_year_report(cast, "guangzhou", {"广州应用": {}})
    # An application the city has not endorsed (as after an enterprise changes it) is not published either.
    TypicalApplication.objects.filter(title="广州应用").update(endorsed_at=None, endorsed_by=None)
    with pytest.raises(PortalError, match="由城市确认"):
        publish(cast, "广州应用")
    assert not ShowcaseItem.objects.exists()


def test_only_the_ministry_publishes_and_withdraws(cast: Cast, world: ReportingCycle) -> None:
    full_year_report(cast, "hangzhou", {TITLE: {}})
    app = application(TITLE)
    for username in ("analyst", "city-hz", "province-zj", "enterprise", "sysadmin"):
        with pytest.raises(PortalError, match="只有部级管理员"):
            publish_application(actor=cast.users[username], application=app)
        client = cast.client(username)
        assert client.get("/showcase/manage/").status_code == 403
        assert client.post(f"/showcase/manage/applications/{app.pk}/publish/").status_code == 403
    assert not ShowcaseItem.objects.exists()
    item = publish(cast, TITLE)
    for username in ("analyst", "city-hz"):
        with pytest.raises(PortalError, match="只有部级管理员"):
            withdraw_showcase(actor=cast.users[username], item=item)
        assert cast.client(username).post(f"/showcase/manage/{item.pk}/withdraw/").status_code == 403
    assert Client().post(f"/showcase/manage/{item.pk}/withdraw/").status_code == 302  # to the login page
    assert ShowcaseItem.objects.get().withdrawn_at is None
    assert cast.client("ministry").get(f"/showcase/manage/applications/{app.pk}/publish/").status_code == 405


def test_withdrawal_removes_the_item_from_the_public_pages_and_the_search(cast: Cast, world: ReportingCycle) -> None:
    full_year_report(cast, "hangzhou", {TITLE: {}})
    item = publish(cast, TITLE)
    photo = item.photos.get()
    anonymous = Client()
    assert titles(search_showcase("智慧社区")) == [TITLE]
    assert anonymous.get(f"/showcase/photos/{photo.pk}/").status_code == 200

    ministry = cast.client("ministry")
    confirm = text(ministry.get(f"/showcase/manage/{item.pk}/withdraw/"))
    assert f"确定撤回“{TITLE}”吗" in confirm
    assert ShowcaseItem.objects.get().withdrawn_at is None  # asking is not withdrawing
    done = text(ministry.post(f"/showcase/manage/{item.pk}/withdraw/", follow=True))
    assert f"已撤回典型案例“{TITLE}”" in done

    withdrawn = ShowcaseItem.objects.get()
    assert withdrawn.withdrawn_at is not None and withdrawn.withdrawn_by == cast.users["ministry"]
    assert not SearchDocument.objects.filter(kind="showcase").exists()
    assert search_showcase("智慧社区") == [] and search_showcase() == []
    assert anonymous.get(f"/showcase/{item.pk}/").status_code == 404
    assert anonymous.get(f"/showcase/photos/{photo.pk}/").status_code == 404
    for url in ("/showcase/", "/showcase/?q=智慧社区"):
        assert TITLE not in text(anonymous.get(url)), url
    again = text(ministry.post(f"/showcase/manage/{item.pk}/withdraw/", follow=True))
    assert "该案例已经撤回" in again
    assert AuditEvent.objects.filter(action=Action.SHOWCASE_WITHDRAW, object_id=str(item.pk)).count() == 1


# --- search and filters -----------------------------------------------------------------------------------------


def test_a_chinese_phrase_finds_an_item_without_being_one_of_its_stored_words(
    cast: Cast, world: ReportingCycle
) -> None:
    node = {"area": "B", "description": "<p>工业互联网标识解析二级节点。</p>", "results": "<p>接入企业 200 家。</p>"}
    full_year_report(cast, "hangzhou", {TITLE: {"area": "C"}, "工业互联网标识解析节点": node})
    publish(cast, TITLE)
    publish(cast, "工业互联网标识解析节点")
    stored = SearchDocument.objects.get(ref=ShowcaseItem.objects.get(title=TITLE).pk).body.split()
    # Neither phrase is a word of the index: each is found through its own words (智慧 + 社区, 社区 + 服务).
    assert "智慧社区" not in stored and "社区服务" not in stored
    for phrase in ("智慧社区", "社区服务", "智慧社区服务平台", "杭州 社区服务"):
        assert titles(search_showcase(phrase)) == [TITLE], phrase
        page = text(Client().get("/showcase/", {"q": phrase}))
        assert TITLE in page and "工业互联网标识解析节点" not in page, phrase
        assert "共找到 1 个" in page
    assert titles(search_showcase("标识解析")) == ["工业互联网标识解析节点"]
    for unrelated in ("智慧养老", "农村电商", "区块链", "的"):
        assert search_showcase(unrelated) == [], unrelated
        assert TITLE not in text(Client().get("/showcase/", {"q": unrelated})), unrelated
    # The words matched are marked in the excerpt.
    page = text(Client().get("/showcase/", {"q": "社区服务"}))
    assert "<mark>社区</mark>" in page and "<mark>服务</mark>" in page


def test_a_word_split_differently_in_context_is_still_found(cast: Cast, world: ReportingCycle) -> None:
    full_year_report(cast, "hangzhou", {TITLE: {}})  # described as 覆盖全市社区的线上服务平台
    publish(cast, TITLE)
    assert titles(search_showcase("线上服务")) == [TITLE]


def test_the_search_ranks_and_the_query_is_taken_verbatim(cast: Cast, world: ReportingCycle) -> None:
    full_year_report(cast, "hangzhou", {TITLE: {}, "社区养老服务": {"description": "<p>社区、社区、社区。</p>"}})
    publish(cast, TITLE)
    publish(cast, "社区养老服务")
    assert set(titles(search_showcase("社区"))) == {TITLE, "社区养老服务"}
    # Quotes, operators and SQL in a query are words to look for, never syntax.
    for hostile in ('"社区', "社区' OR 1=1 --", "社区 & !服务 | *", "NEAR(社区 服务)", "\\'社区"):
        assert set(titles(search_showcase(hostile))) <= {TITLE, "社区养老服务"}, hostile
        assert Client().get("/showcase/", {"q": hostile}).status_code == 200
    assert search.search("showcase", "   ") == []


def test_filters_by_area_province_year_and_kind(cast: Cast, world: ReportingCycle) -> None:
    full_year_report(cast, "hangzhou", {"杭州智慧社区": {"area": "C"}, "杭州数字文化馆": {"area": "D"}})
    full_year_report(cast, "guangzhou", {"广州智慧社区": {"area": "C"}})
    for title in ("杭州智慧社区", "杭州数字文化馆", "广州智慧社区"):
        publish(cast, title)
    # Only the 2016 cycle exists here; one item stands for a later year's.
    ShowcaseItem.objects.filter(title="杭州数字文化馆").update(year=2017)

    assert set(titles(search_showcase(area="C"))) == {"杭州智慧社区", "广州智慧社区"}
    assert titles(search_showcase(province="440000")) == ["广州智慧社区"]
    assert titles(search_showcase(year=2017)) == ["杭州数字文化馆"]
    assert titles(search_showcase("智慧社区", province="330000")) == ["杭州智慧社区"]
    assert search_showcase(kind=ShowcaseItem.Kind.SOLUTION) == []

    anonymous = Client()

    def shown(**query: str) -> set[str]:
        page = text(anonymous.get("/showcase/", query))
        return {t for t in ("杭州智慧社区", "杭州数字文化馆", "广州智慧社区") if f">{t}</a>" in page}

    assert shown() == {"杭州智慧社区", "杭州数字文化馆", "广州智慧社区"}
    assert shown(area="C") == {"杭州智慧社区", "广州智慧社区"}
    assert shown(area="D", province="330000") == {"杭州数字文化馆"}
    assert shown(province="440000") == {"广州智慧社区"}
    assert shown(year="2017") == {"杭州数字文化馆"}
    assert shown(year="2016", q="智慧社区") == {"杭州智慧社区", "广州智慧社区"}
    assert shown(kind="application", area="C", province="440000", year="2016") == {"广州智慧社区"}
    assert shown(city=str(cast.orgs["guangzhou"].pk)) == {"广州智慧社区"}
    # Values that are not offered are ignored rather than failing.
    assert shown(area="Z", province="999999", year="二〇一六", kind="x", city="abc") == shown()
    page = text(anonymous.get("/showcase/", {"province": "440000"}))
    assert '<option value="440000" selected>广东省</option>' in page
    assert '<option value="2017">2017</option>' in page


# --- public pages and photos ------------------------------------------------------------------------------------


def test_photos_are_served_for_live_items_only(cast: Cast, world: ReportingCycle) -> None:
    full_year_report(cast, "hangzhou", {TITLE: {}, "未发布的应用": {}})
    item = publish(cast, TITLE)
    photo = item.photos.get()
    anonymous = Client()
    got = anonymous.get(f"/showcase/photos/{photo.pk}/")
    assert got.status_code == 200 and body(got) == photo.blob.read()
    assert got["Content-Type"] == "image/png" and got["X-Content-Type-Options"] == "nosniff"
    assert got["Cache-Control"] == "public, max-age=300" and got["Content-Disposition"].startswith("inline")
    assert "sandbox" in got["Content-Security-Policy"]
    assert anonymous.get(f"/showcase/photos/{photo.pk}/", HTTP_IF_NONE_MATCH=got["ETag"]).status_code == 304
    # A stored type that is not one of the checked image types is never served.
    item.photos.update(mime="text/html")
    assert anonymous.get(f"/showcase/photos/{photo.pk}/").status_code == 404
    item.photos.update(mime="image/png")
    # The report's files stay private: the unpublished application's photo has no public address.
    private = Attachment.objects.get(application__title="未发布的应用", inline=False)
    assert anonymous.get(f"/progress/files/{private.pk}/").status_code == 302
    withdraw_showcase(actor=cast.users["ministry"], item=item)
    assert anonymous.get(f"/showcase/photos/{photo.pk}/").status_code == 404
    assert anonymous.get("/showcase/photos/999999/").status_code == 404


def test_anonymous_pages_render_accessibly(
    cast: Cast, world: ReportingCycle, django_assert_max_num_queries: Any
) -> None:
    anonymous = Client()
    empty = anonymous.get("/showcase/")
    assert empty.status_code == 200 and "工业和信息化部尚未发布典型案例" in text(empty)
    check_accessible(text(empty))
    full_year_report(cast, "hangzhou", {f"杭州应用{n:02d}": {} for n in range(14)})
    for n in range(14):
        publish(cast, f"杭州应用{n:02d}")
    item = ShowcaseItem.objects.order_by("pk").first()
    assert item is not None
    with django_assert_max_num_queries(12):
        index = anonymous.get("/showcase/")
    page = text(index)
    assert "共 14 个案例" in page and page.count('data-testid="showcase-card"') == 12
    assert 'role="search"' in page and "page=2" in page
    check_accessible(page)
    second = text(anonymous.get("/showcase/", {"page": "2", "q": "杭州"}))
    assert second.count('data-testid="showcase-card"') == 2
    assert text(anonymous.get("/showcase/", {"page": "99"})).count('data-testid="showcase-card"') == 2
    detail = text(anonymous.get(f"/showcase/{item.pk}/"))
    check_accessible(detail)
    assert f'alt="{item.title}"' in detail
    assert "<p>覆盖全市社区的线上服务平台。</p>" in detail  # the stored, sanitised rich text as HTML
    assert anonymous.get("/showcase/999999/").status_code == 404
    manage = cast.client("ministry").get("/showcase/manage/")
    check_accessible(text(manage))
    check_accessible(text(cast.client("ministry").get(f"/showcase/manage/{item.pk}/withdraw/")))
    anonymous.post("/i18n/setlang/", {"language": "en", "next": "/showcase/"})
    assert anonymous.get("/showcase/").status_code == 200
    assert anonymous.get(f"/showcase/{item.pk}/").status_code == 200


def test_the_published_award_shows_on_the_item(cast: Cast, world: ReportingCycle) -> None:
    full_year_report(cast, "hangzhou", {TITLE: {}, "未获表彰的应用": {}})
    item = publish(cast, TITLE)
    other = publish(cast, "未获表彰的应用")
    # A published, confirmed award made directly: how one comes about is the evaluation's own test.
    scheme = evaluation.create_scheme(actor=cast.users["analyst"], cycle=world)
    run = EvaluationRun.objects.create(scheme=scheme, requested_by=cast.users["analyst"], official=True,
                                       status=EvaluationRun.Status.DONE)  # fmt: skip
    Award.objects.create(run=run, kind=Award.Kind.EXCELLENT_APPLICATION, city=cast.orgs["hangzhou"],
                         application=application(TITLE), position=1, score=Decimal("90"), basis="专家评分 90 分",
                         status=Award.Status.CONFIRMED, number="2016-YY-001-001")  # fmt: skip
    anonymous = Client()
    assert 'data-testid="award-badge"' not in text(anonymous.get(f"/showcase/{item.pk}/"))  # not yet published
    EvaluationRun.objects.filter(pk=run.pk).update(published_at=timezone.now())
    detail = text(anonymous.get(f"/showcase/{item.pk}/"))
    assert 'data-testid="award-badge"' in detail and "2016-YY-001-001" in detail
    assert 'data-testid="award-badge"' not in text(anonymous.get(f"/showcase/{other.pk}/"))
    assert text(anonymous.get("/showcase/")).count('data-testid="award-badge"') == 1


@pytest.mark.django_db
def test_relevance_orders_the_matches_on_either_database() -> None:
    search.index("rank-test", 1, ["智慧医疗、在线教育、数字文化、智慧旅游、智能交通和社区体育"])
    search.index("rank-test", 2, ["社区养老：社区食堂、社区医生和社区活动中心"])
    search.index("rank-test", 3, ["智慧交通信号控制"])
    ranked = search.search("rank-test", "社区")
    assert [ref for ref, _ in ranked] == [2, 1]
    assert ranked[0][1] > ranked[1][1] > 0
    # Any word (board suggestions): the text sharing the most words ranks first.
    either = search.search("rank-test", "智慧交通 社区", any_word=True)
    assert [ref for ref, _ in either] == [1, 3, 2]


def test_a_published_photo_carries_no_metadata() -> None:
    """EXIF (camera, author, GPS position) and comments never leave with a photo; a sideways photo is turned
    upright first."""
    exif = Image.Exif()
    exif[0x010F] = "ObscuraCam"  # Make
    exif[0x013B] = "Zhang San"  # Artist
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    original = io.BytesIO()
    Image.new("RGB", (40, 20), (10, 120, 200)).save(original, "JPEG", exif=exif, comment=b"secret note")
    assert b"ObscuraCam" in original.getvalue()
    data, extension, mime = public_picture(original.getvalue())
    assert (extension, mime) == ("jpg", "image/jpeg")
    assert b"ObscuraCam" not in data and b"Zhang San" not in data and b"secret note" not in data
    with Image.open(io.BytesIO(data)) as clean:
        assert not clean.getexif() and clean.size == (20, 40)
    _png, extension, mime = public_picture(png(30, 10))
    assert (extension, mime) == ("png", "image/png")


def test_an_approved_board_solution_is_published_as_a_replicable_solution(cast: Cast, world: ReportingCycle) -> None:
    data = {"title": "社区居家养老服务平台解决方案", "area": "C", "contact_name": "王五",
            "contact_phone": "13912345678", "contact_email": "w@example.cn",
            "description": "紧急呼叫、健康监测和助餐服务一体化。\n已在 12 个城市应用。"}  # fmt: skip
    post = board.save_post(actor=cast.users["enterprise"], data=data)
    ministry = cast.client("ministry")
    assert ministry.post(f"/showcase/manage/solutions/{post.pk}/publish/").status_code == 302
    assert not ShowcaseItem.objects.exists()  # awaiting moderation: refused
    post = board.moderate(actor=cast.users["analyst"], post=post, approve=True)
    assert cast.client("analyst").post(f"/showcase/manage/solutions/{post.pk}/publish/").status_code == 403
    assert data["title"] in text(ministry.get("/showcase/manage/"))
    ministry.post(f"/showcase/manage/solutions/{post.pk}/publish/")
    item = ShowcaseItem.objects.get()
    assert (item.kind, item.post, item.provider) == (ShowcaseItem.Kind.SOLUTION, post, post.organisation.name)
    assert "<p>已在 12 个城市应用。</p>" in item.summary
    page = text(Client().get(f"/showcase/{item.pk}/"))
    assert data["title"] in page and "13912345678" not in page and "王五" not in page and "w@example.cn" not in page
    assert titles(search_showcase("养老服务", kind=ShowcaseItem.Kind.SOLUTION)) == [data["title"]]
    assert AuditEvent.objects.filter(action=Action.SHOWCASE_PUBLISH, object_id=str(item.pk)).exists()
    # Once only.
    with pytest.raises(PortalError, match="尚未发布的企业解决方案"):
        publish_solution(actor=cast.users["ministry"], post=post)
