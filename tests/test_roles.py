"""Each role sees what it should, gets 403 for another role's pages and 404 for another tenant's objects."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import Client
from django.urls import reverse

from infocity.accounts.services import create_account
from infocity.audit.models import Action, AuditEvent
from infocity.organisations.models import Cohort

from .conftest import Cast

ALL_USERS = [
    "sysadmin", "secadmin", "auditor", "ministry", "analyst", "province-zj", "province-gd",
    "city-hz", "city-hz-approver", "city-gz", "expert", "enterprise",
]  # fmt: skip


@pytest.mark.parametrize("username", ALL_USERS)
def test_home_shows_organisation_and_role(cast: Cast, username: str) -> None:
    user = cast.users[username]
    response = cast.client(username).get(reverse("workspace:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert user.organisation.name in html
    assert user.role_label in html


def nav_names(cast: Cast, username: str) -> set[str]:
    response = cast.client(username).get(reverse("workspace:home"))
    return {entry.url_name for entry in response.context["nav_entries"]}


def test_navigation_depends_on_role(cast: Cast) -> None:
    assert nav_names(cast, "auditor") == {"audit:event_list"}
    assert "accounts:user_list" in nav_names(cast, "sysadmin")
    assert "audit:event_list" not in nav_names(cast, "sysadmin")
    assert "accounts:user_list" in nav_names(cast, "secadmin")
    assert nav_names(cast, "city-hz") == {
        "organisations:list",
        "organisations:cohort_list",
        "reporting:queue",
        "reporting:submissions",
        "reporting:cycles",
        "analytics:dashboard",
        "analytics:reports",
        "tokens:list",
        "bulk:index",
        "progress:list",
        "board:mine",
    }
    assert nav_names(cast, "enterprise") >= {"progress:list", "board:mine"}
    assert "portal:releases" in nav_names(cast, "ministry") and "portal:releases" not in nav_names(cast, "analyst")
    assert "board:moderation" in nav_names(cast, "analyst") and "board:moderation" not in nav_names(cast, "ministry")
    assert "progress:list" not in nav_names(cast, "expert")
    assert "analytics:outliers" in nav_names(cast, "analyst")
    assert "analytics:outliers" not in nav_names(cast, "ministry")
    assert "accounts:user_list" not in nav_names(cast, "ministry")


ROLE_PAGES = {
    "accounts:user_list": {"sysadmin", "secadmin"},
    "accounts:user_create": {"sysadmin"},
    "audit:event_list": {"auditor"},
    "organisations:division_list": {"ministry", "analyst", "sysadmin", "secadmin"},
    "organisations:cohort_list": {"ministry", "analyst", "province-zj", "province-gd", "city-hz",
                                  "city-hz-approver", "city-gz"},
    "organisations:list": set(ALL_USERS) - {"auditor"},
    "analytics:outliers": {"analyst"},
    "analytics:reports": {"ministry", "analyst", "province-zj", "province-gd", "city-hz", "city-hz-approver",
                          "city-gz"},
    "progress:list": {"ministry", "analyst", "province-zj", "province-gd", "city-hz", "city-hz-approver", "city-gz",
                      "enterprise"},
    "portal:releases": {"ministry"},
    "showcase:manage": {"ministry"},
    "board:mine": {"city-hz", "city-hz-approver", "city-gz", "enterprise"},
    "board:moderation": {"analyst"},
}  # fmt: skip


@pytest.mark.parametrize("page", sorted(ROLE_PAGES))
def test_role_pages(cast: Cast, page: str) -> None:
    for username in ALL_USERS:
        status = cast.client(username).get(reverse(page)).status_code
        expected = 200 if username in ROLE_PAGES[page] else 403
        assert status == expected, f"{username} on {page}: {status}"


def test_refused_role_is_audited_and_explained_in_chinese(cast: Cast) -> None:
    response = cast.client("city-hz").get(reverse("audit:event_list"))
    assert response.status_code == 403
    assert "您当前的角色不能使用此功能" in response.content.decode()
    event = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).latest("id")
    assert event.actor == cast.users["city-hz"]
    assert event.detail["path"] == reverse("audit:event_list")


def org_status(cast: Cast, username: str, org_key: str) -> int:
    url = reverse("organisations:detail", args=[cast.orgs[org_key].pk])
    return cast.client(username).get(url).status_code


def test_city_sees_its_own_city_only(cast: Cast) -> None:
    assert org_status(cast, "city-hz", "hangzhou") == 200
    assert org_status(cast, "city-hz-approver", "hangzhou") == 200
    for other in ("guangzhou", "jiaxing", "zhejiang", "ministry", "agency"):
        assert org_status(cast, "city-hz", other) == 404


def test_city_sees_enterprises_registered_under_it(cast: Cast) -> None:
    assert org_status(cast, "city-hz", "telecom") == 200
    assert org_status(cast, "city-gz", "telecom") == 404


def test_province_sees_its_cities_not_other_provinces(cast: Cast) -> None:
    for own in ("zhejiang", "hangzhou", "jiaxing"):
        assert org_status(cast, "province-zj", own) == 200
    for other in ("guangdong", "guangzhou", "ningbo", "ningbo-plan", "ministry"):
        assert org_status(cast, "province-zj", other) == 404
    assert org_status(cast, "province-gd", "hangzhou") == 404


def test_national_roles_see_every_organisation(cast: Cast) -> None:
    for username in ("ministry", "analyst", "sysadmin", "secadmin"):
        for key in cast.orgs:
            assert org_status(cast, username, key) == 200


def test_expert_and_enterprise_see_only_their_own(cast: Cast) -> None:
    assert org_status(cast, "expert", "institute") == 200
    assert org_status(cast, "expert", "hangzhou") == 404
    assert org_status(cast, "enterprise", "telecom") == 200
    assert org_status(cast, "enterprise", "hangzhou") == 404


def test_organisation_list_is_scoped(cast: Cast) -> None:
    response = cast.client("province-gd").get(reverse("organisations:list"))
    names = {org.name for org in response.context["organisations"]}
    assert names == {"广东省", "广州市"}


def test_cohort_members_are_scoped(cast: Cast) -> None:
    full = Cohort.objects.get(name="2016 全面监测")
    url = reverse("organisations:cohort_detail", args=[full.pk])
    response = cast.client("province-zj").get(url)
    assert [m.city.name for m in response.context["memberships"]] == ["杭州市", "嘉兴市"]
    response = cast.client("city-gz").get(url)
    assert [m.city.name for m in response.context["memberships"]] == ["广州市"]
    pilot = Cohort.objects.get(name="2016 试运行监测")
    # 嘉兴 is not in the pilot cohort: a 嘉兴 user would get 404; 杭州 sees it.
    assert cast.client("city-hz").get(reverse("organisations:cohort_detail", args=[pilot.pk])).status_code == 200


def test_account_scope(cast: Cast) -> None:
    from infocity.accounts.scoping import get_user_for, users_visible_to

    # Account administrators see every account; everyone else only their own.
    assert users_visible_to(cast.users["secadmin"]).count() == len(cast.users)
    assert list(users_visible_to(cast.users["province-gd"])) == [cast.users["province-gd"]]
    with pytest.raises(Http404):
        get_user_for(cast.users["province-gd"], cast.users["city-gz"].pk)
    url = reverse("accounts:user_detail", args=[cast.users["city-gz"].pk])
    assert cast.client("sysadmin").get(url).status_code == 200
    assert cast.client("province-gd").get(url).status_code == 403


def test_reaching_for_another_tenants_object_is_audited(cast: Cast) -> None:
    target = cast.orgs["guangzhou"]
    assert org_status(cast, "city-hz", "guangzhou") == 404
    event = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).latest("id")
    assert event.actor == cast.users["city-hz"]
    assert (event.object_type, event.object_id) == ("organisations.Organisation", str(target.pk))
    # A primary key that does not exist at all is a plain 404 with nothing to record.
    before = AuditEvent.objects.count()
    assert cast.client("city-hz").get(reverse("organisations:detail", args=[987654])).status_code == 404
    assert AuditEvent.objects.count() == before


def test_unknown_object_is_404_with_chinese_page(cast: Cast) -> None:
    response = cast.client("ministry").get(reverse("organisations:detail", args=[999999]))
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_user_without_role_sees_nothing(cast: Cast) -> None:
    pending = create_account(
        actor=cast.users["sysadmin"],
        username="newbie",
        full_name="新用户",
        organisation=cast.orgs["hangzhou"],
        password="Fresh@2016pass",
        must_change_password=False,
    )
    client = Client()
    client.force_login(pending)
    response = client.get(reverse("workspace:home"))
    assert "尚未分配角色" in response.content.decode()
    assert client.get(reverse("organisations:list")).status_code == 403
    assert client.get(reverse("organisations:detail", args=[cast.orgs["hangzhou"].pk])).status_code == 403
