"""公共数据只读接口 (the read-only public data API, under /api/v1/public/): the open data catalogue, its datasets'
rows, and the published indicator values, evaluation results and awards. No authentication; every operation is
rate-limited per client address (``PUBLIC_API_RATE``, default 60 a minute) and answers 429 with ``Retry-After``
beyond it. Everything comes from :mod:`infocity.portal.opendata`, which reads only what the ministry published."""

from __future__ import annotations

import datetime
import math
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.params import functions as param
from ninja.throttling import AnonRateThrottle, BaseThrottle

from infocity.audit.services import client_ip
from infocity.tokens.errors import errors

from . import opendata

RATE_SETTING = "PUBLIC_API_RATE"  # e.g. "60/min", "1000/hour"; None or "" turns the limit off
DEFAULT_RATE = "60/min"
MAX_OFFSET = 2_147_483_647
TAG = "公共数据开放 Open data"
TAG_DESCRIPTION = (
    "工业和信息化部已发布的数据，无需登录、只读：公共数据开放目录及各数据集的行，已发布的监测指标值、年度评估结果和"
    "表彰名单。撤回的数据发布和未发布的评估结果不会出现。数据按知识共享署名 4.0 国际许可协议（CC BY 4.0）开放，使用时"
    "请注明“数据来源：工业和信息化部，信息消费示范城市监测平台”。演示数据在每行以 demo = true 标明。"
    "Published data of the ministry, read-only and open to everyone under CC BY 4.0; rate-limited per client address."
)


class _Window(AnonRateThrottle):
    """django-ninja's sliding window, keyed by the client address the platform trusts (the audit log's: the last
    X-Forwarded-For entry behind the proxy, else the peer address), so a forged header cannot dodge the limit."""

    scope = "public"

    def get_ident(self, request: HttpRequest) -> str | None:
        return client_ip(request)


class PublicRateThrottle(BaseThrottle):
    """The limit of the public API, read from the setting at each request (tests and settings overrides take
    effect without rebuilding the router). A fresh window per request, kept per thread until django-ninja asks how
    long to wait: the throttle object itself is shared by every request of the process."""

    def __init__(self) -> None:
        self._current = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        rate = getattr(settings, RATE_SETTING, DEFAULT_RATE)
        if not rate:
            self._current.window = None
            return True
        window = _Window(rate)
        self._current.window = window
        return window.allow_request(request)

    def wait(self) -> float | None:
        window: _Window | None = getattr(self._current, "window", None)
        return window.wait() if window is not None else None


def rate_limited(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """The public API's limit on a page view too (the open-data downloads): the same allowance per client address,
    so the same data cannot be fetched without limit by another door. Over it: 429 with Retry-After."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        throttle = PublicRateThrottle()
        if throttle.allow_request(request):
            return view(request, *args, **kwargs)
        wait = math.ceil(throttle.wait() or 1)
        zh, _en = describe_rate(getattr(settings, RATE_SETTING, DEFAULT_RATE))
        message = f"请求过于频繁：每个客户端地址{zh}。请 {wait} 秒后再试。"
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(wait)
        return response

    return wrapped


def describe_rate(rate: str | None) -> tuple[str, str]:
    """A rate in django-ninja's notation (``60/min``, ``1000/hour``, ``100/10m``) in words, Chinese and English."""
    if not rate:
        return "不限", "unlimited"
    count, _, period = rate.partition("/")
    multiple = period.rstrip("abcdefghijklmnopqrstuvwxyz")
    units = {"s": ("秒", "second"), "m": ("分钟", "minute"), "h": ("小时", "hour"), "d": ("天", "day")}
    zh, en = units.get(period[len(multiple) : len(multiple) + 1], (period, period))
    if multiple:
        return f"每 {multiple} {zh} {count} 次", f"{count} requests per {multiple} {en}s"
    return f"每{zh} {count} 次", f"{count} requests per {en}"


def _limit_text() -> str:
    zh, en = describe_rate(getattr(settings, RATE_SETTING, DEFAULT_RATE))
    return (
        f"\n\n无需登录。限流：每个客户端地址{zh}（所有公共数据接口合计）；超过时答复 429（code 为 throttled），"
        f"响应头 Retry-After 为需要等待的秒数。No authentication. Rate limit: {en} per client address over all "
        "public data operations; beyond it the answer is 429 with a Retry-After header (seconds to wait)."
    )


THROTTLED = {
    429: {
        "description": "请求过于频繁 Too many requests",
        "headers": {"Retry-After": {"description": "需要等待的秒数 Seconds to wait", "schema": {"type": "integer"}}},
    }
}

router = Router(tags=[TAG], throttle=PublicRateThrottle())


def _operation(summary: str, description: str) -> dict[str, Any]:
    return {
        "auth": None,
        "summary": summary,
        "description": description + _limit_text(),
        "openapi_extra": {"responses": THROTTLED},
    }


# --- schemas --------------------------------------------------------------------------------------


class DistributionOut(Schema):
    format: str
    media_type: str
    url: str


class ColumnOut(Schema):
    name: str
    title_zh: str
    title_en: str
    datatype: str = Field(..., description="XML Schema 类型：string、integer、decimal（精确文本）、date、boolean")
    note_zh: str


class DatasetOut(Schema):
    identifier: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    publisher_zh: str
    publisher_en: str
    issued: datetime.datetime
    modified: datetime.datetime
    temporal_start: datetime.date
    temporal_end: datetime.date
    accrual_periodicity: str
    license: str
    demo: bool = Field(..., description="是否含演示数据（合成数据，不代表真实统计）")
    rows: int
    landing_page: str
    sdmx_dataflow: str
    distributions: list[DistributionOut]


class DatasetDetailOut(DatasetOut):
    columns: list[ColumnOut]
    dcat: dict[str, Any] = Field(..., description="DCAT 2 元数据（JSON-LD）")


Cell = str | int | bool | None


class RowPage(Schema):
    total: int
    limit: int
    offset: int
    items: list[dict[str, Cell]]


class PageIn(Schema):
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class IndicatorValueOut(Schema):
    release: str = Field(..., description="发布所截至的报告期代码")
    release_label: str
    published: datetime.date
    indicator: str
    indicator_name: str
    indicator_name_en: str
    unit: str
    period: str = Field(..., description="该值的报告期代码（指标按其频度取最近一期）")
    period_label: str
    city_code: str = Field(..., description="GB/T 2260 行政区划代码；_T 为全部示范城市合计")
    city: str
    province: str
    value: str | None = Field(..., description="指标值（精确十进制文本）")
    target: str
    attainment: str = Field(..., description="met、not_met、no_value、no_target")
    gap: str | None
    met: int | None = Field(..., description="达标城市数（仅合计行）")
    assessed: int | None = Field(..., description="参与评价城市数（仅合计行）")
    demo: bool


class IndicatorValuePage(Schema):
    total: int
    limit: int
    offset: int
    items: list[IndicatorValueOut]


class IndicatorValueFilter(Schema):
    year: int | None = Field(None, ge=1900, le=9999, description="填报周期年度")
    indicator: str | None = Field(None, max_length=40, description="指标代码，如 A02")
    city: str | None = Field(None, max_length=20, description="城市区划代码，如 330100；_T 为合计行")
    release: str | None = Field(None, max_length=20, description="发布所截至的报告期代码，如 2016-M11")


class EvaluationOut(Schema):
    year: int
    cycle: str
    city_code: str
    city: str
    province: str
    ranked: bool
    rank: int | None
    score: str | None = Field(..., description="总分（百分制，两位小数）")
    median_rank: int | None
    rank_p5: int | None
    rank_p95: int | None
    demo: bool


class AwardOut(Schema):
    year: int
    kind: str = Field(..., description="city 信息消费先进示范城市；application 优秀典型应用")
    kind_label: str
    city_code: str
    city: str
    province: str
    application: str | None
    position: int
    score: str
    certificate: str
    demo: bool


# --- operations -----------------------------------------------------------------------------------


def _dataset_out(dataset: opendata.Dataset, request: HttpRequest) -> dict[str, Any]:
    absolute = request.build_absolute_uri
    return {
        "identifier": dataset.identifier,
        "title_zh": dataset.title_zh,
        "title_en": dataset.title_en,
        "description_zh": dataset.description_zh,
        "description_en": dataset.description_en,
        "publisher_zh": opendata.PUBLISHER_ZH,
        "publisher_en": opendata.PUBLISHER_EN,
        "issued": dataset.issued,
        "modified": dataset.modified,
        "temporal_start": dataset.start,
        "temporal_end": dataset.end,
        "accrual_periodicity": dataset.periodicity,
        "license": opendata.LICENCE.url,
        "demo": dataset.demo,
        "rows": dataset.count,
        "landing_page": absolute(reverse("opendata:dataset", args=[dataset.identifier])),
        "sdmx_dataflow": dataset.dataflow,
        "distributions": [
            {"format": f.label, "media_type": f.media_type, "url": opendata.download_url(dataset, f, absolute)}
            for f in opendata.FORMATS
        ],
    }


def _dataset(identifier: str) -> opendata.Dataset:
    found = opendata.find(identifier)
    if found is None:
        raise Http404("没有该数据集。")
    return found


@router.get(
    "/datasets",
    response={200: list[DatasetOut], **errors(429)},
    **_operation("公共数据开放目录", "所有已发布的数据集及其元数据（DCAT）和下载地址。"),
)
def list_datasets(request: HttpRequest) -> list[dict[str, Any]]:
    return [_dataset_out(d, request) for d in opendata.catalogue()]


@router.get(
    "/datasets/{identifier}",
    response={200: DatasetDetailOut, **errors(404, 429)},
    **_operation("数据集元数据", "一个数据集的元数据、字段说明和 DCAT（JSON-LD）描述。"),
)
def get_dataset(request: HttpRequest, identifier: str) -> dict[str, Any]:
    found = _dataset(identifier)
    return {
        **_dataset_out(found, request),
        "columns": [
            {"name": c.name, "title_zh": c.title_zh, "title_en": c.title_en, "datatype": c.datatype,
             "note_zh": c.note_zh}
            for c in found.columns
        ],
        "dcat": opendata.dataset_jsonld(found, request.build_absolute_uri, context=True),
    }  # fmt: skip


@router.get(
    "/datasets/{identifier}/rows",
    response={200: RowPage, **errors(404, 422, 429)},
    **_operation("数据集的行（分页）", "数据集的行，与 CSV 下载的列相同；limit 最多 1000。"),
)
def dataset_rows(request: HttpRequest, identifier: str, page: Query[PageIn]) -> dict[str, Any]:
    found = _dataset(identifier)
    return {
        "total": found.count,
        "limit": page.limit,
        "offset": page.offset,
        "items": found.rows(offset=page.offset, limit=page.limit),
    }


@router.get(
    "/indicator-values",
    response={200: IndicatorValuePage, **errors(422, 429)},
    **_operation(
        "已发布的监测指标值",
        "所有未撤回的数据发布中的指标值，可按年度、指标、城市和发布报告期筛选（分页，limit 最多 1000）。",
    ),
)
def indicator_values(request: HttpRequest, filters: Query[IndicatorValueFilter], page: Query[PageIn]) -> dict[str, Any]:
    values = opendata.released_values()
    if filters.year is not None:
        values = values.filter(release__cycle__year=filters.year)
    if filters.indicator:
        values = values.filter(indicator__code=filters.indicator)
    if filters.city == opendata.TOTAL:
        values = values.filter(city__isnull=True)
    elif filters.city:
        values = values.filter(city__division_id=filters.city)
    if filters.release:
        values = values.filter(release__period__code=filters.release)
    return {
        "total": values.count(),
        "limit": page.limit,
        "offset": page.offset,
        "items": [opendata.value_row(v) for v in values[page.offset : page.offset + page.limit]],
    }


@router.get(
    "/evaluation-results",
    response={200: list[EvaluationOut], **errors(422, 429)},
    **_operation("已发布的年度评估结果", "已发布的年度评估排名：总分、名次、中位名次和 90% 名次区间；可按年度筛选。"),
)
def evaluation_results(
    request: HttpRequest, year: int | None = param.Query(None, ge=1900, le=9999)
) -> list[dict[str, Any]]:
    return opendata.evaluation_rows(year)


@router.get(
    "/awards",
    response={200: list[AwardOut], **errors(422, 429)},
    **_operation("已发布的表彰名单", "已确认并发布的表彰：先进示范城市和优秀典型应用；可按年度和奖项筛选。"),
)
def awards(
    request: HttpRequest,
    year: int | None = param.Query(None, ge=1900, le=9999),
    kind: str | None = param.Query(None, max_length=20, description="city 或 application"),
) -> list[dict[str, Any]]:
    return opendata.award_rows(year=year, kind=kind or "")
