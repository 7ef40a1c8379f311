from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from infocity.demo.models import demo_data_loaded

from .navigation import entries_for


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the layout needs on every page: the demo banner and the role's menu."""
    return {
        "demo_data": demo_data_loaded(),
        "nav_entries": entries_for(request.user) if request.user.is_authenticated else [],
    }
