"""Which organisations and cohorts a user may see. Every view, export and API reads through here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from infocity.scoping import get_visible_or_404

from .models import Cohort, Organisation

if TYPE_CHECKING:
    from infocity.accounts.models import User

# Roles that see the whole organisation tree.
NATIONAL_ROLES = frozenset({"ministry", "analyst", "sysadmin", "secadmin"})
# Roles that see their own organisation and everything below it.
SUBTREE_ROLES = frozenset({"province_reviewer", "city_reporter", "city_approver"})
# Roles that see their own organisation only.
OWN_ROLES = frozenset({"expert", "enterprise"})


def _acting(user: Any) -> User | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active or not user.role:
        return None
    return user  # type: ignore[no-any-return]


def organisations_visible_to(user: Any) -> QuerySet[Organisation]:
    acting = _acting(user)
    qs = Organisation.objects.select_related("division", "parent")
    if acting is None:
        return qs.none()
    if acting.role in NATIONAL_ROLES:
        return qs.all()
    if acting.role in SUBTREE_ROLES:
        return qs.filter(path__startswith=acting.organisation.path)
    if acting.role in OWN_ROLES:
        return qs.filter(pk=acting.organisation_id)
    return qs.none()


def get_organisation_for(user: Any, pk: int) -> Organisation:
    """The organisation if ``user`` may see it, else 404 (never 403: its existence is not disclosed)."""
    return get_visible_or_404(user, organisations_visible_to(user), pk)


def cohorts_visible_to(user: Any) -> QuerySet[Cohort]:
    acting = _acting(user)
    if acting is None:
        return Cohort.objects.none()
    if acting.role in NATIONAL_ROLES:
        return Cohort.objects.all()
    if acting.role in SUBTREE_ROLES:
        # A province or city sees the cohorts it has cities in.
        return Cohort.objects.filter(memberships__city__path__startswith=acting.organisation.path).distinct()
    return Cohort.objects.none()


def get_cohort_for(user: Any, pk: int) -> Cohort:
    return get_visible_or_404(user, cohorts_visible_to(user), pk)
