"""The supply–demand board (供需对接): cities post needs and enterprises solutions, the analyst moderates, the platform
suggests matches by relevance, and a contact person's details pass only between two organisations after one accepts
the other's request — masked for everyone else, on every page. Services first, then the pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from infocity.accounts.models import Role, User
from infocity.accounts.services import create_account
from infocity.audit.models import Action, AuditEvent
from infocity.organisations.models import OrganisationKind
from infocity.organisations.services import create_organisation
from infocity.portal import board
from infocity.portal.models import BoardPost, ContactRequest
from infocity.portal.services import PortalError
from infocity.privacy import mask_email, mask_name, mask_phone

from .conftest import PASSWORD, Cast

PHONE = "13812345678"
MASKED_PHONE = "138****5678"


def text(response: Any) -> str:
    return str(response.content.decode())


def data(**overrides: str) -> dict[str, str]:
    fields = {
        "title": "智慧社区服务平台建设需求",
        "area": "C",
        "description": "本市拟建设覆盖全市社区的智慧社区服务平台，整合养老、家政、物业和政务服务，预算约 800 万元。",
        "contact_name": "张三丰",
        "contact_phone": PHONE,
        "contact_email": "zhangsan@example.cn",
    }
    return fields | overrides


def publish(cast: Cast, username: str, **overrides: str) -> BoardPost:
    post = board.save_post(actor=cast.users[username], data=data(**overrides))
    return board.moderate(actor=cast.users["analyst"], post=post, approve=True)


@pytest.fixture
def shenzhou(cast: Cast) -> User:
    """A second registered enterprise, in Guangzhou."""
    org = create_organisation(
        actor=None, kind=OrganisationKind.ENTERPRISE, name="神州软件广州公司", parent=cast.orgs["guangzhou"]
    )
    cast.users["enterprise-gz"] = create_account(
        actor=None, username="enterprise-gz", full_name="李四", organisation=org, role=Role.ENTERPRISE,
        password=PASSWORD, must_change_password=False,
    )  # fmt: skip
    return cast.users["enterprise-gz"]


@pytest.fixture
def matched(cast: Cast) -> dict[str, BoardPost]:
    """Hangzhou's published need and the Hangzhou telecom's published solution."""
    need = publish(cast, "city-hz")
    solution = publish(
        cast, "enterprise", title="智慧社区服务平台解决方案", contact_name="王五", contact_phone="0571-87001234",
        contact_email="wangwu@telecom.example.cn",
        description="面向街道和社区的智慧社区服务平台，提供居家养老、物业报修、社区政务一网通办，已在多个社区落地。",
    )  # fmt: skip
    return {"need": need, "solution": solution}


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# --- posting and moderation ------------------------------------------------------------------------------------


def test_cities_post_needs_and_enterprises_post_solutions(cast: Cast) -> None:
    need = board.save_post(actor=cast.users["city-hz-approver"], data=data())
    solution = board.save_post(actor=cast.users["enterprise"], data=data(title="社区养老平台"))
    assert (need.kind, need.organisation, need.status) == ("need", cast.orgs["hangzhou"], "pending")
    assert (solution.kind, solution.organisation) == ("solution", cast.orgs["telecom"])
    for username in ("analyst", "ministry", "province-zj", "expert", "sysadmin"):
        with pytest.raises(PortalError, match="只有示范城市"):
            board.save_post(actor=cast.users[username], data=data())
    saved = events(Action.BOARD_POST_SAVE)
    assert len(saved) == 2 and saved[0].detail["created"] is True
    assert PHONE not in str(saved[0].detail)  # the audit log names fields, not personal data


def test_an_inactive_enterprise_may_not_post(cast: Cast) -> None:
    telecom = cast.orgs["telecom"]
    telecom.is_active = False
    telecom.save()
    user = User.objects.get(username="enterprise")
    with pytest.raises(PortalError, match="已注册启用"):
        board.save_post(actor=user, data=data())


def test_input_is_checked_and_stored_as_plain_text(cast: Cast) -> None:
    user = cast.users["city-hz"]
    bad = {
        "title": data(title=""), "area": data(area="Z"), "description": data(description="太短"),
        "contact_name": data(contact_name=""), "contact_phone": data(contact_phone="12345"),
        "contact_email": data(contact_email="not-an-email"),
    }  # fmt: skip
    for field, values in bad.items():
        with pytest.raises(board.BoardFormError) as caught:
            board.save_post(actor=user, data=values)
        assert set(caught.value.errors) == {field}, field
    with pytest.raises(board.BoardFormError, match="最多 100 个字"):
        board.save_post(actor=user, data=data(title="长" * 101))
    assert not BoardPost.objects.exists()
    post = board.save_post(
        actor=user,
        data=data(title="<b>智慧社区</b>需求", description="<script>alert(1)</script>整合养老和政务服务的平台"),
    )
    assert post.title == "智慧社区需求" and "<script>" not in post.description
    for phone in ("0571-87001234", "+86 138 1234 5678", "(010)12345678", "400-810-8888", "0571-87001234转802"):
        assert board.valid_phone(phone), phone


def test_posts_are_public_only_after_moderation(cast: Cast, anon: Client) -> None:
    post = board.save_post(actor=cast.users["city-hz"], data=data())
    assert anon.get(f"/board/{post.pk}/").status_code == 404
    assert post.title not in text(anon.get("/board/"))
    analyst = cast.users["analyst"]
    with pytest.raises(PortalError, match="请填写审核意见"):
        board.moderate(actor=analyst, post=post, approve=False, note="  ")
    with pytest.raises(PortalError, match="只有监测机构分析员"):
        board.moderate(actor=cast.users["ministry"], post=post, approve=True)
    post = board.moderate(actor=analyst, post=post, approve=True, note="")
    assert post.status == "approved"
    with pytest.raises(PortalError, match="不能执行此操作"):
        board.moderate(actor=analyst, post=post, approve=True)
    page = anon.get(f"/board/{post.pk}/")
    assert page.status_code == 200 and "杭州市" in text(page) and "公共服务能力" in text(page)
    assert post.title in text(anon.get("/board/"))
    # Editing a published post sends it back to moderation; it leaves the public board meanwhile.
    edited = board.save_post(
        actor=cast.users["city-hz-approver"], data=data(title="智慧社区服务平台二期"), post=post,
        expected_version=post.version,
    )  # fmt: skip
    assert (edited.status, edited.version) == ("pending", 2)
    assert anon.get(f"/board/{post.pk}/").status_code == 404
    rejected = board.moderate(actor=analyst, post=edited, approve=False, note="请补充预算来源")
    assert rejected.moderation_note == "请补充预算来源"
    moderated = events(Action.BOARD_POST_MODERATE)
    assert [e.detail["approve"] for e in moderated] == [True, False]


def test_a_stale_edit_is_refused_and_overwrites_nothing(cast: Cast) -> None:
    post = publish(cast, "city-hz")
    first = board.save_post(actor=cast.users["city-hz"], data=data(title="第一次修改"), post=post, expected_version=1)
    with pytest.raises(PortalError, match="您的修改没有保存"):
        board.save_post(actor=cast.users["city-hz-approver"], data=data(title="旧页面的修改"), post=post,
                        expected_version=1)  # fmt: skip
    first.refresh_from_db()
    assert (first.title, first.version) == ("第一次修改", 2)
    # The analyst's page loaded before the change is stale too: the new text is not approved unseen.
    with pytest.raises(PortalError, match="重新打开后审核最新内容"):
        board.moderate(actor=cast.users["analyst"], post=first, approve=True, expected_version=1)
    # Over the page: the message says what to do, and the form keeps what was typed.
    c = cast.client("city-hz-approver")
    response = c.post(f"/board/mine/{post.pk}/edit/", data(title="又一个旧页面", version="1"), follow=True)
    assert "请重新打开该信息" in text(response) and "又一个旧页面" in text(response)
    first.refresh_from_db()
    assert first.title == "第一次修改"
    # Another organisation's post cannot be edited at all.
    with pytest.raises(PortalError, match="只能修改本单位"):
        board.save_post(actor=cast.users["city-gz"], data=data(), post=post, expected_version=2)


def test_closing_a_post_takes_it_off_the_board_and_ends_pending_requests(
    cast: Cast, matched: dict[str, BoardPost], anon: Client
) -> None:
    need, solution = matched["need"], matched["solution"]
    asked = board.request_contact(actor=cast.users["enterprise"], from_post=solution, post=need)
    board.close_post(actor=cast.users["city-hz"], post=need)
    asked.refresh_from_db()
    assert asked.status == "declined"
    assert anon.get(f"/board/{need.pk}/").status_code == 404
    assert board.suggestions(solution) == []
    with pytest.raises(PortalError, match="只能关闭本单位"):
        board.close_post(actor=cast.users["enterprise"], post=need)
    assert len(events(Action.BOARD_POST_CLOSE)) == 1


# --- matching --------------------------------------------------------------------------------------------------


def test_suggestions_rank_the_relevant_solution_first(cast: Cast, shenzhou: User) -> None:
    need = publish(
        cast, "city-hz", title="智慧社区建设需求", description="建设智慧社区，为居民提供社区服务和养老服务的平台。"
    )
    relevant = publish(
        cast, "enterprise", title="智慧社区服务平台", area="C",
        description="智慧社区服务平台：社区服务、居家养老、物业和政务一网通办。",
    )  # fmt: skip
    unrelated = publish(
        cast, "enterprise-gz", title="工业互联网平台", area="B",
        description="面向制造企业的工业互联网平台，设备上云和生产数据分析。",
    )  # fmt: skip
    pending = board.save_post(actor=shenzhou, data=data(title="智慧社区服务平台（未审核）"))
    other_need = publish(cast, "city-gz", title="智慧社区需求")  # a need is never suggested for a need
    suggested = board.suggestions(need)
    posts = [s.post for s in suggested]
    assert posts[0] == relevant and suggested[0].same_area and suggested[0].score == 100.0
    assert unrelated not in posts or posts.index(unrelated) > posts.index(relevant)
    assert pending not in posts and other_need not in posts and need not in posts
    # The solution's own organisation's needs would never be offered back to it; the city's need is.
    assert need in [s.post for s in board.suggestions(relevant)]
    assert all(s.post.organisation != relevant.organisation for s in board.suggestions(relevant))


def test_the_public_board_filters_and_searches(cast: Cast, matched: dict[str, BoardPost], anon: Client) -> None:
    other = publish(
        cast, "city-gz", title="工业云平台需求", area="B", description="本市制造企业上云用云的平台需求和补贴。"
    )
    page = text(anon.get("/board/"))
    assert matched["need"].title in page and other.title in page
    assert other.title not in text(anon.get("/board/?q=智慧社区"))
    assert matched["need"].title in text(anon.get("/board/?q=智慧社区"))
    only_solutions = text(anon.get("/board/?kind=solution"))
    assert matched["solution"].title in only_solutions and matched["need"].title not in only_solutions
    assert other.title not in text(anon.get("/board/?area=C"))
    guangdong = text(anon.get("/board/?province=440000"))
    assert other.title in guangdong and matched["need"].title not in guangdong
    assert anon.get("/board/?page=x&area=Q&kind=zzz&province=<b>").status_code == 200


# --- contact requests and personal data ------------------------------------------------------------------------


def test_contacts_are_masked_for_the_public_and_unmatched_users(cast: Cast, matched: dict[str, BoardPost]) -> None:
    need = matched["need"]
    assert (mask_name("张三丰"), mask_phone(PHONE)) == ("张**", MASKED_PHONE)
    assert mask_email("zhangsan@example.cn") == "z***@example.cn"
    for client in (Client(), cast.client("city-gz"), cast.client("enterprise"), cast.client("analyst")):
        for url in ("/board/", f"/board/{need.pk}/"):
            page = text(client.get(url))
            assert PHONE not in page and "张三丰" not in page and "zhangsan@" not in page, url
            if client.session.get("_auth_user_id"):  # signed-in users see the masked contact
                assert MASKED_PHONE in page and "张**" in page, url
            else:  # anonymous visitors not even that
                assert MASKED_PHONE not in page and "张**" not in page and "对接成功后可见" in page, url
    assert PHONE not in text(cast.client("analyst").get(f"/board/moderation/{need.pk}/"))
    assert not board.contact_visible(cast.users["enterprise"], need)
    assert board.contact_visible(cast.users["city-hz-approver"], need)  # the posting organisation
    assert not events(Action.CONTACT_VIEW)


def test_contacts_are_revealed_to_both_sides_only_after_acceptance(
    cast: Cast, matched: dict[str, BoardPost], shenzhou: User
) -> None:
    need, solution = matched["need"], matched["solution"]
    enterprise, city = cast.client("enterprise"), cast.client("city-hz")
    # The enterprise asks from its solution's page (a suggestion there).
    page = text(enterprise.get(f"/board/mine/{solution.pk}/"))
    assert need.title in page and 'data-testid="suggestions"' in page
    response = enterprise.post(
        f"/board/{need.pk}/request/", {"from_post": solution.pk, "message": "我们有成熟的方案"}, follow=True
    )
    assert "已向杭州市发出对接申请" in text(response)
    contact_request = ContactRequest.objects.get()
    # Pending: still masked for both sides.
    for client in (enterprise, city):
        requests_page = text(client.get("/board/requests/"))
        assert PHONE not in requests_page and "0571-87001234" not in requests_page
    assert PHONE not in text(enterprise.get(f"/board/{need.pk}/"))
    # Another organisation cannot answer it.
    stranger = cast.client("city-gz").post(f"/board/requests/{contact_request.pk}/decide/", {"decision": "accept"})
    assert stranger.status_code == 404
    # The city accepts: each side now sees the other's contact, and each look is audited.
    response = city.post(f"/board/requests/{contact_request.pk}/decide/", {"decision": "accept"}, follow=True)
    assert "已同意对接" in text(response) and "0571-87001234" in text(response) and "王五" in text(response)
    assert PHONE in text(enterprise.get("/board/requests/"))
    assert PHONE in text(enterprise.get(f"/board/{need.pk}/"))
    assert board.contact_visible(cast.users["enterprise"], need)
    assert board.contact_visible(cast.users["city-hz-approver"], solution)
    viewed = events(Action.CONTACT_VIEW)
    assert len(viewed) == 3 and {e.actor_username for e in viewed} == {"city-hz", "enterprise"}
    assert events(Action.CONTACT_DECIDE)[0].detail["accept"] is True
    # Still masked for everyone else, and in the public list even for the matched side.
    assert PHONE not in text(cast.client("city-gz").get(f"/board/{need.pk}/"))
    assert PHONE not in text(Client().get(f"/board/{need.pk}/"))
    assert PHONE not in text(enterprise.get("/board/"))
    assert not board.contact_visible(shenzhou, need)


def test_a_declined_request_keeps_contacts_masked(cast: Cast, matched: dict[str, BoardPost]) -> None:
    need, solution = matched["need"], matched["solution"]
    asked = board.request_contact(actor=cast.users["enterprise"], from_post=solution, post=need)
    board.decide_request(actor=cast.users["city-hz"], contact_request=asked, accept=False)
    assert not board.contact_visible(cast.users["enterprise"], need)
    assert not board.contact_visible(cast.users["city-hz"], solution)
    assert PHONE not in text(cast.client("enterprise").get("/board/requests/"))
    with pytest.raises(PortalError, match="已婉拒"):
        board.decide_request(actor=cast.users["city-hz"], contact_request=asked, accept=True)
    with pytest.raises(PortalError, match="已婉拒"):
        board.request_contact(actor=cast.users["enterprise"], from_post=solution, post=need)


def test_a_duplicate_request_is_refused_cleanly(cast: Cast, matched: dict[str, BoardPost]) -> None:
    need, solution = matched["need"], matched["solution"]
    enterprise = cast.client("enterprise")
    for _ in range(2):  # a double click
        response = enterprise.post(f"/board/{need.pk}/request/", {"from_post": solution.pk, "back": "detail"})
        assert response.status_code == 302 and response["Location"] == f"/board/{need.pk}/"
    assert ContactRequest.objects.count() == 1
    page = text(enterprise.get(f"/board/{need.pk}/"))
    assert "不必重复申请" in page
    # Asking back the other way is refused too: the city answers the request instead.
    with pytest.raises(PortalError, match="对方已经就这两条信息向您申请对接"):
        board.request_contact(actor=cast.users["city-hz"], from_post=need, post=solution)
    # Not to one's own organisation, not from another's post, not between two needs.
    with pytest.raises(PortalError, match="不能向本单位"):
        board.request_contact(actor=cast.users["enterprise"], from_post=solution, post=solution)
    other_need = publish(cast, "city-gz", title="广州需求")
    with pytest.raises(PortalError, match="只能用本单位"):
        board.request_contact(actor=cast.users["enterprise"], from_post=need, post=other_need)
    with pytest.raises(PortalError, match="只能与企业解决方案对接"):
        board.request_contact(actor=cast.users["city-hz"], from_post=need, post=other_need)
    # A withdrawn request may be asked again.
    asked = ContactRequest.objects.get()
    board.withdraw_request(actor=cast.users["enterprise"], contact_request=asked)
    again = board.request_contact(actor=cast.users["enterprise"], from_post=solution, post=need, message="再次申请")
    assert (again.pk, again.status, again.message) == (asked.pk, "pending", "再次申请")


def test_an_unpublished_post_cannot_ask_or_be_asked(cast: Cast, matched: dict[str, BoardPost]) -> None:
    draft = board.save_post(actor=cast.users["enterprise"], data=data(title="新方案"))
    with pytest.raises(PortalError, match="审核通过并发布后"):
        board.request_contact(actor=cast.users["enterprise"], from_post=draft, post=matched["need"])
    response = cast.client("city-hz").post(f"/board/{draft.pk}/request/", {"from_post": matched["need"].pk})
    assert response.status_code == 404


# --- who may reach which page ----------------------------------------------------------------------------------


def test_roles_and_tenants(cast: Cast, matched: dict[str, BoardPost]) -> None:
    pending = board.save_post(actor=cast.users["city-hz"], data=data(title="待审核的需求"))
    for username in ("analyst", "ministry", "province-zj", "expert", "auditor"):
        c = cast.client(username)
        assert c.get("/board/mine/").status_code == 403, username
        assert c.get("/board/requests/").status_code == 403, username
    for username in ("city-hz", "enterprise", "ministry", "province-zj"):
        assert cast.client(username).get("/board/moderation/").status_code == 403, username
    # Another city's or enterprise's view of a pending post: 404, whichever page.
    for username in ("city-gz", "enterprise"):
        c = cast.client(username)
        assert c.get(f"/board/{pending.pk}/").status_code == 404
        assert c.get(f"/board/mine/{pending.pk}/").status_code == 404
        assert c.get(f"/board/mine/{pending.pk}/edit/").status_code == 404
        assert c.post(f"/board/mine/{pending.pk}/close/").status_code == 404
    assert cast.client("city-hz-approver").get(f"/board/mine/{pending.pk}/").status_code == 200
    assert cast.client("analyst").get(f"/board/moderation/{pending.pk}/").status_code == 200
    # Changes are POST only.
    assert cast.client("city-hz").get(f"/board/mine/{pending.pk}/close/").status_code == 405
    assert board.posts_visible_to(cast.users["city-gz"]).filter(pk=pending.pk).count() == 0
    assert board.posts_visible_to(cast.users["analyst"]).filter(pk=pending.pk).count() == 1


def test_anonymous_visitors_read_the_public_pages(matched: dict[str, BoardPost], anon: Client) -> None:
    page = anon.get("/board/")
    assert page.status_code == 200 and "信息消费解决方案供需对接" in text(page)
    detail = anon.get(f"/board/{matched['solution'].pk}/")
    assert detail.status_code == 200 and "电信杭州分公司" in text(detail) and "对接成功后可见" in text(detail)
    assert "王**" not in text(detail)
    assert 'data-testid="request-form"' not in text(detail)
    assert anon.get("/board/mine/").status_code == 302
    assert anon.post(f"/board/{matched['need'].pk}/request/").status_code == 302


# --- the pages end to end --------------------------------------------------------------------------------------


def test_posting_and_moderating_through_the_pages(cast: Cast, anon: Client) -> None:
    city = cast.client("city-hz")
    form = city.get("/board/mine/new/")
    assert form.status_code == 200 and "placeholder" not in text(form)
    response = city.post("/board/mine/new/", data(contact_phone="abc"), follow=True)
    assert "联系电话格式不正确" in text(response) and not BoardPost.objects.exists()
    response = city.post("/board/mine/new/", data(), follow=True)
    assert "已提交" in text(response)
    post = BoardPost.objects.get()
    assert post.title in text(city.get("/board/mine/"))
    analyst = cast.client("analyst")
    assert post.title in text(analyst.get("/board/moderation/"))
    response = analyst.post(f"/board/moderation/{post.pk}/decide/", {"decision": "reject", "note": ""}, follow=True)
    assert "请填写审核意见" in text(response)
    response = analyst.post(
        f"/board/moderation/{post.pk}/decide/",
        {"decision": "reject", "note": "请写明预算", "version": "1"},
        follow=True,
    )
    assert "发布单位会看到审核意见" in text(response)
    assert "请写明预算" in text(city.get(f"/board/mine/{post.pk}/"))
    response = city.post(
        f"/board/mine/{post.pk}/edit/",
        data(version="1", description="补充：预算 800 万元，由市财政安排。"),
        follow=True,
    )
    assert "修改已保存" in text(response)
    post.refresh_from_db()
    response = analyst.post(
        f"/board/moderation/{post.pk}/decide/", {"decision": "approve", "version": str(post.version)}, follow=True
    )
    assert "已公开发布" in text(response)
    assert post.title in text(anon.get("/board/"))
    response = city.post(f"/board/mine/{post.pk}/close/", follow=True)
    assert "已关闭" in text(response)
    assert post.title not in text(anon.get("/board/"))


def test_the_analyst_takes_down_a_published_post_with_a_note(cast: Cast, matched: dict[str, BoardPost]) -> None:
    solution = matched["solution"]
    with pytest.raises(PortalError, match="请填写审核意见"):
        board.moderate(actor=cast.users["analyst"], post=solution, approve=False)
    taken = board.moderate(actor=cast.users["analyst"], post=solution, approve=False, note="内容与实际不符")
    assert taken.status == "rejected" and taken.moderation_note == "内容与实际不符"
    assert Client().get(f"/board/{solution.pk}/").status_code == 404
    assert solution.title not in text(Client().get("/board/"))
    assert events(Action.BOARD_POST_MODERATE)
