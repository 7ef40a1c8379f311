"""Which accounts a user may see: the system and security administrators see all, everyone else themselves."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import Role, User

ACCOUNT_MANAGERS = frozenset({Role.SYSADMIN, Role.SECADMIN})


def users_visible_to(user: Any) -> QuerySet[User]:
    qs = User.objects.select_related("organisation", "organisation__division")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.role in ACCOUNT_MANAGERS:
        return qs.all()
    return qs.filter(pk=user.pk)


def get_user_for(user: Any, pk: int) -> User:
    return get_object_or_404(users_visible_to(user), pk=pk)
