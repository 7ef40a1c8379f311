"""Which cycles and submissions a user may see (one helper per object kind, used by every view and export)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from infocity.scoping import get_visible_or_404

from .models import ReportingCycle, Submission, UnlockRequest

NATIONAL = frozenset({"ministry", "analyst"})
PLACE = frozenset({"province_reviewer", "city_reporter", "city_approver"})


def _role(user: Any) -> str:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ""
    return str(user.role or "")


def _scoped(user: Any) -> QuerySet[Submission]:
    role = _role(user)
    if role in NATIONAL:
        return Submission.objects.all()
    if role in PLACE:
        return Submission.objects.filter(city__path__startswith=user.organisation.path)
    return Submission.objects.none()


def submissions_visible_to(user: Any) -> QuerySet[Submission]:
    """The submissions the user may see, with what lists show: the period, cycle, form, city and its province."""
    return _scoped(user).select_related("period", "period__cycle", "form", "city", "city__parent")


def get_submission_for(user: Any, pk: int) -> Submission:
    """One submission the user may see, with what its pages read: the period, cycle and edition (the checks), the
    form and the city — not the city's province, which one page here does not need (the join costs an autosave
    about a millisecond; the progress report's PDF reads it on its own)."""
    return get_visible_or_404(user, _scoped(user).select_related("period__cycle__edition", "form", "city"), pk)


def cycles_visible_to(user: Any) -> QuerySet[ReportingCycle]:
    role = _role(user)
    if role in NATIONAL:
        return ReportingCycle.objects.all()
    if role in PLACE:
        return ReportingCycle.objects.filter(
            periods__submissions__city__path__startswith=user.organisation.path
        ).distinct()
    return ReportingCycle.objects.none()


def get_cycle_for(user: Any, pk: int) -> ReportingCycle:
    return get_visible_or_404(user, cycles_visible_to(user), pk)


def unlock_requests_visible_to(user: Any) -> QuerySet[UnlockRequest]:
    visible = submissions_visible_to(user)
    return UnlockRequest.objects.filter(submission__in=visible).select_related(
        "submission__period", "submission__form", "submission__city", "requested_by"
    )
