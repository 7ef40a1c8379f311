from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from infocity.demo.models import demo_data_loaded
from infocity.reporting import clock
from infocity.reporting.views import unread_count

from .navigation import active_entry, entries_for


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the layout needs on every page: the demo banner and the role's menu."""
    user = request.user
    authenticated = user.is_authenticated
    # Before the second factor, the menu would only lead back to it: none is shown.
    pending = bool(getattr(request, "second_factor_pending", False))  # set by SecondFactorMiddleware
    authenticated = authenticated and not pending
    entries = entries_for(request.user) if authenticated else []
    return {
        "demo_data": demo_data_loaded(),
        "second_factor_pending": pending,
        "nav_entries": entries,
        "nav_active": active_entry(entries, request.resolver_match),
        "unread_notifications": unread_count(request.user) if authenticated else 0,
        "reporting_today": clock.today() if settings.REPORTING_TODAY else None,
    }
