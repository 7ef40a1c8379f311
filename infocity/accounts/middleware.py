from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from .models import User


class PasswordChangeRequiredMiddleware:
    """A user given a password by an administrator, or whose password is older than the maximum age, must choose a
    new one before doing anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if isinstance(user, User) and (user.must_change_password or user.password_expired()):
            allowed = {
                reverse("accounts:password_change"),
                reverse("accounts:logout"),
                reverse("set_language"),
            }
            if request.path not in allowed and not request.path.startswith("/static/"):
                return redirect("accounts:password_change")
        return self.get_response(request)


class SecondFactorMiddleware:
    """A password alone opens nothing for the ministry, the agency and the three administrators (or anyone who
    enrolled a second factor): until a one-time code is accepted, every page leads to enrolment or verification."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from .second_factor import confirmed_device, required

        user = request.user
        # OTPMiddleware gives the user is_verified(): true once a one-time code was accepted in this session.
        pending = isinstance(user, User) and not getattr(user, "is_verified", lambda: True)() and required(user)
        request.second_factor_pending = pending  # type: ignore[attr-defined]  # read by the layout's menu
        if pending:
            assert isinstance(user, User)
            allowed = {
                reverse("accounts:second_factor"),
                reverse("accounts:second_factor_enrol"),
                reverse("accounts:logout"),
                reverse("set_language"),
            }
            if request.path not in allowed and not request.path.startswith("/static/"):
                target = "accounts:second_factor" if confirmed_device(user) else "accounts:second_factor_enrol"
                return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
