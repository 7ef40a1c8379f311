"""State changes of organisations and cohorts. Each runs in one transaction and writes its audit event."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from infocity.audit.models import Action
from infocity.audit.services import record

from .models import Cohort, CohortMembership, Division, Organisation, OrganisationKind
from .signals import cohort_members_added

if TYPE_CHECKING:
    from infocity.accounts.models import User

K = OrganisationKind

# Which kinds may sit under which parent kind.
ALLOWED_PARENTS: dict[str, set[str | None]] = {
    K.MINISTRY: {None},
    K.PROVINCE: {K.MINISTRY},
    K.CITY: {K.PROVINCE},
    K.DISTRICT: {K.CITY},
    K.AGENCY: {K.MINISTRY},
    K.OPERATOR: {K.MINISTRY},
    K.INSTITUTION: {K.MINISTRY},
    K.ENTERPRISE: {K.MINISTRY, K.PROVINCE, K.CITY},
}


def _check_place(kind: str, parent: Organisation | None, division: Division | None) -> None:
    if kind == K.PROVINCE:
        if division is None:
            raise ValidationError(_("省级主管部门必须对应一个省级行政区划或计划单列市。"))
        if division.level != Division.Level.PROVINCE and not division.separately_planned:
            raise ValidationError(
                _("%(division)s 不是省级行政区划或计划单列市，不能作为省级主管部门。") % {"division": division}
            )
    elif kind == K.CITY:
        if division is None or parent is None or parent.division is None:
            raise ValidationError(_("示范城市必须对应一个行政区划代码，并设在省级主管部门之下。"))
        province_division = parent.division
        same_place = division.code == province_division.code and (
            division.is_municipality or division.separately_planned
        )
        in_province = division.level == Division.Level.PREFECTURE and division.parent_id == province_division.code
        if not (same_place or in_province):
            raise ValidationError(
                _("%(division)s 不属于 %(parent)s，请选择该省辖区内的地级市。")
                % {"division": division, "parent": parent}
            )
        if in_province and division.separately_planned:
            raise ValidationError(
                _("%(name)s是计划单列市，请将其置于“%(name)s（计划单列市）”之下。") % {"name": division.name}
            )
    elif kind == K.INSTITUTION:
        if division is not None and division.level != Division.Level.PROVINCE:
            raise ValidationError(_("专家所在单位的区划只记录所在省份，请选择省级行政区划。"))
    elif division is not None:
        # Districts have no shipped county-level codes yet; other kinds are not places.
        raise ValidationError(_("%(kind)s不对应行政区划，请不要选择区划代码。") % {"kind": K(kind).label})


@transaction.atomic
def create_organisation(
    *,
    actor: User | None,
    kind: str,
    name: str,
    parent: Organisation | None = None,
    division: Division | None = None,
    department: str = "",
    credit_code: str = "",
    request: HttpRequest | None = None,
) -> Organisation:
    """Create an organisation in the tree, checking that kind, parent and place fit together."""
    if kind not in K.values:
        raise ValidationError(_("未知的机构类型：%(kind)s") % {"kind": kind})
    parent_kind = parent.kind if parent is not None else None
    if parent_kind not in ALLOWED_PARENTS[kind]:
        raise ValidationError(
            _("%(kind)s不能设在%(parent)s之下。")
            % {"kind": K(kind).label, "parent": K(parent_kind).label if parent_kind else _("顶层")}
        )
    if kind == K.MINISTRY and Organisation.objects.filter(kind=K.MINISTRY).exists():
        raise ValidationError(_("平台只能有一个部委根机构。"))
    _check_place(kind, parent, division)
    if division is not None and Organisation.objects.filter(kind=kind, division=division).exists():
        raise ValidationError(
            _("%(division)s 已有%(kind)s，不能重复创建。") % {"division": division, "kind": K(kind).label}
        )
    org = Organisation.objects.create(
        name=name.strip(),
        kind=kind,
        parent=parent,
        division=division,
        department=department.strip(),
        credit_code=credit_code.strip(),
        path="",
    )
    org.path = f"{parent.path if parent else '/'}{org.pk}/"
    org.save(update_fields=["path"])
    record(Action.ORGANISATION_CREATE, actor=actor, request=request, target=org, detail={"kind": kind})
    return org


@transaction.atomic
def create_cohort(
    *,
    actor: User | None,
    name: str,
    year: int,
    description: str = "",
    request: HttpRequest | None = None,
) -> Cohort:
    if Cohort.objects.filter(name=name).exists():
        raise ValidationError(_("已有名为“%(name)s”的批次，请换一个名称。") % {"name": name})
    cohort = Cohort.objects.create(name=name, year=year, description=description)
    record(Action.COHORT_CREATE, actor=actor, request=request, target=cohort, detail={"year": year})
    return cohort


@transaction.atomic
def add_cities_to_cohort(
    *,
    actor: User | None,
    cohort: Cohort,
    cities: Iterable[Organisation],
    joined_on: datetime.date,
    request: HttpRequest | None = None,
) -> list[Organisation]:
    """Add demonstration cities to a cohort from ``joined_on``; cities already in it are left as they are."""
    cities = list(cities)
    not_cities = [c.name for c in cities if c.kind != K.CITY]
    if not_cities:
        raise ValidationError(
            _("只有示范城市可以加入批次：%(names)s 不是示范城市。") % {"names": "、".join(not_cities)}
        )
    present = set(cohort.memberships.values_list("city_id", flat=True))
    added = [c for c in cities if c.pk not in present]
    CohortMembership.objects.bulk_create([CohortMembership(cohort=cohort, city=c, joined_on=joined_on) for c in added])
    if added:
        cohort_members_added.send(sender=Cohort, cohort=cohort, cities=added, joined_on=joined_on)
        record(
            Action.COHORT_MEMBERS,
            actor=actor,
            request=request,
            target=cohort,
            detail={"added": [c.code for c in added], "joined_on": joined_on.isoformat()},
        )
    return added
