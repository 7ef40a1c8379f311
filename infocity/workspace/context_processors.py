from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from infocity.demo.models import demo_data_loaded
from infocity.reporting import clock
from infocity.reporting.views import unread_count

from .navigation import active_entry, entries_for


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the layout needs on every page: the demo banner and the role's menu."""
    from django.contrib.auth.models import AnonymousUser

    # Error pages for requests refused before the authentication middleware (a bad Host header) have no user.
    user = getattr(request, "user", None) or AnonymousUser()
    authenticated = user.is_authenticated
    # Before the second factor, the menu would only lead back to it: none is shown.
    pending = bool(getattr(request, "second_factor_pending", False))  # set by SecondFactorMiddleware
    authenticated = authenticated and not pending
    entries = entries_for(user) if authenticated else []
    # The two that ask the database are lazy: a fragment answered to htmx (an autosave, an inline check) never shows
    # the banner or the menu, and should not pay a query for each.
    return {
        "demo_data": SimpleLazyObject(demo_data_loaded),
        "second_factor_pending": pending,
        "nav_entries": entries,
        "nav_active": active_entry(entries, getattr(request, "resolver_match", None)),
        "unread_notifications": SimpleLazyObject(lambda: unread_count(user)) if authenticated else 0,
        "reporting_today": clock.today() if settings.REPORTING_TODAY else None,
    }
