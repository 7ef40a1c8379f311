"""Pages of the showcase (典型案例): the public search with its filters, an item with its photos, the photos
themselves, and the ministry's page to publish accepted typical applications and withdraw published items.

The public pages read only live (published, not withdrawn) items through :mod:`infocity.portal.services`; an item's
text was copied and sanitised when it was published and never carries the application's contact person."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db.models import Count, Q, prefetch_related_objects
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotModified,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html, format_html_join, strip_tags
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infocity.accounts.models import Role, User
from infocity.accounts.permissions import role_required
from infocity.organisations.models import Organisation
from infocity.progress.models import TypicalApplication
from infocity.progress.sections import AREAS
from infocity.scoping import parse_id

from . import search, services
from .models import BoardPost, ShowcaseItem, ShowcasePhoto
from .services import PortalError

PER_PAGE = 12
MANAGE_PER_PAGE = 50
# Photos are served with the stored type only when it is one of the images the attachment check accepts; the
# content was checked when it was uploaded, and nosniff stops a browser from guessing anything else.
PHOTO_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
SNIPPET_CHARS = 90


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _area_names() -> dict[str, str]:
    return {a.code: a.name for a in AREAS}


def _provinces() -> list[Organisation]:
    """The provinces (and 计划单列市) that have published items, for the filter."""
    ids = services.live_showcase().values("city__parent_id")
    return list(Organisation.objects.filter(pk__in=ids, division__isnull=False).order_by("division_id"))


def _snippet(source: str, terms: list[str]) -> SafeString:
    """A short plain-text excerpt of stored rich text around the first query word, the words marked."""
    text = " ".join(unescape(strip_tags(source)).split())
    lower = text.lower()
    hits = [lower.find(t) for t in terms if t in lower]
    start = max(0, min(hits) - 20) if hits else 0
    window = text[start : start + SNIPPET_CHARS]
    pairs: list[tuple[str, str]] = []
    tail = window
    if terms:
        pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
        position = 0
        for match in pattern.finditer(window):
            pairs.append((window[position : match.start()], match.group()))
            position = match.end()
        tail = window[position:]
    return format_html(
        "{}{}{}{}",
        "…" if start > 0 else "",
        format_html_join("", "{}<mark>{}</mark>", pairs),
        tail,
        "…" if start + SNIPPET_CHARS < len(text) else "",
    )


# --- public -----------------------------------------------------------------------------------------------------


@login_not_required
def index(request: HttpRequest) -> HttpResponse:
    """典型案例: full-text search (jieba-segmented) with filters by area, province, year and kind."""
    q = " ".join(request.GET.get("q", "").split())[:100]
    area = request.GET.get("area", "")
    area = area if area in {a.code for a in AREAS} else ""
    provinces = _provinces()
    province = request.GET.get("province", "")
    province = province if province in {p.division_id for p in provinces} else ""
    years = sorted(set(services.live_showcase().values_list("year", flat=True)), reverse=True)
    year = parse_id(request.GET.get("year"))
    year = year if year in years else 0
    kind = request.GET.get("kind", "")
    kind = kind if kind in ShowcaseItem.Kind.values else ""
    items = services.search_showcase(q, area=area, province=province, year=year or None, kind=kind)
    city_id = parse_id(request.GET.get("city"))
    city = (
        Organisation.objects.filter(pk=city_id, pk__in=services.live_showcase().values("city_id")).first()
        if city_id
        else None
    )
    if city is not None:  # the "this city's items" link of an item's page
        items = [i for i in items if i.city_id == city.pk]
    page = Paginator(items, PER_PAGE).get_page(request.GET.get("page"))
    shown: list[ShowcaseItem] = list(page.object_list)
    prefetch_related_objects(shown, "photos")
    awards = services.awards_of_items(shown)
    terms = search.query_words(q) if q else []
    names = _area_names()
    cards = [
        {"item": item, "photo": next(iter(item.photos.all()), None), "award": awards.get(item.pk),
         "area": names.get(item.area, item.area), "snippet": _snippet(item.summary or item.results, terms)}
        for item in shown
    ]  # fmt: skip
    filters = {"q": q, "area": area, "province": province, "year": year or "", "kind": kind,
               "city": city.pk if city else ""}  # fmt: skip
    return render(request, "portal/showcase/index.html", {
        "page": page, "cards": cards, "count": len(items), "q": q, "area": area, "province": province,
        "year": year, "kind": kind, "city": city, "areas": list(names.items()), "provinces": provinces,
        "years": years, "kinds": ShowcaseItem.Kind.choices, "filtered": any(filters.values()),
        "query": urlencode({k: v for k, v in filters.items() if v}),
    })  # fmt: skip


def _live_item(pk: int) -> ShowcaseItem:
    item: ShowcaseItem = get_object_or_404(services.live_showcase(), pk=pk)
    return item


@login_not_required
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = _live_item(pk)
    return render(request, "portal/showcase/item.html", {
        "item": item, "photos": list(item.photos.all()), "award": services.awards_of_items([item]).get(item.pk),
        "area": _area_names().get(item.area, item.area),
    })  # fmt: skip


@login_not_required
def photo(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A photo of a live item, to anyone. Withdrawn items' photos are gone (404) at once; a cache may keep a photo
    for a few minutes at most."""
    found = (
        ShowcasePhoto.objects.filter(pk=pk, item__withdrawn_at__isnull=True, mime__in=PHOTO_TYPES)
        .select_related("blob")
        .first()
    )
    if found is None:
        raise Http404
    etag = f'"{found.blob.sha256}"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response: HttpResponseBase = HttpResponseNotModified()
    else:
        response = StreamingHttpResponse(found.blob.chunks(), content_type=found.mime)
        response["Content-Length"] = str(found.blob.size)
        header = content_disposition_header(False, found.filename)
        if header:
            response["Content-Disposition"] = header
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


# --- the ministry's management -----------------------------------------------------------------------------------

PHOTOS = Q(attachments__is_image=True, attachments__inline=False, attachments__removed_at__isnull=True)


@role_required(Role.MINISTRY)
def manage(request: HttpRequest) -> HttpResponse:
    """Accepted applications waiting to be published, and what is published (with withdrawal)."""
    candidates = (
        services.showcase_candidates()
        .select_related("submission__city__parent")
        .annotate(photo_count=Count("attachments", filter=PHOTOS))
        .order_by("-submission__period__cycle__year", "submission__city__division_id", "pk")
    )
    published = services.live_showcase().annotate(photo_count=Count("photos")).order_by("-published_at", "-pk")
    page = Paginator(published, MANAGE_PER_PAGE).get_page(request.GET.get("page"))
    names = _area_names()
    return render(request, "portal/showcase/manage.html", {
        "candidates": [(a, names.get(a.area, a.area)) for a in candidates],
        "solutions": [(p, names.get(p.area, p.area)) for p in services.solution_candidates().order_by("-pk")],
        "page": page, "published": [(i, names.get(i.area, i.area)) for i in page.object_list],
        "withdrawn": ShowcaseItem.objects.filter(withdrawn_at__isnull=False).count(),
    })  # fmt: skip


@role_required(Role.MINISTRY)
@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(TypicalApplication, pk=pk)
    try:  # the service says why when it is not (or no longer) a candidate
        item = services.publish_application(actor=_user(request), application=application, request=request)
    except PortalError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("已发布典型案例“%(title)s”，公众页面和搜索中已可看到。") % {"title": item.title})
    return redirect("showcase:manage")


@role_required(Role.MINISTRY)
@require_POST
def publish_solution(request: HttpRequest, pk: int) -> HttpResponse:
    post = get_object_or_404(BoardPost, pk=pk, kind=BoardPost.Kind.SOLUTION)
    try:
        item = services.publish_solution(actor=_user(request), post=post, request=request)
    except PortalError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("已发布典型案例“%(title)s”，公众页面和搜索中已可看到。") % {"title": item.title})
    return redirect("showcase:manage")


@role_required(Role.MINISTRY)
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (a page, so it works without JavaScript); POST withdraws."""
    item = get_object_or_404(ShowcaseItem.objects.select_related("city"), pk=pk)
    if request.method != "POST":
        if item.withdrawn_at is not None:
            messages.info(request, _("该案例已经撤回。"))
            return redirect("showcase:manage")
        return render(request, "portal/showcase/withdraw.html", {"item": item})
    try:
        services.withdraw_showcase(actor=_user(request), item=item, request=request)
    except PortalError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("已撤回典型案例“%(title)s”，公众页面和搜索中不再显示。") % {"title": item.title})
    return redirect("showcase:manage")
