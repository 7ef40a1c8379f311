"""The second factor: the ministry, the agency and the three administrators reach nothing with a password alone —
they enrol an authenticator, then give a one-time code at every login; others may enrol one; the system
administrator resets a lost one; every step is audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from infocity.accounts.models import User
from infocity.accounts.second_factor import current_code
from infocity.audit.models import Action, AuditEvent, Outcome

from .conftest import PASSWORD, Cast

PAGES = ["/", "/analytics/", "/accounts/me/", "/portal/", "/audit/", "/evaluation/", "/api/v1/docs"]


def code(device: TOTPDevice) -> str:
    return current_code(device)


def password_login(username: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def events(action: Action, outcome: Outcome | None = None) -> int:
    found = AuditEvent.objects.filter(action=action)
    return found.filter(outcome=outcome).count() if outcome else found.count()


@pytest.fixture
def no_delay(settings: Any) -> None:
    """Without django-otp's growing delay after a wrong code (it has its own test below)."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def test_an_analyst_without_a_second_factor_reaches_nothing_but_enrolment(cast: Cast, no_delay: None) -> None:
    client = password_login("analyst")
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/accounts/second-factor/enrol/?next="), page
    enrol = client.get("/accounts/second-factor/enrol/")
    html = enrol.content.decode()
    assert enrol.status_code == 200 and "<svg" in html and 'data-testid="otp-secret"' in html
    device = TOTPDevice.objects.get(user=cast.users["analyst"], confirmed=False)
    # A wrong code is refused and changes nothing.
    refused = client.post(
        "/accounts/second-factor/enrol/", {"token": "000000" if code(device) != "000000" else "111111"}
    )
    assert "验证码不正确" in refused.content.decode() and not TOTPDevice.objects.filter(confirmed=True).exists()
    assert events(Action.OTP_ENROL, Outcome.FAILURE) == 1
    # The right one binds it and opens the platform.
    done = client.post("/accounts/second-factor/enrol/", {"token": code(device), "next": "/analytics/"})
    assert done.status_code == 302 and done["Location"] == "/analytics/"
    assert TOTPDevice.objects.get(pk=device.pk).confirmed and events(Action.OTP_ENROL, Outcome.SUCCESS) == 1
    assert client.get("/").status_code == 200


def test_every_login_then_asks_for_a_fresh_code(cast: Cast, no_delay: None) -> None:
    user = cast.users["ministry"]
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    client = password_login("ministry")
    response = client.get("/")
    assert response["Location"].startswith("/accounts/second-factor/?next=")
    # An enrolled account cannot bind a new authenticator with the password alone.
    assert client.get("/accounts/second-factor/enrol/")["Location"].startswith("/accounts/second-factor/")
    wrong = client.post("/accounts/second-factor/", {"token": "12345"})
    assert "验证码不正确" in wrong.content.decode() and client.get("/").status_code == 302
    token = code(device)
    assert client.post("/accounts/second-factor/", {"token": token})["Location"] == "/"
    assert client.get("/").status_code == 200
    assert events(Action.OTP_VERIFY, Outcome.SUCCESS) == 1 and events(Action.OTP_VERIFY, Outcome.FAILURE) == 1
    # The same code cannot be used twice (a code seen over a shoulder is spent).
    other = password_login("ministry")
    replay = other.post("/accounts/second-factor/", {"token": token})
    assert replay.status_code == 200 and other.get("/").status_code == 302


def test_wrong_codes_are_throttled(cast: Cast) -> None:
    device = TOTPDevice.objects.create(user=cast.users["auditor"], name="app", confirmed=True)
    client = password_login("auditor")
    wrong = "000000" if code(device) != "000000" else "111111"
    for _ in range(3):
        client.post("/accounts/second-factor/", {"token": wrong})
    throttled = client.post("/accounts/second-factor/", {"token": code(device)})
    assert "错误次数过多" in throttled.content.decode()
    assert events(Action.OTP_VERIFY, Outcome.DENIED) >= 1 and client.get("/audit/").status_code == 302


@pytest.mark.parametrize("username", ["sysadmin", "secadmin", "auditor", "ministry", "analyst"])
def test_the_roles_that_need_it(cast: Cast, username: str) -> None:
    assert password_login(username).get("/").status_code == 302


def test_a_city_reporter_may_enrol_and_is_then_asked_too(cast: Cast) -> None:
    client = password_login("city-hz")
    assert client.get("/").status_code == 200  # not required for this role
    client.get("/accounts/second-factor/enrol/")
    device = TOTPDevice.objects.get(user=cast.users["city-hz"])
    client.post("/accounts/second-factor/enrol/", {"token": code(device)})
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert password_login("city-hz").get("/")["Location"].startswith("/accounts/second-factor/?next=")


def test_an_authenticator_enrolled_elsewhere_counts_at_the_next_request(cast: Cast) -> None:
    """The user is loaded with whether a second factor is enrolled, in one query on every request (not kept in
    the session): a session that began with a password alone is asked for the code as soon as a device exists."""
    client = password_login("city-hz")
    assert client.get("/").status_code == 200
    TOTPDevice.objects.create(user=cast.users["city-hz"], name="app", confirmed=True)
    assert client.get("/")["Location"].startswith("/accounts/second-factor/?next=")


def test_the_system_administrator_resets_a_lost_authenticator(cast: Cast) -> None:
    city = cast.users["city-hz"]
    TOTPDevice.objects.create(user=city, name="app", confirmed=True)
    secadmin = cast.users["secadmin"]
    TOTPDevice.objects.create(user=secadmin, name="app", confirmed=True)
    sysadmin = cast.client("sysadmin")
    response = sysadmin.post(f"/accounts/users/{city.pk}/reset-second-factor/", follow=True)
    assert "已重置" in response.content.decode() and not TOTPDevice.objects.filter(user=city).exists()
    assert events(Action.OTP_RESET) == 1
    # Not the other administrators' (三员分立), and nobody else may reset.
    refused = sysadmin.post(f"/accounts/users/{secadmin.pk}/reset-second-factor/", follow=True)
    assert "只能由运维人员" in refused.content.decode() and TOTPDevice.objects.filter(user=secadmin).exists()
    assert cast.client("secadmin").post(f"/accounts/users/{city.pk}/reset-second-factor/").status_code == 403
    assert isinstance(User.objects.get(pk=city.pk), User)


def test_the_demonstration_accounts_have_documented_secrets(cast: Cast) -> None:
    import base64
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from infocity.accounts.second_factor import enrol_demo
    from infocity.demo.models import DemoDataset

    analyst = cast.users["analyst"]
    device = enrol_demo(analyst)
    # The README's table lists the base32 form of each demo secret.
    assert base64.b32encode(device.bin_key).decode() == "FAVENT43OCJHJICQAUUH2O44UAAEYZ6U"
    with pytest.raises(CommandError, match="只有载入演示数据"):
        call_command("demo_totp", "analyst")
    DemoDataset.objects.create(seed=1)
    out = io.StringIO()
    call_command("demo_totp", "analyst", stdout=out)
    assert out.getvalue().strip() == code(device)
    with pytest.raises(CommandError, match="不是绑定了演示验证器"):
        call_command("demo_totp", "city-hz")
