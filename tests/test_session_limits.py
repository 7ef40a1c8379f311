"""Absolute session timeout (12 hours however active) and an administrator ending a user's sessions."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client
from django.urls import reverse

from infocity.accounts.middleware import LOGIN_AT
from infocity.accounts.models import User
from infocity.audit.models import Action, AuditEvent, Outcome

from .conftest import PASSWORD, Cast

LOGIN = "/accounts/login/"


def logged_in(username: str) -> Client:
    client = Client()
    response = client.post(LOGIN, {"username": username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    return client


def age_session(client: Client, seconds: float) -> None:
    session = client.session
    session[LOGIN_AT] = session[LOGIN_AT] - seconds
    session.save()


def test_login_stamps_the_session(cast: Cast) -> None:
    before = time.time()
    client = logged_in("city-hz")
    assert before <= client.session[LOGIN_AT] <= time.time()


def test_an_active_session_still_ends_after_twelve_hours(cast: Cast) -> None:
    client = logged_in("city-hz")
    age_session(client, 11 * 3600 + 59 * 60)
    assert client.get("/").status_code == 200  # activity keeps the idle timeout away …
    age_session(client, 2 * 60)
    response = client.get("/organisations/")  # … but not the absolute one
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=%2Forganisations%2F"
    page = client.get(response["Location"]).content.decode()
    assert "登录已超过 12 小时，为安全起见请重新登录。" in page
    assert client.get("/").status_code == 302  # logged out, not just redirected once
    event = AuditEvent.objects.filter(action=Action.LOGOUT).latest("id")
    assert event.actor == cast.users["city-hz"]
    assert event.detail == {"reason": "absolute_timeout"}


def test_the_absolute_timeout_is_configurable(cast: Cast, settings: Any) -> None:
    settings.SESSION_ABSOLUTE_HOURS = 2
    client = logged_in("city-hz")
    age_session(client, 2 * 3600 + 1)
    assert client.get("/").status_code == 302


def test_htmx_requests_are_sent_to_the_login_page_whole(cast: Cast) -> None:
    client = logged_in("city-hz")
    age_session(client, 13 * 3600)
    response = client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"] == LOGIN


def test_sysadmin_ends_every_session_of_a_user(cast: Cast) -> None:
    office, home = logged_in("city-hz"), logged_in("city-hz")
    other = logged_in("city-gz")
    admin = cast.client("sysadmin")
    url = reverse("accounts:user_end_sessions", args=[cast.users["city-hz"].pk])
    assert admin.get(url).status_code == 405
    response = admin.post(url, follow=True)
    assert "已结束该用户的全部会话" in response.content.decode()
    for client in (office, home):
        response = client.get("/")
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)
        assert "您的会话已被系统管理员结束，请重新登录。" in client.get(response["Location"]).content.decode()
    assert other.get("/").status_code == 200  # nobody else's
    event = AuditEvent.objects.get(action=Action.SESSIONS_END)
    assert event.actor == cast.users["sysadmin"] and event.outcome == Outcome.SUCCESS
    assert event.object_id == str(cast.users["city-hz"].pk)
    # The user may log in again at once: ending sessions is not disabling the account.
    assert logged_in("city-hz").get("/").status_code == 200


def test_ending_sessions_follows_the_separation_of_duties(cast: Cast) -> None:
    admin = cast.client("sysadmin")
    for target in ("secadmin", "auditor", "sysadmin"):
        admin.post(reverse("accounts:user_end_sessions", args=[cast.users[target].pk]))
        assert User.objects.get(username=target).sessions_ended_at is None, target
    assert not AuditEvent.objects.filter(action=Action.SESSIONS_END).exists()
    # Only the system administrator manages accounts.
    for role_user in ("secadmin", "auditor", "ministry"):
        response = cast.client(role_user).post(reverse("accounts:user_end_sessions", args=[cast.users["city-hz"].pk]))
        assert response.status_code in {403, 404}, role_user
    assert User.objects.get(username="city-hz").sessions_ended_at is None


def test_the_detail_page_offers_the_action(cast: Cast) -> None:
    page = cast.client("sysadmin").get(reverse("accounts:user_detail", args=[cast.users["city-hz"].pk]))
    assert 'data-testid="end-sessions"' in page.content.decode()
