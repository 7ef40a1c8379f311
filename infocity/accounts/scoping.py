"""Which accounts a user may see: the system and security administrators see all, everyone else themselves."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from infocity.scoping import get_visible_or_404

from .models import LoginThrottle, Role, User

ACCOUNT_MANAGERS = frozenset({Role.SYSADMIN, Role.SECADMIN})


def users_visible_to(user: Any) -> QuerySet[User]:
    # ``locked_until`` comes from the per-name login throttle, for lists and the account page.
    locked_until = LoginThrottle.objects.filter(username=OuterRef("username")).values("locked_until")[:1]
    qs = User.objects.select_related("organisation", "organisation__division").annotate(
        locked_until=Subquery(locked_until)
    )
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.role in ACCOUNT_MANAGERS:
        return qs.all()
    return qs.filter(pk=user.pk)


def get_user_for(user: Any, pk: int) -> User:
    return get_visible_or_404(user, users_visible_to(user), pk)


def locked_usernames(now: datetime.datetime) -> QuerySet[LoginThrottle, str]:
    """User names locked at ``now``, for filtering account lists (``username__in=``)."""
    return LoginThrottle.objects.filter(locked_until__gt=now).values_list("username", flat=True)
