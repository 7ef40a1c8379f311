"""The JSON API under /api/v1/ (django-ninja), described by /api/v1/openapi.json with docs at /api/v1/docs.

Every operation states its own authentication; the published framework is open to everyone. The
platform's login-by-default middleware therefore does not apply here: an API answers 401, not a
redirect to the login page.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from infocity.audit.services import audit_denied
from infocity.bulk.api import router as bulk_router
from infocity.frameworks.api import router as frameworks_router
from infocity.portal import api as public_api
from infocity.reporting.api import router as reporting_router
from infocity.tokens.errors import ApiError

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="信息消费示范城市监测平台 API",
    version="1",
    description=(
        "infocity 的 JSON 接口。已发布的指标体系版本、指标和填报项无需登录即可读取。"
        "报送数据的读取和写入须使用 API 令牌（在平台“API 令牌”页面或用 `manage.py issue_token` 创建）："
        "请求头 `Authorization: Bearer ic_…`；令牌的权限与其账号相同，只读令牌不能写入。"
        '所有错误使用同一格式：`{"code": 机器可读代码, "message": 中文说明, "details": [...]}`。'
        "Read-only access to published indicator framework editions needs no authentication; reporting data needs a "
        "bearer token. Errors: {code, message, details}."
    ),
    urls_namespace="api",
    # Swagger UI's assets are served from ninja's static files; its default validator badge would load an
    # image from validator.swagger.io, which an intranet cannot reach.
    docs=Swagger(settings={"validatorUrl": None}),
)
api.add_router("/", frameworks_router)
api.add_router("/", reporting_router)
api.add_router("/", bulk_router)
api.add_router("/public", public_api.router)
api.openapi_extra.setdefault("tags", []).append({"name": public_api.TAG, "description": public_api.TAG_DESCRIPTION})


def _error(
    request: HttpRequest, status: int, code: str, message: str, details: list[Any] | None = None
) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "details": details or []}, status=status)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, error: ApiError) -> HttpResponse:
    if error.status == 403:
        audit_denied(request, error.code)
    return _error(request, error.status, error.code, error.message, error.details)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    response = _error(
        request, 401, "unauthenticated", "需要有效的 API 令牌：请求头 Authorization: Bearer <令牌>。"
        "令牌可能有误、已撤销、已过期，或其账号已停用。"
    )  # fmt: skip
    response["WWW-Authenticate"] = 'Bearer realm="infocity"'
    return response


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "找不到该对象，或您无权查看。")


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    audit_denied(request, str(error) or "forbidden")
    return _error(request, 403, "forbidden", str(error) or "您无权进行此操作。")


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def _database_unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
    """The database is unreachable (restarting, failed over, out of connections): a prompt 503 in the API's shape,
    so clients retry — writes with the same Idempotency-Key, which applies them at most once."""
    logger.warning("database unavailable for %s %s: %s", request.method, request.path, error)
    response = _error(
        request, 503, "database_unavailable",
        "数据库暂时不可用，请稍后重试。写入数据时请使用同一 Idempotency-Key 重试，不会重复写入。",
    )  # fmt: skip
    response["Retry-After"] = "5"
    return response


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
    return _error(request, 422, "validation_failed", " ".join(error.messages))


@api.exception_handler(NinjaValidationError)
def _invalid_request(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    details = [{"loc": list(e.get("loc", [])), "message": str(e.get("msg", ""))} for e in error.errors]
    return _error(request, 422, "invalid_request", "请求参数格式不正确，请对照接口说明。", details)


# django-ninja's own refusals (e.g. a body that is not JSON) carry English text; these say the same in Chinese.
HTTP_ERRORS = {
    400: ("bad_request", "请求体无法解析，请发送有效的 JSON（Content-Type: application/json）。"),
    403: ("forbidden", "您无权进行此操作。"),
    404: ("not_found", "找不到该对象，或您无权查看。"),
    429: ("throttled", "请求过于频繁，请稍后再试。"),
}


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if error.status_code == 403:
        audit_denied(request, "forbidden")
    code, message = HTTP_ERRORS.get(error.status_code, ("http_error", str(error)))
    return _error(request, error.status_code, code, message)


def _json_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """django-ninja answers a method an address does not take with plain text; the API answers in its own shape."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = _error(
                request, 405, "method_not_allowed", f"该地址不支持 {request.method} 请求，可用：{allowed}。"
            )
            response["Allow"] = allowed
        return response

    return wrapped


@csrf_exempt
def _unknown_address(request: HttpRequest, rest: str) -> HttpResponse:
    return _error(request, 404, "not_found", "没有这个接口地址。接口说明见 /api/v1/docs。")


_unknown_address.login_required = False  # type: ignore[attr-defined]


def _public(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _public(pattern.url_patterns)
        else:
            pattern.callback = _json_not_allowed(pattern.callback)
            pattern.callback.login_required = False  # type: ignore[attr-defined]
    return patterns


def urls() -> tuple[Any, str, str]:
    patterns, app_name, namespace = api.urls
    # Any other address under /api/v1/ answers 404 in the API's shape rather than with the site's HTML page.
    return [*_public(patterns), re_path(r"^(?P<rest>.*)$", _unknown_address)], app_name, namespace
