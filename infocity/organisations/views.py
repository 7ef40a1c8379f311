from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from infocity.accounts.models import Role
from infocity.accounts.permissions import role_required
from infocity.accounts.scoping import ACCOUNT_MANAGERS, users_visible_to

from .models import Division, OrganisationKind
from .scoping import cohorts_visible_to, get_cohort_for, get_organisation_for, organisations_visible_to

TREE_ROLES = (
    Role.MINISTRY,
    Role.ANALYST,
    Role.PROVINCE_REVIEWER,
    Role.CITY_REPORTER,
    Role.CITY_APPROVER,
    Role.EXPERT,
    Role.ENTERPRISE,
    Role.SYSADMIN,
    Role.SECADMIN,
)


@role_required(*TREE_ROLES)
def organisation_list(request: HttpRequest) -> HttpResponse:
    organisations = organisations_visible_to(request.user).annotate(user_count=Count("users"))
    kind = request.GET.get("kind", "")
    q = request.GET.get("q", "").strip()
    if kind in OrganisationKind.values:
        organisations = organisations.filter(kind=kind)
    if q:
        organisations = organisations.filter(Q(name__icontains=q) | Q(division__code__startswith=q))
    return render(
        request,
        "organisations/organisation_list.html",
        {"organisations": organisations, "kinds": OrganisationKind.choices, "kind": kind, "q": q},
    )


@role_required(*TREE_ROLES)
def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = get_organisation_for(request.user, pk)
    visible = organisations_visible_to(request.user)
    children = visible.filter(parent=organisation)
    ancestors = visible.filter(pk__in=organisation.ancestor_ids())
    # Only the account administrators see who holds accounts in an organisation.
    members = (
        users_visible_to(request.user).filter(organisation=organisation)
        if getattr(request.user, "role", "") in ACCOUNT_MANAGERS
        else None
    )
    cohorts = cohorts_visible_to(request.user).filter(memberships__city=organisation)
    return render(
        request,
        "organisations/organisation_detail.html",
        {
            "organisation": organisation,
            "children": children,
            "ancestors": ancestors,
            "members": members,
            "cohorts": cohorts,
            "province": organisation.province(),
        },
    )


@role_required(Role.MINISTRY, Role.ANALYST, Role.PROVINCE_REVIEWER, Role.CITY_REPORTER, Role.CITY_APPROVER)
def cohort_list(request: HttpRequest) -> HttpResponse:
    visible = organisations_visible_to(request.user)
    cohorts = cohorts_visible_to(request.user).annotate(
        visible_count=Count("memberships", filter=Q(memberships__city__in=visible))
    )
    return render(request, "organisations/cohort_list.html", {"cohorts": cohorts})


@role_required(Role.MINISTRY, Role.ANALYST, Role.PROVINCE_REVIEWER, Role.CITY_REPORTER, Role.CITY_APPROVER)
def cohort_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = get_cohort_for(request.user, pk)
    visible = organisations_visible_to(request.user)
    memberships = (
        cohort.memberships.filter(city__in=visible)
        .select_related("city", "city__division", "city__parent")
        .order_by("city__division__code")
    )
    return render(request, "organisations/cohort_detail.html", {"cohort": cohort, "memberships": memberships})


@role_required(Role.MINISTRY, Role.ANALYST, Role.SYSADMIN, Role.SECADMIN)
def division_list(request: HttpRequest) -> HttpResponse:
    divisions = Division.objects.select_related("parent")
    q = request.GET.get("q", "").strip()
    if q:
        divisions = divisions.filter(Q(name__icontains=q) | Q(code__startswith=q))
    page = Paginator(divisions, 100).get_page(request.GET.get("page"))
    return render(request, "organisations/division_list.html", {"page": page, "q": q, "query": urlencode({"q": q})})
