"""Account management: the system administrator creates and maintains accounts, the security administrator
assigns roles (三员分立), and every change is audited. Stale edits are refused."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from infocity.accounts import services
from infocity.accounts.models import Role, User
from infocity.accounts.validators import ComplexityValidator
from infocity.audit.models import Action, AuditEvent
from infocity.organisations.models import Organisation

from .conftest import PASSWORD, Cast


def test_sysadmin_creates_an_account_without_a_role(cast: Cast) -> None:
    client = cast.client("sysadmin")
    response = client.post(
        reverse("accounts:user_create"),
        {
            "username": "city-hz-2",
            "full_name": "王伟",
            "organisation": cast.orgs["hangzhou"].pk,
            "email": "wang@example.cn",
            "phone": "13800000000",
        },
    )
    assert response.status_code == 200
    password = response.context["password"]
    user = User.objects.get(username="city-hz-2")
    assert user.role == ""
    assert user.must_change_password
    assert user.check_password(password)
    event = AuditEvent.objects.filter(action=Action.ACCOUNT_CREATE).latest("id")
    assert event.actor == cast.users["sysadmin"]
    assert event.object_id == str(user.pk)


def test_duplicate_username_is_refused_with_a_chinese_message(cast: Cast) -> None:
    response = cast.client("sysadmin").post(
        reverse("accounts:user_create"),
        {"username": "city-hz", "full_name": "重复", "organisation": cast.orgs["hangzhou"].pk},
    )
    assert "已被使用" in response.content.decode()
    assert User.objects.filter(username="city-hz").count() == 1


def test_secadmin_assigns_a_fitting_role(cast: Cast) -> None:
    user = services.create_account(
        actor=cast.users["sysadmin"],
        username="new",
        full_name="新人",
        organisation=cast.orgs["hangzhou"],
        password=PASSWORD,
    )
    client = cast.client("secadmin")
    url = reverse("accounts:user_role", args=[user.pk])
    client.post(url, {"role": Role.CITY_APPROVER, "version": user.version})
    user.refresh_from_db()
    assert user.role == Role.CITY_APPROVER
    event = AuditEvent.objects.filter(action=Action.ROLE_ASSIGN).latest("id")
    assert event.detail == {"from": "", "to": "city_approver"}
    assert event.actor == cast.users["secadmin"]


def test_role_must_fit_the_organisation(cast: Cast) -> None:
    user = cast.users["city-hz"]
    with pytest.raises(ValidationError, match="须在省级主管部门中任职"):
        services.assign_role(
            actor=cast.users["secadmin"],
            user=user,
            role=Role.PROVINCE_REVIEWER,
            expected_version=user.version,
        )
    user.refresh_from_db()
    assert user.role == Role.CITY_REPORTER


def test_separated_duties(cast: Cast) -> None:
    target = cast.users["city-gz"]
    sysadmin, secadmin = cast.client("sysadmin"), cast.client("secadmin")
    # The system administrator cannot assign roles…
    assert (
        sysadmin.post(
            reverse("accounts:user_role", args=[target.pk]), {"role": "", "version": target.version}
        ).status_code
        == 403
    )
    # …and the security administrator cannot create, disable or reset accounts.
    assert secadmin.get(reverse("accounts:user_create")).status_code == 403
    assert secadmin.post(reverse("accounts:user_active", args=[target.pk]), {"active": "0"}).status_code == 403
    assert secadmin.post(reverse("accounts:user_reset_password", args=[target.pk])).status_code == 403
    # Neither reads the audit log.
    assert sysadmin.get(reverse("audit:event_list")).status_code == 403
    assert secadmin.get(reverse("audit:event_list")).status_code == 403
    target.refresh_from_db()
    assert target.is_active and target.role == Role.CITY_REPORTER


def test_secadmin_cannot_change_own_role(cast: Cast) -> None:
    me = cast.users["secadmin"]
    with pytest.raises(ValidationError, match="不能修改自己的角色"):
        services.assign_role(actor=me, user=me, role="", expected_version=me.version)


def test_stale_edit_is_refused_and_changes_nothing(cast: Cast) -> None:
    target = cast.users["city-gz"]
    loaded_version = target.version
    first = cast.client("sysadmin")
    url = reverse("accounts:user_edit", args=[target.pk])
    data = {"full_name": "李娜", "organisation": target.organisation_id, "email": "", "phone": ""}
    first.post(url, {**data, "version": loaded_version})
    # A second administrator saves a form loaded before the first save.
    response = first.post(url, {**data, "full_name": "赵敏", "version": loaded_version})
    assert "已被他人修改" in response.content.decode()
    target.refresh_from_db()
    assert target.full_name == "李娜"
    assert AuditEvent.objects.filter(action=Action.ACCOUNT_UPDATE, object_id=str(target.pk)).count() == 1


def test_personal_data_changes_are_audited_without_the_values(cast: Cast) -> None:
    target = cast.users["city-gz"]
    services.update_account(
        actor=cast.users["sysadmin"],
        user=target,
        full_name=target.full_name,
        email="new@example.cn",
        phone="13912345678",
        organisation=target.organisation,
        expected_version=target.version,
    )
    event = AuditEvent.objects.filter(action=Action.ACCOUNT_UPDATE).latest("id")
    assert "13912345678" not in str(event.detail)
    assert "new@example.cn" not in str(event.detail)
    assert set(event.detail["changes"]) == {"email", "phone"}


def test_disable_and_enable(cast: Cast) -> None:
    target = cast.users["city-gz"]
    client = cast.client("sysadmin")
    client.post(reverse("accounts:user_active", args=[target.pk]), {"active": "0"})
    target.refresh_from_db()
    assert not target.is_active
    client.post(reverse("accounts:user_active", args=[target.pk]), {"active": "1"})
    target.refresh_from_db()
    assert target.is_active
    actions = list(
        AuditEvent.objects.filter(object_id=str(target.pk), action__startswith="account.").values_list(
            "action", flat=True
        )
    )
    assert Action.ACCOUNT_DISABLE in actions and Action.ACCOUNT_ENABLE in actions


def test_sysadmin_cannot_disable_themselves(cast: Cast) -> None:
    me = cast.users["sysadmin"]
    with pytest.raises(ValidationError):
        services.set_active(actor=me, user=me, active=False)


def test_unlock(cast: Cast) -> None:
    target = cast.users["city-gz"]
    for _ in range(5):
        Client().post("/accounts/login/", {"username": "city-gz", "password": "bad"})
    target.refresh_from_db()
    assert target.is_locked()
    cast.client("sysadmin").post(reverse("accounts:user_unlock", args=[target.pk]))
    target.refresh_from_db()
    assert not target.is_locked()
    assert AuditEvent.objects.filter(action=Action.ACCOUNT_UNLOCK, object_id=str(target.pk)).exists()


def test_reset_password_forces_a_change_at_next_login(cast: Cast) -> None:
    target = cast.users["city-gz"]
    response = cast.client("sysadmin").post(reverse("accounts:user_reset_password", args=[target.pk]))
    temporary = response.context["password"]
    ComplexityValidator(min_classes=4).validate(temporary)

    client = Client()
    client.post("/accounts/login/", {"username": "city-gz", "password": temporary})
    # Every page leads to the password change until a new password is chosen.
    assert client.get("/organisations/")["Location"] == reverse("accounts:password_change")
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": temporary, "new_password1": "Guangzhou#2016", "new_password2": "Guangzhou#2016"},
    )
    assert response.status_code == 302
    assert client.get("/organisations/").status_code == 200
    target.refresh_from_db()
    assert not target.must_change_password
    assert AuditEvent.objects.filter(action=Action.PASSWORD_CHANGE, actor=target).exists()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1A!", None),
        ("Ab1!", "太短"),
        ("alllowercase", "至少包含"),
        ("12345678901", "只包含数字"),
        ("Password123", "太常见"),
    ],
)
def test_password_policy(cast: Cast, password: str, message: str | None) -> None:
    client = cast.client("city-hz")
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": password, "new_password2": password},
    )
    if message is None:
        assert response.status_code == 302
    else:
        assert response.status_code == 200
        assert message in response.content.decode()


def test_user_list_filters(cast: Cast) -> None:
    client = cast.client("sysadmin")
    response = client.get(reverse("accounts:user_list"), {"role": Role.PROVINCE_REVIEWER})
    assert {u.username for u in response.context["page"]} == {"province-zj", "province-gd"}
    response = client.get(reverse("accounts:user_list"), {"q": "hz"})
    assert {u.username for u in response.context["page"]} == {"city-hz", "city-hz-approver"}


def test_init_platform_bootstraps_once(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SYSADMIN", "SECADMIN", "AUDITOR"):
        monkeypatch.setenv(f"INFOCITY_{name}_PASSWORD", f"Init#{name}2016")
    call_command("init_platform")
    assert User.objects.get(username="secadmin").role == Role.SECADMIN
    assert User.objects.get(username="auditor").must_change_password
    with pytest.raises(CommandError, match="已经初始化"):
        call_command("init_platform")


def test_init_platform_rejects_weak_passwords_and_changes_nothing(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SYSADMIN", "SECADMIN", "AUDITOR"):
        monkeypatch.setenv(f"INFOCITY_{name}_PASSWORD", "123")
    with pytest.raises(CommandError, match="密码"):
        call_command("init_platform")
    assert not User.objects.exists()
    assert not Organisation.objects.exists()


@pytest.mark.parametrize("target", ["secadmin", "auditor"])
def test_sysadmin_cannot_take_over_the_other_administrators(cast: Cast, target: str) -> None:
    account = cast.users[target]
    client = cast.client("sysadmin")
    response = client.post(reverse("accounts:user_reset_password", args=[account.pk]), follow=True)
    assert "三员分立" in response.content.decode()
    client.post(reverse("accounts:user_active", args=[account.pk]), {"active": "0"})
    response = client.post(
        reverse("accounts:user_edit", args=[account.pk]),
        {"full_name": "改名", "organisation": account.organisation_id, "version": account.version},
    )
    assert "三员分立" in response.content.decode()
    account.refresh_from_db()
    assert account.is_active
    assert account.full_name == target
    assert account.check_password(PASSWORD)


def test_operator_resets_an_administrator_on_the_server(cast: Cast) -> None:
    out = io.StringIO()
    call_command("reset_account_password", "auditor", stdout=out)
    temporary = out.getvalue().strip().rsplit("：", 1)[1]
    auditor = User.objects.get(username="auditor")
    assert auditor.check_password(temporary) and auditor.must_change_password
    event = AuditEvent.objects.filter(action=Action.PASSWORD_RESET, object_id=str(auditor.pk)).get()
    assert event.actor is None


def test_operator_unlocks_a_locked_sysadmin(cast: Cast) -> None:
    for _ in range(5):
        Client().post("/accounts/login/", {"username": "sysadmin", "password": "bad"})
    assert cast.users["sysadmin"].is_locked()
    call_command("unlock_account", "sysadmin", stdout=io.StringIO())
    assert not cast.users["sysadmin"].is_locked()
    with pytest.raises(CommandError, match="没有用户名"):
        call_command("unlock_account", "nobody")


def test_moving_an_account_where_its_role_cannot_be_held_is_refused(cast: Cast) -> None:
    target = cast.users["city-gz"]
    with pytest.raises(ValidationError, match="请先由安全管理员撤销角色"):
        services.update_account(
            actor=cast.users["sysadmin"],
            user=target,
            full_name=target.full_name,
            email="",
            phone="",
            organisation=cast.orgs["guangdong"],
            expected_version=target.version,
        )
    target.refresh_from_db()
    assert target.role == Role.CITY_REPORTER
    assert target.organisation == cast.orgs["guangzhou"]


def test_activation_request_without_a_value_is_a_bad_request(cast: Cast) -> None:
    target = cast.users["city-gz"]
    response = cast.client("sysadmin").post(reverse("accounts:user_active", args=[target.pk]))
    assert response.status_code == 400
    target.refresh_from_db()
    assert target.is_active


@pytest.mark.parametrize(
    "page", ["user_detail", "user_edit", "user_role", "user_active", "user_unlock", "user_reset_password"]
)
def test_account_pages_refuse_everyone_but_the_administrators(cast: Cast, page: str) -> None:
    target = cast.users["city-gz"]
    allowed = {
        "user_detail": {"sysadmin", "secadmin"},
        "user_edit": {"sysadmin"},
        "user_role": {"secadmin"},
        "user_active": {"sysadmin"},
        "user_unlock": {"sysadmin"},
        "user_reset_password": {"sysadmin"},
    }[page]
    for username in cast.users:
        if username in allowed:
            continue
        response = cast.client(username).post(reverse(f"accounts:{page}", args=[target.pk]), {"active": "0"})
        assert response.status_code == 403, (username, page)
    target.refresh_from_db()
    assert target.is_active and target.role == Role.CITY_REPORTER
