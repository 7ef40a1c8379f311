"""供需对接 (the supply–demand board): demonstration cities post needs (需求), registered enterprises post solutions
(解决方案); the monitoring agency moderates; the platform suggests matches by Chinese full-text relevance; one party
asks the other for contact through the platform, and the contact person's details pass only between the two
organisations once the owner of the asked post accepts (个人信息保护法: everyone else sees them masked).

Every change is one transaction with an audit event; views, commands and tests call these functions only."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import strip_tags

from infocity.accounts.models import Role, User
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.evaluation.services import is_analyst
from infocity.organisations.models import Organisation, OrganisationKind
from infocity.privacy import mask_email, mask_name, mask_phone
from infocity.progress.sections import AREA_CODES

from . import search
from .models import AREA_NAMES, BoardPost, ContactRequest
from .services import PortalError, require

BOARD = "board"  # the search index's kind for board posts

NEED_ROLES = (Role.CITY_REPORTER, Role.CITY_APPROVER)
SOLUTION_ROLES = (Role.ENTERPRISE,)
POSTER_ROLES = NEED_ROLES + SOLUTION_ROLES

TITLE_MAX = 100
DESCRIPTION_MIN = 10
DESCRIPTION_MAX = 4000
NAME_MAX = 50
EMAIL_MAX = 100
NOTE_MAX = 200
MESSAGE_MAX = 300

# Relevance decides the order; a post in the same demonstration area gets this share of the score on top.
AREA_BONUS = 0.2

Kind = BoardPost.Kind
Status = BoardPost.Status

# Mobile (optionally +86), landline with area code (optionally an extension), or a 400/800 service number; checked
# after spaces, hyphens and brackets are removed.
MOBILE = re.compile(r"(?:\+?86)?1[3-9]\d{9}")
LANDLINE = re.compile(r"0\d{9,11}(?:(?:转|ext\.?|#)\d{1,6})?", re.IGNORECASE)
SERVICE = re.compile(r"[48]00\d{7}")
PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")


class BoardFormError(PortalError):
    """A post that cannot be saved as entered: one Chinese message per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("；".join(errors.values()))


# --- who may post what ----------------------------------------------------------------------------


def kind_for(user: Any) -> str | None:
    """The kind of post the user may publish: a need for a demonstration city's users, a solution for a
    registered (active) enterprise's users; ``None`` for everyone else."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    organisation = user.organisation
    if organisation is None or not organisation.is_active:
        return None
    if user.role in NEED_ROLES and organisation.kind == OrganisationKind.CITY:
        return Kind.NEED
    if user.role in SOLUTION_ROLES and organisation.kind == OrganisationKind.ENTERPRISE:
        return Kind.SOLUTION
    return None


def opposite(kind: str) -> str:
    return Kind.SOLUTION if kind == Kind.NEED else Kind.NEED


def _owns(user: User, post: BoardPost) -> bool:
    return kind_for(user) is not None and user.organisation_id == post.organisation_id


# --- what each user may see -----------------------------------------------------------------------


def _with_places(posts: QuerySet[BoardPost]) -> QuerySet[BoardPost]:
    # A city's parent is its province; an enterprise's is its city, whose parent is the province.
    return posts.select_related("organisation__parent__parent")


def public_posts() -> QuerySet[BoardPost]:
    """The public board: approved posts of organisations still active."""
    return _with_places(BoardPost.objects.filter(status=Status.APPROVED, organisation__is_active=True))


def own_posts(user: User) -> QuerySet[BoardPost]:
    """The posts of the user's organisation, in every status (only for users who may post)."""
    if kind_for(user) is None:
        return BoardPost.objects.none()
    return _with_places(BoardPost.objects.filter(organisation_id=user.organisation_id))


def _partner_post_ids(user: User) -> set[int]:
    """Posts paired with one of the user's organisation's posts by an accepted request (either direction)."""
    org = user.organisation_id
    accepted = ContactRequest.objects.filter(status=ContactRequest.Status.ACCEPTED)
    pairs = accepted.filter(Q(from_post__organisation_id=org) | Q(post__organisation_id=org))
    return {pk for pair in pairs.values_list("post_id", "from_post_id") for pk in pair}


def posts_visible_to(user: Any) -> QuerySet[BoardPost]:
    """The analyst sees every post (to moderate it); a poster sees the public board, its own organisation's posts
    in any status and the posts it has been matched with; everyone else the public board."""
    if is_analyst(user):
        return _with_places(BoardPost.objects.all())
    if kind_for(user) is None:
        return public_posts()
    partners = _partner_post_ids(user)
    visible = Q(status=Status.APPROVED, organisation__is_active=True) | Q(organisation_id=user.organisation_id)
    return _with_places(BoardPost.objects.filter(visible | Q(pk__in=partners)))


def moderation_queue() -> QuerySet[BoardPost]:
    """Posts waiting for the analyst, oldest first."""
    return _with_places(BoardPost.objects.filter(status=Status.PENDING)).order_by("updated_at", "pk")


def requests_received(user: User) -> QuerySet[ContactRequest]:
    if kind_for(user) is None:
        return ContactRequest.objects.none()
    return ContactRequest.objects.filter(post__organisation_id=user.organisation_id).select_related(
        "post", "from_post__organisation"
    )


def requests_sent(user: User) -> QuerySet[ContactRequest]:
    if kind_for(user) is None:
        return ContactRequest.objects.none()
    return ContactRequest.objects.filter(from_post__organisation_id=user.organisation_id).select_related(
        "from_post", "post__organisation"
    )


def province_of(organisation: Organisation) -> Organisation | None:
    """The province an organisation sits in, from the parents already loaded (see ``_with_places``)."""
    current: Organisation | None = organisation
    for _depth in range(3):
        if current is None:
            return None
        if current.kind == OrganisationKind.PROVINCE:
            return current
        current = current.parent
    return None


# --- personal data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str
    email: str
    masked: bool
    hidden: bool = False  # not even masked: anonymous visitors see only that it is shown after a match


HIDDEN = Contact("", "", "", masked=True, hidden=True)


def masked_contact(post: BoardPost) -> Contact:
    return Contact(mask_name(post.contact_name), mask_phone(post.contact_phone), mask_email(post.contact_email), True)


def _accepted_pairs(user: Any, posts: Iterable[BoardPost]) -> set[int]:
    """Of ``posts``, those paired by an accepted request with a post of the user's organisation."""
    ids = [p.pk for p in posts]
    if not ids or kind_for(user) is None:
        return set()
    org = user.organisation_id
    accepted = ContactRequest.objects.filter(status=ContactRequest.Status.ACCEPTED)
    received = accepted.filter(post_id__in=ids, from_post__organisation_id=org).values_list("post_id", flat=True)
    sent = accepted.filter(from_post_id__in=ids, post__organisation_id=org).values_list("from_post_id", flat=True)
    return set(received) | set(sent)


def contact_visible(user: Any, post: BoardPost) -> bool:
    """The contact person of a post is shown to the users of the posting organisation and to the users of an
    organisation matched with the post by an accepted request (either direction); masked for everyone else —
    other cities and enterprises, and the analyst too (moderation needs the content only) — and not shown at all
    to anonymous visitors."""
    return not contact_for(user, post).masked


def contacts_for(user: Any, posts: Iterable[BoardPost]) -> dict[int, Contact]:
    """Each post's contact as ``user`` may see it, in one query."""
    posts = list(posts)
    paired = _accepted_pairs(user, posts)
    org = getattr(user, "organisation_id", None) if kind_for(user) is not None else None
    contacts = {}
    for post in posts:
        if not getattr(user, "is_authenticated", False):
            contacts[post.pk] = HIDDEN
        elif post.organisation_id == org or post.pk in paired:
            contacts[post.pk] = Contact(post.contact_name, post.contact_phone, post.contact_email, False)
        else:
            contacts[post.pk] = masked_contact(post)
    return contacts


def contact_for(user: Any, post: BoardPost) -> Contact:
    return contacts_for(user, [post])[post.pk]


@transaction.atomic
def record_contact_view(*, actor: User, posts: list[BoardPost], request: HttpRequest | None = None) -> None:
    """Showing another organisation's contact person is a disclosure of personal data: one audit event per page
    that shows any, naming the posts. One's own organisation's contacts are not recorded."""
    others = [p for p in posts if p.organisation_id != actor.organisation_id]
    if not others:
        return
    record(
        Action.CONTACT_VIEW, actor=actor, request=request, target=others[0] if len(others) == 1 else None,
        detail={"posts": [p.pk for p in others]},
    )  # fmt: skip


# --- input ---------------------------------------------------------------------------------------


def plain_text(value: object, *, multiline: bool = False) -> str:
    """User text as stored on the board: no markup, no control characters, whitespace tidied."""
    text = strip_tags(str(value or ""))
    text = "".join(c for c in text if c in "\n\t" or (ord(c) >= 32 and ord(c) != 127))
    if not multiline:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def valid_phone(phone: str) -> bool:
    compact = PHONE_SEPARATORS.sub("", phone)
    return any(p.fullmatch(compact) for p in (MOBILE, LANDLINE, SERVICE))


def _too_long(label: str, text: str, limit: int) -> str:
    return f"{label}最多 {limit} 个字（现有 {len(text)} 个字），请精简后再保存。"


def clean_post(data: Mapping[str, Any]) -> dict[str, str]:
    """The fields of a post as they will be stored, or :class:`BoardFormError` naming every problem."""
    errors: dict[str, str] = {}
    title = plain_text(data.get("title"))
    if not title:
        errors["title"] = "请填写标题，例如“智慧社区服务平台建设需求”。"
    elif len(title) > TITLE_MAX:
        errors["title"] = _too_long("标题", title, TITLE_MAX)
    area = str(data.get("area") or "")
    if area not in AREA_CODES:
        errors["area"] = "请选择示范领域（A–F 之一）。"
    description = plain_text(data.get("description"), multiline=True)
    if len(description) < DESCRIPTION_MIN:
        errors["description"] = f"请写明具体内容（至少 {DESCRIPTION_MIN} 个字）：要解决的问题、规模、时间和预算等。"
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = _too_long("内容", description, DESCRIPTION_MAX)
    name = plain_text(data.get("contact_name"))
    if not name:
        errors["contact_name"] = "请填写联系人姓名。"
    elif len(name) > NAME_MAX:
        errors["contact_name"] = _too_long("联系人姓名", name, NAME_MAX)
    phone = plain_text(data.get("contact_phone"))
    if not phone:
        errors["contact_phone"] = "请填写联系电话。"
    elif len(phone) > 30 or not valid_phone(phone):
        errors["contact_phone"] = (
            "联系电话格式不正确：请填写手机号（如 13812345678）或带区号的固定电话（如 0571-87001234）。"
        )
    email = plain_text(data.get("contact_email"))
    if email:
        try:
            if len(email) > EMAIL_MAX:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            errors["contact_email"] = "电子邮箱格式不正确，例如 name@example.cn；也可以不填。"
    if errors:
        raise BoardFormError(errors)
    return {
        "title": title, "area": area, "description": description,
        "contact_name": name, "contact_phone": phone, "contact_email": email,
    }  # fmt: skip


def _index(post: BoardPost) -> None:
    search.index(BOARD, post.pk, [post.title, post.description, *AREA_NAMES.get(post.area, ()), post.organisation.name])


# --- posts ---------------------------------------------------------------------------------------


def save_post(
    *,
    actor: User,
    data: Mapping[str, Any],
    post: BoardPost | None = None,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
) -> BoardPost:
    """Publish a new post for the actor's organisation (a need for a city, a solution for an enterprise) or change
    one of its posts. Either way the post waits for the analyst's moderation before it is (again) public. A change
    made on a stale page is refused and changes nothing."""
    kind = kind_for(actor)
    if kind is None:
        raise PortalError(
            "只有示范城市的填报员、负责人和已注册启用的企业用户可以发布供需信息。如贵单位尚未启用，请联系平台管理员。"
        )
    fields = clean_post(data)
    with transaction.atomic():
        if post is None:
            locked = BoardPost.objects.create(
                kind=kind, organisation_id=actor.organisation_id, created_by=actor, status=Status.PENDING, **fields
            )
            changed = sorted(fields)
        else:
            locked = BoardPost.objects.select_for_update().select_related("organisation").get(pk=post.pk)
            require(_owns(actor, locked), "只能修改本单位发布的供需信息。")
            require(locked.status != Status.CLOSED, "该信息已关闭，不能再修改；如有新的需求或方案，请重新发布。")
            require(
                expected_version is not None and expected_version == locked.version,
                f"在您编辑期间，该信息已被修改（现为第 {locked.version} 版），您的修改没有保存。"
                "请重新打开该信息，核对最新内容后再修改。",
            )
            changed = sorted(k for k, v in fields.items() if getattr(locked, k) != v)
            if not changed and locked.status != Status.REJECTED:
                return locked
            for key, value in fields.items():
                setattr(locked, key, value)
            locked.status, locked.version = Status.PENDING, locked.version + 1
            locked.save()
        _index(locked)
        # Field names only: the audit log must not become a second copy of the contact person's details.
        record(
            Action.BOARD_POST_SAVE, actor=actor, request=request, target=locked,
            detail={"kind": locked.kind, "version": locked.version, "created": post is None, "changed": changed},
        )  # fmt: skip
    return locked


@transaction.atomic
def moderate(
    *,
    actor: User,
    post: BoardPost,
    approve: bool,
    note: str = "",
    expected_version: int | None = None,
    request: HttpRequest | None = None,
) -> BoardPost:
    """The monitoring agency's analyst publishes a pending post or rejects it with a note the poster reads; a
    published post found wrong later is taken down the same way (rejected with a note)."""
    require(is_analyst(actor), "只有监测机构分析员可以审核供需信息。")
    locked = BoardPost.objects.select_for_update().get(pk=post.pk)
    allowed = {Status.PENDING} if approve else {Status.PENDING, Status.APPROVED}
    require(locked.status in allowed, f"该信息当前状态为“{locked.get_status_display()}”，不能执行此操作。")
    require(
        expected_version is None or expected_version == locked.version,
        "该信息在您审核期间已被发布单位修改，请重新打开后审核最新内容。",
    )
    note = plain_text(note)
    require(len(note) <= NOTE_MAX, _too_long("审核意见", note, NOTE_MAX))
    require(approve or bool(note), "不予通过时请填写审核意见，说明原因和修改建议，发布单位会看到。")
    locked.status = Status.APPROVED if approve else Status.REJECTED
    locked.moderation_note, locked.moderated_at, locked.moderated_by = note, timezone.now(), actor
    locked.save(update_fields=["status", "moderation_note", "moderated_at", "moderated_by", "updated_at"])
    record(
        Action.BOARD_POST_MODERATE, actor=actor, request=request, target=locked,
        detail={"approve": approve, "note": note, "version": locked.version},
    )  # fmt: skip
    return locked


@transaction.atomic
def close_post(*, actor: User, post: BoardPost, request: HttpRequest | None = None) -> BoardPost:
    """The posting organisation closes a post: it leaves the public board and matching; requests still waiting
    for an answer end (declined when asked of this post, withdrawn when sent from it). Accepted pairs keep the
    contact they were given."""
    locked = BoardPost.objects.select_for_update().get(pk=post.pk)
    require(_owns(actor, locked), "只能关闭本单位发布的供需信息。")
    require(locked.status != Status.CLOSED, "该信息已经关闭。")
    previous = locked.status
    locked.status = Status.CLOSED
    locked.save(update_fields=["status", "updated_at"])
    now = timezone.now()
    pending = ContactRequest.objects.filter(status=ContactRequest.Status.PENDING)
    declined = pending.filter(post=locked).update(
        status=ContactRequest.Status.DECLINED, decided_by=actor, decided_at=now
    )
    withdrawn = pending.filter(from_post=locked).update(
        status=ContactRequest.Status.WITHDRAWN, decided_by=actor, decided_at=now
    )
    search.unindex(BOARD, locked.pk)
    record(
        Action.BOARD_POST_CLOSE, actor=actor, request=request, target=locked,
        detail={"previous": previous, "declined": declined, "withdrawn": withdrawn},
    )  # fmt: skip
    return locked


# --- matching ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    post: BoardPost
    score: float  # 0–100: relevance relative to the best match, plus the same-area bonus
    same_area: bool


def suggestions(post: BoardPost, limit: int = 10) -> list[Suggestion]:
    """Published posts of the opposite kind that share words with this one, best first; a post in the same
    demonstration area ranks higher. Never the post's own organisation's posts."""
    ranked = search.search(BOARD, f"{post.title} {post.description}", any_word=True)
    if not ranked:
        return []
    candidates = public_posts().filter(kind=opposite(post.kind), pk__in=[ref for ref, _ in ranked])
    found = {p.pk: p for p in candidates.exclude(organisation_id=post.organisation_id)}
    relevance = {ref: score for ref, score in ranked if ref in found}
    if not relevance:
        return []
    best = max(relevance.values()) or 1.0
    result = []
    for ref, value in relevance.items():
        same_area = found[ref].area == post.area
        share = max(value, 0.0) / best * (1 - AREA_BONUS) + (AREA_BONUS if same_area else 0.0)
        result.append(Suggestion(found[ref], round(share * 100, 1), same_area))
    result.sort(key=lambda s: (-s.score, -s.post.pk))
    return result[:limit]


def search_board(query: str = "", *, kind: str = "", area: str = "", province: Organisation | None = None) -> Any:
    """The public board filtered, and if ``query`` is given matched by all its words, best first."""
    posts = public_posts()
    if kind in Kind.values:
        posts = posts.filter(kind=kind)
    if area in AREA_CODES:
        posts = posts.filter(area=area)
    if province is not None:
        posts = posts.filter(organisation__path__startswith=province.path)
    if not query.strip():
        return posts
    ranked = search.search(BOARD, query)
    found = {p.pk: p for p in posts.filter(pk__in=[ref for ref, _ in ranked])}
    return [found[ref] for ref, _ in ranked if ref in found]


# --- contact requests ----------------------------------------------------------------------------


def request_contact(
    *, actor: User, from_post: BoardPost, post: BoardPost, message: str = "", request: HttpRequest | None = None
) -> ContactRequest:
    """Ask, from one of the actor's organisation's published posts, for the contact of a published post of the
    opposite kind. One request per pair: asking again is refused with where to find the first one."""
    require(kind_for(actor) is not None, "只有示范城市和已注册企业的用户可以申请对接。")
    message = plain_text(message, multiline=True)
    require(len(message) <= MESSAGE_MAX, _too_long("留言", message, MESSAGE_MAX))
    try:
        with transaction.atomic():
            # Both rows locked in key order, so two parties asking each other at once cannot deadlock.
            locked = BoardPost.objects.select_for_update().filter(pk__in=[from_post.pk, post.pk]).order_by("pk")
            rows = {p.pk: p for p in locked}
            mine, theirs = rows[from_post.pk], rows[post.pk]
            require(mine.organisation_id == actor.organisation_id, "只能用本单位发布的信息申请对接。")
            require(theirs.organisation_id != actor.organisation_id, "不能向本单位发布的信息申请对接。")
            require(mine.status == Status.APPROVED, "您的信息审核通过并发布后才能申请对接。")
            require(
                theirs.status == Status.APPROVED and theirs.organisation.is_active,
                "对方的信息已关闭或暂未发布，不能申请对接。",
            )
            require(
                theirs.kind == opposite(mine.kind),
                "城市需求只能与企业解决方案对接，企业解决方案只能与城市需求对接。",
            )
            reverse = ContactRequest.objects.filter(post=mine, from_post=theirs).first()
            require(
                reverse is None or reverse.status == ContactRequest.Status.WITHDRAWN,
                "对方已经就这两条信息向您申请对接，请在“对接申请 · 收到的申请”中答复，不必再申请。",
            )
            existing = ContactRequest.objects.select_for_update().filter(post=theirs, from_post=mine).first()
            if existing is not None:
                require(
                    existing.status == ContactRequest.Status.WITHDRAWN,
                    f"您已经就这两条信息申请过对接（{existing.get_status_display()}），"
                    "请在“对接申请 · 发出的申请”中查看，不必重复申请。",
                )
                # A withdrawn request may be made again: the same row, asked anew.
                existing.status = ContactRequest.Status.PENDING
                existing.message, existing.requested_by, existing.requested_at = message, actor, timezone.now()
                existing.decided_by, existing.decided_at = None, None
                existing.save()
                contact_request = existing
            else:
                contact_request = ContactRequest.objects.create(
                    post=theirs, from_post=mine, message=message, requested_by=actor
                )
            record(
                Action.CONTACT_REQUEST, actor=actor, request=request, target=contact_request,
                detail={"post": theirs.pk, "from_post": mine.pk, "renewed": existing is not None},
            )  # fmt: skip
    except IntegrityError as error:
        # Two clicks racing past the check above: the unique constraint keeps one request.
        raise PortalError("您已经就这两条信息申请过对接，请在“对接申请 · 发出的申请”中查看，不必重复申请。") from error
    return contact_request


@transaction.atomic
def decide_request(
    *, actor: User, contact_request: ContactRequest, accept: bool, request: HttpRequest | None = None
) -> ContactRequest:
    """The organisation asked answers: accepting shows each side the other's contact person; declining ends it."""
    locked = ContactRequest.objects.select_for_update().select_related("post").get(pk=contact_request.pk)
    require(_owns(actor, locked.post), "只能答复向本单位信息提出的对接申请。")
    require(
        locked.status == ContactRequest.Status.PENDING,
        f"该申请已经{locked.get_status_display()}，不能再答复。",
    )
    require(locked.post.status != Status.CLOSED, "您的信息已关闭，不能再答复对接申请。")
    locked.status = ContactRequest.Status.ACCEPTED if accept else ContactRequest.Status.DECLINED
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    record(
        Action.CONTACT_DECIDE, actor=actor, request=request, target=locked,
        detail={"accept": accept, "post": locked.post_id, "from_post": locked.from_post_id},
    )  # fmt: skip
    return locked


@transaction.atomic
def withdraw_request(
    *, actor: User, contact_request: ContactRequest, request: HttpRequest | None = None
) -> ContactRequest:
    """The requesting organisation withdraws a request not yet answered (recorded as a request event)."""
    locked = ContactRequest.objects.select_for_update().select_related("from_post").get(pk=contact_request.pk)
    require(_owns(actor, locked.from_post), "只能撤回本单位发出的对接申请。")
    require(
        locked.status == ContactRequest.Status.PENDING,
        f"该申请已经{locked.get_status_display()}，只能撤回待答复的申请。",
    )
    locked.status, locked.decided_by, locked.decided_at = ContactRequest.Status.WITHDRAWN, actor, timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    record(
        Action.CONTACT_REQUEST, actor=actor, request=request, target=locked,
        detail={"withdrawn": True, "post": locked.post_id, "from_post": locked.from_post_id},
    )  # fmt: skip
    return locked
