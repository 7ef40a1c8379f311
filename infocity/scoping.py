"""The one way to fetch a single object for a user: from the queryset of what they may see, else 404."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import Http404

from infocity.audit.services import record_denied

M = TypeVar("M", bound=Model)


def get_visible_or_404(user: Any, visible: QuerySet[M], pk: object) -> M:
    """The object with ``pk`` if it is in ``visible``. Otherwise 404 — the same answer whether the object
    does not exist or belongs to another tenant, so its existence is not disclosed — and an attempt on an
    existing object is written to the audit log."""
    try:
        return visible.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        pass
    try:
        exists = visible.model._default_manager.filter(pk=pk).exists()
    except (ValueError, TypeError):
        exists = False
    if exists:
        record_denied(user, visible.model, pk)
    raise Http404


MAX_ID = 2_147_483_647


def parse_id(raw: str | None) -> int:
    """An identifier from a query string or form: ASCII digits within range, else 0 (which matches nothing).
    ``str.isdigit`` alone is not enough: "²" is a digit to Python but not a number to ``int``."""
    text = (raw or "").strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > 10:
        return 0
    value = int(text)
    return value if value <= MAX_ID else 0
