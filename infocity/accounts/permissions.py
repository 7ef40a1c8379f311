"""Role checks for views. A role that may not use a page gets 403 with a Chinese explanation, and the attempt
is audited; an object outside the user's scope answers 404 (see the ``scoping`` modules)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from infocity.audit.services import audit_denied

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def deny(request: HttpRequest, reason: str) -> PermissionDenied:
    audit_denied(request, reason)
    return PermissionDenied(reason)


def role_required(*roles: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated or user.role not in roles:
                raise deny(request, "role")
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator
