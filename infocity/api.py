"""The JSON API under /api/v1/ (django-ninja), described by /api/v1/openapi.json with docs at /api/v1/docs.

Every operation states its own authentication; the published framework is open to everyone. The
platform's login-by-default middleware therefore does not apply here: an API answers 401, not a
redirect to the login page.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Swagger

from infocity.frameworks.api import router as frameworks_router

api = NinjaAPI(
    title="信息消费示范城市监测平台 API",
    version="1",
    description=(
        "infocity 的 JSON 接口。已发布的指标体系版本、指标和填报项无需登录即可读取。"
        "Read-only access to published indicator framework editions needs no authentication."
    ),
    urls_namespace="api",
    # Swagger UI's assets are served from ninja's static files; its default validator badge would load an
    # image from validator.swagger.io, which an intranet cannot reach.
    docs=Swagger(settings={"validatorUrl": None}),
)
api.add_router("/", frameworks_router)


def _public(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _public(pattern.url_patterns)
        else:
            pattern.callback.login_required = False  # type: ignore[attr-defined]
    return patterns


def urls() -> tuple[Any, str, str]:
    patterns, app_name, namespace = api.urls
    return _public(patterns), app_name, namespace
