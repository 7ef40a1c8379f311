from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from .models import User

# The session key holding when the user logged in (seconds since the epoch), set by the login view.
LOGIN_AT = "infocity_login_at"
# The session key holding when the session was last saved for activity (seconds since the epoch).
SEEN_AT = "infocity_seen_at"


def stamp_login(request: HttpRequest) -> None:
    now = time.time()
    request.session[LOGIN_AT] = now
    request.session[SEEN_AT] = now


def touch(request: HttpRequest, now: float) -> None:
    """The sliding idle timeout. A session expires SESSION_COOKIE_AGE after it was last saved; activity saves it
    again (a new expiry in the database, the cookie re-sent with a fresh max-age) once SESSION_TOUCH_SECONDS have
    passed since the last save, not on every request — an autosave every few seconds need not also rewrite the
    session row. So a session always ends between SESSION_COOKIE_AGE − SESSION_TOUCH_SECONDS and SESSION_COOKIE_AGE
    after the last request: never later than the idle timeout."""
    interval = min(settings.SESSION_TOUCH_SECONDS, settings.SESSION_COOKIE_AGE // 2)  # never outlives the session
    seen = request.session.get(SEEN_AT)
    if not isinstance(seen, int | float) or now - seen >= interval:
        request.session[SEEN_AT] = now  # marks the session modified: SessionMiddleware saves it


class SessionLimitsMiddleware:
    """A session ends after SESSION_COOKIE_AGE without a request (see ``touch``), after SESSION_ABSOLUTE_HOURS
    however active it is, and when an administrator ended the user's sessions after it began."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if isinstance(user, User):
            started = request.session.get(LOGIN_AT)
            if not isinstance(started, int | float):
                # A session from before this rule: its age is unknown, so it counts from now.
                started = time.time()
                request.session[LOGIN_AT] = started
            message = reason = None
            if time.time() - started > settings.SESSION_ABSOLUTE_HOURS * 3600:
                message = _("登录已超过 %(hours)d 小时，为安全起见请重新登录。") % {
                    "hours": settings.SESSION_ABSOLUTE_HOURS
                }
                reason = "absolute_timeout"
            elif user.sessions_ended_at is not None and started <= user.sessions_ended_at.timestamp():
                message = _("您的会话已被系统管理员结束，请重新登录。")
                reason = "ended_by_administrator"
            if message is not None and reason is not None:
                from .services import record_session_end

                record_session_end(request, user, reason)
                logout(request)
                messages.warning(request, message)
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = reverse("accounts:login")
                    return response
                return redirect(f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}")
            touch(request, time.time())
        return self.get_response(request)


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
        from .second_factor import has_confirmed_device, required

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
                target = "accounts:second_factor" if has_confirmed_device(user) else "accounts:second_factor_enrol"
                return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
