"""Passwords age and may not come back: older than the maximum age (90 days by default) they must be changed before
anything else, and a new one may not repeat the current password or any of the last five."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from infocity.accounts.models import PasswordHistory, User

from .conftest import PASSWORD, Cast, signed_in

PASSWORDS = [f"Second#{n}Pass" for n in range(7)]


def change(client: Any, old: str, new: str) -> Any:
    return client.post("/accounts/me/password/", {"old_password": old, "new_password1": new, "new_password2": new})


def test_the_last_five_passwords_cannot_come_back(cast: Cast) -> None:
    client = cast.client("city-hz")
    current = PASSWORD
    for new in PASSWORDS[:5]:
        assert change(client, current, new).status_code == 302, new
        current = new
    assert PasswordHistory.objects.filter(user=cast.users["city-hz"]).count() == 5
    # The current one and the four before it are refused, with the reason; nothing changes.
    for repeated, reason in ((PASSWORDS[4], "不能与当前密码相同"), (PASSWORDS[1], "不能与最近 5 次使用过的密码相同")):
        response = change(client, current, repeated)
        assert response.status_code == 200 and reason in response.content.decode(), repeated
        assert User.objects.get(username="city-hz").check_password(current)
    # The sixth-newest (the original password) has left the history: it may be used again.
    assert change(client, current, PASSWORD).status_code == 302


def test_an_expired_password_must_be_changed_first(cast: Cast, settings: Any) -> None:
    user = cast.users["city-hz"]
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - datetime.timedelta(days=91))
    client = cast.client("city-hz")
    response = client.get("/reporting/")
    assert response.status_code == 302 and response["Location"] == "/accounts/me/password/"
    page = client.get("/accounts/me/password/").content.decode()
    assert 'data-testid="password-expired"' in page and "超过 90 天" in page
    assert change(client, PASSWORD, PASSWORDS[0]).status_code == 302
    assert client.get("/").status_code == 200
    # The maximum age is configurable; 0 turns it off.
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - datetime.timedelta(days=400))
    settings.PASSWORD_MAX_AGE_DAYS = 0
    assert signed_in(User.objects.get(pk=user.pk)).get("/").status_code == 200
    settings.PASSWORD_MAX_AGE_DAYS = 30
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - datetime.timedelta(days=31))
    assert signed_in(User.objects.get(pk=user.pk)).get("/").status_code == 302
