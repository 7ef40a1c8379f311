"""Publishing to the public side: monitoring data releases (数据发布) and the showcase (典型案例). Every change is
one transaction with an audit event. Board services (供需对接) are in :mod:`infocity.portal.board`."""

from __future__ import annotations

import io
from typing import Any

import nh3
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import escape
from PIL import Image, ImageOps

from infocity.accounts.models import User
from infocity.analytics.models import Basis, IndicatorValue
from infocity.analytics.queries import attainment_table, effective_periods, periods_with_values
from infocity.analytics.services import national_scope
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.bulk.models import Blob
from infocity.demo.models import demo_data_loaded
from infocity.evaluation.services import is_ministry, published_awards
from infocity.frameworks.compute import target_text
from infocity.organisations.models import OrganisationKind
from infocity.progress.models import TypicalApplication
from infocity.progress.richtext import TAGS
from infocity.reporting import clock
from infocity.reporting.models import Period, ReportingCycle, Status
from infocity.reporting.services import cycle_cities

from . import search
from .models import AREA_NAMES, BoardPost, Release, ReleasedValue, ShowcaseItem, ShowcasePhoto

SHOWCASE = "showcase"


class PortalError(Exception):
    """A refused publication or board action; the message says why and what to do, in Chinese."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise PortalError(message)


# --- monitoring data releases ---------------------------------------------------------------------


def live_releases() -> QuerySet[Release]:
    """What the public may read: releases not withdrawn."""
    return Release.objects.filter(withdrawn_at__isnull=True).select_related("cycle", "period")


def latest_release() -> Release | None:
    return live_releases().order_by("-period__ends_on", "-published_at").first()


def releasable_periods(cycle: ReportingCycle) -> QuerySet[Period]:
    """Periods of the cycle with accepted data (a release publishes accepted data only)."""
    return periods_with_values(cycle, Basis.ACCEPTED)


def release_preview(period: Period) -> dict[str, Any]:
    """What publishing ``period`` would show: each frequency's period, and per indicator how many cities have an
    accepted value."""
    periods = effective_periods(period.cycle, period, Basis.ACCEPTED)
    cities = [c.pk for c in cycle_cities(period.cycle)]
    rows = attainment_table(periods, national_scope(), Basis.ACCEPTED, cities=cities)
    return {"periods": periods, "rows": rows, "cities": len(cities)}


@transaction.atomic
def publish_release(
    *, actor: User, period: Period, note: str = "", demo: bool | None = None, request: HttpRequest | None = None
) -> Release:
    """The ministry publishes the cycle's accepted indicator values as of ``period``: every city's value,
    attainment and gap, and the value over all the cycle's cities, copied so they never change afterwards.
    ``demo`` labels the release as demonstration data (by default: whenever demonstration data is loaded)."""
    require(is_ministry(actor), "只有部级管理员可以发布监测数据。")
    cycle = ReportingCycle.objects.select_for_update().get(pk=period.cycle_id)  # one live release per period
    require(
        not Release.objects.filter(period=period, withdrawn_at__isnull=True).exists(),
        f"{period.label}的数据已经发布；如需更正，请先撤回原发布再重新发布。",
    )
    require(
        releasable_periods(cycle).filter(pk=period.pk).exists(),
        f"{period.label}还没有已受理的数据，不能发布。请等监测机构受理报送后再发布。",
    )
    periods = effective_periods(cycle, period, Basis.ACCEPTED)
    cities = cycle_cities(cycle)
    city_ids = [c.pk for c in cities]
    release = Release.objects.create(
        cycle=cycle, period=period, note=note.strip()[:2000], demo=demo_data_loaded() if demo is None else demo,
        published_at=clock.now(), published_by=actor,
    )  # fmt: skip
    values = IndicatorValue.objects.filter(
        period_id__in=[p.pk for p in periods.values()], city_id__in=city_ids, basis=Basis.ACCEPTED
    ).select_related("indicator", "period")
    rows = [
        ReleasedValue(
            release=release, city_id=iv.city_id, indicator=iv.indicator, period=iv.period, value=iv.value,
            target=target_text(iv.indicator), attainment=iv.attainment, gap=iv.gap,
        )
        for iv in values
        if periods.get(iv.indicator.frequency) == iv.period  # each indicator at its own frequency's period
    ]  # fmt: skip
    for total in attainment_table(periods, national_scope(), Basis.ACCEPTED, cities=city_ids):
        if total.period is None:
            continue
        rows.append(
            ReleasedValue(
                release=release, city=None, indicator=total.indicator, period=total.period, value=total.value,
                target=total.target, met=total.met, assessed=total.assessed,
            )
        )  # fmt: skip
    ReleasedValue.objects.bulk_create(rows, batch_size=1000)
    record(
        Action.RELEASE_PUBLISH, actor=actor, request=request, target=release,
        detail={"period": period.code, "values": len(rows), "cities": len(cities)},
    )  # fmt: skip
    return release


@transaction.atomic
def withdraw_release(*, actor: User, release: Release, reason: str, request: HttpRequest | None = None) -> Release:
    """The ministry withdraws a release (a published error): it leaves the public side at once; the record stays."""
    require(is_ministry(actor), "只有部级管理员可以撤回数据发布。")
    reason = " ".join(reason.split())[:200]
    require(bool(reason), "请填写撤回原因，公众页面不再显示该次发布的数据。")
    locked = Release.objects.select_for_update().get(pk=release.pk)
    require(locked.withdrawn_at is None, "该次发布已经撤回。")
    locked.withdrawn_at, locked.withdrawn_by, locked.withdrawal_reason = clock.now(), actor, reason
    locked.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
    record(Action.RELEASE_WITHDRAW, actor=actor, request=request, target=locked, detail={"reason": reason})
    return locked


# --- showcase -------------------------------------------------------------------------------------


def live_showcase() -> QuerySet[ShowcaseItem]:
    return ShowcaseItem.objects.filter(withdrawn_at__isnull=True).select_related("city", "city__parent")


def showcase_candidates() -> QuerySet[TypicalApplication]:
    """Applications the ministry may publish: endorsed, in a full-year report the agency has accepted, and not
    already in the showcase."""
    return (
        TypicalApplication.objects.filter(endorsed_at__isnull=False, submission__status=Status.ACCEPTED)
        .filter(showcase__isnull=True)
        .select_related("submission__city", "submission__period__cycle")
    )


def public_picture(data: bytes) -> tuple[bytes, str, str]:
    """A photo as the public may see it: decoded and encoded again (turned upright first), so nothing of the file
    but its pixels goes out — no EXIF (GPS position, camera, owner), no comments, no trailing bytes. Photographs
    stay JPEG, anything else becomes PNG. The attachment was checked as an image when it was uploaded."""
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image)
        upright.info = {}  # Pillow writes some of it back (a JPEG comment, an ICC profile …) unless emptied
        out = io.BytesIO()
        if image.format == "JPEG":
            upright.convert("RGB").save(out, format="JPEG", quality=88)
            return out.getvalue(), "jpg", "image/jpeg"
        if upright.mode not in {"RGB", "RGBA", "L", "LA"}:
            upright = upright.convert("RGBA")
        upright.save(out, format="PNG", optimize=True)
        return out.getvalue(), "png", "image/png"


def without_images(html: str) -> str:
    """Stored rich text without its images (they are files of the report, which the public may not fetch)."""
    return nh3.clean(html, tags=set(TAGS) - {"img"}) if html else ""


def _index_item(item: ShowcaseItem) -> None:
    city = item.city.name if item.city else ""
    province = item.city.parent.name if item.city and item.city.parent else ""
    search.index(
        SHOWCASE, item.pk,
        [item.title, item.provider, city, province, *AREA_NAMES.get(item.area, ()), nh3.clean(item.summary, tags=set()),
         nh3.clean(item.results, tags=set())],
    )  # fmt: skip


@transaction.atomic
def publish_application(
    *, actor: User, application: TypicalApplication, request: HttpRequest | None = None
) -> ShowcaseItem:
    """The ministry publishes an accepted typical application to the showcase: its name, unit, area, text,
    figures and photos are copied; its contact person never is."""
    require(is_ministry(actor), "只有部级管理员可以发布典型案例。")
    locked = (
        TypicalApplication.objects.select_for_update()
        .select_related("submission__period__cycle")
        .get(pk=application.pk)
    )
    require(
        showcase_candidates().filter(pk=locked.pk).exists(),
        "只能发布已由城市确认、随全年进展报告受理且尚未发布的典型应用。",
    )
    item = ShowcaseItem.objects.create(
        kind=ShowcaseItem.Kind.APPLICATION, title=locked.title, city=locked.submission.city,
        provider=locked.organisation, area=locked.area, year=locked.submission.period.cycle.year,
        summary=without_images(locked.description), results=without_images(locked.results),
        investment=locked.investment, users_served=locked.users_served, application=locked,
        published_at=clock.now(), published_by=actor,
    )  # fmt: skip
    photos = locked.attachments.filter(is_image=True, removed_at__isnull=True, inline=False).select_related("blob")
    for number, attachment in enumerate(photos, start=1):
        data, extension, mime = public_picture(attachment.blob.read())
        name = f"showcase-{item.pk}-{number}.{extension}"
        ShowcasePhoto.objects.create(item=item, blob=Blob.store(name, io.BytesIO(data)), filename=name, mime=mime)
    _index_item(item)
    record(Action.SHOWCASE_PUBLISH, actor=actor, request=request, target=item, detail={"application": locked.pk})
    return item


def solution_candidates() -> QuerySet[BoardPost]:
    """Solutions on the board the ministry may publish as replicable solutions: approved by the agency and not
    already in the showcase."""
    return BoardPost.objects.filter(
        kind=BoardPost.Kind.SOLUTION, status=BoardPost.Status.APPROVED, showcase__isnull=True
    ).select_related("organisation__parent")


@transaction.atomic
def publish_solution(*, actor: User, post: BoardPost, request: HttpRequest | None = None) -> ShowcaseItem:
    """The ministry publishes an enterprise's approved solution from the supply–demand board to the showcase as a
    replicable solution (可复制推广的解决方案): its title, enterprise, the city the enterprise is registered in, area
    and text are copied; its contact person never is (the board keeps that, behind a contact request)."""
    require(is_ministry(actor), "只有部级管理员可以发布典型案例。")
    locked = BoardPost.objects.select_for_update(of=("self",)).select_related("organisation__parent").get(pk=post.pk)
    require(
        solution_candidates().filter(pk=locked.pk).exists(),
        "只能发布已审核通过、尚未发布的企业解决方案。",
    )
    enterprise = locked.organisation
    city = enterprise.parent if enterprise.parent and enterprise.parent.kind == OrganisationKind.CITY else None
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in locked.description.split("\n") if line.strip())
    item = ShowcaseItem.objects.create(
        kind=ShowcaseItem.Kind.SOLUTION, title=locked.title, city=city, provider=enterprise.name, area=locked.area,
        year=clock.today().year, summary=paragraphs, post=locked, published_at=clock.now(), published_by=actor,
    )  # fmt: skip
    _index_item(item)
    record(Action.SHOWCASE_PUBLISH, actor=actor, request=request, target=item, detail={"post": locked.pk})
    return item


@transaction.atomic
def withdraw_showcase(*, actor: User, item: ShowcaseItem, request: HttpRequest | None = None) -> ShowcaseItem:
    require(is_ministry(actor), "只有部级管理员可以撤回典型案例。")
    locked = ShowcaseItem.objects.select_for_update().get(pk=item.pk)
    require(locked.withdrawn_at is None, "该案例已经撤回。")
    locked.withdrawn_at, locked.withdrawn_by = clock.now(), actor
    locked.save(update_fields=["withdrawn_at", "withdrawn_by"])
    search.unindex(SHOWCASE, locked.pk)
    record(Action.SHOWCASE_WITHDRAW, actor=actor, request=request, target=locked)
    return locked


def search_showcase(
    query: str = "", *, area: str = "", province: str = "", year: int | None = None, kind: str = ""
) -> list[ShowcaseItem]:
    """Published showcase items matching the query (all its words, best first) and the filters."""
    items = live_showcase()
    if area:
        items = items.filter(area=area)
    if province:
        items = items.filter(city__parent__division_id=province)
    if year:
        items = items.filter(year=year)
    if kind:
        items = items.filter(kind=kind)
    if not query.strip():
        return list(items)
    ranked = search.search(SHOWCASE, query)
    found = {i.pk: i for i in items.filter(pk__in=[ref for ref, _ in ranked])}
    return [found[ref] for ref, _ in ranked if ref in found]


def awards_of_items(items: list[ShowcaseItem]) -> dict[int, Any]:
    """The published 优秀典型应用 award of each item that has one (by item pk)."""
    by_application = {
        a.application_id: a
        for a in published_awards().filter(application_id__in=[i.application_id for i in items if i.application_id])
    }
    return {i.pk: by_application[i.application_id] for i in items if i.application_id in by_application}
