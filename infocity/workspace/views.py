from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from infocity.accounts.models import Role, User
from infocity.accounts.scoping import locked_usernames, users_visible_to
from infocity.audit.models import Action, AuditEvent, Outcome
from infocity.evaluation.services import awards_visible_to
from infocity.organisations.models import CohortMembership, OrganisationKind
from infocity.organisations.scoping import cohorts_visible_to, organisations_visible_to
from infocity.reporting import clock
from infocity.reporting.stats import queue_for

from .navigation import REPORTING_ROLES, entries_for


def home(request: HttpRequest) -> HttpResponse:
    """工作台: the user's organisation, role, and what they can do now."""
    user = request.user
    assert isinstance(user, User)
    context: dict[str, Any] = {
        "capabilities": [(entry, entry.describe(user.role)) for entry in entries_for(user)],
    }
    panel = PANELS.get(user.role)
    if panel is not None:
        context.update(panel(user))
    if user.role in REPORTING_ROLES:
        context["queue"] = queue_for(user, limit=10)
        context["today"] = clock.today()
    if user.role in {Role.CITY_REPORTER, Role.CITY_APPROVER}:
        # The city's published commendations, with their certificates.
        context["awards"] = awards_visible_to(user).select_related("run__scheme__cycle", "application")
    return render(request, "workspace/home.html", context)


def _place_panel(user: User) -> dict[str, Any]:
    """City roles: their city, its province and cohorts. Province reviewers: their demonstration cities."""
    visible = organisations_visible_to(user)
    cities = visible.filter(kind=OrganisationKind.CITY).order_by("division__code")
    memberships = (
        CohortMembership.objects.filter(city__in=cities)
        .select_related("cohort", "city")
        .order_by("cohort__year", "cohort__name")
    )
    by_city: dict[int, list[CohortMembership]] = {}
    for membership in memberships:
        by_city.setdefault(membership.city_id, []).append(membership)
    return {
        "panel": "place",
        "province": user.organisation.province(),
        "cities": [(city, by_city.get(city.pk, [])) for city in cities],
    }


def _national_panel(user: User) -> dict[str, Any]:
    visible = organisations_visible_to(user)
    counts = dict(visible.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    cohorts = cohorts_visible_to(user).annotate(city_count=Count("memberships"))
    return {
        "panel": "national",
        "kind_counts": [(OrganisationKind(k).label, counts.get(k, 0)) for k in OrganisationKind.values],
        "cohorts": cohorts,
    }


def _sysadmin_panel(user: User) -> dict[str, Any]:
    now = timezone.now()
    users = users_visible_to(user)
    stats = users.aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(is_active=True)),
        disabled=Count("id", filter=Q(is_active=False)),
        locked=Count("id", filter=Q(username__in=locked_usernames(now))),
        must_change=Count("id", filter=Q(must_change_password=True)),
        no_role=Count("id", filter=Q(role="")),
    )
    return {
        "panel": "accounts",
        "stats": stats,
        "locked_users": users.filter(username__in=locked_usernames(now))[:10],
    }


def _secadmin_panel(user: User) -> dict[str, Any]:
    users = users_visible_to(user)
    roles = dict(users.values_list("role").annotate(n=Count("id")).values_list("role", "n"))
    return {
        "panel": "roles",
        "role_counts": [(Role(r).label, roles.get(r, 0)) for r in Role.values],
        "without_role": users.filter(role="", is_active=True)[:20],
    }


def _auditor_panel(user: User) -> dict[str, Any]:
    since = timezone.now() - datetime.timedelta(hours=24)
    recent = AuditEvent.objects.filter(occurred_at__gte=since)
    return {
        "panel": "audit",
        "audit_stats": recent.aggregate(
            logins=Count("id", filter=Q(action=Action.LOGIN_SUCCESS)),
            failures=Count("id", filter=Q(action=Action.LOGIN_FAILURE)),
            locks=Count("id", filter=Q(action=Action.LOGIN_LOCKED)),
            denied=Count("id", filter=Q(action=Action.ACCESS_DENIED)),
            total=Count("id"),
        ),
        "recent_failures": AuditEvent.objects.filter(outcome__in=[Outcome.FAILURE, Outcome.DENIED])[:10],
    }


PANELS: dict[str, Callable[[User], dict[str, Any]]] = {
    Role.CITY_REPORTER: _place_panel,
    Role.CITY_APPROVER: _place_panel,
    Role.PROVINCE_REVIEWER: _place_panel,
    Role.MINISTRY: _national_panel,
    Role.ANALYST: _national_panel,
    Role.SYSADMIN: _sysadmin_panel,
    Role.SECADMIN: _secadmin_panel,
    Role.AUDITOR: _auditor_panel,
}


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness and database check for the reverse proxy and monitoring (no data disclosed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Most often a form left open past the session timeout: say so, in Chinese, and how to continue."""
    return render(request, "403_csrf.html", status=403)
