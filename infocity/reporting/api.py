"""The reporting API (bearer token): read organisations, cycles, periods, submissions and data values as far as the
token's account may see them; write data values in bulk (JSON or CSV, all-or-nothing, ``Idempotency-Key``); and
the workflow actions — through the same service functions and rules as the pages."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.params import functions as param

from infocity.accounts.models import Role, User
from infocity.organisations.scoping import organisations_visible_to
from infocity.scoping import get_visible_or_404
from infocity.tokens.auth import read_auth, write_auth
from infocity.tokens.errors import ApiError, errors
from infocity.tokens.models import ApiToken, IdempotentRequest

from . import services
from .models import DataValue, Period, Submission
from .scoping import cycles_visible_to, submissions_visible_to
from .validation import ParseError, parse_value

router = Router(tags=["报送 Reporting"])
MAX_ROWS = 10_000
MAX_ID = 2_147_483_647  # identifiers fit a 32-bit integer; larger numbers are refused, not passed to the database


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# --- reading -------------------------------------------------------------------------------------


class PageIn(Schema):
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_ID)


def _page(queryset: QuerySet[Any], page: PageIn, convert: Any) -> dict[str, Any]:
    limit = max(1, min(page.limit, 1000))
    offset = max(0, page.offset)
    return {
        "total": queryset.count(),
        "limit": limit,
        "offset": offset,
        "items": [convert(obj) for obj in queryset[offset : offset + limit]],
    }


class OrganisationOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent: int | None


class OrganisationPage(Schema):
    total: int
    limit: int
    offset: int
    items: list[OrganisationOut]


@router.get(
    "/organisations", response={200: OrganisationPage, **errors(401, 422)}, auth=read_auth, summary="可见的机构"
)
def organisations(request: HttpRequest, page: Query[PageIn], kind: str = "") -> dict[str, Any]:
    qs = organisations_visible_to(_user(request)).order_by("path")
    if kind:
        qs = qs.filter(kind=kind)
    return _page(
        qs, page, lambda o: {"id": o.pk, "code": o.code, "name": o.name, "kind": o.kind, "parent": o.parent_id}
    )


class CycleOut(Schema):
    id: int
    name: str
    year: int
    edition: str


@router.get("/cycles", response={200: list[CycleOut], **errors(401)}, auth=read_auth, summary="填报周期")
def cycles(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"id": c.pk, "name": c.name, "year": c.year, "edition": c.edition.code}
        for c in cycles_visible_to(_user(request)).select_related("edition").order_by("-year", "pk")
    ]


class PeriodOut(Schema):
    id: int
    cycle: int
    code: str
    label: str
    frequency: str
    starts_on: str
    ends_on: str
    opens_on: str
    due_on: str
    expires_on: str


@router.get("/periods", response={200: list[PeriodOut], **errors(401, 422)}, auth=read_auth, summary="报告期")
def periods(request: HttpRequest, cycle: int | None = param.Query(None, ge=1, le=MAX_ID)) -> list[dict[str, Any]]:
    qs = Period.objects.filter(cycle__in=cycles_visible_to(_user(request))).order_by("ends_on", "frequency")
    if cycle is not None:
        qs = qs.filter(cycle_id=cycle)
    return [
        {
            "id": p.pk,
            "cycle": p.cycle_id,
            "code": p.code,
            "label": p.label,
            "frequency": p.frequency,
            "starts_on": p.starts_on.isoformat(),
            "ends_on": p.ends_on.isoformat(),
            "opens_on": p.opens_on.isoformat(),
            "due_on": p.due_on.isoformat(),
            "expires_on": p.expires_on.isoformat(),
        }
        for p in qs
    ]


class SubmissionOut(Schema):
    id: int
    city: str
    city_name: str
    period: str
    form: str
    status: str
    version: int
    returned: bool
    return_reason: str
    first_submitted_at: str | None
    accepted_at: str | None


class SubmissionPage(Schema):
    total: int
    limit: int
    offset: int
    items: list[SubmissionOut]


class SubmissionFilter(Schema):
    cycle: int | None = Field(None, ge=1, le=MAX_ID)
    period: str = ""
    form: str = ""
    city: str = ""
    status: str = ""


def _submission(s: Submission) -> dict[str, Any]:
    return {
        "id": s.pk,
        "city": s.city.code,
        "city_name": s.city.name,
        "period": s.period.code,
        "form": s.form.code,
        "status": s.status,
        "version": s.version,
        "returned": s.returned,
        "return_reason": s.return_reason,
        "first_submitted_at": s.first_submitted_at.isoformat() if s.first_submitted_at else None,
        "accepted_at": s.accepted_at.isoformat() if s.accepted_at else None,
    }


@router.get("/submissions", response={200: SubmissionPage, **errors(401, 422)}, auth=read_auth, summary="报送")
def submissions(request: HttpRequest, filters: Query[SubmissionFilter], page: Query[PageIn]) -> dict[str, Any]:
    qs = submissions_visible_to(_user(request)).order_by("period__ends_on", "city__division_id", "form__code", "pk")
    if filters.cycle is not None:
        qs = qs.filter(period__cycle_id=filters.cycle)
    if filters.period:
        qs = qs.filter(period__code=filters.period)
    if filters.form:
        qs = qs.filter(form__code=filters.form)
    if filters.city:
        qs = qs.filter(city__division_id=filters.city)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return _page(qs, page, _submission)


@router.get(
    "/submissions/{submission_id}",
    response={200: SubmissionOut, **errors(401, 404, 422)},
    auth=read_auth,
    summary="一份报送",
)
def submission(request: HttpRequest, submission_id: int = param.Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return _submission(get_visible_or_404(_user(request), submissions_visible_to(_user(request)), submission_id))


class ValueOut(Schema):
    submission: int
    city: str
    period: str
    form: str
    item: str
    value: str | None
    explanation: str


class ValuePage(Schema):
    total: int
    limit: int
    offset: int
    items: list[ValueOut]


class ValueFilter(Schema):
    submission: int | None = Field(None, ge=1, le=MAX_ID)
    period: str = ""
    city: str = ""
    item: str = ""


@router.get("/values", response={200: ValuePage, **errors(401, 422)}, auth=read_auth, summary="填报数据")
def values(request: HttpRequest, filters: Query[ValueFilter], page: Query[PageIn]) -> dict[str, Any]:
    qs = (
        DataValue.objects.filter(submission__in=submissions_visible_to(_user(request)))
        .select_related("submission__city", "submission__period", "submission__form", "item")
        .order_by("submission_id", "item__order", "pk")
    )
    if filters.submission is not None:
        qs = qs.filter(submission_id=filters.submission)
    if filters.period:
        qs = qs.filter(submission__period__code=filters.period)
    if filters.city:
        qs = qs.filter(submission__city__division_id=filters.city)
    if filters.item:
        qs = qs.filter(item__code=filters.item)
    return _page(
        qs,
        page,
        lambda dv: {
            "submission": dv.submission_id,
            "city": dv.submission.city.code,
            "period": dv.submission.period.code,
            "form": dv.submission.form.code,
            "item": dv.item.code,
            "value": services.canonical(dv.item, services.stored_value(dv)),
            "explanation": dv.explanation,
        },
    )


# --- writing values ------------------------------------------------------------------------------


class WriteResult(Schema):
    submissions: list[SubmissionOut]
    applied: int


WRITE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["values"],
                    "properties": {
                        "values": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["item"],
                                "properties": {
                                    "submission": {"type": "integer", "description": "报送编号"},
                                    "city": {"type": "string", "description": "城市行政区划代码（不给 submission 时）"},
                                    "period": {"type": "string", "description": "报告期代码，如 2016-M11"},
                                    "form": {"type": "string", "description": "填报表代码，如 M"},
                                    "item": {"type": "string", "description": "填报项代码，如 FBB_USERS"},
                                    "value": {"type": ["string", "null"], "description": "数值（文本），空为清除"},
                                    "explanation": {"type": "string", "description": "说明（警告时必填）"},
                                },
                            },
                        }
                    },
                }
            },
            "text/csv": {
                "schema": {
                    "type": "string",
                    "description": "UTF-8（可带 BOM）；表头 submission,item,value,explanation 或 "
                    "city,period,form,item,value,explanation",
                }
            },
        },
    },
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": "同一密钥、同一请求体的重复请求返回第一次的结果，不重复写入",
        }
    ],
}


def _body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RequestDataTooBig:
        raise ApiError(
            413, "too_large", "请求体过大。大批量数据请使用批量导入，或分批提交（每次不超过 10000 行）。"
        ) from None


def _rows(request: HttpRequest) -> list[dict[str, Any]]:
    body = _body(request)
    content_type = request.content_type or ""
    if content_type not in ("text/csv", "application/json", ""):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"不支持 Content-Type: {content_type[:100]}，请使用 application/json 或 text/csv。",
        )
    if content_type == "text/csv":
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApiError(400, "bad_encoding", "CSV 必须是 UTF-8 编码（可带 BOM）。") from None
        return [dict(row) for row in csv.DictReader(io.StringIO(text))]
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_json", "请求体不是有效的 JSON。") from None
    if not isinstance(data, dict) or not isinstance(data.get("values"), list):
        raise ApiError(400, "bad_request", '请求体应为 {"values": [...]}，或 Content-Type: text/csv 的 CSV。')
    if not all(isinstance(row, dict) for row in data["values"]):
        raise ApiError(400, "bad_request", "values 中的每一行都应是对象。")
    return list(data["values"])


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return "" if value is None else str(value).replace("\x00", "").strip()


def _find_submissions(user: User, rows: list[dict[str, Any]], problems: list[dict[str, Any]]) -> dict[int, Submission]:
    visible = submissions_visible_to(user).select_related("period__cycle__edition")  # the check reads the edition
    by_key: dict[tuple[str, ...], Submission | None] = {}
    found: dict[int, Submission] = {}
    for number, row in enumerate(rows, start=1):
        sid = _text(row, "submission")
        city, period, form = _text(row, "city"), _text(row, "period"), _text(row, "form")
        key = ("id", sid, "", "") if sid else ("code", city, period, form)
        if key not in by_key:
            if sid:
                qs = visible.filter(pk=int(sid)) if sid.isdigit() and int(sid) <= MAX_ID else visible.none()
            else:
                qs = visible.filter(city__division_id=city, period__code=period, form__code=form)
            by_key[key] = qs.first()
        submission = by_key[key]
        if submission is None:
            problems.append(
                {
                    "row": number,
                    "code": "submission_not_found",
                    "message": "找不到这份报送，或您无权填写：请给出 submission，或 city、period、form。",
                }
            )
        else:
            row["_submission"] = submission.pk
            found[submission.pk] = submission
    return found


@router.post(
    "/values",
    response={200: WriteResult, **errors(400, 401, 403, 409, 413, 415, 422)},
    auth=write_auth,
    summary="批量写入填报数据",
    openapi_extra=WRITE_BODY,
)
def write_values(request: HttpRequest) -> Any:
    """All rows are checked first; if any row is wrong nothing is saved and every problem is listed."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    body_hash = hashlib.sha256((request.content_type or "").encode() + b"\n" + _body(request)).hexdigest()
    key = request.headers.get("Idempotency-Key", "").strip()[:200]
    earlier = _earlier(token, key) if key else None
    if earlier is not None:
        return _replay(earlier, body_hash)
    rows = _rows(request)
    if not key:
        return _json(*_apply(request, _user(request), rows))
    try:
        # The answer is stored in the transaction that applies the values: of two requests with the same key
        # arriving at once, the second fails on the unique key and everything it did is undone.
        with transaction.atomic():
            status, answer = _apply(request, _user(request), rows)
            IdempotentRequest.objects.create(
                token=token, key=key, request_hash=body_hash, status_code=status, response=answer
            )
    except IntegrityError:
        earlier = _earlier(token, key)
        if earlier is None:
            raise
        return _replay(earlier, body_hash)
    return _json(status, answer)


def _earlier(token: ApiToken, key: str) -> IdempotentRequest | None:
    return IdempotentRequest.objects.filter(token=token, key=key).first()


def _json(status: int, answer: dict[str, Any]) -> HttpResponse:
    return HttpResponse(json.dumps(answer, ensure_ascii=False), status=status, content_type="application/json")


def _replay(earlier: IdempotentRequest, body_hash: str) -> HttpResponse:
    if earlier.request_hash != body_hash:
        raise ApiError(409, "idempotency_key_reused", "这个 Idempotency-Key 已用于另一个请求，请换一个新的密钥。")
    return _json(earlier.status_code, earlier.response)


class _Rollback(Exception):
    pass


def _apply(request: HttpRequest, user: User, rows: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    if not rows:
        raise ApiError(400, "empty", "没有要写入的数据。")
    if len(rows) > MAX_ROWS:
        raise ApiError(
            413, "too_many_rows", f"一次最多写入 {MAX_ROWS} 行，本次 {len(rows)} 行。请分批提交或使用批量导入。"
        )
    problems: list[dict[str, Any]] = []
    found = _find_submissions(user, rows, problems)
    items_of = {pk: {item.code: item for item in services.form_items(s)} for pk, s in found.items()}
    raw: dict[int, dict[str, str]] = {}
    explanations: dict[int, dict[str, str]] = {}
    for number, row in enumerate(rows, start=1):
        if "_submission" not in row:
            continue
        pk, code = row["_submission"], _text(row, "item")
        item = items_of[pk].get(code)
        if item is None:
            problems.append(
                {
                    "row": number,
                    "item": code,
                    "code": "unknown_item",
                    "message": f"填报项“{code}”不在这份报送的填报表中。",
                }
            )
            continue
        text = _text(row, "value")
        try:
            parse_value(item, text)
        except ParseError as error:
            problems.append({"row": number, "item": code, "code": "invalid_value", "message": str(error)})
            continue
        raw.setdefault(pk, {})[code] = text
        if _text(row, "explanation"):
            explanations.setdefault(pk, {})[code] = _text(row, "explanation")
    if problems:
        return 422, {"code": "validation_failed", "message": "数据有误，未写入任何数据。", "details": problems}
    saved: list[Submission] = []
    applied = 0
    try:
        with transaction.atomic():
            for pk, values in raw.items():
                submission = found[pk]
                fresh = Submission.objects.get(pk=pk)
                result = services.save_draft(
                    actor=user,
                    submission=submission,
                    raw=values,
                    explanations=explanations.get(pk, {}),
                    base_version=fresh.version,
                    request=request,
                )
                errors = [m for m in (result.check.errors if result.check else []) if m.code in values]
                for message in errors:
                    problems.append(
                        {"submission": pk, "item": message.code, "code": "rule_failed", "message": message.text}
                    )
                applied += len(result.applied)
                saved.append(result.submission)
            if problems:
                raise _Rollback
    except _Rollback:
        return 422, {"code": "validation_failed", "message": "数据未通过校验，未写入任何数据。", "details": problems}
    except services.WorkflowError as error:
        raise ApiError(409, "workflow", " ".join(error.messages)) from None
    refreshed = Submission.objects.filter(pk__in=[s.pk for s in saved]).select_related("city", "period", "form")
    return 200, {"submissions": [_submission(s) for s in refreshed], "applied": applied}


# --- workflow ------------------------------------------------------------------------------------


class ActionIn(Schema):
    expected_version: int = Field(..., ge=0, le=MAX_ID)
    reason: str = ""
    item_comments: dict[str, str] = {}


ACTIONS = ["approve-city", "submit", "approve", "return", "accept"]


@router.post(
    "/submissions/{submission_id}/{action}",
    response={200: SubmissionOut, **errors(400, 401, 403, 404, 409, 422)},
    auth=write_auth,
    summary="审核流程操作",
    description="action：approve-city（城市负责人审核）、submit（报送省级；城市负责人可一步完成审核并报送）、"
    "approve（省级审核通过）、return（退回，须填写 reason）、accept（监测机构受理）。",
)
def act(
    request: HttpRequest, body: ActionIn, action: str, submission_id: int = param.Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    user = _user(request)
    if action not in ACTIONS:
        raise ApiError(404, "unknown_action", f"没有“{action}”这个操作。可用：{', '.join(ACTIONS)}。")
    submission = get_visible_or_404(user, submissions_visible_to(user), submission_id)
    version = body.expected_version
    try:
        if action == "approve-city":
            submission = services.approve_city(
                actor=user, submission=submission, expected_version=version, request=request
            )
        elif action == "submit":
            if user.role == Role.CITY_REPORTER:
                raise ApiError(
                    403, "approver_required", "报送省级须由城市负责人审核。请使用城市负责人账号的令牌调用 submit。"
                )
            with transaction.atomic():  # approve and send together or not at all: a retry then acts once
                if submission.status == "draft" and user.role == Role.CITY_APPROVER:
                    submission = services.approve_city(
                        actor=user, submission=submission, expected_version=version, request=request
                    )
                    version = submission.version
                submission = services.submit(
                    actor=user, submission=submission, expected_version=version, request=request
                )
        elif action == "approve":
            submission = services.approve_province(
                actor=user, submission=submission, expected_version=version, request=request
            )
        elif action == "return":
            submission = services.return_submission(
                actor=user,
                submission=submission,
                reason=body.reason,
                item_comments=body.item_comments,
                expected_version=version,
                request=request,
            )
        else:
            submission = services.accept(actor=user, submission=submission, expected_version=version, request=request)
    except services.AlreadyDone as error:
        raise ApiError(409, "already_done", " ".join(error.messages)) from None
    except services.WorkflowError as error:
        raise ApiError(409, "workflow", " ".join(error.messages)) from None
    except PermissionDenied as error:
        raise ApiError(403, "forbidden", str(error) or "您无权进行此操作。") from None
    return _submission(Submission.objects.select_related("city", "period", "form").get(pk=submission.pk))
