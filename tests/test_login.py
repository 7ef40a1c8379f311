"""Login, lockout after consecutive failures, idle timeout, logout — and the audit trail of each."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from infocity.accounts.middleware import SEEN_AT
from infocity.accounts.models import LoginThrottle, User
from infocity.audit.models import Action, AuditEvent, Outcome

from .conftest import PASSWORD, Cast

LOGIN = "/accounts/login/"
IDLE = datetime.timedelta(minutes=30)
MINUTE = datetime.timedelta(minutes=1)


def post_login(client: Client, username: str, password: str, **extra: str) -> str:
    response = client.post(LOGIN, {"username": username, "password": password}, **extra)  # type: ignore[arg-type]
    return response.content.decode() if response.status_code == 200 else response["Location"]


def error_text(html: str) -> str:
    match = re.search(r'data-testid="form-error">(.*?)</div>', html, re.S)
    assert match, html[:200]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(1))).strip()


def test_login_page_is_chinese(db: None, anon: Client) -> None:
    html = anon.get(LOGIN).content.decode()
    assert '<html lang="zh-CN">' in html
    assert "用户登录" in html
    # Styled like every form, with the hints browsers and password managers use.
    assert 'autocomplete="username"' in html and 'autocomplete="current-password"' in html
    assert 'class="form-control"' in html


def test_successful_login_lands_on_home_and_is_audited(cast: Cast) -> None:
    client = Client()
    assert post_login(client, "city-hz", PASSWORD, REMOTE_ADDR="10.1.2.3") == "/"
    event = AuditEvent.objects.filter(action=Action.LOGIN_SUCCESS).latest("id")
    assert event.actor == cast.users["city-hz"]
    assert event.organisation == cast.orgs["hangzhou"]
    assert event.ip_address == "10.1.2.3"
    assert event.outcome == Outcome.SUCCESS
    assert client.get("/").status_code == 200


def test_next_parameter_is_followed_only_to_this_site(cast: Cast) -> None:
    client = Client()
    response = client.post(LOGIN + "?next=/organisations/", {"username": "city-hz", "password": PASSWORD})
    assert response["Location"] == "/organisations/"
    client = Client()
    response = client.post(LOGIN, {"username": "city-hz", "password": PASSWORD, "next": "https://evil.example/phish"})
    assert response["Location"] == "/"


def test_wrong_password_is_refused_in_chinese_and_audited(cast: Cast) -> None:
    html = post_login(Client(), "city-hz", "nope")
    assert "用户名或密码错误，请重新输入。" in html
    event = AuditEvent.objects.filter(action=Action.LOGIN_FAILURE).latest("id")
    assert event.actor == cast.users["city-hz"]
    assert event.detail == {"reason": "bad_password"}
    assert LoginThrottle.objects.get(username="city-hz").failures == 1


def test_unknown_user_gets_the_same_message_and_is_audited_by_name(cast: Cast) -> None:
    html = post_login(Client(), "no-such-user", "whatever")
    assert "用户名或密码错误，请重新输入。" in html
    event = AuditEvent.objects.filter(action=Action.LOGIN_FAILURE).latest("id")
    assert event.actor is None
    assert event.actor_username == "no-such-user"


def test_five_consecutive_failures_lock_for_fifteen_minutes(cast: Cast) -> None:
    client = Client()
    for _ in range(4):
        assert "用户名或密码错误" in post_login(client, "city-hz", "bad")
    html = post_login(client, "city-hz", "bad")
    assert "连续 5 次登录失败，账号已被锁定 15 分钟" in html
    user = User.objects.get(username="city-hz")
    throttle = LoginThrottle.objects.get(username="city-hz")
    assert throttle.locked_until is not None
    remaining = throttle.locked_until - timezone.now()
    assert datetime.timedelta(minutes=14) < remaining <= datetime.timedelta(minutes=15)
    assert AuditEvent.objects.filter(action=Action.LOGIN_LOCKED, actor=user).count() == 1

    # The right password does not help while locked, and the refusal is audited.
    html = post_login(client, "city-hz", PASSWORD)
    assert "账号已被锁定" in html
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILURE, detail__reason="locked").count() == 1
    assert client.get("/").status_code == 302


def test_lock_expires(cast: Cast) -> None:
    LoginThrottle.objects.create(username="city-hz", locked_until=timezone.now() - datetime.timedelta(seconds=1))
    assert post_login(Client(), "city-hz", PASSWORD) == "/"
    assert not LoginThrottle.objects.filter(username="city-hz").exists()


def test_success_resets_the_consecutive_count(cast: Cast) -> None:
    client = Client()
    for _ in range(4):
        post_login(client, "city-hz", "bad")
    assert post_login(Client(), "city-hz", PASSWORD) == "/"
    assert not LoginThrottle.objects.filter(username="city-hz").exists()
    for _ in range(4):
        post_login(client, "city-hz", "bad")
    assert not User.objects.get(username="city-hz").is_locked()


def test_disabled_account_cannot_log_in(cast: Cast) -> None:
    User.objects.filter(username="city-hz").update(is_active=False)
    assert "用户名或密码错误" in post_login(Client(), "city-hz", PASSWORD)
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILURE).latest("id").detail == {"reason": "inactive"}


def test_disabling_ends_an_open_session(cast: Cast) -> None:
    client = cast.client("city-hz")
    assert client.get("/").status_code == 200
    User.objects.filter(username="city-hz").update(is_active=False)
    assert client.get("/").status_code == 302


def session_expires(client: Client) -> datetime.datetime:
    return Session.objects.get(session_key=client.cookies["sessionid"].value).expire_date


def test_idle_timeout_is_thirty_minutes_and_sliding(cast: Cast) -> None:
    client = Client()
    before = timezone.now()
    post_login(client, "city-hz", PASSWORD)
    assert client.session.get_expiry_age() == 30 * 60
    assert before + IDLE <= session_expires(client) <= timezone.now() + IDLE
    # Activity pushes the expiry forward, saving the session at most once a minute: right after the login there is
    # nothing to write, and the session still ends no later than 30 minutes after this request.
    response = client.get("/")
    assert "sessionid" not in response.cookies
    assert session_expires(client) <= timezone.now() + IDLE
    # A minute after the last save, a request saves it again: a new expiry, the cookie re-sent with a fresh max-age.
    session = client.session
    session[SEEN_AT] -= 60
    session.save()
    Session.objects.filter(session_key=session.session_key).update(expire_date=timezone.now() + IDLE - MINUTE)
    before = timezone.now()
    response = client.get("/")
    assert response.cookies["sessionid"]["max-age"] == 30 * 60
    assert before + IDLE <= session_expires(client) <= timezone.now() + IDLE


def test_the_session_touch_interval_never_outlives_the_idle_timeout(cast: Cast, settings: Any) -> None:
    settings.SESSION_COOKIE_AGE = 120
    settings.SESSION_TOUCH_SECONDS = 3600  # misconfigured: longer than the session itself
    client = Client()
    post_login(client, "city-hz", PASSWORD)
    session = client.session
    session[SEEN_AT] -= 61  # past half the session's age
    session.save()
    assert client.get("/").cookies["sessionid"]["max-age"] == 120


def test_expired_session_sends_back_to_login(cast: Cast) -> None:
    client = Client()
    post_login(client, "city-hz", PASSWORD)
    session = client.session
    session.set_expiry(timezone.now() - datetime.timedelta(seconds=1))
    session.save()
    response = client.get("/organisations/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_logout_requires_post_and_is_audited(cast: Cast) -> None:
    client = Client()
    post_login(client, "city-hz", PASSWORD)
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response["Location"] == LOGIN
    assert AuditEvent.objects.filter(action=Action.LOGOUT, actor=cast.users["city-hz"]).count() == 1
    assert client.get("/").status_code == 302


def test_login_form_requires_csrf(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"username": "city-hz", "password": PASSWORD})
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()


def test_unknown_names_lock_exactly_like_real_ones(cast: Cast) -> None:
    """The answers do not reveal which user names exist."""
    answers = {}
    for username in ("city-hz", "nobody-here"):
        client = Client()
        # The lock's end time may differ by a minute between the two runs; everything else must be equal.
        answers[username] = [
            re.sub(r"\d\d:\d\d", "HH:MM", error_text(post_login(client, username, "bad"))) for _ in range(6)
        ]
    assert answers["city-hz"] == answers["nobody-here"]
    assert "账号已被锁定" in answers["nobody-here"][-1]


def test_one_address_cannot_try_without_limit(cast: Cast, settings: Any) -> None:
    settings.LOGIN_IP_FAILURE_LIMIT = 6
    client = Client()
    for i in range(6):
        post_login(client, f"guess-{i}", "bad", REMOTE_ADDR="10.9.9.9")
    html = post_login(client, "city-hz", PASSWORD, REMOTE_ADDR="10.9.9.9")
    assert "此地址登录失败次数过多" in html
    # Other addresses are unaffected.
    assert post_login(Client(), "city-hz", PASSWORD, REMOTE_ADDR="10.9.9.10") == "/"


def test_logged_in_user_with_crafted_next_is_not_an_error(cast: Cast) -> None:
    client = cast.client("city-hz")
    response = client.get(LOGIN + "?next=foo")
    assert response.status_code == 302
    response = client.get(LOGIN + "?next=//evil.example/")
    assert response["Location"] == "/"


def test_guessing_the_current_password_in_an_open_session_locks_the_account(cast: Cast) -> None:
    client = cast.client("city-hz")
    url = reverse("accounts:password_change")
    data = {"old_password": "guess", "new_password1": "Brand#New2016", "new_password2": "Brand#New2016"}
    for _ in range(4):
        assert client.post(url, data).status_code == 200
    response = client.post(url, data)
    assert response["Location"] == LOGIN
    assert cast.users["city-hz"].is_locked()
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(detail__reason="reauthentication").count() == 5


def test_new_password_must_differ_from_the_current_one(cast: Cast) -> None:
    client = cast.client("city-hz")
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD},
    )
    assert "新密码不能与当前密码相同" in response.content.decode()
