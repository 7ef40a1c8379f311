"""Pages of the supply–demand board (供需对接): the public board and a post's public page; the posting organisation's
posts, form, suggested matches and contact requests; the analyst's moderation. Every change goes through
:mod:`infocity.portal.board`; every object is fetched from what the user may see (else 404)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from infocity.accounts.models import Role, User
from infocity.accounts.permissions import role_required
from infocity.organisations.models import Organisation, OrganisationKind
from infocity.progress.sections import AREA_CODES, AREAS
from infocity.scoping import get_visible_or_404, parse_id

from . import board
from .board import BoardFormError
from .models import BoardPost, ContactRequest
from .services import PortalError

POSTERS = board.POSTER_ROLES
FORM_FIELDS = ("title", "area", "description", "contact_name", "contact_phone", "contact_email")
PAGE_SIZE = 20


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _provinces() -> list[Organisation]:
    provinces = Organisation.objects.filter(kind=OrganisationKind.PROVINCE, division__isnull=False)
    return list(provinces.order_by("division"))


def _rows(
    posts: list[BoardPost], contacts: dict[int, board.Contact] | None = None, *, anonymous: bool = False
) -> list[dict[str, Any]]:
    """What a list shows of each post; contacts masked unless given (and not shown at all to anonymous visitors)."""
    return [
        {"post": p, "province": board.province_of(p.organisation),
         "contact": (contacts or {}).get(p.pk) or (board.HIDDEN if anonymous else board.masked_contact(p))}
        for p in posts
    ]  # fmt: skip


# --- public --------------------------------------------------------------------------------------


@login_not_required
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """The public board: published needs and solutions, filtered and searched. Contacts are always masked here."""
    kind = request.GET.get("kind", "")
    kind = kind if kind in BoardPost.Kind.values else ""
    area = request.GET.get("area", "")
    area = area if area in AREA_CODES else ""
    provinces = _provinces()
    province = next((p for p in provinces if p.division_id == request.GET.get("province")), None)
    q = board.plain_text(request.GET.get("q", ""))[:100]
    posts = board.search_board(q, kind=kind, area=area, province=province)
    page = Paginator(posts, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {"kind": kind, "area": area, "province": province.division_id if province else "", "q": q}
    return render(request, "portal/board/index.html", {
        "page": page, "rows": _rows(list(page), anonymous=not request.user.is_authenticated), "filters": filters,
        "areas": AREAS, "provinces": provinces,
        "kinds": BoardPost.Kind.choices, "query": urlencode({k: v for k, v in filters.items() if v}),
        "may_post": board.kind_for(request.user) is not None,
    })  # fmt: skip


def _pair_requests(user: Any, post: BoardPost, mine: list[BoardPost]) -> list[ContactRequest]:
    """The requests, either direction, between ``post`` and the user's own posts."""
    if not mine:
        return []
    ids = [p.pk for p in mine]
    pairs = Q(post=post, from_post_id__in=ids) | Q(from_post=post, post_id__in=ids)
    return list(ContactRequest.objects.filter(pairs).select_related("post", "from_post"))


@login_not_required
@require_safe
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A published post: its organisation, place, area, date and text. The contact person is masked except for
    the posting organisation and an organisation matched with the post by an accepted request."""
    user = request.user
    post = get_visible_or_404(user, board.public_posts(), pk)
    contact = board.contact_for(user, post)
    if not contact.masked and isinstance(user, User):
        board.record_contact_view(actor=user, posts=[post], request=request)
    mine: list[BoardPost] = []
    if isinstance(user, User) and board.kind_for(user) == board.opposite(post.kind):
        mine = list(board.own_posts(user).filter(status=BoardPost.Status.APPROVED, kind=board.opposite(post.kind)))
    pairs = _pair_requests(user, post, mine)
    asked = {r.from_post_id for r in pairs} | {r.post_id for r in pairs}
    return render(request, "portal/board/detail.html", {
        "post": post, "province": board.province_of(post.organisation), "contact": contact,
        "own": isinstance(user, User) and user.organisation_id == post.organisation_id,
        "pairs": pairs, "askable": [p for p in mine if p.pk not in asked], "message_max": board.MESSAGE_MAX,
    })  # fmt: skip


# --- the posting organisation --------------------------------------------------------------------


@role_required(*POSTERS)
@require_safe
def mine(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    posts = list(board.own_posts(user))
    waiting = board.requests_received(user).filter(status=ContactRequest.Status.PENDING)
    return render(request, "portal/board/mine.html", {
        "posts": posts, "kind": board.kind_for(user), "waiting": waiting.count(),
    })  # fmt: skip


def _form_data(request: HttpRequest) -> dict[str, str]:
    return {name: str(request.POST.get(name, "")) for name in FORM_FIELDS}


def _render_form(
    request: HttpRequest, data: dict[str, Any], post: BoardPost | None, errors: dict[str, str] | None = None
) -> HttpResponse:
    kind = board.kind_for(_user(request))
    if errors:
        messages.error(request, _("请按提示修改后再保存。"))
    return render(request, "portal/board/form.html", {
        "post": post, "data": data, "errors": errors or {}, "areas": AREAS, "kind": kind,
        "kind_label": BoardPost.Kind(kind).label if kind else "",
        "version": request.POST.get("version") if request.method == "POST" else (post.version if post else ""),
        "limits": {"title": board.TITLE_MAX, "description": board.DESCRIPTION_MAX, "note": board.NOTE_MAX},
    })  # fmt: skip


@role_required(*POSTERS)
def new(request: HttpRequest) -> HttpResponseBase:
    user = _user(request)
    if board.kind_for(user) is None:
        messages.error(request, _("贵单位尚未启用，不能发布供需信息。请联系平台管理员。"))
        return redirect("board:mine")
    if request.method != "POST":
        defaults = {"contact_name": user.full_name, "contact_phone": user.phone, "contact_email": user.email}
        return _render_form(request, defaults, None)
    data = _form_data(request)
    try:
        post = board.save_post(actor=user, data=data, request=request)
    except BoardFormError as error:
        return _render_form(request, data, None, error.errors)
    except PortalError as error:
        messages.error(request, str(error))
        return _render_form(request, data, None)
    messages.success(request, _("已提交，监测机构审核通过后将在供需对接栏目公开发布。"))
    return redirect("board:post", post.pk)


@role_required(*POSTERS)
def edit(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _user(request)
    post = get_visible_or_404(user, board.own_posts(user), pk)
    if post.status == BoardPost.Status.CLOSED:
        messages.error(request, _("该信息已关闭，不能再修改；如有新的需求或方案，请重新发布。"))
        return redirect("board:post", post.pk)
    if request.method != "POST":
        return _render_form(request, {name: getattr(post, name) for name in FORM_FIELDS}, post)
    data = _form_data(request)
    try:
        saved = board.save_post(
            actor=user, data=data, post=post, expected_version=parse_id(request.POST.get("version")) or None,
            request=request,
        )  # fmt: skip
    except BoardFormError as error:
        return _render_form(request, data, post, error.errors)
    except PortalError as error:
        # A stale page among others: nothing was saved; the form keeps what was typed so it can be copied.
        messages.error(request, str(error))
        return _render_form(request, data, post)
    if saved.version == post.version:
        messages.info(request, _("内容没有变化，无需重新审核。"))
    else:
        messages.success(request, _("修改已保存，监测机构重新审核通过后公开发布。"))
    return redirect("board:post", saved.pk)


@role_required(*POSTERS)
@require_safe
def post_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One of the organisation's own posts: its state, its requests and, once published, the suggested matches."""
    user = _user(request)
    post = get_visible_or_404(user, board.own_posts(user), pk)
    suggested = board.suggestions(post) if post.status == BoardPost.Status.APPROVED else []
    sent = list(post.requests_sent.select_related("post__organisation"))
    received = list(post.requests_received.select_related("from_post__organisation"))
    asked = {r.post_id: r for r in sent} | {r.from_post_id: r for r in received}
    return render(request, "portal/board/post.html", {
        "post": post, "province": board.province_of(post.organisation),
        "contact": board.contact_for(user, post), "sent": sent, "received": received,
        "suggestions": [{"s": s, "request": asked.get(s.post.pk),
                         "province": board.province_of(s.post.organisation)} for s in suggested],
        "message_max": board.MESSAGE_MAX,
    })  # fmt: skip


@role_required(*POSTERS)
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    post = get_visible_or_404(user, board.own_posts(user), pk)
    try:
        board.close_post(actor=user, post=post, request=request)
    except PortalError as error:
        messages.error(request, str(error))
        return redirect("board:post", post.pk)
    messages.success(request, _("已关闭“%(title)s”，它不再公开显示，也不再参与匹配。") % {"title": post.title})
    return redirect("board:mine")


@role_required(*POSTERS)
@require_POST
def request_contact(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask, from one of the organisation's published posts, for the contact of the published post ``pk``."""
    user = _user(request)
    target = get_visible_or_404(user, board.public_posts(), pk)
    own = get_visible_or_404(user, board.own_posts(user), parse_id(request.POST.get("from_post")))
    back = (
        reverse("board:detail", args=[target.pk])
        if request.POST.get("back") == "detail"
        else reverse("board:post", args=[own.pk])
    )
    try:
        board.request_contact(
            actor=user, from_post=own, post=target, message=str(request.POST.get("message", "")), request=request
        )
    except PortalError as error:
        messages.error(request, str(error))
        return redirect(back)
    messages.success(
        request,
        _("已向%(org)s发出对接申请。对方同意后，双方可在“对接申请”中看到彼此的联系方式。")
        % {"org": target.organisation.name},
    )
    return redirect(back)


@role_required(*POSTERS)
@require_safe
def requests(request: HttpRequest) -> HttpResponse:
    """Requests received (to answer) and sent (to withdraw); for accepted ones, the other side's contact."""
    user = _user(request)
    received = list(board.requests_received(user).select_related("from_post__organisation__parent__parent"))
    sent = list(board.requests_sent(user).select_related("post__organisation__parent__parent"))
    accepted = ContactRequest.Status.ACCEPTED
    partners = [r.from_post for r in received if r.status == accepted] + [r.post for r in sent if r.status == accepted]
    contacts = board.contacts_for(user, partners)
    revealed = [p for p in partners if not contacts[p.pk].masked]
    if revealed:
        board.record_contact_view(actor=user, posts=revealed, request=request)
    return render(request, "portal/board/requests.html", {
        "received": [{"r": r, "contact": contacts.get(r.from_post_id)} for r in received],
        "sent": [{"r": r, "contact": contacts.get(r.post_id)} for r in sent],
    })  # fmt: skip


@role_required(*POSTERS)
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    contact_request = get_visible_or_404(user, board.requests_received(user), pk)
    accept = request.POST.get("decision") == "accept"
    if request.POST.get("decision") not in {"accept", "decline"}:
        messages.error(request, _("请选择同意或婉拒。"))
        return redirect("board:requests")
    try:
        board.decide_request(actor=user, contact_request=contact_request, accept=accept, request=request)
    except PortalError as error:
        messages.error(request, str(error))
        return redirect("board:requests")
    if accept:
        messages.success(request, _("已同意对接。双方现在可以在本页看到彼此的联系方式。"))
    else:
        messages.success(request, _("已婉拒该对接申请，对方不会看到您的联系方式。"))
    return redirect("board:requests")


@role_required(*POSTERS)
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    contact_request = get_visible_or_404(user, board.requests_sent(user), pk)
    try:
        board.withdraw_request(actor=user, contact_request=contact_request, request=request)
    except PortalError as error:
        messages.error(request, str(error))
        return redirect("board:requests")
    messages.success(request, _("已撤回对接申请。"))
    return redirect("board:requests")


# --- moderation ----------------------------------------------------------------------------------


@role_required(Role.ANALYST)
@require_safe
def moderation(request: HttpRequest) -> HttpResponse:
    """The analyst's queue (待审核, oldest first) and the other posts by status."""
    user = _user(request)
    status = request.GET.get("status", BoardPost.Status.PENDING)
    status = status if status in BoardPost.Status.values else BoardPost.Status.PENDING
    if status == BoardPost.Status.PENDING:
        posts = board.moderation_queue()
    else:
        posts = board.posts_visible_to(user).filter(status=status).order_by("-updated_at", "-pk")
    page = Paginator(posts, 50).get_page(request.GET.get("page"))
    return render(request, "portal/board/moderation.html", {
        "page": page, "rows": _rows(list(page)), "status": status, "statuses": BoardPost.Status.choices,
        "query": urlencode({"status": status}),
    })  # fmt: skip


@role_required(Role.ANALYST)
@require_safe
def review(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    post = get_visible_or_404(user, board.posts_visible_to(user), pk)
    return render(request, "portal/board/review.html", {
        "post": post, "province": board.province_of(post.organisation), "contact": board.contact_for(user, post),
        "note_max": board.NOTE_MAX,
    })  # fmt: skip


@role_required(Role.ANALYST)
@require_POST
def moderate(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    post = get_visible_or_404(user, board.posts_visible_to(user), pk)
    decision = request.POST.get("decision")
    if decision not in {"approve", "reject"}:
        messages.error(request, _("请选择通过或不予通过。"))
        return redirect("board:review", post.pk)
    try:
        board.moderate(
            actor=user, post=post, approve=decision == "approve", note=str(request.POST.get("note", "")),
            expected_version=parse_id(request.POST.get("version")) or None, request=request,
        )  # fmt: skip
    except PortalError as error:
        messages.error(request, str(error))
        return redirect("board:review", post.pk)
    if decision == "approve":
        messages.success(request, _("已通过审核，“%(title)s”已公开发布。") % {"title": post.title})
    else:
        messages.success(request, _("已退回“%(title)s”，发布单位会看到审核意见。") % {"title": post.title})
    return redirect("board:moderation")
